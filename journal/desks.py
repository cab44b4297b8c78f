"""The desks on one journal: who is there (presence) and what the ingest desk shows (its snapshot).

One desk ingests: it opens the sources, judges, archives and notes level changes on incidents, and it
holds the journal's ``ingest`` lease (``Store.lead``) while it does. Any number of others are attached:
they read what it writes (``tocsin.desk.attach``). Every desk says it is there with a row in ``desks``,
refreshed by a heartbeat: its id (the holder name of its lease), operator, role (``ingest``, ``standby``
or ``attached``), host, pid, when it started and when it was last seen. Presence times are real epoch
milliseconds, not desk time: they are about processes and machines, and a demo's accelerated clock
must not make a live desk look dead.

The ingest desk publishes its latest snapshot to ``snapshots``, one row per name, overwritten about
twice a second, and wakes listeners on ``SNAPSHOTS``. The body is whatever text the desk layer made of
its snapshot (JSON): the journal stores it without knowing its shape, as it must not import scoring.

Heartbeats and snapshots are written ``durable=False``: all of it is rewritten within seconds, and none
of it is a record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tocsin.journal.errors import InvalidValue
from tocsin.journal.store import SNAPSHOTS, Store, Tx, from_ms, to_ms

ROLES = ("ingest", "standby", "attached")
INGEST = "ingest"
"""The name of the ingest lease, and of the snapshot the ingest desk publishes."""
FORGET_AFTER = timedelta(days=1)
"""A desk not seen for this long is forgotten (a killed one never says goodbye)."""


@dataclass(frozen=True, slots=True)
class DeskPresence:
    """One desk on the journal, as its last heartbeat said."""

    id: str
    """Unique per running desk (``host:pid:nonce``); the ingest desk's is the holder of its lease."""
    operator: str
    role: str
    """``ingest``, ``standby`` (an ingest desk waiting for the lease) or ``attached``."""
    host: str
    pid: int
    started_at: datetime
    seen_at: datetime
    """Its last heartbeat (real time, aware UTC)."""


@dataclass(frozen=True, slots=True)
class PublishedSnapshot:
    """The ingest desk's latest snapshot as stored."""

    version: int
    """Goes up by one with each publication: a reader asks for what is newer than what it has."""
    desk: str
    """The id of the desk that wrote it."""
    written_at: datetime
    """Real time of the write (aware UTC)."""
    body: str


class DeskCommands:
    """The presence and snapshot part of ``Journal`` (needs ``store``)."""

    store: Store

    async def heartbeat(self, desk: DeskPresence) -> None:
        """Say ``desk`` is here as it describes itself (its row inserted or refreshed); rows of desks
        not seen for ``FORGET_AFTER`` go at the same time."""
        if desk.role not in ROLES:
            raise InvalidValue("desk role", desk.role, ROLES)
        seen = to_ms(desk.seen_at)
        forget = seen - int(FORGET_AFTER.total_seconds() * 1000)

        async def beat(tx: Tx) -> None:
            await tx.execute(
                "INSERT INTO desks (id, operator, role, host, pid, started_at, seen_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET operator = excluded.operator, "
                "role = excluded.role, seen_at = excluded.seen_at",
                (desk.id, desk.operator, desk.role, desk.host, desk.pid, to_ms(desk.started_at), seen),
            )
            await tx.execute("DELETE FROM desks WHERE seen_at < ?", (forget,))

        await self.store.write(beat, durable=False)

    async def leave(self, desk_id: str) -> None:
        """Forget a desk that is closing (an ingest desk keeps its row instead: when it was last seen
        is what the others say of it)."""

        async def gone(tx: Tx) -> None:
            await tx.execute("DELETE FROM desks WHERE id = ?", (desk_id,))

        await self.store.write(gone, durable=False)

    async def desks(self) -> list[DeskPresence]:
        """Every desk the journal knows, the most recently seen first."""
        rows = await self.store.fetchall(
            "SELECT id, operator, role, host, pid, started_at, seen_at FROM desks ORDER BY seen_at DESC, id"
        )
        return [
            DeskPresence(str(i), str(op), str(role), str(host), int(pid), from_ms(started), from_ms(seen))
            for i, op, role, host, pid, started, seen in rows
        ]

    async def publish_snapshot(self, desk_id: str, body: str, at: datetime, *, name: str = INGEST) -> int:
        """Replace the published snapshot ``name`` with ``body`` (written by ``desk_id`` at real time
        ``at``) and wake the ``SNAPSHOTS`` listeners; returns its version."""

        async def put(tx: Tx) -> int:
            last = await tx.scalar("SELECT version FROM snapshots WHERE name = ?", (name,))
            version = int(last or 0) + 1
            await tx.execute(
                "INSERT INTO snapshots (name, version, desk, written_at, body) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET version = excluded.version, desk = excluded.desk, "
                "written_at = excluded.written_at, body = excluded.body",
                (name, version, desk_id, to_ms(at), body),
            )
            tx.notify(SNAPSHOTS, str(version))
            return version

        return await self.store.write(put, durable=False)

    async def published_snapshot(
        self, *, newer_than: int = 0, name: str = INGEST
    ) -> PublishedSnapshot | None:
        """The published snapshot ``name`` if its version is above ``newer_than`` (None otherwise, or
        when nothing was ever published): a reader that has the latest reads no body."""
        rows = await self.store.fetchall(
            "SELECT version, desk, written_at, body FROM snapshots WHERE name = ? AND version > ?",
            (name, newer_than),
        )
        if not rows:
            return None
        version, desk, written, body = rows[0]
        return PublishedSnapshot(int(version), str(desk), from_ms(written), str(body))
