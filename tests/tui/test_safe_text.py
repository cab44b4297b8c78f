"""safe_text: the one place hostile mention data becomes display text."""

from __future__ import annotations

import sys
import unicodedata

import pytest
from rich.text import Text
from textual.content import Content

from tocsin.tui import safe_text
from tocsin.tui.safe_text import clean

MARKUP = [
    "[@click=app.quit]x[/]",
    "[/foo]",
    "[ @click=app.bell]",
    "[$var]",
    "[b]bold[/b]",
    "[link=http://x]y[/link]",
]


@pytest.mark.parametrize(
    ("hostile", "shown"),
    [
        ("\x1b]0;pwned\x07title", "title"),  # OSC terminal title
        ("\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\", "link"),  # OSC 8 hyperlink with ST
        ("a\x1b[2Jb", "ab"),  # clear screen
        ("red\x1b[31m!\x1b[0m", "red!"),
        ("c1\x9b31mcsi", "c1csi"),  # C1 CSI
        ("osc\x9d0;t\x9cend", "oscend"),  # C1 OSC … ST
        ("bel\x07 del\x7f nul\x00", "bel del nul"),
        ("tab\tnew\nline\r\nend", "tab new line end"),
        ("ls\u2028ps\u2029x", "ls ps x"),
        ("abc\u202egnp.exe", "abcgnp.exe"),  # right-to-left override
        ("\u2066iso\u2069 \u200e\u200f\u061c", "iso"),
        ("z\u200bw\u200cj\u200dn\u2060\ufeff\u180e", "zwjn"),
        ("tag\U000e0041\U000e0042s", "tags"),
        ("lone\ud800surrogate", "lonesurrogate"),
        ("unterminated \x1b]0;swallows the rest", "unterminated"),
        ("trailing ESC\x1b", "trailing ESC"),
        ("  lots   of \n\n space  ", "lots of space"),
    ],
)
def test_clean_removes_controls_escapes_bidi_and_invisibles(hostile: str, shown: str) -> None:
    assert clean(hostile) == shown


def test_clean_keeps_text_people_write() -> None:
    written = [
        "Crème brûlée à 3 €",
        "日本語のテキスト",
        "مرحبا بالعالم",
        "emoji ❤️ 👍🏽",
        "#BriocheGate @maisonbrioche",
    ]
    for s in written:
        assert clean(s) == s


def test_clean_leaves_markup_characters_alone() -> None:
    # Brackets are text: the builders, not clean, make sure they are never parsed.
    for s in MARKUP:
        assert clean(s) == s


def test_clean_caps_zalgo_marks() -> None:
    zalgo = "Z" + "\u0301\u0302\u0303\u0304\u0305\u0306" * 30 + "algo"
    assert clean(zalgo) == "Z\u0301\u0302\u0303algo"
    assert clean("Tiếng Việt") == "Tiếng Việt"  # stacked marks of real scripts stay


def test_every_format_character_of_this_python_is_dropped() -> None:
    # The Cf list in safe_text is written out (fast import); this keeps it in step with Unicode.
    missed = []
    for cp in range(sys.maxunicode + 1):
        c = chr(cp)
        if unicodedata.category(c) == "Cf" and clean(f"a{c}b") != "ab":
            missed.append(f"U+{cp:04X}")
    assert missed == []


def test_every_control_character_is_gone() -> None:
    for cp in [*range(0x20), *range(0x7F, 0xA0)]:
        out = clean(f"a{chr(cp)}é\x1b\\z")
        assert out.startswith("a") and out.endswith("z"), hex(cp)
        assert not any(unicodedata.category(ch) == "Cc" for ch in out), hex(cp)


def test_length_is_bounded_with_an_ellipsis() -> None:
    assert clean("x" * 100_000, 50) == "x" * 49 + "…"
    assert len(clean("word " * 30_000, 80)) <= 80
    assert clean("short", 50) == "short"
    assert clean("exactly10!", 10) == "exactly10!"
    assert clean("eleven chars", 11) == "eleven cha…"


def test_huge_input_is_sliced_before_any_work() -> None:
    seen: list[slice] = []

    class Huge(str):
        def __getitem__(self, key: object) -> str:
            assert isinstance(key, slice)
            seen.append(key)
            return str.__getitem__(self, key)

    out = clean(Huge("\u200b" * 5_000_000 + "tail"), 100)
    assert seen and all(s.stop is not None and s.stop <= 1000 for s in seen)
    assert out == "…"  # nothing visible in the part looked at; the cut is still shown


def test_multiline_keeps_line_breaks_but_nothing_else() -> None:
    assert clean("one\r\ntwo\n\n\n\nthree\x1b[2J\u202e", multiline=True) == "one\ntwo\n\nthree"


def test_builders_never_parse_markup() -> None:
    for s in MARKUP:
        t = safe_text.text(s, "bold")
        assert isinstance(t, Text) and t.plain == s
        c = safe_text.content(s)
        assert isinstance(c, Content) and c.plain == s
        assert safe_text.handle(s).plain == "@" + s.lstrip("@")
        assert safe_text.url(s).plain == s
        assert safe_text.fill("[b]$who[/b] said", who=s).plain == f"{s} said"


def test_fill_cleans_values() -> None:
    assert safe_text.fill("by $who", who="\x1b]0;x\x07eve\u202e").plain == "by eve"


def test_handle_has_one_at_and_a_name_for_nobody() -> None:
    assert safe_text.handle_str("@@lea") == "@lea"
    assert safe_text.handle_str("lea@mastodon.social") == "@lea@mastodon.social"
    assert safe_text.handle_str("") == "(anonymous)"
    assert safe_text.handle_str(None) == "(anonymous)"
    assert safe_text.handle_str("\u200b\u202e") == "(anonymous)"


def test_url_is_cut_in_the_middle() -> None:
    long = "https://example.org/" + "a" * 300 + "/status/42"
    shown = safe_text.url_str(long, 60)
    assert len(shown) == 60 and shown.startswith("https://example.org/") and shown.endswith("status/42")


@pytest.mark.parametrize(
    ("n", "shown"),
    [
        (None, "–"),
        (0, "0"),
        (7, "7"),
        (999, "999"),
        (1000, "1k"),
        (12_345, "12.3k"),
        (999_999, "1M"),
        (1_234_567, "1.2M"),
        (250_000_000, "250M"),
        (3_100_000_000, "3.1B"),
        (-1500, "-1.5k"),
    ],
)
def test_number(n: float | None, shown: str) -> None:
    assert safe_text.number_str(n) == shown


def test_fold_is_case_and_accent_insensitive() -> None:
    assert safe_text.fold("Crème BRÛLÉE") == "creme brulee"
    assert safe_text.fold("ＦＵＬＬ width") == "full width"
    assert safe_text.fold("Stra\u00dfe") == "strasse"
    assert safe_text.fold("hid\u200bden") == "hidden"  # zero-width cannot hide a word from the filter
