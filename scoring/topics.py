"""Topic matching: which configured topics a mention is about.

Keywords are case- and accent-insensitive and match on word boundaries ("brioche" does not match
"briochette"; write ``brioche*`` to match any word starting with "brioche"). ``#tag`` matches a hashtag
(in ``mention.hashtags`` or written in the text), ``@handle`` the author's handle or a mention of it in
the text. ``exclude`` terms veto a topic; ``languages`` keeps only mentions in those languages when the
mention's language is known.

All topics compile into one regular expression over the normalised text, so a mention costs one
normalisation and one scan whatever the number of topics and keywords.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tocsin.config.settings import TopicSettings
from tocsin.sources.model import Mention

# Combining marks left by NFKD decomposition (accents, cedillas…): removing them folds "é" to "e".
_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_SPACES = re.compile(r"[\s\-\u2010\u2011]+")
_CACHE_MAX = 4096
_WORD_ASCII = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def normalise(text: str) -> str:
    """Casefold and strip accents ("Brioché" → "brioche"); ASCII text takes a fast path."""
    if text.isascii():
        return text.lower()
    return _MARKS.sub("", unicodedata.normalize("NFKD", text.casefold()))


def normalise_ascii(text: str) -> str:
    """What ``normalise`` gives, as far as ASCII keywords can tell: accents stripped, and characters
    that have no ASCII form (emoji, other scripts) dropped. Twice as fast; used when every keyword is
    ASCII once normalised."""
    if text.isascii():
        return text.lower()
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()


_SEP = r"[\s\-\u2010\u2011]+"
"""Between the words of a phrase: any run of spaces or hyphens ("maison-brioche", "maison  brioche")."""
_ANY_END = r"\w*"


@dataclass(frozen=True, slots=True)
class _Term:
    topic: int
    """Index of the topic in the matcher."""
    exclude: bool
    kind: str
    """``word`` (a word or phrase), ``prefix`` (``word*``), ``tag`` (``#tag``) or ``handle`` (``@handle``)."""
    key: str
    """The normalised keyword: phrase words joined by one space, with ``#``/``@`` for tags and handles."""
    atoms: tuple[str, ...]
    """The regular expression, one piece per character (or separator, or wildcard end)."""

    @property
    def pattern(self) -> str:
        return "".join(self.atoms)


def _parse_term(raw: str, topic: int, exclude: bool) -> _Term | None:
    text = " ".join(_SPACES.split(normalise(raw.strip()))).strip()
    if not text:
        return None
    if text[0] in "#@" and len(text) > 1:
        kind = "tag" if text[0] == "#" else "handle"
        body = text[1:].lstrip("#@")
        if not body:
            return None
        return _Term(topic, exclude, kind, text[0] + body, _atoms(text[0] + body))
    if text.endswith("*") and len(text.rstrip("*")) > 0:
        base = text.rstrip("*").strip()
        return _Term(topic, exclude, "prefix", base + "*", (*_atoms(base), _ANY_END))
    return _Term(topic, exclude, "word", text, _atoms(text))


def _atoms(text: str) -> tuple[str, ...]:
    return tuple(_SEP if c == " " else re.escape(c) for c in text)


def _trie_pattern(sequences: Iterable[tuple[str, ...]]) -> str:
    """One regular expression for all the sequences, factored by common prefix.

    ``maison brioche|maisonbrioche`` becomes ``maison(?:[sep]brioche|brioche)``: at each position of the
    text the engine tries one branch per next character instead of every keyword (3x faster). Longer
    continuations are tried first, so the longest keyword at a position wins.
    """
    trie: dict[str, dict] = {}
    for seq in sequences:
        node = trie
        for atom in seq:
            node = node.setdefault(atom, {})
        node[""] = {}

    def emit(node: dict[str, dict]) -> str:
        # a wildcard end goes last: a literal continuation is tried before "any word characters"
        atoms = sorted((a for a in node if a), key=lambda a: a == _ANY_END)
        branches = [a + emit(node[a]) for a in atoms]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 and "" not in node else "(?:" + "|".join(branches) + ")"
        return body + "?" if "" in node else body

    return emit(trie)


class TopicMatcher:
    """Compiled once from the topics; ``match(mention)`` returns the ids of the topics it is about.

    Topics are bits of an int mask inside: a match credits an include mask and an exclude mask.
    """

    def __init__(self, topics: Sequence[TopicSettings]) -> None:
        self.topic_ids: tuple[str, ...] = tuple(t.id for t in topics)
        self._languages: tuple[frozenset[str] | None, ...] = tuple(
            frozenset(lang.lower().split("-")[0] for lang in t.languages) if t.languages else None
            for t in topics
        )
        terms: list[_Term] = []
        for i, topic in enumerate(topics):
            terms += [t for t in (_parse_term(k, i, False) for k in topic.keywords) if t]
            terms += [t for t in (_parse_term(k, i, True) for k in topic.exclude) if t]
        self._terms = terms
        self._term_res = [re.compile(rf"(?<!\w)(?:{t.pattern})(?!\w)") for t in terms]
        # Literals before wildcards, longest first: at one position the regex takes the first alternative
        # that matches, and the credits of a match include every shorter term found inside it.
        # No start boundary in the scan pattern (it would defeat the regex engine's first-character
        # search, 3x slower): the start of each match is checked by hand instead.
        # (a pattern that cannot match stands in when there are no keywords)
        scan = re.compile(f"(?:{_trie_pattern(t.atoms for t in terms)})(?!\\w)" if terms else "(?!x)x")
        self._scan = scan
        self._finditer, self._search = scan.finditer, scan.search
        self._overlaps = _may_overlap(terms)
        self._normalise = normalise_ascii if all(t.key.isascii() for t in terms) else normalise
        self._credits: dict[str, tuple[int, int]] = {}
        for t in terms:
            if t.kind != "prefix":
                self._credits[t.key] = self._credit_of(t.key)
        self._tags = {t.key[1:]: self._credits[t.key] for t in terms if t.kind == "tag"}
        # An author handle credits only the @handle terms (a plain word is about the text, not the author).
        handles: dict[str, tuple[int, int]] = {}
        for t in terms:
            if t.kind == "handle":
                inc, exc = handles.get(t.key[1:], (0, 0))
                bit = 1 << t.topic
                handles[t.key[1:]] = (inc, exc | bit) if t.exclude else (inc | bit, exc)
        self._handles = handles
        self._author_cache: dict[str, tuple[int, int]] = {}
        self._dynamic: dict[str, tuple[int, int]] = {}
        self._lang_masks: dict[str, int] = {}
        self._results: dict[int, tuple[str, ...]] = {}
        self.unmatched = 0
        """Mentions that matched no topic (dropped by the pipeline)."""

    def _credit_of(self, found: str) -> tuple[int, int]:
        """Topics included and excluded by a matched stretch of normalised text (every term inside it)."""
        inc = exc = 0
        for term, rx in zip(self._terms, self._term_res, strict=True):
            if rx.search(found):
                if term.exclude:
                    exc |= 1 << term.topic
                else:
                    inc |= 1 << term.topic
        return inc, exc

    def _credit(self, found: str) -> tuple[int, int]:
        credit = self._credits.get(found)
        if credit is None:
            key = " ".join(_SPACES.split(found))
            credit = self._credits.get(key) or self._dynamic.get(key)
            if credit is None:
                if len(self._dynamic) >= _CACHE_MAX:
                    self._dynamic.clear()
                credit = self._dynamic[key] = self._credit_of(key)
        return credit

    def _author_credit(self, handle: str) -> tuple[int, int]:
        credit = self._author_cache.get(handle)
        if credit is None:
            inc = exc = 0
            for form in _handle_forms(handle):
                i, e = self._handles.get(form, (0, 0))
                inc |= i
                exc |= e
            if len(self._author_cache) >= 8 * _CACHE_MAX:
                self._author_cache.clear()
            credit = self._author_cache[handle] = (inc, exc)
        return credit

    def _lang_mask(self, lang: str) -> int:
        mask = self._lang_masks.get(lang)
        if mask is None:
            code = lang.lower().split("-")[0]
            mask = sum(1 << i for i, langs in enumerate(self._languages) if langs is None or code in langs)
            if len(self._lang_masks) < _CACHE_MAX:
                self._lang_masks[lang] = mask
        return mask

    def match(self, mention: Mention) -> tuple[str, ...]:
        """Ids of the topics this mention is about (in configuration order); ``()`` when none."""
        inc = exc = 0
        text = mention.text
        norm = text.lower() if text.isascii() else self._normalise(text)
        if self._overlaps:
            inc, exc = self._scan_closely(norm)
        else:
            # the common case: no keyword of one topic can start inside another's, one pass
            credits = self._credits
            for m in self._finditer(norm):
                start = m.start()
                if start and ((c := norm[start - 1]) in _WORD_ASCII or c.isalnum()):
                    inc, exc = self._scan_closely(norm)  # inside a word; one may start further in
                    break
                found = m.group()
                credit = credits.get(found) or self._credit(found)
                inc |= credit[0]
                exc |= credit[1]
        if mention.hashtags and self._tags:
            tags = self._tags
            for tag in mention.hashtags:
                credit = tags.get(tag if tag.isascii() else normalise(tag))
                if credit is not None:
                    inc |= credit[0]
                    exc |= credit[1]
        if self._handles:
            handle = mention.author.handle
            if handle:
                credit = self._author_cache.get(handle) or self._author_credit(handle)
                inc |= credit[0]
                exc |= credit[1]
        if inc:
            inc &= ~exc
            lang = mention.lang
            if inc and lang:
                mask = self._lang_masks.get(lang)
                inc &= self._lang_mask(lang) if mask is None else mask
        if not inc:
            self.unmatched += 1
            return ()
        result = self._results.get(inc)
        if result is None:
            # one shared tuple per combination: scored mentions hold references, not copies
            result = self._results[inc] = tuple(t for i, t in enumerate(self.topic_ids) if inc >> i & 1)
        return result

    def _scan_closely(self, norm: str) -> tuple[int, int]:
        """Every keyword at every word start, overlapping ones included (the scan restarts after each
        match's first character rather than after its end)."""
        inc = exc = 0
        search = self._search
        m = search(norm)
        while m is not None:
            start = m.start()
            if not start or not (norm[start - 1].isalnum() or norm[start - 1] == "_"):
                i, e = self._credit(m.group())
                inc |= i
                exc |= e
            m = search(norm, start + 1)
        return inc, exc


def _may_overlap(terms: Sequence[_Term]) -> bool:
    """Whether a term can start inside another's match while crediting something different.

    If not, the scan may skip past each match (a non-overlapping scan finds everything that counts).
    """
    for a in terms:
        base = a.key.rstrip("*") if a.kind == "prefix" else a.key
        for j in range(1, len(base)):
            if base[j - 1].isalnum() or base[j - 1] == "_":
                continue  # nothing starts a keyword inside a word
            rest = base[j:]
            for b in terms:
                if (b.topic, b.exclude) == (a.topic, a.exclude):
                    continue
                other = b.key.rstrip("*") if b.kind == "prefix" else b.key
                if other.startswith(rest) or rest.startswith(other):
                    return True
    return False


def _handle_forms(handle: str) -> Iterable[str]:
    """The author's handle as a keyword may name it: full, without the instance (``user@host``),
    without the Bluesky default domain."""
    h = normalise(handle.strip()).lstrip("@")
    yield h
    if "@" in h:
        yield h.split("@", 1)[0]
    if h.endswith(".bsky.social"):
        yield h[: -len(".bsky.social")]
