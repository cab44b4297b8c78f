"""The live feed's memory: a bounded ring of scored mentions with an optional filter view.

Memory stays bounded whatever the volume (the oldest mentions fall off), lookups by line are O(1),
and a filter costs one pass when it changes plus one check per new mention afterwards. Search keys
are folded lazily, once per mention, so the flush never pays for a filter nobody typed.
"""

from __future__ import annotations

from collections.abc import Iterable

from tocsin.scoring.snapshot import ScoredMention
from tocsin.tui import safe_text

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


class FeedBuffer:
    """The newest ``capacity`` mentions, oldest first, seen through an optional substring filter."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._ring: list[FeedEntry | None] = [None] * capacity
        self._start = 0  # absolute index of the oldest kept entry
        self._end = 0  # absolute index one past the newest
        self._query = ""
        self._matches: list[int] = []  # absolute indices of kept entries that match, ascending
        self._head = 0  # position in _matches of the first still-kept match

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

    def entry(self, line: int) -> FeedEntry:
        """The entry shown on visible line ``line`` (0 = oldest)."""
        if not 0 <= line < len(self):
            raise IndexError(line)
        entry = self._ring[self.absolute(line) % self.capacity]
        assert entry is not None
        return entry

    def extend(self, items: Iterable[ScoredMention]) -> tuple[int, int]:
        """Append mentions (oldest first). Returns (visible lines added, visible lines evicted at the top)."""
        added = evicted = 0
        ring, cap, query = self._ring, self.capacity, self._query
        for item in items:
            if self._end - self._start == cap:
                if not query:
                    evicted += 1
                elif self._head < len(self._matches) and self._matches[self._head] == self._start:
                    self._head += 1
                    evicted += 1
                self._start += 1
            entry = FeedEntry(item)
            ring[self._end % cap] = entry
            if not query:
                added += 1
            elif query in entry.key:
                self._matches.append(self._end)
                added += 1
            self._end += 1
        if self._head > 1024 and self._head * 2 > len(self._matches):
            del self._matches[: self._head]
            self._head = 0
        return added, evicted

    def set_filter(self, query: str) -> bool:
        """Show only mentions whose text, handle or hashtags contain ``query`` (case/accent-insensitive).
        An empty query shows everything. Returns whether the view changed."""
        folded = safe_text.fold(query, 200).strip()
        if folded == self._query:
            return False
        self._query = folded
        self._head = 0
        if not folded:
            self._matches = []
            return True
        ring, cap = self._ring, self.capacity
        matches: list[int] = []
        for i in range(self._start, self._end):
            entry = ring[i % cap]
            if entry is not None and folded in entry.key:
                matches.append(i)
        self._matches = matches
        return True
