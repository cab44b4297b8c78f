"""A fast French / English / other guess for short social-media texts, and the tokenizer the
lexicon shares with it.

The guess votes word by word: frequent function words of each language (``lexicons/stopwords.txt``)
count fully, cheap character cues (French accents, English ``-ing``) count half; frequent words of
German, Spanish, Italian, Portuguese and Dutch, and letters foreign to both, vote for "other". It
needs no model and costs a few microseconds per text, so it can run on every mention. ``other`` means "neither
French nor English as far as we can tell" (another language, another script, or nothing readable).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from importlib import resources
from typing import Literal

Language = Literal["fr", "en", "other"]

# One pass over the text finds every unit the scorers care about. Order matters: URLs and handles
# first (so their insides are not read as words), emoticons before punctuation, then words (a word
# may end with an elision apostrophe, so "j'adore" gives "j'" + "adore" and "don't" gives
# "don'" + "t"), then emoji and punctuation runs.
_EMOTICONS = (
    r"<3+|</3|:-?\)+|:-?\(+|:'-?\(+|:-?D\b|:-?[pP]\b|:-?[/\\](?!/)|:-?\||:-?[oO]\b|:-?\*|;-?\)+|=\)+|=\(+"
    r"|\bx[D)]|\bXD\b|\^\^|\^_\^|-_-|>:-?\(|:-?\[|:-?\]|\):|D:"
)
TOKEN_RE = re.compile(
    r"(?:https?://|www\.)\S+"
    r"|@\w+"
    r"|#\w+"
    rf"|{_EMOTICONS}"
    r"|[^\W\d_]+['’]?"
    r"|[\u2600-\u27BF\u2B50\u2B55\u2B06\u2B07\u2194-\u21AA\U0001F000-\U0001FAFF]"
    r"|!+|\?+|[.;,:…]+"
)

_FR_ACCENTS = frozenset("éèêàùûçôîïëœâ")


def fold(s: str) -> str:
    """Lower-case, strip accents, unify apostrophes: how every lexicon key is stored."""
    s = s.lower().replace("’", "'").replace("œ", "oe").replace("æ", "ae")
    if s.isascii():
        return s
    decomposed = unicodedata.normalize("NFD", s)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def _load_stopwords() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    text = resources.files("tocsin.scoring").joinpath("lexicons/stopwords.txt").read_text("utf-8")
    words: dict[str, set[str]] = {"fr": set(), "en": set(), "other": set()}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        lang, _, items = line.partition("\t")
        words[lang.strip()].update(fold(w.strip()) for w in items.split(",") if w.strip())
    both = words["fr"] & words["en"]  # a word listed for both says nothing
    # a word shared with French or English ("il", "mais", "non") is left to them
    other = words["other"] - words["fr"] - words["en"]
    return frozenset(words["fr"] - both), frozenset(words["en"] - both), frozenset(other)


FR_STOPWORDS, EN_STOPWORDS, OTHER_STOPWORDS = _load_stopwords()

Vote = tuple[float, float, float]
NO_VOTE: Vote = (0.0, 0.0, 0.0)


def token_vote(token: str) -> Vote:
    """What one raw token says about the language: (French, English, other) evidence."""
    low = token.lower().replace("’", "'")
    key = fold(low)
    if key in FR_STOPWORDS:
        return (1.0, 0.0, 0.0)
    if key in EN_STOPWORDS:
        return (0.0, 1.0, 0.0)
    if key in OTHER_STOPWORDS:
        return (0.0, 0.0, 1.0)
    if not low[:1].isalpha():
        return NO_VOTE
    if not key.isascii() and not any(c in _FR_ACCENTS for c in low):
        # letters outside French and English (ß, ñ, ø, Cyrillic, CJK…): another language
        return (0.0, 0.0, 1.0)
    if any(c in _FR_ACCENTS for c in low):
        return (0.5, 0.0, 0.0)
    if len(key) > 4 and key.endswith(("ing", "ness", "ful")):
        return (0.0, 0.5, 0.0)
    if key.endswith(("eux", "euse", "eau", "eaux", "ais", "ait", "aient", "ions", "iez", "ette")):
        return (0.5, 0.0, 0.0)
    return NO_VOTE


@lru_cache(maxsize=65536)
def _cached_vote(token: str) -> Vote:
    return token_vote(token)


def decide(fr: float, en: float, other: float = 0.0) -> Language:
    """Turn summed French, English and other-language evidence into a language."""
    if fr <= 0 and en <= 0:
        return "other"
    if other > fr and other > en:
        return "other"
    if fr > en:
        return "fr"
    if en > fr:
        return "en"
    return "other"


def guess_language(text: str) -> Language:
    """Guess ``fr``, ``en`` or ``other`` for a short text (stopwords and character cues)."""
    fr = en = other = 0.0
    for tok in TOKEN_RE.findall(text):
        if tok.startswith(("http", "www.", "@", "#")):
            continue
        f, e, o = _cached_vote(tok)
        fr += f
        en += e
        other += o
    return decide(fr, en, other)


def normalize_lang(code: str | None) -> Language | None:
    """Map a platform language tag (``fr``, ``fr-CA``, ``en_US``, ``ja``…) to ``fr``/``en``/``other``;
    None or empty stays None (unknown: guess it)."""
    if not code:
        return None
    base = code.strip().lower().replace("_", "-").split("-", 1)[0]
    if base in ("fr", "fra", "fre"):
        return "fr"
    if base in ("en", "eng"):
        return "en"
    if base in ("und", "zxx", "mul", ""):  # platform codes for "undetermined": guess instead
        return None
    return "other"
