"""The embedded sentiment engine: a French + English lexicon scorer, pure Python, no model.

How a text is judged (the rules of VADER, Hutto & Gilbert 2014, extended to French and to the
emoji people actually use when they complain):

- words, phrases, emoji and emoticons carry a valence (``lexicons/*.txt``); French matching ignores
  accents and splits elisions (``j'adore`` = ``j'`` + ``adore``); hashtags are read as words
  (``#boycott``, ``#BoycottBrioche``, ``#briochegate`` — a "-gate" tag names a scandal);
- a negator (``ne``/``n'``/``pas``/``jamais``/``rien``, ``not``/``never``/``n't``) flips the next few words;
- boosters and diminishers (``très``, ``grave``, ``very``, ``a bit``) scale the next sentiment word;
  an ALL-CAPS or elongated word ("NUL", "sooo") and exclamation marks add emphasis;
- after ``mais``/``but`` the clause counts one and a half, before it one half.

Language comes from the mention when it has one, else ``tocsin.scoring.language`` guesses it; when
it is neither French nor English both lexicons are tried. A readable FR/EN text without any
sentiment-bearing token is ``neutral``; a text the scorer cannot read at all (empty, only links or
handles, another language without a single known token) is ``unscored``.

Throughput matters (every mention of a storm goes through here), so each distinct raw token is
analysed once and remembered; scoring a text is then one regex pass and a loop over tuples.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

from tocsin.scoring.language import NO_VOTE, TOKEN_RE, decide, fold, normalize_lang, token_vote
from tocsin.scoring.snapshot import SentimentScore

ENGINE = "lexicon"

# Token kinds (the analysis of one raw token, per language).
K_PLAIN = 0  # a readable word with no sentiment
K_WORD = 1  # a sentiment word, emoji or emoticon: value = valence
K_NEG = 2  # a negator: value = scope in tokens
K_BOOST = 3  # value = added strength of the next sentiment word
K_DUAL = 4  # a booster that is a sentiment word when no sentiment word follows
K_BUT = 5  # contrast
K_BREAK = 6  # clause punctuation: ends negation and boosting
K_EXCL = 7  # exclamation marks: value = how many

# Tunable constants (measured on the dev sets, see tests/bench/measure_sentiment.py).
NEGATION_SCALAR = -0.74
CAPS_BOOST = 0.733
ELONGATION_BOOST = 0.3
EXCLAMATION_BOOST = 0.292
MAX_EXCLAMATIONS = 4
BUT_BEFORE = 0.5
BUT_AFTER = 1.5
BOOST_REACH = 2  # a booster reaches the next sentiment word within this many tokens
NORMALIZE_ALPHA = 15.0
POSITIVE_THRESHOLD = 0.05
NEGATIVE_THRESHOLD = 0.05
NEUTRAL_NO_EVIDENCE = 0.6  # confidence in "neutral" when no sentiment token was found at all
GATE_VALENCE = -2.0  # #fooGate: the scandal suffix

_LANG_INDEX = {"fr": 1, "en": 3, "other": 5}
_FR_POSTVERBAL = frozenset({"pas", "jamais", "plus", "rien", "guere"})
_FR_SUBJECTS = frozenset(
    {
        "j'",
        "je",
        "tu",
        "il",
        "elle",
        "on",
        "ca",
        "c'",
        "nous",
        "vous",
        "ils",
        "elles",
        "m'",
        "t'",
        "l'",
        "me",
        "te",
        "le",
        "la",
        "les",
        "y",
        "en",
        "s'",
        "se",
        "jle",
        "jla",
    }
)
_MEMO_LIMIT = 200_000
_ELONGATED = re.compile(r"(\w)\1{2,}")
_CAMEL = re.compile(r"[A-Z]?[a-zà-ÿ]+|[A-Z]+(?![a-z])")
_EMOJI_MODIFIERS = re.compile("[\ufe0f\u200d\U0001f3fb-\U0001f3ff]")

Analysis = tuple[int, float]


@dataclass(frozen=True)
class _Lexicon:
    """One language's tables, keys folded (lower case, no accents)."""

    words: dict[str, Analysis]
    phrases: dict[str, list[tuple[tuple[str, ...], Analysis]]]
    """First token → (following tokens, analysis), longest first."""


def _read(name: str) -> list[str]:
    text = resources.files("tocsin.scoring").joinpath(f"lexicons/{name}").read_text("utf-8")
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _key_tokens(phrase: str) -> tuple[str, ...]:
    return tuple(fold(t) for t in TOKEN_RE.findall(phrase.strip()))


def _add(words: dict[str, Analysis], phrases: dict, key: str, analysis: Analysis) -> None:
    toks = _key_tokens(key)
    if not toks:
        return
    if len(toks) == 1:
        words[toks[0]] = analysis
    else:
        phrases.setdefault(toks[0], []).append((toks[1:], analysis))


def _load_lexicons() -> tuple[dict[str, _Lexicon], dict[str, float]]:
    tables: dict[str, tuple[dict[str, Analysis], dict]] = {"fr": ({}, {}), "en": ({}, {})}
    for lang in ("fr", "en"):
        words, phrases = tables[lang]
        for line in _read(f"{lang}.txt"):
            valence, _, items = line.partition("\t")
            for item in items.split(","):
                if item.strip():
                    _add(words, phrases, item, (K_WORD, float(valence)))
    kinds = {"negator": K_NEG, "booster": K_BOOST, "dual": K_DUAL, "contrast": K_BUT}
    duals: dict[str, float] = {}
    for line in _read("modifiers.txt"):
        lang, kind, value, items = line.split("\t")
        words, phrases = tables[lang]
        boost = value.split("|")[0]
        for item in items.split(","):
            if not item.strip():
                continue
            _add(words, phrases, item, (kinds[kind], float(boost)))
            if kind == "dual":
                duals[f"{lang}:{fold(item.strip())}"] = float(value.split("|")[1])
    emoji: dict[str, float] = {}
    for line in _read("emoji.txt"):
        valence, _, items = line.partition("\t")
        for sym in items.split():
            emoji[_EMOJI_MODIFIERS.sub("", sym)] = float(valence)
    lexicons = {}
    for lang, (words, phrases) in tables.items():
        for rest in phrases.values():
            rest.sort(key=lambda p: -len(p[0]))
        lexicons[lang] = _Lexicon(words, phrases)
    lexicons["other"] = _merge(lexicons["fr"], lexicons["en"])
    return lexicons, emoji | {f"dual:{k}": v for k, v in duals.items()}


def _merge(fr: _Lexicon, en: _Lexicon) -> _Lexicon:
    """Both languages at once, for texts in neither: a word the two disagree on is left out."""
    words: dict[str, Analysis] = {}
    for key in fr.words.keys() | en.words.keys():
        a, b = fr.words.get(key), en.words.get(key)
        if a and b:
            if a[0] == b[0] == K_WORD and a[1] * b[1] > 0:
                words[key] = (K_WORD, (a[1] + b[1]) / 2)
            elif a == b:
                words[key] = a
        else:
            words[key] = a or b  # type: ignore[assignment]
    phrases: dict[str, list] = {}
    for src in (fr.phrases, en.phrases):
        for first, rest in src.items():
            phrases.setdefault(first, []).extend(rest)
    for rest in phrases.values():
        rest.sort(key=lambda p: -len(p[0]))
    return _Lexicon(words, phrases)


# French inflections and English suffixes tried when a word is not in the lexicon as written.
_FR_SUFFIXES = (
    ("euses", "eux"),
    ("euse", "eux"),
    ("ives", "if"),
    ("ive", "if"),
    ("ees", "e"),
    ("ee", "e"),
    ("es", ""),
    ("es", "e"),
    ("s", ""),
    ("x", ""),
    ("e", ""),
    ("elle", "el"),
    ("enne", "en"),
    ("ent", "e"),
    ("ez", "er"),
    ("ons", "er"),
)
_EN_SUFFIXES = (
    ("s", ""),
    ("es", ""),
    ("ies", "y"),
    ("ied", "y"),
    ("ed", ""),
    ("ed", "e"),
    ("d", ""),
    ("ing", ""),
    ("ing", "e"),
    ("ly", ""),
    ("ily", "y"),
    ("er", ""),
    ("est", ""),
)


class LexiconScorer:
    """French + English lexicon sentiment; pure, in-process, thread-safe for reads.

    ``score_batch(texts, langs)`` gives one ``SentimentScore`` per text (``engine="lexicon"``).
    """

    def __init__(self) -> None:
        self._lex, self._emoji = _load_lexicons()
        self._memo: dict[str, tuple] = {}

    # --- analysis of one raw token (memoised) --------------------------------------------------

    def _lookup(self, key: str, lang: str) -> Analysis | None:
        words = self._lex[lang].words
        hit = words.get(key)
        if hit is not None:
            return hit
        if _ELONGATED.search(key):
            for squeezed in (_ELONGATED.sub(r"\1\1", key), _ELONGATED.sub(r"\1", key)):
                hit = words.get(squeezed) or self._inflected(squeezed, lang)
                if hit is not None:
                    if hit[0] == K_WORD:
                        return (K_WORD, hit[1] + math.copysign(ELONGATION_BOOST, hit[1]))
                    return hit
        return self._inflected(key, lang)

    def _inflected(self, key: str, lang: str) -> Analysis | None:
        words = self._lex[lang].words
        suffixes = (
            _FR_SUFFIXES if lang == "fr" else _EN_SUFFIXES if lang == "en" else _FR_SUFFIXES + _EN_SUFFIXES
        )
        for suffix, repl in suffixes:
            if len(key) > len(suffix) + 2 and key.endswith(suffix):
                hit = words.get(key[: -len(suffix)] + repl)
                if hit is not None and hit[0] == K_WORD:
                    return hit
        return None

    def _hashtag(self, tag: str, lang: str) -> Analysis:
        key = fold(tag)
        hit = self._lookup(key, lang)
        if hit is not None and hit[0] == K_WORD:
            return hit
        if len(key) > 6 and key.endswith("gate"):
            return (K_WORD, GATE_VALENCE)
        # #BoycottMaisonBrioche: camel-case parts; #boycottbrioche: the longest known prefix/suffix.
        parts = [fold(p) for p in _CAMEL.findall(tag)]
        total, found = 0.0, False
        if len(parts) > 1:
            for part in parts:
                h = self._lex[lang].words.get(part)
                if h is not None and h[0] == K_WORD:
                    total += h[1]
                    found = True
        else:
            words = self._lex[lang].words
            for cut in range(len(key) - 3, 3, -1):
                for piece in (key[:cut], key[-cut:]):
                    h = words.get(piece)
                    if h is not None and h[0] == K_WORD:
                        return h
        return (K_WORD, total) if found and total else (K_PLAIN, 0.0)

    def _analyse(self, tok: str) -> tuple:
        """(vote, fr kind, fr value, en kind, en value, other kind, other value, key)."""
        c = tok[0]
        if c == "!":
            a = (K_EXCL, float(len(tok)))
            return (NO_VOTE, *a, *a, *a, "!")
        if c in "?.;,:…" and tok.strip("?.;,:…") == "":
            a = (K_BREAK, 0.0)
            return (NO_VOTE, *a, *a, *a, ".")
        emo = self._emoji.get(tok)
        if emo is None and not c.isalpha():
            emo = self._emoji.get(re.sub(r"(.)\1+$", r"\1", tok))
        if emo is None and len(tok) <= 3 and tok.lower() in ("xd", "x)"):
            emo = self._emoji.get("xD")
        if emo is not None:
            a = (K_WORD, emo)
            return (NO_VOTE, *a, *a, *a, tok)
        if c == "#":
            tag = tok[1:]
            return (
                NO_VOTE,
                *self._hashtag(tag, "fr"),
                *self._hashtag(tag, "en"),
                *self._hashtag(tag, "other"),
                "#",
            )
        if not c.isalpha():
            return ()  # an unknown symbol or emoji: nothing we can read
        key = fold(tok)
        vote = token_vote(tok)
        out: list = [vote]
        for lang in ("fr", "en", "other"):
            hit = self._lookup(key, lang)
            if hit is None and lang != "fr" and len(key) > 2 and key.endswith("n'"):
                hit = (K_NEG, 3.0)  # don', isn', can' (the "t" follows as its own token)
            out.extend(hit or (K_PLAIN, 0.0))
        out.append(key)
        return tuple(out)

    # --- scoring ---------------------------------------------------------------------------------

    def score_text(self, text: str, lang: str | None = None) -> SentimentScore:
        """Score one text (``lang``: the mention's language tag, or None to guess)."""
        memo = self._memo
        toks: list[str] = []
        entries: list[tuple] = []
        for tok in TOKEN_RE.findall(text):
            e = memo.get(tok)
            if e is None:
                if tok[0] == "@" or tok.startswith(("http", "www.")):
                    continue
                e = self._analyse(tok)
                if len(memo) >= _MEMO_LIMIT:
                    memo.clear()
                memo[tok] = e
            if e:
                toks.append(tok)
                entries.append(e)
        if not entries:
            return SentimentScore("unscored", 0.0, ENGINE)
        language = normalize_lang(lang)
        if language is None:
            fr = en = other = 0.0
            for e in entries:
                f, g, h = e[0]
                fr += f
                en += g
                other += h
            language = decide(fr, en, other)
        return self._judge(toks, entries, language)

    def _judge(self, toks: list[str], entries: list[tuple], language: str) -> SentimentScore:
        o = _LANG_INDEX[language]
        phrases = self._lex[language].phrases
        total = 0.0
        hits = 0
        readable = False
        scope = 0
        boost = 0.0
        boost_left = 0
        dual_valence = 0.0
        dual_negated = False
        factor = 1.0
        excl = 0.0
        n = len(entries)
        i = 0
        while i < n:
            e = entries[i]
            k = e[o]
            v = e[o + 1]
            step = 1
            self_negated = False
            if k != K_BREAK and k != K_EXCL:
                first = phrases.get(e[7])
                if first:
                    for rest, analysis in first:
                        m = len(rest)
                        if i + m < n and all(entries[i + 1 + j][7] == rest[j] for j in range(m)):
                            # "pas terrible", "plus jamais", "never again" carry their own negation:
                            # a negator before them does not flip them back ("ne ... plus jamais").
                            self_negated = any(entries[i + j][o] == K_NEG for j in range(m + 1))
                            k, v = analysis
                            step = m + 1
                            break
            if dual_valence and k != K_WORD:
                total += dual_valence * (NEGATION_SCALAR if dual_negated else 1.0) * factor
                hits += 1
                dual_valence = 0.0
            if k == K_WORD:
                readable = True
                if v:
                    hits += 1
                    tok = toks[i]
                    if step == 1 and len(tok) > 1 and tok.isupper() and tok.isalpha():
                        v += math.copysign(CAPS_BOOST, v)
                    if boost_left > 0:
                        v = v + boost if v > 0 else v - boost
                    if scope > 0 and not self_negated:
                        v *= NEGATION_SCALAR
                    elif (
                        o == 1
                        and i + step < n
                        and entries[i + step][7] in _FR_POSTVERBAL
                        and (
                            (i > 0 and entries[i - 1][7] in _FR_SUBJECTS)
                            or (step > 1 and e[7] in _FR_SUBJECTS)
                        )
                    ):
                        v *= NEGATION_SCALAR  # colloquial French drops "ne": "j'aime pas", "ça marche pas"
                    total += v * factor
                dual_valence = 0.0
                boost_left = 0
            elif k == K_PLAIN:
                readable = True
            elif k == K_NEG:
                readable = True
                scope = int(v) + 1  # counts itself
            elif k == K_BOOST:
                readable = True
                boost, boost_left = v, BOOST_REACH + 1
            elif k == K_DUAL:
                readable = True
                boost, boost_left = v, BOOST_REACH + 1
                dual_valence = (
                    self._emoji.get(f"dual:{language}:{e[7]}")
                    or self._emoji.get(f"dual:fr:{e[7]}", 0.0)
                    or self._emoji.get(f"dual:en:{e[7]}", 0.0)
                )
                dual_negated = scope > 0
            elif k == K_BUT:
                readable = True
                total *= BUT_BEFORE
                factor = BUT_AFTER
                scope = 0
            elif k == K_BREAK:
                scope = 0
                boost_left = 0
            elif k == K_EXCL:
                excl += v
                scope = 0
                boost_left = 0
            i += step
            scope = max(0, scope - step)
            boost_left = max(0, boost_left - step)
        if dual_valence:
            total += dual_valence * (NEGATION_SCALAR if dual_negated else 1.0) * factor
            hits += 1
        if not hits:
            if readable and language != "other":
                return SentimentScore("neutral", NEUTRAL_NO_EVIDENCE, ENGINE)
            return SentimentScore("unscored", 0.0, ENGINE)
        if total:
            total += math.copysign(min(excl, MAX_EXCLAMATIONS) * EXCLAMATION_BOOST, total)
        compound = total / math.sqrt(total * total + NORMALIZE_ALPHA)
        if compound >= POSITIVE_THRESHOLD:
            return SentimentScore("positive", min(0.99, 0.5 + abs(compound) / 2), ENGINE)
        if compound <= -NEGATIVE_THRESHOLD:
            return SentimentScore("negative", min(0.99, 0.5 + abs(compound) / 2), ENGINE)
        thr = POSITIVE_THRESHOLD if compound > 0 else NEGATIVE_THRESHOLD
        return SentimentScore("neutral", 0.5 + 0.5 * (1 - abs(compound) / thr), ENGINE)

    def score_batch(self, texts: Sequence[str], langs: Sequence[str | None]) -> list[SentimentScore]:
        """One score per text, same order; ``langs`` gives each mention's language tag (or None)."""
        if len(langs) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(langs)} language tags")
        score = self.score_text
        return [score(t, lang) for t, lang in zip(texts, langs, strict=True)]
