"""Who is on the journal: this desk's heartbeat, and what it knows of the others (``TeamView``).

Every desk, ingest or attached, writes a heartbeat row (``journal/desks.py``) every ``HEARTBEAT_S`` and
reads every row back with the ingest lease's holder. The ingest desk is alive when a desk holds the
lease and its heartbeat is fresh: a killed desk loses the lease at once (the kernel, or the database
server, lets it go), a hung or cut-off one stops beating. When none is alive, the figures an attached
desk shows are frozen, and the header says so loudly, since when (the last heartbeat of the last
ingest desk), rather than letting a still wall look calm.

Presence runs on real time (``wall``), not the desk's clock: it is about processes and machines.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from tocsin.journal.desks import INGEST, DeskPresence

if TYPE_CHECKING:
    from tocsin.journal.api import Journal

HEARTBEAT_S = 2.0
"""Real seconds between two heartbeats (and two looks at the others)."""
STALE_AFTER = timedelta(seconds=10)
"""A desk whose heartbeat is older than this is gone (five missed beats)."""


def new_desk_id() -> str:
    """``host:pid:nonce``: unique per running desk (several desks may run in one process in tests)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass(frozen=True, slots=True)
class TeamView:
    """The desks on the journal as one desk sees them at ``as_of`` (real time)."""

    me: str
    """This desk's id."""
    role: str
    """This desk's role: ``ingest``, ``standby`` or ``attached``."""
    as_of: datetime
    desks: tuple[DeskPresence, ...]
    """The desks seen lately (this one included), most recently seen first."""
    ingest: DeskPresence | None
    """The ingest desk while one is alive (its row; None if it leads without one, an older tocsin)."""
    ingest_alive: bool
    gone_since: datetime | None = None
    """While no ingest desk is alive: when the last one was last seen (None: never seen on this journal)."""

    @property
    def others(self) -> tuple[DeskPresence, ...]:
        """The desks watching besides the ingest desk and this one (attached or standing by)."""
        ingest_id = self.ingest.id if self.ingest is not None else None
        return tuple(d for d in self.desks if d.id not in (self.me, ingest_id) and d.role != INGEST)

    @property
    def attached(self) -> int:
        """How many desks are attached to the ingest desk (standby ones included), this one too when it
        is not the ingest desk."""
        return sum(1 for d in self.desks if d.role != INGEST)


async def look(
    journal: Journal, me: DeskPresence, *, ingesting: bool, wall: Callable[[], datetime]
) -> TeamView:
    """Beat this desk's heart (``me``, as of now) and read every desk back: the view the header shows."""
    now = wall()
    me = DeskPresence(me.id, me.operator, me.role, me.host, me.pid, me.started_at, now)
    await journal.heartbeat(me)
    rows = await journal.desks()
    fresh = tuple(d for d in rows if now - d.seen_at <= STALE_AFTER or d.id == me.id)
    if ingesting:
        return TeamView(me.id, me.role, now, fresh, me, True)
    holder = await journal.store.leader(INGEST)
    row = next((d for d in rows if d.id == holder), None) if holder is not None else None
    alive = holder is not None and (row is None or now - row.seen_at <= STALE_AFTER)
    if alive:
        return TeamView(me.id, me.role, now, fresh, row, True)
    last = max((d.seen_at for d in rows if d.role == INGEST), default=None)
    return TeamView(me.id, me.role, now, fresh, None, False, last)


def describe_me(desk_id: str, operator: str, role: str, started_at: datetime) -> DeskPresence:
    """This desk's presence row (``seen_at`` is filled by each heartbeat)."""
    return DeskPresence(desk_id, operator, role, socket.gethostname(), os.getpid(), started_at, started_at)


def real_now() -> datetime:
    return datetime.now(UTC)
