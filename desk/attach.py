"""An attached desk: the wall on a desk that another tocsin process runs (``tocsin --attach``).

An ``AttachedDesk`` opens no source connection and judges nothing. Everything it shows, the ingest desk
wrote to the journal:

- the ingest desk's latest snapshot (``journal/desks.py``, published about twice a second), read when
  its version changes and rebuilt by ``desk/wire.py``;
- the scored mentions the ingest desk archived, read since this desk's cursor in the order they were
  written (``Journal.archived_since``), rebuilt for the feed, revisions replacing their line as on the
  ingest desk;
- incidents and every desk's actions through the journal session, as on any desk.

It wakes on the journal's notifications (``Store.listen``: NOTIFY on PostgreSQL, the commit counter on
SQLite) and then reads what is new; reads are at least ``MIN_GAP_S`` apart, so a storm of small archive
batches costs a few reads a second, and with no wake at all it looks once every ``FALLBACK_S`` (a wake
lost in a reconnect costs latency, never data). A journal that cannot be read is retried, and said in
``problem``; the figures stay as they were, and the header says when the ingest desk is gone.

The session binds it to its journal (``use_journal``) before ``start``. Its clock follows the ingest
desk's (``FollowedClock``), so countdowns and the times of the actions taken here agree with the desk
that ingests, the demo's speed included.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from tocsin.config.settings import Settings
from tocsin.desk.wire import WireError, scored_from_archive, snapshot_from_wire
from tocsin.journal.errors import JournalError
from tocsin.journal.store import MENTIONS, SNAPSHOTS
from tocsin.scoring.snapshot import Snapshot
from tocsin.sources.base import Source
from tocsin.sources.clock import Clock
from tocsin.sources.model import ScoredMention

if TYPE_CHECKING:
    from tocsin.journal.api import Journal

log = logging.getLogger(__name__)

MIN_GAP_S = 0.1
"""Real seconds between two reads of the journal, however many wakes came in between."""
FALLBACK_S = 1.0
"""Real seconds without a wake after which the journal is read anyway."""
BACKLOG = 500
"""Mentions an attached desk takes from before it attached: the feed is not empty at the start."""
READ_LIMIT = 2000
"""Mentions read in one query (a catch-up takes several)."""
FEED_KEEP = 5000
"""Mentions kept for the wall to take (the wall's feed keeps its own, larger, memory)."""
RETRY_S = 1.0


@runtime_checkable
class JournalDesk(Protocol):
    """A desk that works through the session's journal: an attached desk, or an ingest desk that must
    hold the journal's ingest lease. The session calls ``use_journal`` once the journal is open (before
    ``start``), awaits each listener added with ``add_role_listener`` when the desk changes role (before
    a desk taking over opens its sources), and calls ``leave_journal`` last, after its own last writes."""

    @property
    def role(self) -> str:
        """``ingest``, ``standby`` (waiting for the ingest lease) or ``attached``."""
        ...

    @property
    def ingesting(self) -> bool:
        """Whether this desk runs the sources and the judgement now (and so archives, publishes its
        snapshot, notes levels on incidents and saves cursors)."""
        ...

    async def use_journal(self, journal: Journal, desk_id: str) -> None: ...
    async def leave_journal(self) -> None: ...
    def add_role_listener(self, fn: Callable[[str], Awaitable[None]]) -> None: ...


class FollowedClock:
    """The ingest desk's clock as an attached desk reads it: the time of its latest snapshot, run on at
    its speed from the real time the snapshot was written; real time until the first one. Once it
    follows, it never goes backward (a late snapshot does not pull it back)."""

    def __init__(self, wall: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._wall = wall
        self._anchor: datetime | None = None
        self._written: datetime | None = None
        self._speed = 1.0
        self._last: datetime | None = None

    def follow(self, at: datetime, speed: float, written_at: datetime, *, new_desk: bool = False) -> None:
        """The ingest desk's time was ``at`` when it wrote a snapshot at real time ``written_at``;
        ``new_desk``: another desk ingests now (it took over), whose time may be earlier."""
        if self._anchor is None or new_desk:
            self._last = None  # real time until now, or another desk's: a demo's time may be earlier
        self._anchor, self._written = at, written_at
        self._speed = speed if speed > 0 else 1.0

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> datetime:
        real = self._wall()
        if self._anchor is None or self._written is None:
            t = real
        else:
            t = self._anchor + timedelta(seconds=(real - self._written).total_seconds() * self._speed)
        if self._last is not None and t < self._last:
            return self._last
        self._last = t
        return t

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self._speed)


def empty_snapshot(at: datetime) -> Snapshot:
    """What an attached desk shows before the ingest desk's first snapshot (the header waits for it)."""
    return Snapshot(at=at, seq=0, topics={}, sources={}, engine="…")


class AttachedDesk:
    """A desk that shows what the ingest desk writes to the journal (see the module docstring)."""

    role = "attached"
    ingesting = False

    def __init__(self, settings: Settings, *, clock: Clock | None = None) -> None:
        """``clock``: the desk's clock (default: one that follows the ingest desk's)."""
        self.settings = settings
        self.clock: Clock = clock if clock is not None else FollowedClock()
        self.sources: Sequence[Source] = ()
        """None: an attached desk opens no source connection."""
        self._journal: Journal | None = None
        self._snapshot = empty_snapshot(self.clock.now())
        self._version = 0
        self._publisher: str | None = None
        self._finished = False
        self._cursor = 0
        self._feed: deque[ScoredMention] = deque(maxlen=FEED_KEEP)
        self._seq = 0
        self._listeners: list[Callable[[Sequence[ScoredMention]], None]] = []
        self._task: asyncio.Task[None] | None = None
        self._started = False
        self.problem: str | None = None
        """Why the journal cannot be read now (None while it can): the figures are as of the last read."""
        self.snapshot_written_at: datetime | None = None
        """When (real time) the ingest desk wrote the snapshot shown."""
        self.reads = 0
        """How many times the journal was read (tests and the benchmark check the cadence)."""

    # --- the session's side ------------------------------------------------------------------------

    async def use_journal(self, journal: Journal, desk_id: str) -> None:
        self._journal = journal

    async def leave_journal(self) -> None:
        """Nothing to give up: an attached desk holds no lease."""

    def add_role_listener(self, fn: Callable[[str], Awaitable[None]]) -> None:
        """An attached desk never changes role."""

    # --- reading (DeskLike) -----------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """The ingest desk's latest snapshot read (an empty one before the first)."""
        return self._snapshot

    def feed_since(self, seq: int, limit: int = 2000) -> list[ScoredMention]:
        """The newest ``limit`` mentions read with ``seq`` above the given one, oldest first (``seq``
        counts this desk's feed, not the journal's)."""
        feed = self._feed
        if not feed or seq >= self._seq:
            return []
        first = feed[0].seq  # seqs in the feed are consecutive: the n-th holds first + n
        start = max(seq + 1, first, self._seq - limit + 1)
        return list(itertools.islice(feed, start - first, None))

    def add_batch_listener(self, fn: Callable[[Sequence[ScoredMention]], None]) -> None:
        """Call ``fn(batch)`` with each batch of mentions read (the session archives nothing of them:
        this desk does not ingest)."""
        self._listeners.append(fn)

    @property
    def finished(self) -> bool:
        """Every source of the ingest desk has ended, as its last snapshot said."""
        return self._finished

    # --- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        """Read where the ingest desk stands (its snapshot, the last ``BACKLOG`` mentions), then follow
        it in the background. Raises ``RuntimeError`` without a journal, ``JournalError`` if it cannot
        be read."""
        if self._started:
            return
        journal = self._journal
        if journal is None:
            raise RuntimeError("an attached desk needs the journal, and it could not be opened")
        self._started = True
        self._cursor = max(0, await journal.archive_seq() - BACKLOG)
        await self.read()
        self._task = asyncio.create_task(self._follow(journal), name="tocsin-attached")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _follow(self, journal: Journal) -> None:
        while True:
            try:
                async with journal.store.listen(MENTIONS, SNAPSHOTS) as wakes:
                    while True:
                        await self._read_reporting()
                        await asyncio.sleep(MIN_GAP_S)  # wakes meanwhile are coalesced into the next read
                        await wakes.get(FALLBACK_S)
            except JournalError as exc:  # listening itself failed (the server out of reach): again
                self._said(f"cannot follow the journal: {exc}")
                await asyncio.sleep(RETRY_S)

    async def _read_reporting(self) -> None:
        try:
            await self.read()
        except JournalError as exc:
            self._said(f"cannot read the journal: {exc}")
        except WireError as exc:
            self._said(str(exc))
        else:
            self.problem = None

    def _said(self, message: str) -> None:
        if message != self.problem:
            log.warning("attached desk: %s", message)
        self.problem = message

    async def read(self) -> int:
        """Read what is new: the snapshot if another was published, the mentions written since the
        cursor (all of them, in chunks). Returns how many mentions came."""
        journal = self._journal
        if journal is None:
            return 0
        self.reads += 1
        published = await journal.published_snapshot(newer_than=self._version)
        if published is not None:
            self._version = published.version
            shown = snapshot_from_wire(published.body)
            self._snapshot, self._finished = shown.snapshot, shown.finished
            self.snapshot_written_at = published.written_at
            follow = getattr(self.clock, "follow", None)
            if follow is not None:
                new_desk = self._publisher is not None and published.desk != self._publisher
                follow(shown.snapshot.at, shown.speed, published.written_at, new_desk=new_desk)
            self._publisher = published.desk
        taken = 0
        while True:
            rows = await journal.archived_since(self._cursor, limit=READ_LIMIT)
            if not rows:
                break
            self._cursor = rows[-1].seq or self._cursor
            batch = []
            for row in rows:
                self._seq += 1
                batch.append(scored_from_archive(row, self._seq))
            self._feed.extend(batch)
            taken += len(batch)
            for fn in self._listeners:
                fn(batch)
            if len(rows) < READ_LIMIT:
                break
        return taken
