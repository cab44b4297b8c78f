"""config/text.py: the one home of plain-text words (folding, cleaning, durations). The display
boundary's own tests (``tests/tui/test_safe_text*.py``) cover ``clean`` against hostile input."""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta

import pytest

from tocsin.config import text
from tocsin.config.text import clean_document, duration_str, fold, fold_word
from tocsin.scoring.clusters import normalise as cluster_key
from tocsin.scoring.topics import normalise as topic_key
from tocsin.sources.net import KeywordFilter


def test_fold_is_case_and_accent_insensitive() -> None:
    assert fold("Crème BRÛLÉE") == "creme brulee"
    assert fold("ASCII Only") == "ascii only"
    assert fold("ＦＵＬＬ width") == "full width"
    assert fold("Stra\u00dfe") == "strasse"
    assert fold("ﬁne Œuvre") == "fine œuvre"  # a ligature decomposes; œ is a letter of its own


def test_fold_lowers_letters_that_decompose_to_capitals() -> None:
    """Mathematical bold and sans-serif letters (the other spammer's favourite) have no lower case of
    their own: folding decomposes before it casefolds."""
    assert fold("𝐁𝐑𝐈𝐎𝐂𝐇𝐄 𝗚𝗮𝘁𝗲", max_len=None) == "brioche gate"


def test_fold_drops_accents_not_the_marks_that_make_another_letter() -> None:
    assert fold("ő ç ñ ǅ", max_len=None) == "o c n dz"
    assert fold("が", max_len=None) == unicodedata.normalize("NFKD", "が")  # か + dakuten: another syllable
    assert fold("नमस्ते", max_len=None) == unicodedata.normalize("NFKD", "नमस्ते")  # the virama stays


def test_fold_leaves_no_accent_whatever_the_character() -> None:
    accent = re.compile(f"[{text._ACCENT_MARKS}]")
    for cp in range(0x3_0000):
        if 0xD800 <= cp < 0xE000:
            continue
        assert not accent.search(fold(f"a{chr(cp)}b", max_len=None)), hex(cp)


def test_fold_cleans_hostile_text_unless_told_it_is_bounded_already() -> None:
    assert fold("hid\u200bden") == "hidden"  # zero-width cannot hide a word from the feed search
    assert fold("x" * 50, max_len=10) == "x" * 9 + "..."  # cut, and the ellipsis folded too
    assert fold("hid\u200bden  Brûlée ", max_len=None) == "hid\u200bden  brulee "  # as it is
    assert fold(None) == fold(None, max_len=None) == fold("", max_len=None) == ""


@pytest.mark.parametrize(
    "word", ["Brioché", "𝐁𝐫𝐢𝐨𝐜𝐡𝐞", "ＢＲＩＯＣＨＥ", "bri\u034foche", "1\ufe0f\u20e3 brioche"]
)
def test_the_firehose_prefilter_keeps_what_the_topic_matcher_folds_alike(word: str) -> None:
    """One folding for both: the pre-filter cannot drop a post whose text the matcher reads as the
    keyword (before, the two disagreed on marks outside the accents' blocks)."""
    assert "brioche" in topic_key(word)
    assert KeywordFilter(["brioche"]).matches(word)


def test_the_copy_paste_detector_compares_folded_letters() -> None:
    assert cluster_key("Été 𝐁𝐫𝐢𝐨𝐜𝐡𝐞!") == "ete brioche"


def test_fold_word_is_the_lexicons_variant() -> None:
    assert fold_word("Aujourd’hui") == "aujourd'hui"
    assert fold_word("Œuvre Æther") == "oeuvre aether"
    assert fold_word("Déçu") == "decu"
    assert fold_word("Straße") == "straße"  # lower, not casefold: the models' vocabulary kept ß
    assert fold_word("ＢＡＤ") == "ｂａｄ"  # canonical decomposition: full width stays
    assert fold_word("한국어") == "한국어"  # recomposed: Hangul stays syllables


def test_clean_document_keeps_the_layout_and_drops_what_clean_drops() -> None:
    assert (
        clean_document("  two\tcolumns\n\n\nand  spaces \u2028next")
        == "  two\tcolumns\n\n\nand  spaces \nnext"
    )
    assert clean_document("x" * 5000) == "x" * 5000  # never cut: a statement is kept whole
    assert clean_document(None) == "" and clean_document(42) == "42"
    for cp in [
        *range(0x00, 0x20),
        *range(0x7F, 0xA0),
        0x00AD,
        0x061C,
        0x200B,
        0x202E,
        0x2066,
        0xFEFF,
        0xE0041,
    ]:
        ch = chr(cp)
        if ch in "\t\n":
            continue
        assert ch not in clean_document(f"a{ch}b"), hex(cp)
        assert ch not in text.clean(f"a{ch}b"), hex(cp)


@pytest.mark.parametrize(
    ("style", "seconds", "shown"),
    [
        (
            "compact",
            (42, 425, 600, 7380, 7200, 90000, -95),
            ("42s", "7m 05s", "10m", "2h 03m", "2h", "1d 1h", "-1m 35s"),
        ),
        ("spoken", (4.2, 89, 150, 730, 7500, -5), ("4 s", "89 s", "2 min", "12 min", "2 h 05", "0 s")),
        ("ago", (40, 180, 7500, 273660, -5), ("40 s", "3 min", "2h05", "3d4h", "0 s")),
        ("narrow", (42, 425, 7380, -5), ("42s", "7m05", "2h03", "0s")),
        ("clock", (252, 3605, -3), ("4:12", "1:00:05", "0:00")),
    ],
)
def test_one_duration_formatter_five_ways(
    style: text.DurationStyle, seconds: tuple[float, ...], shown: tuple[str, ...]
) -> None:
    assert tuple(duration_str(s, style) for s in seconds) == shown
    assert tuple(duration_str(timedelta(seconds=s), style) for s in seconds) == shown
    assert duration_str(None, style) == "—"
