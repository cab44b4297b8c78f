"""The live feed's memory: a bounded ring of scored mentions with an optional filter view.

Memory stays bounded whatever the volume (the oldest mentions fall off), lookups by line are O(1),
and a filter costs one pass when it changes plus one check per new mention afterwards. Search keys
are folded lazily, once per mention, so the flush never pays for a filter nobody typed.

A mention sent again with the same (source, uid) — a revision (``Mention.revision``: deleted, edited,
its author's profile arrived) or a plain duplicate — replaces its line in place rather than adding a
second one; kept entries are indexed by that key, so finding the line is one dict lookup. A revision
whose original has already fallen off is dropped: the journal's archive has the story.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable
from dataclasses import replace
from typing import NamedTuple

from tocsin.config import text as safe_text
from tocsin.sources.model import Author, Mention, ScoredMention

DEFAULT_CAPACITY = 10_000
SEARCH_CHARS = 2_000
"""Characters of a mention's text that the filter searches (a 100 kB post is not searched whole)."""


class FeedEntry:
    """One mention in the feed, with its search key folded on first use."""

    __slots__ = ("_key", "item")

    def __init__(self, item: ScoredMention) -> None:
        self.item = item
        self._key: str | None = None

    @property
    def key(self) -> str:
        """Text, handle and hashtags, case- and accent-folded, for substring search."""
        if self._key is None:
            m = self.item.mention
            tags = " ".join(f"#{t}" for t in m.hashtags)
            # NUL between fields: a query never matches across the end of one field and the start of another.
            text = safe_text.fold(m.text, SEARCH_CHARS)
            handle = "@" + safe_text.fold(m.author.handle, 100).lstrip("@")
            self._key = "\0".join((text, handle, safe_text.fold(tags, 500)))
        return self._key


FROM = "from:"


def author_needle(folded: str) -> str | None:
    """``from:@lea_mtl`` → the author field of a key as a whole (``\0@lea_mtl\0``): the handle field
    sits between two NULs, so the substring test used for every query matches that author exactly,
    and neither a post that mentions them nor a longer handle. None for any other query."""
    if not folded.startswith(FROM):
        return None
    handle = folded[len(FROM) :].strip().lstrip("@")
    return f"\0@{handle}\0" if handle else None


class Extended(NamedTuple):
    """What one ``FeedBuffer.extend`` changed, for the view to redraw just that."""

    added: int
    """Visible lines appended at the bottom."""
    evicted: int
    """Visible lines that fell off the top."""
    replaced: list[int]
    """Absolute indices of kept entries replaced in place, in arrival order (one may have fallen off
    again later in the same batch)."""
    reshaped: int = 0
    """Visible lines that appeared or vanished mid-view because a replaced entry's match with the
    filter changed: the lines below it moved."""


def edited(mention: Mention) -> bool:
    """Whether the kept version of a mention is one its author edited (sticky through later
    revisions: a deletion or a late profile does not make the text the original one again)."""
    return bool(mention.extra) and mention.extra.get("update") == "edit"


def author_updated(mention: Mention) -> bool:
    """Whether the kept version's author profile arrived after the post itself (and replaced the bare
    one it came with): its followers are the updated ones."""
    return bool(mention.extra) and mention.extra.get("update") == "author"


def _better_known(old: Author, new: Author) -> Author:
    """The same author in two versions of a post: the one with a follower count wins, else the newer
    (an edit from a firehose carries a bare DID where the first version had been given a profile)."""
    return old if new.followers is None and old.followers is not None else new


def merge(old: ScoredMention, new: ScoredMention) -> ScoredMention:
    """What the feed keeps when ``new`` (same source and uid) arrives for the kept ``old``.

    Each revision replaces what it is about: ``deleted`` only marks the kept version deleted;
    ``author`` only brings the author's profile (and the scores that depend on it); ``edit`` brings the
    new text and its judgement. A deletion and an edit stay marked whatever comes after. A revision
    sent unscored (no sentiment, no scores: e.g. a deletion) keeps the old judgement."""
    o, n = old.mention, new.mention
    revision = n.revision
    judged = new.sentiment.label != "unscored" or bool(new.scores)
    sentiment, scores = (new.sentiment, new.scores) if judged else (old.sentiment, old.scores)
    if revision == "deleted":
        mention = o if o.deleted else replace(o, deleted=True)
    elif revision == "author":
        # the post is the one kept (an author revision may be of a version from before an edit)
        extra = o.extra if edited(o) else {**o.extra, "update": "author"}
        mention = replace(o, author=n.author, extra=extra)
        if n.text != o.text:
            sentiment = old.sentiment  # judged on a text the feed no longer shows
    else:  # "edit", or the same post again
        author, extra = _better_known(o.author, n.author), n.extra
        if edited(o) and not edited(n):
            extra = {**n.extra, "update": "edit"}
        if author is n.author and extra is n.extra and n.deleted >= o.deleted:
            mention = n  # the usual edit: nothing to carry over (and replace() is the costly part)
        else:
            mention = replace(n, author=author, deleted=True if o.deleted else n.deleted, extra=extra)
    return ScoredMention(
        seq=new.seq,
        mention=mention,
        topics=new.topics or old.topics,
        sentiment=sentiment,
        scores=scores,
    )


class FeedBuffer:
    """The newest ``capacity`` mentions, oldest first, seen through an optional substring filter."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._ring: list[FeedEntry | None] = [None] * capacity
        self._start = 0  # absolute index of the oldest kept entry
        self._end = 0  # absolute index one past the newest
        self._index: dict[tuple[str, str], int] = {}  # (source, uid) of each kept entry → absolute index
        self._query = ""
        self._needle = ""  # what is looked for in each entry's key (the query, or an author's field)
        self._matches: list[int] = []  # absolute indices of kept entries that match, ascending
        self._head = 0  # position in _matches of the first still-kept match
        self.dropped = 0
        """Revisions dropped because their original had fallen off (or never made it into the feed)."""

    @property
    def query(self) -> str:
        """The folded filter, or "" when every mention shows."""
        return self._query

    @property
    def total(self) -> int:
        """Mentions kept, filter or not."""
        return self._end - self._start

    def __len__(self) -> int:
        """Lines visible through the filter."""
        if self._query:
            return len(self._matches) - self._head
        return self._end - self._start

    def absolute(self, line: int) -> int:
        """The absolute index (stable while kept) of visible line ``line``."""
        if self._query:
            return self._matches[self._head + line]
        return self._start + line

    def line_at(self, absolute: int) -> int:
        """The visible line of the kept entry at ``absolute``, or of the first visible one after it when
        it is hidden by the filter (``len(self)`` when none is); 0 for an index that fell off."""
        if self._query:
            return bisect_left(self._matches, absolute, self._head) - self._head
        return max(0, min(absolute, self._end) - self._start)

    def entry(self, line: int) -> FeedEntry:
        """The entry shown on visible line ``line`` (0 = oldest)."""
        if not 0 <= line < len(self):
            raise IndexError(line)
        entry = self._ring[self.absolute(line) % self.capacity]
        assert entry is not None
        return entry

    def at(self, absolute: int) -> FeedEntry | None:
        """The kept entry at an absolute index, filter or not (None once it fell off)."""
        if not self._start <= absolute < self._end:
            return None
        return self._ring[absolute % self.capacity]

    def extend(self, items: Iterable[ScoredMention]) -> Extended:
        """Take mentions (oldest first): new ones are appended, a revision or a duplicate of a kept one
        replaces it in place, a revision of one no longer kept is dropped. O(1) a mention (a filter match
        that changes on a replacement costs a bisect)."""
        added = evicted = reshaped = 0
        replaced: list[int] = []
        ring, cap, query, index = self._ring, self.capacity, self._query, self._index
        needle = self._needle
        for item in items:
            m = item.mention
            key = (m.source, m.uid)
            at = index.get(key)
            if at is not None:
                reshaped += self._replace(at, item)
                replaced.append(at)
                continue
            if m.revision is not None:
                self.dropped += 1
                continue
            if self._end - self._start == cap:
                gone = ring[self._start % cap]
                if gone is not None:
                    g = gone.item.mention
                    index.pop((g.source, g.uid), None)
                if not query:
                    evicted += 1
                elif self._head < len(self._matches) and self._matches[self._head] == self._start:
                    self._head += 1
                    evicted += 1
                self._start += 1
            entry = FeedEntry(item)
            ring[self._end % cap] = entry
            index[key] = self._end
            if not query:
                added += 1
            elif needle in entry.key:
                self._matches.append(self._end)
                added += 1
            self._end += 1
        if self._head > 1024 and self._head * 2 > len(self._matches):
            del self._matches[: self._head]
            self._head = 0
        return Extended(added, evicted, replaced, reshaped)

    def _replace(self, at: int, item: ScoredMention) -> int:
        """Put the merged version at ``at``; returns 1 when its line appeared or vanished in the filter."""
        slot = at % self.capacity
        old = self._ring[slot]
        assert old is not None
        entry = FeedEntry(merge(old.item, item))
        self._ring[slot] = entry
        query = self._query
        if not query:
            return 0
        needle = self._needle
        was, now = needle in old.key, needle in entry.key
        if was == now:
            return 0
        matches = self._matches
        if now:
            insort(matches, at, lo=self._head)
        else:
            del matches[bisect_left(matches, at, self._head)]
        return 1

    def set_filter(self, query: str) -> bool:
        """Show only mentions whose text, handle or hashtags contain ``query`` (case/accent-insensitive);
        ``from:@handle`` (or ``from:handle``) only the posts by that author, not the posts mentioning
        them. An empty query shows everything. Returns whether the view changed."""
        folded = safe_text.fold(query, 200).strip()
        if folded == self._query:
            return False
        self._query = folded
        self._needle = author_needle(folded) or folded
        self._head = 0
        if not folded:
            self._matches = []
            return True
        ring, cap = self._ring, self.capacity
        matches: list[int] = []
        for i in range(self._start, self._end):
            entry = ring[i % cap]
            if entry is not None and self._needle in entry.key:
                matches.append(i)
        self._matches = matches
        return True
