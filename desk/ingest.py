"""The ingest desk: one per journal, so two desks never double-count or fight.

``tocsin`` (and ``tocsin run``) open the wall on an ``IngestDesk``. Before it opens any source it takes
the journal's ``ingest`` lease (``Store.try_lead``: an advisory lock on PostgreSQL, an ``flock`` beside
the SQLite file; the lease goes when its process dies, however it dies). Then:

- **it leads**: it builds the ``Desk`` (sources, sentiment, pipeline), gives each source the cursor
  saved in the journal, and runs it; the session archives, publishes the snapshot, notes levels on
  incidents and saves cursors, as a desk always did;
- **another desk leads**: it stands by, showing the leader's desk as an attached desk would
  (``AttachedDesk``), and waits for the lease (``Store.lead``, every half second). When the leader
  dies the lease comes free, and this desk takes over: its sources resume from the cursors the leader
  saved, and the wall's feed carries on from the attached view's lines.

A lease can also be lost without a release: the PostgreSQL connection holding it dropped. The desk
takes it back at once if nobody else did; if another desk did, it stops ingesting (the other leads now)
and stands by again.

The session (``desk/session.py``) binds it to its journal (``use_journal``) before starting it, hears
each change of role (``add_role_listener``) before a desk taking over opens its sources, and calls
``leave_journal`` last, after its own last writes (archive, volume, cursors), so the next leader starts
from them. Without a journal (it could not be opened) there is no one to share the sources with: the
desk ingests, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from tocsin.config.settings import Settings
from tocsin.desk.attach import AttachedDesk, empty_snapshot
from tocsin.desk.desk import Desk
from tocsin.journal.desks import INGEST
from tocsin.journal.errors import JournalError, JournalUnavailable
from tocsin.scoring.levels import LevelState
from tocsin.scoring.snapshot import Snapshot
from tocsin.sources.base import Source
from tocsin.sources.clock import Clock
from tocsin.sources.model import ScoredMention

if TYPE_CHECKING:
    from tocsin.journal.api import Journal
    from tocsin.journal.store import Lease

log = logging.getLogger(__name__)

LEAD_POLL_S = 0.5
"""How often a standby desk tries the lease (real seconds): how soon it takes over."""
RETRY_TAKEOVER_S = 5.0
"""After a takeover that failed (the desk could not be built or started), how long before trying again."""

BatchListener = Callable[[Sequence[ScoredMention]], None]
LevelListener = Callable[[str, LevelState, datetime], None]


class IngestDesk:
    """A desk that ingests while it holds the journal's ingest lease, and stands by, attached,
    while another desk does (see the module docstring). It is a ``DeskLike`` for the wall and the
    session, whichever it is doing."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        make_desk: Callable[[Clock], Desk] | None = None,
        lead_poll: float = LEAD_POLL_S,
        retry_takeover: float = RETRY_TAKEOVER_S,
    ) -> None:
        """``make_desk(clock)`` builds the desk that ingests (default: ``Desk(settings, clock=clock)``);
        it is called each time this desk takes the lead, on one clock for the desk's whole life."""
        self.settings = settings
        if clock is None:
            from tocsin.sources.registry import build_clock

            clock = build_clock(settings)
        self.clock: Clock = clock
        self._make = make_desk if make_desk is not None else (lambda c: Desk(settings, clock=c))
        self._lead_poll = lead_poll
        self._retry_takeover = retry_takeover
        self._journal: Journal | None = None
        self._desk_id = ""
        self._lease: Lease | None = None
        self._desk: Desk | None = None
        self._view: AttachedDesk | None = None
        self._role = "standby"
        """``standby`` until it knows it leads."""
        self._announced: str | None = None
        self._batch_listeners: list[BatchListener] = []
        self._level_listeners: list[LevelListener] = []
        self._role_listeners: list[Callable[[str], Awaitable[None]]] = []
        self._base = 0
        """Added to the seq of the current phase's feed: the wall's feed goes on across a takeover."""
        self._handed = 0
        self._task: asyncio.Task[None] | None = None
        self._stopped = False
        self.takeovers = 0
        """How many times this desk took the lead from standing by."""
        self.problem: str | None = None
        """Why the last takeover failed (None once one succeeds)."""

    # --- what it is now ---------------------------------------------------------------------------

    @property
    def role(self) -> str:
        """``ingest`` while it leads (or has no journal to share), ``standby`` while another desk does
        (and before it knows)."""
        return self._role

    @property
    def ingesting(self) -> bool:
        return self._desk is not None

    @property
    def desk(self) -> Desk | None:
        """The desk running the sources, while this one leads."""
        return self._desk

    @property
    def sources(self) -> Sequence[Source]:
        """The sources while it leads; none while it stands by (a standby desk saves no cursor)."""
        return self._desk.sources if self._desk is not None else ()

    # --- the session's side -----------------------------------------------------------------------

    async def use_journal(self, journal: Journal, desk_id: str) -> None:
        """The journal to take the lease on (``desk_id`` is the lease's holder, as presence shows it)."""
        self._journal, self._desk_id = journal, desk_id

    def add_role_listener(self, fn: Callable[[str], Awaitable[None]]) -> None:
        """``await fn(role)`` whenever the role changes, before a desk taking over opens its sources."""
        self._role_listeners.append(fn)

    async def leave_journal(self) -> None:
        """Give the lease up (last: after the session's last writes, which the next leader starts from)."""
        lease, self._lease = self._lease, None
        if lease is not None:
            await lease.release()

    # --- reading (DeskLike) -----------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        phase = self._phase()
        return phase.snapshot() if phase is not None else empty_snapshot(self.clock.now())

    def feed_since(self, seq: int, limit: int = 2000) -> list[ScoredMention]:
        phase = self._phase()
        if phase is None:
            return []
        base = self._base
        items = phase.feed_since(max(0, seq - base), limit)
        if base and items:
            items = [replace(m, seq=m.seq + base) for m in items]
        if items:
            self._handed = max(self._handed, items[-1].seq)
        return items

    def add_batch_listener(self, fn: BatchListener) -> None:
        """Called with each scored batch of the desk while this one leads (never with the standby view's
        batches: those are the leader's, archived already)."""
        self._batch_listeners.append(fn)
        if self._desk is not None:
            self._desk.add_batch_listener(fn)

    def add_level_listener(self, fn: LevelListener) -> None:
        """Level changes of the desk while this one leads (the session follows the standby view's
        snapshots instead)."""
        self._level_listeners.append(fn)
        if self._desk is not None:
            self._desk.add_level_listener(fn)

    @property
    def finished(self) -> bool:
        phase = self._phase()
        return phase.finished if phase is not None else False

    def _phase(self) -> Desk | AttachedDesk | None:
        return self._desk if self._desk is not None else self._view

    # --- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        """Lead if the lease is free, else stand by; then keep watch (take over, or take a lost lease
        back) in the background."""
        journal = self._journal
        if journal is None:
            await self._ingest(None)
            return
        try:
            lease = await journal.store.try_lead(INGEST, holder=self._desk_id)
        except JournalUnavailable:
            lease = None  # cannot tell who leads: wait for the lease rather than risk two leaders
        if lease is not None:
            await self._ingest(lease)
        else:
            await self._stand_by()
        self._task = asyncio.create_task(self._keep_watch(journal), name="tocsin-ingest-lease")

    async def _keep_watch(self, journal: Journal) -> None:
        while not self._stopped:
            lease = self._lease
            if lease is None:
                lease = await journal.store.lead(INGEST, holder=self._desk_id, poll=self._lead_poll)
                try:
                    await self._take_over(lease)
                except Exception as exc:  # never in silence: say it, let another desk try, try again
                    await self._could_not_take_over(lease, exc)
                    continue
                self.takeovers += 1
                self.problem = None
                continue
            await lease.lost.wait()
            if self._stopped:
                return
            try:
                again = await journal.store.try_lead(INGEST, holder=self._desk_id)
            except JournalUnavailable:
                again = None
            if again is not None:  # nobody took it meanwhile: carry on ingesting
                self._lease = again
                log.warning("the ingest lease was lost with its connection and taken back")
                continue
            log.warning("the ingest lease was lost and another desk leads now: standing by")
            self._lease = None
            await self._stop_ingesting()
            await self._stand_by()

    async def _ingest(self, lease: Lease | None) -> None:
        """Lead: build the desk, resume its sources from the journal's cursors, start it."""
        self._lease = lease
        desk = self._make(self.clock)
        journal = self._journal
        if journal is not None:
            for source in desk.sources:
                try:
                    cursor = await journal.get_cursor(source.id)
                except JournalError as exc:  # the session says the journal's trouble; start anyway
                    log.warning("no cursor for source %s: %s", source.id, exc)
                    cursor = None
                if cursor:
                    source.resume(cursor)
        for fn in self._batch_listeners:
            desk.add_batch_listener(fn)
        for listener in self._level_listeners:
            desk.add_level_listener(listener)
        await self._set_role("ingest")
        self._new_phase()
        self._desk = desk
        await desk.start()

    async def _could_not_take_over(self, lease: Lease, exc: Exception) -> None:
        self.problem = f"could not take over ingesting: {type(exc).__name__}: {exc}"
        log.error("%s; standing by again", self.problem, exc_info=exc)
        self._lease = None
        await self._stop_ingesting()
        await lease.release()
        if self._view is None:
            await self._stand_by()
        else:  # still showing the leader's desk as it was: standing by again
            await self._set_role("standby")
        await asyncio.sleep(self._retry_takeover)

    async def _take_over(self, lease: Lease) -> None:
        view = self._view
        await self._ingest(lease)  # the view is shown until the desk replaces it
        self._view = None
        if view is not None:
            await view.stop()

    async def _stand_by(self) -> None:
        """Show the leader's desk, attached, until the lease comes free."""
        journal = self._journal
        assert journal is not None
        await self._set_role("standby")
        view = AttachedDesk(self.settings, clock=self.clock)
        await view.use_journal(journal, self._desk_id)
        self._new_phase()
        self._view = view
        try:
            await view.start()
        except JournalError as exc:  # the view retries in the background once started; say why now
            log.warning("standby view: %s", exc)

    async def _stop_ingesting(self) -> None:
        desk, self._desk = self._desk, None
        if desk is not None:
            await desk.stop()

    def _new_phase(self) -> None:
        """The next phase's feed numbers start above every line the wall has taken."""
        self._base = self._handed

    async def _set_role(self, role: str) -> None:
        self._role = role
        if role == self._announced:
            return
        self._announced = role
        for fn in self._role_listeners:
            await fn(role)

    async def stop(self) -> None:
        """Stop what runs (the desk, or the standby view). The lease is kept until ``leave_journal``."""
        self._stopped = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        view, self._view = self._view, None
        if view is not None:
            await view.stop()
        desk = self._desk
        if desk is not None:
            await desk.stop()  # kept as the phase: its final figures stay on the wall
