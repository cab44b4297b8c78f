"""The session: what ties a running desk to the incident journal (and to the alerts).

``JournalSession(settings, desk)`` opens the journal on the desk's clock and then, while the desk runs:

- archives every scored batch (the journal's ``Archiver``: batched, off the screen's way) and counts
  per-minute volume and sentiment per topic, written to the journal's history every few seconds;
- gives each source its saved resume cursor before it starts, and saves the cursors every 10 s and at
  the end;
- follows each topic's level (``desk.add_level_listener`` when the desk has it, else by comparing
  consecutive snapshots), remembers when it left calm (an incident's first signal), tells the journal
  (``on_level``: level notes, resurgence reopens) and alerts;
- checks the SLA clocks every few seconds of desk time (breaches recorded once, then alerted);
- polls the journal for changes about once a second, and at once (at most 4 times a second) when the
  journal says events were written (``Store.listen``), so several desks on one journal see each
  other's actions within a second, and keeps the unresolved incidents cached for the wall;
- prunes the archive every hour;
- publishes the desk's snapshot to the journal twice a second, for attached desks;
- says this desk is there (a heartbeat every 2 s) and reads who else is (``presence.TeamView``: how
  many desks are attached, whether the ingest desk is alive), for the header.

Only the desk that ingests (``ingesting``: it holds the journal's ``ingest`` lease) archives, counts
volume, saves cursors, prunes, publishes its snapshot and notes level changes on incidents. An attached
desk, or an ingest desk standing by (``desk/attach.py``, ``desk/ingest.py``), follows the levels of the
snapshots it is shown (for an incident's first signal, and this screen's bell) and acts on incidents
like any desk; the ingest desk does the rest, once.

Time: countdowns, levels and SLA checks read the desk's clock; the polling, saving and pruning cadence
is real time (``monotonic``, injected). Tests drive each step directly (``poll``, ``check_clocks``,
``tick``…) instead of starting the background loop. No textual import: headless mode runs a session too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tocsin.config.i18n import _, ngettext
from tocsin.config.outputs import LOCAL_TYPES
from tocsin.config.reasons import level_name, listed, shown
from tocsin.config.settings import LEVELS, Settings
from tocsin.desk.alerts import Alert, AlertDispatcher, AlertEvent
from tocsin.desk.attach import JournalDesk
from tocsin.desk.desk import DeskLike, LevelHerald
from tocsin.desk.oncall import OnCall
from tocsin.desk.presence import HEARTBEAT_S, TeamView, describe_me, look, new_desk_id, real_now
from tocsin.desk.publishing import Publishing
from tocsin.desk.wire import snapshot_to_wire
from tocsin.journal.api import Journal
from tocsin.journal.archive import Archiver
from tocsin.journal.desks import INGEST
from tocsin.journal.errors import JournalBusy, JournalError, JournalUnavailable
from tocsin.journal.history import VolumePoint
from tocsin.journal.model import Event, EventKind, Incident, level_rank
from tocsin.journal.store import EVENTS, Lease
from tocsin.scoring.levels import LevelState
from tocsin.scoring.snapshot import Snapshot

log = logging.getLogger(__name__)

TICK_S = 0.25
"""Real seconds between two rounds of the background loop."""
POLL_EVERY_S = 1.0
"""Real seconds between two looks at the journal for other desks' actions."""
POLL_GAP_S = 0.25
"""The closest two looks may be when the journal wakes the session (events written)."""
PUBLISH_EVERY_S = 0.5
"""Real seconds between two snapshots published for attached desks."""
CURSOR_EVERY_S = 10.0
VOLUME_EVERY_S = 5.0
PRUNE_FIRST_S = 60.0
"""The first prune waits a minute: the desk's start is busy enough."""
PRUNE_EVERY_S = 3600.0
CLOCK_CHECK_EVERY = timedelta(seconds=5)
"""Desk time between two SLA checks."""
VOLUME_KEEP = timedelta(hours=3)
"""Minutes kept counting in memory: a mention later than this adds to a minute already written and
forgotten, and is not counted in the history (live sources are rarely hours late)."""
RESURGENCE_WINDOW = timedelta(hours=48)
"""A storm back on a topic within this long of its incident's resolution is offered as a reopening of
that incident (same clocks' history, same post-mortem) rather than a fresh incident."""

ChangeListener = Callable[[Sequence[Event], Sequence[Incident]], None]


@dataclass(frozen=True, slots=True)
class TopicLevel:
    """What the session knows of one topic's level."""

    topic: str
    level: str
    reasons: tuple[str, ...]
    since: datetime
    """When this level was entered."""
    left_calm_at: datetime | None
    """When the topic last rose above calm (None while calm): a new incident's first signal."""


@dataclass(frozen=True, slots=True)
class _LevelChange:
    topic: str
    previous: str
    level: str
    reasons: tuple[str, ...]
    at: datetime


_COLUMN = {"negative": 1, "neutral": 2, "positive": 3}
"""Where a sentiment label is counted in a minute's ``[count, negative, neutral, positive]``."""


def _reasons(reasons: Sequence[str]) -> str:
    """A level's reasons for an alert, in the desk's language (the alert's data keeps them in English)."""
    return listed(shown(r) for r in reasons)


def _epoch_minute(dt: datetime) -> int:
    return int(dt.timestamp()) // 60


class JournalSession:
    """A desk and its journal, working together. ``await start()`` before the desk starts (so the
    sources get their cursors), ``await stop()`` after the desk stopped (so its last batches are kept).
    """

    def __init__(
        self,
        settings: Settings,
        desk: DeskLike,
        journal: Journal | None = None,
        *,
        operator: str | None = None,
        alerts: AlertDispatcher | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        background: bool = True,
        location: str | Path | None = None,
        wall: Callable[[], datetime] = real_now,
        standby: bool = False,
    ) -> None:
        """``desk``: a ``Desk`` (or a fake with its shape), an ``AttachedDesk`` or an ``IngestDesk``;
        ``journal``: an open one to use (default: open ``settings``'s, or the one at ``location``, on the
        desk's clock, and close it at the end). ``background=False``: ``start`` runs no loop (tests
        call ``tick``, ``poll``… themselves). ``wall``: real time, for presence. ``standby``: a plain
        ``Desk`` that must take the ingest lease first (``lead_ingest``) writes nothing it sees until then."""
        self.settings = settings
        self.desk = desk
        self.journal: Journal | None = journal
        self._owns_journal = journal is None
        self._location = location
        self._operator = operator
        self._wall = wall
        self.desk_id = new_desk_id()
        """This desk on the journal: its presence row, and the holder of its ingest lease."""
        self.team: TeamView | None = None
        """The desks on the journal, as of the last heartbeat (None before the first)."""
        self._started_at = wall()
        self._lease: Lease | None = None
        self._waiting = standby
        self._last_poll = 0.0
        self._published_snapshot: Snapshot | None = None
        self._events_task: asyncio.Task[None] | None = None
        # the screen's own outputs ring at once; the others go through the journal's outbox (OnCall)
        local = [t for t in settings.alerts if t.type in LOCAL_TYPES]
        self.alerts = alerts if alerts is not None else AlertDispatcher(local)
        self.oncall: OnCall | None = None
        """Messages to the people away from the wall, and the ladder (made at ``start``)."""
        self.publishing: Publishing | None = None
        """Approving and posting responses (made at ``start``): the wall's ``A``."""
        self._opened_here: set[int] = set()
        self._monotonic = monotonic
        self._background = background
        self.archiver: Archiver | None = None
        self.incidents: tuple[Incident, ...] = ()
        """The unresolved incidents, oldest first, as of the last poll."""
        self._resolved: dict[int, Incident] = {}
        """Incidents resolved within ``RESURGENCE_WINDOW`` (see ``recently_resolved``)."""
        self.version = 0
        """Goes up each time ``incidents`` changes: the wall redraws its pane then."""
        self.last_event_id = 0
        self._problems: dict[str, str] = {}
        self.levels: dict[str, TopicLevel] = {}
        self._pending_levels: list[_LevelChange] = []
        self._level_listener = False
        self._last_snapshot: Any = None
        self._change_listeners: list[ChangeListener] = []
        self._problem_listeners: list[Callable[[str], None]] = []
        self._alert_listeners: list[Callable[[Alert], None]] = []
        # per (topic, epoch minute): [count, negative, neutral, positive]
        self._volume: dict[tuple[str, int], list[int]] = {}
        self._dirty: set[tuple[str, int]] = set()
        self._saved_cursors: dict[str, str] = {}
        self._last_clock_check: datetime | None = None
        self._due: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._started = False
        self._stopped = False

    # --- listeners ------------------------------------------------------------------------------

    def add_change_listener(self, fn: ChangeListener) -> None:
        """``fn(events, incidents)`` after a poll found new journal events (``incidents``: those they
        touched, as they now stand, resolved ones included)."""
        self._change_listeners.append(fn)

    def add_problem_listener(self, fn: Callable[[str], None]) -> None:
        """``fn(message)`` when the journal or an alert target fails (the message is fit to show)."""
        self._problem_listeners.append(fn)
        self.alerts.on_problem = self._report

    def add_alert_listener(self, fn: Callable[[Alert], None]) -> None:
        """``fn(alert)`` for every alert raised, whatever the configured targets (headless writes them)."""
        self._alert_listeners.append(fn)

    def _report(self, message: str) -> None:
        for fn in self._problem_listeners:
            fn(message)

    # --- who this desk is -----------------------------------------------------------------------

    @property
    def role(self) -> str:
        """``ingest``, ``standby`` or ``attached`` (what the desk says; a plain ``Desk`` ingests, or
        stands by while it waits in ``lead_ingest``)."""
        if isinstance(self.desk, JournalDesk):
            return self.desk.role
        return "standby" if self._waiting else "ingest"

    @property
    def ingesting(self) -> bool:
        """Whether this desk's writes of what it sees (archive, volume, cursors, snapshot, level notes)
        are the journal's: only the ingest desk's are."""
        if isinstance(self.desk, JournalDesk):
            return self.desk.ingesting
        return not self._waiting

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self, *, background: bool | None = None) -> None:
        """Open the journal, resume the sources, subscribe to the desk; with ``background`` (default:
        as built) run the periodic work as a task until ``stop``. Raises ``JournalError`` if the
        journal cannot open."""
        if self._started:
            return
        self._started = True
        if self.journal is None:
            self.journal = await Journal.open(
                self.settings,
                clock=self.desk.clock,
                operator=self._operator,
                path=self._location,
                desk_clock=self.role != "attached",  # an attached desk keeps no timeline of its own
            )
        journal = self.journal
        if isinstance(self.desk, JournalDesk):
            await self.desk.use_journal(journal, self.desk_id)
            self.desk.add_role_listener(self._role_changed)
        await self._resume_sources()
        self.archiver = Archiver(journal, on_problem=self._archive_problem)
        self.desk.add_batch_listener(self._on_batch)
        if isinstance(self.desk, LevelHerald):
            self.desk.add_level_listener(self._on_level)
            self._level_listener = True
        self.last_event_id = await journal.last_event_id()
        await self._reload(())
        run_loop = self._background if background is None else background
        self.oncall = OnCall(self.settings, journal, on_problem=self._report, on_delivered=self._wake.set)
        await self.oncall.start(background=run_loop)
        self.publishing = Publishing(self.settings, journal)
        since = self.desk.clock.now() - RESURGENCE_WINDOW
        for inc in await journal.incidents(include_resolved=True):
            if inc.closed and inc.resolved_at is not None and inc.resolved_at >= since:
                self._resolved[inc.id] = inc
        now = self._monotonic()
        self._due = {
            "poll": now + POLL_EVERY_S,
            "cursors": now + CURSOR_EVERY_S,
            "volume": now + VOLUME_EVERY_S,
            "prune": now + PRUNE_FIRST_S,
            "publish": now,
            "presence": now,
        }
        if self._background if background is None else background:
            self._task = asyncio.create_task(self._run(), name="tocsin-session")
            self._events_task = asyncio.create_task(self._follow_events(journal), name="tocsin-events")

    async def stop(self) -> None:
        """Write what is pending (volume, cursors, archive), close the alerts and the journal.
        Idempotent; journal problems at this point are reported, not raised."""
        if self._stopped:
            return
        self._stopped = True
        for task in (self._task, self._events_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._events_task = None
        if self.journal is not None and self._started:
            await self._guard(self.process_levels(), "levels")
            if self.ingesting:
                await self._guard(self.flush_volume(), "volume")
                await self._guard(self.save_cursors(), "cursors")
            if self.archiver is not None:
                await self.archiver.close()
        if self.oncall is not None:
            await self.oncall.stop()
        if self.publishing is not None:
            await self.publishing.close()
        await self.alerts.close()
        if self.journal is not None and self._started:
            await self._guard(self._goodbye(), "presence")
            # last: the lease goes once this desk's last writes are in, for the next leader to start from
            if isinstance(self.desk, JournalDesk):
                await self.desk.leave_journal()
            lease, self._lease = self._lease, None
            if lease is not None:
                await lease.release()
        if self.journal is not None and self._owns_journal:
            await self.journal.close()

    async def _run(self) -> None:
        while True:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that lands as the
            # event fires, and stop() would then wait for this loop forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(TICK_S):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug here must not stop the archive, the clocks and the polling for good
                log.exception("desk session round failed")

    def _archive_problem(self, message: str) -> None:
        """The archiver lost or retried mentions: a standing problem on the wall until it writes again."""
        if self._problems.get("archive") != message:
            self._problems["archive"] = message
            self._report(message)

    async def tick(self) -> None:
        """One round of the periodic work: whatever is due now."""
        if self.archiver is not None and self.archiver.healthy:
            self._problems.pop("archive", None)
        await self._check_lease()
        ingesting = self.ingesting
        if not self._level_listener or not ingesting:  # a desk shown, not run here: its snapshots say
            self.observe(self.desk.snapshot())
        await self._guard(self.process_levels(), "levels")
        now = self.desk.clock.now()
        if self._last_clock_check is None or now - self._last_clock_check >= CLOCK_CHECK_EVERY:
            await self._guard(self.check_clocks(now), "clocks")
        await self._guard(self._on_call(now), "oncall")
        real = self._monotonic()
        if real >= self._due["poll"]:
            self._due["poll"] = real + POLL_EVERY_S
            self._last_poll = real
            await self._guard(self.poll(), "poll")
        if real >= self._due["presence"]:
            self._due["presence"] = real + HEARTBEAT_S
            await self._guard(self.presence(), "presence")
        if not ingesting:
            return
        if real >= self._due["publish"]:
            self._due["publish"] = real + PUBLISH_EVERY_S
            await self._guard(self.publish_snapshot(), "publish")
        if real >= self._due["volume"]:
            self._due["volume"] = real + VOLUME_EVERY_S
            await self._guard(self.flush_volume(), "volume")
        if real >= self._due["cursors"]:
            self._due["cursors"] = real + CURSOR_EVERY_S
            await self._guard(self.save_cursors(), "cursors")
        if real >= self._due["prune"]:
            self._due["prune"] = real + PRUNE_EVERY_S
            await self._guard(self.prune(), "prune")

    async def _follow_events(self, journal: Journal) -> None:
        """Poll as soon as the journal says events were written (another desk acted), at most every
        ``POLL_GAP_S``: an action on one screen shows on the others within a second."""
        while True:
            try:
                async with journal.store.listen(EVENTS) as wakes:
                    while True:
                        await wakes.get()
                        self._due["poll"] = min(self._due["poll"], self._last_poll + POLL_GAP_S)
                        self._wake.set()
            except JournalError:  # cannot listen now (the server out of reach): the 1 s poll goes on
                await asyncio.sleep(POLL_EVERY_S)

    # --- the desks on the journal ---------------------------------------------------------------

    async def presence(self) -> TeamView:
        """Beat this desk's heart and see who else is on the journal (``team``)."""
        journal = self._need_journal()
        me = describe_me(self.desk_id, journal.operator, self.role, self._started_at)
        self.team = await look(journal, me, ingesting=self.ingesting, wall=self._wall)
        return self.team

    async def _goodbye(self) -> None:
        """An ingest desk leaves its row (when it was last seen is what the others say of it); any
        other desk takes its row away."""
        journal = self._need_journal()
        if self.role == INGEST:
            me = describe_me(self.desk_id, journal.operator, INGEST, self._started_at)
            await look(journal, me, ingesting=True, wall=self._wall)
        else:
            await journal.leave(self.desk_id)

    async def _role_changed(self, role: str) -> None:
        """The desk took the lead, or stands by: the others learn it at once, not at the next beat."""
        self._due["publish"] = 0.0
        await self._guard(self.presence(), "presence")

    async def publish_snapshot(self) -> int | None:
        """Publish the desk's snapshot for attached desks (unless it is the one published last);
        returns its version."""
        journal = self._need_journal()
        snapshot = self.desk.snapshot()
        if snapshot is self._published_snapshot:
            return None
        speed = getattr(self.desk.clock, "speed", 1.0)  # test fakes may lack the optional parts
        body = snapshot_to_wire(snapshot, speed=speed, finished=bool(getattr(self.desk, "finished", False)))
        version = await journal.publish_snapshot(self.desk_id, body, self._wall())
        self._published_snapshot = snapshot
        return version

    async def lead_ingest(self, on_wait: Callable[[str], None] | None = None) -> None:
        """Take the journal's ingest lease for a plain ``Desk`` (headless), before it starts: if another
        desk holds it, say who (``on_wait``), stand by until it goes, then resume the sources from the
        cursors it saved."""
        journal = self._need_journal()
        try:
            lease = await journal.store.try_lead(INGEST, holder=self.desk_id)
        except JournalUnavailable:
            lease = None
        if lease is None:
            try:
                holder = await journal.store.leader(INGEST)
            except JournalError:
                holder = None
            if on_wait is not None:
                on_wait(holder or "another desk")
            await self._guard(self.presence(), "presence")
            lease = await journal.store.lead(INGEST, holder=self.desk_id)
            await self._resume_sources()
        self._lease = lease
        self._waiting = False
        await self._guard(self.presence(), "presence")

    async def _check_lease(self) -> None:
        """A plain desk's lease lost with its connection: taken back if nobody else took it; otherwise
        this desk's writes stop (the other desk leads now) and the problem is said."""
        lease = self._lease
        if lease is None or not lease.lost.is_set():
            return
        journal = self._need_journal()
        try:
            again = await journal.store.try_lead(INGEST, holder=self.desk_id)
        except JournalUnavailable:
            return  # tried again at the next round
        if again is not None:
            self._lease = again
            return
        self._lease = None
        self._waiting = True
        self._problems["lease"] = _(
            "another desk took over ingesting: this desk no longer writes what it sees"
        )
        self._report(self._problems["lease"])

    async def _guard(self, work: Any, step: str = "") -> Any:
        """Run one step; a journal problem is kept (per step) and reported once, not raised."""
        try:
            result = await work
        except JournalError as exc:
            message = _("journal: {error}").format(error=exc)
            if self._problems.get(step) != message:
                self._problems[step] = message
                self._report(message)
            return None
        self._problems.pop(step, None)
        return result

    @property
    def problem(self) -> str | None:
        """The journal problem still standing (busy, disk full…), None when every step works."""
        return next(iter(self._problems.values()), None)

    def _need_journal(self) -> Journal:
        if self.journal is None:
            raise RuntimeError("the session has not started")
        return self.journal

    # --- sources and the archive ----------------------------------------------------------------

    async def _resume_sources(self) -> None:
        journal = self._need_journal()
        for source in self.desk.sources:
            cursor = await journal.get_cursor(source.id)
            if cursor:
                source.resume(cursor)
                self._saved_cursors[source.id] = cursor

    async def save_cursors(self) -> int:
        """Save each source's cursor that moved since the last save; returns how many were saved."""
        journal = self._need_journal()
        saved = 0
        for source in self.desk.sources:
            cursor = source.cursor
            if not cursor or self._saved_cursors.get(source.id) == cursor:
                continue
            await journal.set_cursor(source.id, cursor)
            self._saved_cursors[source.id] = cursor
            saved += 1
        return saved

    def _on_batch(self, batch: Sequence[Any]) -> None:
        """The desk's batch listener (on the loop): archive in the background, count the minutes.

        Every item is archived (a revision marks or refreshes its row), but only new posts count in
        the volume history: a deletion, an edit or a late author profile was counted when first seen."""
        if not self.ingesting:
            return  # another desk's mentions, shown here: archived and counted by that desk
        if self.archiver is not None and not self._stopped:
            self.archiver.add(batch)
        volume, dirty = self._volume, self._dirty
        for scored in batch:
            topics = scored.topics
            if not topics or scored.mention.revision is not None:
                continue
            minute = _epoch_minute(scored.mention.created_at)
            column = _COLUMN.get(scored.sentiment.label, 0)
            for topic in topics:
                key = (topic, minute)
                counts = volume.get(key)
                if counts is None:
                    counts = volume[key] = [0, 0, 0, 0]
                counts[0] += 1
                if column:
                    counts[column] += 1
                dirty.add(key)

    async def flush_volume(self) -> int:
        """Write the minutes counted since the last flush; returns how many were written."""
        journal = self._need_journal()
        keys, self._dirty = self._dirty, set()
        if keys:
            points = [
                VolumePoint(topic, datetime.fromtimestamp(minute * 60, UTC), *self._volume[(topic, minute)])
                for topic, minute in sorted(keys, key=lambda k: k[1])
            ]
            try:
                await journal.record_volumes(points)
            except BaseException:
                self._dirty |= keys  # written next time
                raise
        horizon = _epoch_minute(self.desk.clock.now() - VOLUME_KEEP)
        for key in [k for k in self._volume if k[1] < horizon and k not in self._dirty]:
            del self._volume[key]
        return len(keys)

    async def prune(self) -> None:
        """Forget archived mentions past ``desk.archive_retention`` (pinned evidence stays)."""
        await self._need_journal().prune()

    # --- levels ---------------------------------------------------------------------------------

    def _on_level(self, topic: str, state: LevelState, at: datetime) -> None:
        """The desk's level listener."""
        self._level_seen(topic, state.level, state.reasons, at, state.since)
        self._wake.set()

    def observe(self, snapshot: Snapshot | None) -> None:
        """Compare a snapshot's levels with the last ones seen (desks without a level listener)."""
        if snapshot is None or snapshot is self._last_snapshot:
            return
        self._last_snapshot = snapshot
        for topic_id, topic in snapshot.topics.items():
            since = topic.level_since or snapshot.at
            self._level_seen(topic_id, topic.level, tuple(topic.reasons), snapshot.at, since)

    def _level_seen(
        self, topic: str, level: str, reasons: tuple[str, ...], at: datetime, since: datetime
    ) -> None:
        before = self.levels.get(topic)
        previous = before.level if before is not None else "calm"
        if before is not None and before.level == level:
            if before.reasons != reasons:  # same level, fresher words
                self.levels[topic] = TopicLevel(topic, level, reasons, before.since, before.left_calm_at)
            return
        if level == "calm":
            left_calm = None
        elif previous == "calm" or before is None:
            left_calm = since
        else:
            left_calm = before.left_calm_at
        self.levels[topic] = TopicLevel(topic, level, reasons, since, left_calm)
        if level == previous:
            return
        change = _LevelChange(topic, previous, level, reasons, at)
        if self.ingesting:
            self._alert_level(change)  # at once: the journal note may wait for the next round
            self._pending_levels.append(change)
        elif before is not None:  # where things stood when this desk attached is no news
            # this screen's bell; the ingest desk alerts the people away and notes it on incidents
            self._ring(self._level_alert(change))

    def first_signal(self, topic: str) -> datetime | None:
        """When ``topic`` left calm, if it is above calm now."""
        state = self.levels.get(topic)
        return state.left_calm_at if state is not None else None

    async def process_levels(self) -> list[Event]:
        """Note the level changes seen since the last call in the journal (level notes on the topic's
        incidents, resurgence reopens); returns the events written."""
        journal = self._need_journal()
        written: list[Event] = []
        while self._pending_levels:
            change = self._pending_levels.pop(0)
            try:
                events = await journal.on_level(change.topic, change.level, change.reasons, now=change.at)
            except (JournalBusy, JournalUnavailable):
                self._pending_levels.insert(0, change)  # not lost: retried on the next round
                raise
            written += events
            for ev in events:
                if ev.kind is EventKind.REOPENED:
                    self._alert_reopened(ev, change)
            self._offer_reopen(change)
        if written:
            await self.poll()
        return written

    def _topic_name(self, topic: str) -> str:
        return next((t.label for t in self.settings.topics if t.id == topic), topic)

    def _alert_level(self, change: _LevelChange) -> None:
        self._raise(self._level_alert(change))

    def _level_alert(self, change: _LevelChange) -> Alert:
        rise = level_rank(change.level) > level_rank(change.previous)
        return Alert(
            event="level_change",
            at=change.at,
            title=f"{self._topic_name(change.topic)}: {level_name(change.previous)} → "
            + level_name(change.level),
            detail=_reasons(change.reasons),
            topic=change.topic,
            level=change.level,
            urgent=rise,
            data={"from": change.previous, "to": change.level, "reasons": list(change.reasons)},
        )

    def _alert_reopened(self, event: Event, change: _LevelChange) -> None:
        self._raise(
            Alert(
                event="level_change",
                at=event.at,
                title=_("Incident #{id} reopened: {topic} is at {level} again").format(
                    id=event.incident_id, topic=self._topic_name(change.topic), level=level_name(change.level)
                ),
                detail=_reasons(change.reasons),
                topic=change.topic,
                incident=event.incident_id,
                level=change.level,
                data={"reopened": True, "from": change.previous, "to": change.level},
            )
        )

    def _offer_reopen(self, change: _LevelChange) -> None:
        """A surge on a topic whose incident was resolved lately, and none open: say which one to
        reopen (``e`` on the wall offers it) instead of letting a fresh incident start from zero."""
        if level_rank(change.level) < level_rank("alert") or level_rank(change.previous) >= level_rank(
            "alert"
        ):
            return
        if any(i.topic == change.topic for i in self.incidents):
            return
        recent = self.recently_resolved(change.topic)
        if not recent:
            return
        inc = recent[0]
        self._raise(
            Alert(
                event="level_change",
                at=change.at,
                title=_(
                    "{topic} is at {level} again: incident #{id} was resolved lately; "
                    "reopen it (e on the wall)"
                ).format(topic=self._topic_name(change.topic), level=level_name(change.level), id=inc.id),
                detail=_reasons(change.reasons),
                topic=change.topic,
                incident=inc.id,
                level=change.level,
                urgent=True,
                data={"reopen_offered": inc.id, "from": change.previous, "to": change.level},
            )
        )

    def _raise(self, alert: Alert) -> None:
        self._ring(alert)
        if self.oncall is not None:
            self.oncall.alert(alert)

    def _ring(self, alert: Alert) -> None:
        """This desk's own outputs and listeners (the screen, the bell, headless output)."""
        self.alerts.dispatch(alert)
        for fn in self._alert_listeners:
            fn(alert)

    async def _on_call(self, now: datetime) -> None:
        """Climb the ladder where nobody acknowledged in time; watch the sources for the people away."""
        if self.oncall is None:
            return
        statuses = []
        for source in self.desk.sources:
            with contextlib.suppress(Exception):
                statuses.append(source.status())
        if await self.oncall.tick(now, statuses):
            await self.poll()

    async def _notify(self, events: Sequence[Event]) -> None:
        """The journal's new events, from any desk or the CLI, to the people they concern; this desk's
        bell rings for each ladder step, for incidents opened elsewhere and for a draft its operator
        may approve."""
        oncall, journal = self.oncall, self.journal
        if oncall is None or journal is None:
            return
        known = {i.id: i for i in self.incidents}
        for iid in {e.incident_id for e in events if e.incident_id is not None} - set(known):
            with contextlib.suppress(JournalError):
                known[iid] = await journal.incident(iid)
        for alert in await oncall.on_events(events, known.get):
            elsewhere = alert.event == "new_incident" and alert.incident not in self._opened_here
            mine = alert.event == "approval_needed" and journal.operator in (alert.data.get("members") or ())
            if alert.event in ("ack_timeout", "escalated") or elsewhere or mine:
                self._ring(alert)
        await oncall.refresh_status()

    # --- incidents ------------------------------------------------------------------------------

    async def open_incident(
        self,
        topic: str,
        severity: str,
        title: str,
        *,
        first_signal_at: datetime | None = None,
        level: str | None = None,
        reasons: Sequence[str] = (),
        evidence: Sequence[Any] = (),
        assignee: str | None = None,
    ) -> Incident:
        """Open an incident (returns after the commit) and alert ``new_incident``."""
        journal = self._need_journal()
        inc = await journal.open_incident(
            topic,
            severity,
            title,
            first_signal_at=first_signal_at,
            assignee=assignee,
            level=level if level in LEVELS else None,
            reasons=reasons,
            evidence=evidence,
        )
        self._raise(
            Alert(
                event="new_incident",
                at=inc.opened_at,
                title=_("{severity} incident #{id} opened on {topic}").format(
                    severity=inc.severity.label, id=inc.id, topic=self._topic_name(inc.topic)
                ),
                detail=_("{title} (by {who})").format(title=inc.title, who=inc.opened_by),
                topic=inc.topic,
                incident=inc.id,
                severity=str(inc.severity),
                level=inc.level,
                data={"title": inc.title, "operator": inc.opened_by},
            )
        )
        self._opened_here.add(inc.id)
        await self._guard(self.poll(), "poll")
        return inc

    async def check_clocks(self, now: datetime | None = None) -> list[Event]:
        """Record the SLA breaches due at desk time ``now`` (once each) and alert on them."""
        journal = self._need_journal()
        now = now or self.desk.clock.now()
        self._last_clock_check = now
        events = await journal.check_clocks(now)
        if not events:
            return events
        by_id = {i.id: i for i in self.incidents}
        for ev in events:
            inc = by_id.get(ev.incident_id or 0)
            clock = str(ev.payload.get("clock"))
            due = str(ev.payload.get("due", ""))
            sev = str(ev.payload.get("severity", ""))
            what = inc.title if inc is not None else ""
            event: AlertEvent
            if clock == "ack":
                event = "ack_timeout"
                title = _("Incident #{id} not acknowledged: it was due at {due}").format(
                    id=ev.incident_id, due=due
                )
            else:
                event = "sla_breach"
                title = _("Incident #{id}: first public response overdue (due at {due})").format(
                    id=ev.incident_id, due=due
                )
            alert = Alert(
                event=event,
                at=ev.at,
                title=title,
                detail=what,
                incident=ev.incident_id,
                topic=inc.topic if inc else None,
                severity=sev or None,
                data={"clock": clock, "due": due},
            )
            self._raise(alert)
        await self.poll()
        return events

    async def poll(self) -> list[Event]:
        """Read the journal's new events (this desk's and other desks'); refresh the incidents they
        touched and tell the listeners. Returns the events, oldest first."""
        journal = self._need_journal()
        found: list[Event] = []
        while True:
            batch = await journal.changes_since(self.last_event_id)
            if not batch:
                break
            found += batch
            self.last_event_id = batch[-1].id
            if len(batch) < 1000:
                break
        if found:
            await self._reload(found)
            await self._notify(found)
        return found

    async def _reload(self, events: Sequence[Event]) -> None:
        journal = self._need_journal()
        touched = {e.incident_id for e in events if e.incident_id is not None}
        if events and not touched:
            changed: list[Incident] = []
        else:
            fresh = tuple(await journal.incidents())
            before = {i.id: i.last_event_id for i in self.incidents}
            if [(i.id, i.last_event_id) for i in fresh] != list(before.items()):
                self.incidents = fresh
                self.version += 1
            current = {i.id: i for i in fresh}
            changed = []
            for iid in sorted(touched):
                inc = current.get(iid)
                if inc is None:  # resolved since: fetch it once, as it now stands
                    try:
                        inc = await journal.incident(iid)
                    except JournalError:
                        continue
                    if inc.closed:
                        self._resolved[inc.id] = inc
                else:
                    self._resolved.pop(iid, None)  # reopened (here or by another desk)
                changed.append(inc)
        if events:
            for fn in self._change_listeners:
                fn(events, changed)

    def recently_resolved(self, topic: str | None = None) -> list[Incident]:
        """Incidents resolved within ``RESURGENCE_WINDOW`` of desk time (on ``topic`` when given),
        newest first: what a storm coming back should reopen rather than open afresh."""
        since = self.desk.clock.now() - RESURGENCE_WINDOW
        found = [
            i
            for i in self._resolved.values()
            if i.resolved_at is not None and i.resolved_at >= since and (topic is None or i.topic == topic)
        ]
        return sorted(found, key=lambda i: i.resolved_at or since, reverse=True)

    def incident(self, incident_id: int) -> Incident | None:
        """An unresolved incident from the cache."""
        return next((i for i in self.incidents if i.id == incident_id), None)

    def describe_alert_state(self) -> str | None:
        """A short line about alert deliveries that failed or wait to be retried (None when all is
        well): the screen's own outputs, and the outbox's."""
        parts = []
        if self.alerts.errors:
            n = self.alerts.errors
            parts.append(ngettext("{n} alert failed", "{n} alerts failed", n).format(n=n))
        outbox = self.oncall.describe() if self.oncall is not None else None
        if outbox:
            parts.append(outbox)
        return " · ".join(parts) or None
