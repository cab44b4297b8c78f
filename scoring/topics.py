"""Topic matching: which configured topics a mention is about.

Keywords are case- and accent-insensitive and match on word boundaries ("brioche" does not match
"briochette"; write ``brioche*`` to match any word starting with "brioche"). ``#tag`` matches a hashtag
(in ``mention.hashtags`` or written in the text), ``@handle`` the author's handle or a mention of it in
the text. ``exclude`` terms veto a topic; ``languages`` keeps only mentions in those languages when the
mention's language is known.

All topics compile into one Aho-Corasick automaton over the normalised text, so a mention costs one
normalisation and one scan whatever the number of topics and keywords.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import ahocorasick

from tocsin.config.settings import TopicSettings
from tocsin.config.text import fold
from tocsin.sources.model import Mention

_SPACES = re.compile(r"[\s\-\u2010\u2011]+")
_CACHE_MAX = 4096
_WORD_ASCII = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def normalise(text: str) -> str:
    """A keyword or a text as the automaton sees it: ``config.text.fold``, as it is ("Brioché" →
    "brioche"); not cleaned, so the firehose pre-filter, which folds the same way, keeps what matches."""
    return fold(text, max_len=None)


@dataclass(frozen=True, slots=True)
class _Term:
    topic: int
    """Index of the topic in the matcher."""
    exclude: bool
    kind: str
    """``word`` (a word or phrase), ``prefix`` (``word*``), ``tag`` (``#tag``) or ``handle`` (``@handle``)."""
    key: str
    """The normalised keyword: phrase words joined by one space, with ``#``/``@`` for tags and handles,
    without the ``*`` of a prefix. What the automaton looks for in the canonical text."""


def _parse_term(raw: str, topic: int, exclude: bool) -> _Term | None:
    text = " ".join(_SPACES.split(normalise(raw.strip()))).strip()
    if not text:
        return None
    if text[0] in "#@" and len(text) > 1:
        kind = "tag" if text[0] == "#" else "handle"
        body = text[1:].lstrip("#@")
        if not body:
            return None
        return _Term(topic, exclude, kind, text[0] + body)
    if text.endswith("*") and len(text.rstrip("*")) > 0:
        return _Term(topic, exclude, "prefix", text.rstrip("*").strip())
    return _Term(topic, exclude, "word", text)


def _is_word(c: str) -> bool:
    """What a regular expression's ``\\w`` is: the boundary of a keyword."""
    return c in _WORD_ASCII or c.isalnum()


class TopicMatcher:
    """Compiled once from the topics; ``match(mention)`` returns the ids of the topics it is about.

    All keywords go into one Aho-Corasick automaton (``pyahocorasick``, a C extension): one pass over a
    mention finds every keyword in it, overlapping ones included, at a cost that depends on the text and
    not on how many keywords there are (10,000 cost about what 10 do). A regular expression per keyword
    made a 10k-keyword list take seconds a mention; one alternation of them all still has to try many
    branches at each character and cannot report overlapping matches.

    The automaton runs over canonical text: normalised (case and accents folded) and with every run of
    spaces and hyphens made one space, which is how keywords are written, so ``maison-brioche`` and
    ``maison  brioche`` meet ``maison brioche``. Word boundaries are checked around each hit. Topics are
    bits of an int mask: a hit credits an include mask and an exclude mask.
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
        # key → [whole-word include, whole-word exclude, prefix include, prefix exclude]
        masks: dict[str, list[int]] = {}
        for t in terms:
            slot = (2 if t.kind == "prefix" else 0) + (1 if t.exclude else 0)
            masks.setdefault(t.key, [0, 0, 0, 0])[slot] |= 1 << t.topic
        self._automaton: ahocorasick.Automaton | None = None
        if masks:
            automaton = ahocorasick.Automaton()
            for key, (wi, we, pi, pe) in masks.items():
                automaton.add_word(key, (len(key) - 1, wi, we, pi, pe))
            automaton.make_automaton()
            self._automaton = automaton
        self._tags: dict[str, tuple[int, int]] = {}
        handles: dict[str, tuple[int, int]] = {}
        for t in terms:
            if t.kind in ("tag", "handle"):
                # a hashtag field credits the #tag terms; an author handle only the @handle terms (a
                # plain word is about the text, not the author)
                table = self._tags if t.kind == "tag" else handles
                inc, exc = table.get(t.key[1:], (0, 0))
                bit = 1 << t.topic
                table[t.key[1:]] = (inc, exc | bit) if t.exclude else (inc | bit, exc)
        self._handles = handles
        self._author_cache: dict[str, tuple[int, int]] = {}
        self._lang_masks: dict[str, int] = {}
        self._results: dict[int, tuple[str, ...]] = {}
        self.unmatched = 0
        """Mentions that matched no topic (dropped by the pipeline)."""

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
        if self._automaton is not None:
            inc, exc = self._scan(mention.text)
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

    def _scan(self, text: str) -> tuple[int, int]:
        """Include and exclude masks of every keyword in the text, each checked for word boundaries."""
        # (no ASCII-only shortcut for non-ASCII text: dropping what has no ASCII form glued words
        # together, "maison‐brioche" became "maisonbrioche" and "x😡brioche" "xbrioche")
        norm = text.lower() if text.isascii() else normalise(text)
        # every separator other than one plain space is non-printable, except the hyphens
        if "-" in norm or "  " in norm or "\u2010" in norm or "\u2011" in norm or not norm.isprintable():
            norm = _SPACES.sub(" ", norm)
        inc = exc = 0
        last = len(norm) - 1
        assert self._automaton is not None
        for end, (span, wi, we, pi, pe) in self._automaton.iter(norm):
            start = end - span
            if start and _is_word(norm[start - 1]):
                continue  # found inside a word
            inc |= pi
            exc |= pe
            if (wi or we) and (end == last or not _is_word(norm[end + 1])):
                inc |= wi
                exc |= we
        return inc, exc


def _handle_forms(handle: str) -> Iterable[str]:
    """The author's handle as a keyword may name it: full, without the instance (``user@host``),
    without the Bluesky default domain."""
    h = normalise(handle.strip()).lstrip("@")
    yield h
    if "@" in h:
        yield h.split("@", 1)[0]
    if h.endswith(".bsky.social"):
        yield h[: -len(".bsky.social")]
