"""Appending events and keeping the incident rows in step, inside one transaction.

Only this module writes the ``events`` and ``incidents`` tables: an event is inserted, ``fold.apply``
gives the incident it makes, and that incident's row is rewritten, all before the same commit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tocsin.journal.errors import UnknownIncident
from tocsin.journal.fold import apply
from tocsin.journal.model import Event, EventKind, Incident
from tocsin.journal.store import EVENTS, Tx, from_ms, to_ms

EVENT_COLUMNS = "id, incident_id, at, operator, kind, payload"


def event_of(row: tuple[Any, ...]) -> Event:
    """An ``events`` row (``EVENT_COLUMNS``) as an Event."""
    eid, iid, at, operator, kind, payload = row
    return Event(
        int(eid),
        None if iid is None else int(iid),
        from_ms(at),
        operator,
        EventKind(kind),
        json.loads(payload),
    )


def incident_of(data: str) -> Incident:
    return Incident.from_json(json.loads(data))


async def load_incident(tx: Tx, incident_id: int) -> Incident:
    """The incident's current row; UnknownIncident if there is none."""
    data = await tx.scalar("SELECT data FROM incidents WHERE id = ?", (incident_id,))
    if data is None:
        raise UnknownIncident(incident_id)
    return incident_of(data)


# the row is the incident as its events add up: written whole, whichever desk wrote it last
_SAVE_INCIDENT = (
    "INSERT INTO incidents (id, topic, state, severity, opened_at, updated_at, resolved_at, last_event_id, "
    "data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET topic = excluded.topic, "
    "state = excluded.state, severity = excluded.severity, opened_at = excluded.opened_at, "
    "updated_at = excluded.updated_at, resolved_at = excluded.resolved_at, "
    "last_event_id = excluded.last_event_id, data = excluded.data"
)


async def save_incident(tx: Tx, incident: Incident) -> None:
    await tx.execute(
        _SAVE_INCIDENT,
        (
            incident.id,
            incident.topic,
            str(incident.state),
            str(incident.severity),
            to_ms(incident.opened_at),
            to_ms(incident.updated_at),
            to_ms(incident.resolved_at) if incident.resolved_at else None,
            incident.last_event_id,
            json.dumps(incident.to_json(), ensure_ascii=False, separators=(",", ":")),
        ),
    )


async def append(
    tx: Tx,
    incident: Incident | None,
    kind: EventKind,
    payload: Mapping[str, Any],
    *,
    at: datetime,
    operator: str,
    incident_id: int | None = None,
) -> tuple[Event, Incident | None]:
    """Insert one event and update its incident's row; returns the event and the incident after it.
    Listeners on ``EVENTS`` are woken when the transaction commits (payload: the newest event id)."""
    iid = incident.id if incident is not None else incident_id
    text = json.dumps(dict(payload), ensure_ascii=False, separators=(",", ":"))
    eid = int(
        await tx.scalar(
            "INSERT INTO events (incident_id, at, operator, kind, payload) VALUES (?, ?, ?, ?, ?) "
            "RETURNING id",
            (iid, to_ms(at), operator, str(kind), text),
        )
    )
    tx.notify(EVENTS, str(eid))
    # read back through JSON so the caller holds exactly what a reader of the journal will see
    event = Event(eid, iid, from_ms(to_ms(at)), operator, kind, json.loads(text))
    after = apply(incident, event) if iid is not None else None
    if after is not None:
        await save_incident(tx, after)
    return event, after
