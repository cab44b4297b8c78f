"""The read side of the journal: incidents, their timelines, changes since a point, corrections.

``changes_since`` is how several desks sharing a journal see each other's actions: event ids only grow
and writers are serialised, so a reader that polls with the largest id it has seen misses nothing.
"""

from __future__ import annotations

from datetime import datetime

from tocsin.config.settings import Settings
from tocsin.journal.clocks import SlaClock, clocks_for
from tocsin.journal.events import EVENT_COLUMNS, event_of, incident_of, load_incident, save_incident
from tocsin.journal.fold import correction_of, fold, record
from tocsin.journal.model import Correction, Event, EventKind, Incident, IncidentRecord, parse_incident_id
from tocsin.journal.store import Store, Tx, to_ms
from tocsin.sources.clock import Clock


class IncidentQueries:
    """The read side of ``Journal``."""

    store: Store
    clock: Clock
    settings: Settings

    async def incident(self, incident_id: int | str) -> Incident:
        """One incident as it stands; UnknownIncident if there is none."""
        iid = parse_incident_id(incident_id)

        async def q(tx: Tx) -> Incident:
            return await load_incident(tx, iid)

        return await self.store.read(q)

    async def incidents(self, *, include_resolved: bool = False, topic: str | None = None) -> list[Incident]:
        """Incidents, oldest first: the unresolved ones, or all of them."""
        where, params = [], []
        if not include_resolved:
            where.append("state != 'resolved'")
        if topic is not None:
            where.append("topic = ?")
            params.append(topic)
        sql = (
            "SELECT data FROM incidents" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id"
        )
        return [incident_of(r[0]) for r in await self.store.fetchall(sql, params)]

    async def incident_record(self, incident_id: int | str) -> IncidentRecord:
        """The incident with its whole timeline, responses, evidence and notes (one consistent read)."""
        iid = parse_incident_id(incident_id)

        async def q(tx: Tx) -> IncidentRecord:
            inc = await load_incident(tx, iid)
            rows = await tx.fetchall(
                f"SELECT {EVENT_COLUMNS} FROM events WHERE incident_id = ? ORDER BY id", (iid,)
            )
            return record(inc, (event_of(r) for r in rows))

        return await self.store.read(q)

    async def events(
        self,
        incident_id: int | str | None = None,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> list[Event]:
        """Events oldest first: of one incident or all, with desk times in [since, until)."""
        where, params = [], []
        if incident_id is not None:
            where.append("incident_id = ?")
            params.append(parse_incident_id(incident_id))
        if since is not None:
            where.append("at >= ?")
            params.append(to_ms(since))
        if until is not None:
            where.append("at < ?")
            params.append(to_ms(until))
        sql = f"SELECT {EVENT_COLUMNS} FROM events" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY id" + (" LIMIT ?" if limit is not None else "")
        if limit is not None:
            params.append(limit)
        return [event_of(r) for r in await self.store.fetchall(sql, params)]

    async def changes_since(self, event_id: int, limit: int = 1000) -> list[Event]:
        """Events with an id above ``event_id``, oldest first (poll with the last id you have seen)."""
        rows = await self.store.fetchall(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE id > ? ORDER BY id LIMIT ?", (event_id, limit)
        )
        return [event_of(r) for r in rows]

    async def last_event_id(self) -> int:
        """The newest event's id (0 for an empty journal): where to start polling ``changes_since``."""
        return int(await self.store.scalar("SELECT coalesce(max(id), 0) FROM events"))

    async def corrections(self) -> list[Correction]:
        """Every sentiment correction, oldest first."""
        rows = await self.store.fetchall(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE kind = ? ORDER BY id",
            (str(EventKind.SENTIMENT_CORRECTED),),
        )
        return [correction_of(event_of(r)) for r in rows]

    def clocks(self, incident: Incident, now: datetime | None = None) -> tuple[SlaClock, ...]:
        """The incident's signal, ack and first-response clocks at desk time ``now``."""
        return clocks_for(incident, self.settings.team.sla, now or self.clock.now())

    async def rebuild_incidents(self) -> int:
        """Recompute every incident row from the events (repair); returns how many incidents."""

        async def body(tx: Tx) -> int:
            rows = await tx.fetchall(
                f"SELECT {EVENT_COLUMNS} FROM events WHERE incident_id IS NOT NULL ORDER BY id"
            )
            incidents = fold(event_of(r) for r in rows)
            await tx.execute("DELETE FROM incidents")
            for inc in incidents.values():
                await save_incident(tx, inc)
            return len(incidents)

        return await self.store.write(body)
