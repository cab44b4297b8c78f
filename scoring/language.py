"""A fast French / English / other guess for short social-media texts, and the tokenizer the
lexicon shares with it.

The guess votes word by word: frequent function words of each language (``lexicons/stopwords.txt``)
count fully, cheap character cues (French accents, English ``-ing``) count half; frequent words of
German, Spanish, Italian, Portuguese and Dutch, and letters foreign to both, vote for "other". It
needs no model and costs a few microseconds per text, so it can run on every mention. ``other``
means "neither French nor English as far as we can tell" (another language or script, or nothing).
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from typing import Literal

from tocsin.config.text import fold_word

Language = Literal["fr", "en", "other"]

# Tokens: words (a word may start with "#" and end with an elision apostrophe, so "j'adore" gives
# "j'" + "adore" and "don't" gives "don'" + "t") and runs of symbols (punctuation, emoji and
# emoticons together: "!!😡", ":-)"; the scorer splits a run once and remembers it). An emoticon
# ending in a letter or digit (":D", ":p", "<3") keeps it when no word follows. This simple
# pattern is several times faster than one alternative per token type.
TOKEN_RE = re.compile(r"[#\w]\w*['’]?|[^\w\s]+(?:[DPpOo3](?!\w))?")
# Links and handles are removed before tokenizing (only when the text can contain one).
_LINKS_RE = re.compile(r"(?:https?://|www\.)\S+|@\w+")


def tokenize(text: str) -> list[str]:
    """The raw tokens of a text, links and @handles left out."""
    if "@" in text or "://" in text or "www." in text:
        text = _LINKS_RE.sub(" ", text)
    return TOKEN_RE.findall(text)


_FR_ACCENTS = frozenset("éèêàùûçôîïëœâ")


def _load_stopwords() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    text = resources.files("tocsin.scoring").joinpath("lexicons/stopwords.txt").read_text("utf-8")
    words: dict[str, set[str]] = {"fr": set(), "en": set(), "other": set()}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        lang, _, items = line.partition("\t")
        words[lang.strip()].update(fold_word(w.strip()) for w in items.split(",") if w.strip())
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
    key = fold_word(low)
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
    if len(key) > 4 and key.endswith(("ing", "ness", "ful", "ed", "ly")):
        return (0.0, 0.5, 0.0)
    if key.endswith(("eux", "euse", "eau", "eaux", "ais", "ait", "aient", "ions", "iez", "ette")):
        return (0.5, 0.0, 0.0)
    return NO_VOTE


# Votes packed in one int (half-votes as units, 20 bits per language) so a scorer can add a whole
# text's votes with one sum() over its tokens.
_VOTE_BITS = 20
_VOTE_MASK = (1 << _VOTE_BITS) - 1


def pack_vote(vote: Vote) -> int:
    """One token's vote as an int; the sum of packed votes unpacks to the summed votes."""
    fr, en, other = (round(x * 2) for x in vote)
    return fr | (en << _VOTE_BITS) | (other << (2 * _VOTE_BITS))


def unpack_votes(packed: int) -> Vote:
    """Summed packed votes → (French, English, other)."""
    return (
        (packed & _VOTE_MASK) / 2,
        ((packed >> _VOTE_BITS) & _VOTE_MASK) / 2,
        (packed >> (2 * _VOTE_BITS)) / 2,
    )


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
    for tok in tokenize(text):
        if tok[0] == "#":
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
