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


def normalise(text: str) -> str:
    """Casefold and strip accents ("Brioché" → "brioche"); ASCII text takes a fast path."""
    if text.isascii():
        return text.lower()
    return _MARKS.sub("", unicodedata.normalize("NFKD", text.casefold()))


@dataclass(frozen=True, slots=True)
class _Term:
    topic: int
    """Index of the topic in the matcher."""
    exclude: bool
    kind: str
    """``word`` (a word or phrase), ``prefix`` (``word*``), ``tag`` (``#tag``) or ``handle`` (``@handle``)."""
    key: str
    """The normalised keyword: phrase words joined by one space, with ``#``/``@`` for tags and handles."""
    pattern: str


def _parse_term(raw: str, topic: int, exclude: bool) -> _Term | None:
    text = " ".join(_SPACES.split(normalise(raw.strip()))).strip()
    if not text:
        return None
    if text[0] in "#@" and len(text) > 1:
        kind = "tag" if text[0] == "#" else "handle"
        body = text[1:].lstrip("#@")
        if not body:
            return None
        return _Term(topic, exclude, kind, text[0] + body, re.escape(text[0] + body))
    if text.endswith("*") and len(text.rstrip("*")) > 0:
        base = text.rstrip("*").strip()
        words = [re.escape(w) for w in base.split(" ")]
        return _Term(topic, exclude, "prefix", base + "*", r"[\s\-\u2010\u2011]+".join(words) + r"\w*")
    words = [re.escape(w) for w in text.split(" ")]
    return _Term(topic, exclude, "word", text, r"[\s\-\u2010\u2011]+".join(words))


class TopicMatcher:
    """Compiled once from the topics; ``match(mention)`` returns the ids of the topics it is about."""

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
        order = sorted(
            {t.pattern: t for t in terms}.values(),
            key=lambda t: (t.kind == "prefix", -len(t.key)),
        )
        alternation = "|".join(f"(?:{t.pattern})" for t in order)
        self._scan = re.compile(f"(?:{alternation})(?!\\w)") if order else None
        self._credits: dict[str, tuple[frozenset[int], frozenset[int]]] = {}
        for t in terms:
            if t.kind != "prefix":
                self._credits[t.key] = self._credit_of(t.key)
        self._tags = {t.key[1:]: self._credits[t.key] for t in terms if t.kind == "tag"}
        # An author handle credits only the @handle terms (a plain word is about the text, not the author).
        handles: dict[str, tuple[set[int], set[int]]] = {}
        for t in terms:
            if t.kind == "handle":
                inc, exc = handles.setdefault(t.key[1:], (set(), set()))
                (exc if t.exclude else inc).add(t.topic)
        self._handles = {h: (frozenset(i), frozenset(e)) for h, (i, e) in handles.items()}
        self._dynamic: dict[str, tuple[frozenset[int], frozenset[int]]] = {}
        self._results: dict[frozenset[int], tuple[str, ...]] = {}
        self.unmatched = 0
        """Mentions that matched no topic (dropped by the pipeline)."""

    def _credit_of(self, found: str) -> tuple[frozenset[int], frozenset[int]]:
        """Topics included and excluded by a matched stretch of normalised text (every term inside it)."""
        inc: set[int] = set()
        exc: set[int] = set()
        for term, rx in zip(self._terms, self._term_res, strict=True):
            if rx.search(found):
                (exc if term.exclude else inc).add(term.topic)
        return frozenset(inc), frozenset(exc)

    def _credit(self, found: str) -> tuple[frozenset[int], frozenset[int]]:
        key = " ".join(_SPACES.split(found)) if not found.isalnum() else found
        credit = self._credits.get(key)
        if credit is None:
            credit = self._dynamic.get(key)
            if credit is None:
                if len(self._dynamic) >= _CACHE_MAX:
                    self._dynamic.clear()
                credit = self._dynamic[key] = self._credit_of(key)
        return credit

    def match(self, mention: Mention) -> tuple[str, ...]:
        """Ids of the topics this mention is about (in configuration order); ``()`` when none."""
        inc: set[int] = set()
        exc: set[int] = set()
        scan = self._scan
        if scan is not None:
            text = mention.text
            norm = text.lower() if text.isascii() else normalise(text)
            pos = 0
            search = scan.search
            while (m := search(norm, pos)) is not None:
                start = m.start()
                if start == 0 or not (norm[start - 1].isalnum() or norm[start - 1] == "_"):
                    i, e = self._credit(m.group())
                    inc |= i
                    exc |= e
                # restart just after the match's start, so terms overlapping it are found too
                pos = start + 1
        if self._tags and mention.hashtags:
            for tag in mention.hashtags:
                credit = self._tags.get(tag if tag.isascii() else normalise(tag))
                if credit:
                    inc |= credit[0]
                    exc |= credit[1]
        if self._handles and mention.author.handle:
            for handle in _handle_forms(mention.author.handle):
                credit = self._handles.get(handle)
                if credit:
                    inc |= credit[0]
                    exc |= credit[1]
        if not inc:
            self.unmatched += 1
            return ()
        inc -= exc
        if mention.lang and inc:
            lang = mention.lang.lower().split("-")[0]
            inc = {i for i in inc if _speaks(self._languages[i], lang)}
        if not inc:
            self.unmatched += 1
            return ()
        return self._result(frozenset(inc))

    def _result(self, found: frozenset[int]) -> tuple[str, ...]:
        # One shared tuple per combination: scored mentions hold references, not copies.
        result = self._results.get(found)
        if result is None:
            result = self._results[found] = tuple(self.topic_ids[i] for i in sorted(found))
        return result


def _speaks(languages: frozenset[str] | None, lang: str) -> bool:
    return languages is None or lang in languages


def _handle_forms(handle: str) -> Iterable[str]:
    """The author's handle as a keyword may name it: full, without the instance (``user@host``),
    without the Bluesky default domain."""
    h = normalise(handle.strip()).lstrip("@")
    yield h
    if "@" in h:
        yield h.split("@", 1)[0]
    if h.endswith(".bsky.social"):
        yield h[: -len(".bsky.social")]
