"""Incidents derived from their events: the one place that says what each event does.

The journal keeps an ``incidents`` table as a cache of ``apply`` run over the events (updated in the
same transaction as the event), so lists are cheap; ``fold`` rebuilds it from scratch and the tests
check the two agree.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from tocsin.journal.model import (
    Claim,
    Correction,
    Draft,
    Event,
    EventKind,
    Evidence,
    Incident,
    IncidentRecord,
    Note,
    NoteKind,
    Response,
    ResponseKind,
    Severity,
    State,
    TrollGuard,
    Unsent,
)
from tocsin.sources.model import parse_time


def _time(v: Any) -> datetime | None:
    return parse_time(v) if isinstance(v, str) and v else None


def apply(incident: Incident | None, event: Event) -> Incident | None:
    """The incident after ``event`` (``None`` before it was opened, or for events of no incident)."""
    p = event.payload
    if event.kind is EventKind.OPENED:
        return Incident(
            id=int(event.incident_id or 0),
            topic=str(p["topic"]),
            title=str(p["title"]),
            severity=Severity(p["severity"]),
            state=State.OPEN,
            opened_at=event.at,
            opened_by=event.operator,
            first_signal_at=_time(p.get("first_signal_at")) or event.at,
            updated_at=event.at,
            last_event_id=event.id,
            assignee=p.get("assignee"),
            level=p.get("level"),
            level_reasons=tuple(p.get("reasons") or ()),
        )
    if incident is None:
        return None
    changes: dict[str, Any] = {"updated_at": event.at, "last_event_id": event.id}
    kind = event.kind
    if kind is EventKind.ACKNOWLEDGED:
        changes["state"] = State.ACKNOWLEDGED
        if incident.acknowledged_at is None:
            changes["acknowledged_at"] = event.at
            changes["acknowledged_by"] = event.operator
    elif kind is EventKind.ESCALATED:
        if "to_severity" in p:
            changes["severity"] = Severity(p["to_severity"])
        if "step" in p:
            changes["escalation_step"] = int(p["step"])
            changes["ladder_at"] = event.at
    elif kind is EventKind.ASSIGNED:
        changes["assignee"] = p["member"]
    elif kind is EventKind.RESPONSE_LOGGED:
        rkind = ResponseKind(p["kind"])
        changes["responses"] = incident.responses + 1
        if p.get("draft") is not None and str(p["draft"]) in incident.unsent:
            changes["unsent"] = {k: v for k, v in incident.unsent.items() if k != str(p["draft"])}
        if str(rkind) not in incident.response_kinds:
            changes["response_kinds"] = {**incident.response_kinds, str(rkind): event.at}
        if rkind.public and incident.first_response_at is None:
            changes["first_response_at"] = event.at
    elif kind is EventKind.NOTE:
        changes["notes"] = incident.notes + 1
    elif kind is EventKind.EVIDENCE_PINNED:
        changes["evidence"] = incident.evidence + 1
    elif kind is EventKind.SLA_BREACHED:
        changes["breaches"] = {**incident.breaches, str(p["clock"]): event.at}
    elif kind is EventKind.LEVEL_CHANGED:
        changes["level"] = p["level"]
        changes["level_reasons"] = tuple(p.get("reasons") or ())
    elif kind is EventKind.STATE_CHANGED:
        changes["state"] = State(p["to"])
    elif kind is EventKind.RESOLVED:
        changes["state"] = State.RESOLVED
        changes["resolved_at"] = event.at
    elif kind is EventKind.REOPENED:
        changes["state"] = State.REOPENED
        changes["resolved_at"] = None
        changes["reopened"] = incident.reopened + 1
        changes["ladder_at"] = event.at  # a reopened incident waits for an ack again, from now
        if p.get("level"):
            changes["level"] = p["level"]
            changes["level_reasons"] = tuple(p.get("reasons") or ())
    elif kind is EventKind.RESPONSE_DRAFTED:
        changes["drafts"] = {**incident.drafts, str(event.id): event.at}
    elif kind in (EventKind.RESPONSE_APPROVED, EventKind.RESPONSE_REJECTED):
        changes["drafts"] = {k: v for k, v in incident.drafts.items() if k != str(p["draft"])}
        target = p.get("publish")
        if kind is EventKind.RESPONSE_APPROVED and isinstance(target, Mapping):
            unsent = Unsent(
                int(p["draft"]), event.at, str(target["platform"]), str(target["account"]), since=event.at
            )
            changes["unsent"] = {**incident.unsent, str(p["draft"]): unsent}
    elif kind in (EventKind.PUBLISHING, EventKind.PUBLISH_FAILED) and str(p["draft"]) in incident.unsent:
        before = incident.unsent[str(p["draft"])]
        if kind is EventKind.PUBLISHING:
            after = dataclasses.replace(
                before,
                status="publishing",
                since=event.at,
                attempts=int(p.get("attempt") or before.attempts + 1),
                key=str(p.get("key") or before.key or "") or None,
                lease_until=p.get("lease_until"),
                failure=None,
            )
        else:
            failure = {k: v for k, v in p.items() if k != "draft"}
            after = dataclasses.replace(
                before, status="failed", since=event.at, lease_until=None, failure=failure
            )
        changes["unsent"] = {**incident.unsent, str(p["draft"]): after}
    elif kind is EventKind.CLAIM_ADDED:
        changes["claims"] = {**incident.claims, str(event.id): str(p["status"])}
    elif kind is EventKind.CLAIM_CHANGED:
        changes["claims"] = {**incident.claims, str(p["claim"]): str(p["status"])}
    elif kind is EventKind.CHECKED:
        changes["checks"] = {**incident.checks, str(p["item"]): (bool(p["done"]), event.at)}
    # sentiment_corrected and unknown future kinds only touch updated_at/last_event_id
    return dataclasses.replace(incident, **changes)


def fold(events: Iterable[Event]) -> dict[int, Incident]:
    """Every incident from its events (in id order)."""
    out: dict[int, Incident] = {}
    for e in events:
        if e.incident_id is None:
            continue
        inc = apply(out.get(e.incident_id), e)
        if inc is not None:
            out[e.incident_id] = inc
    return out


def record(incident: Incident, events: Iterable[Event]) -> IncidentRecord:
    """The incident with its timeline split into responses, evidence and notes."""
    evs = tuple(events)
    responses: list[Response] = []
    evidence: list[Evidence] = []
    notes: list[Note] = []
    drafts: dict[int, Draft] = {}
    claims: dict[int, Claim] = {}
    for e in evs:
        p = e.payload
        if e.kind is EventKind.CLAIM_ADDED:
            step = (e.at, e.operator, str(p["status"]), p.get("evidence"))
            claims[e.id] = Claim(e.id, e.at, e.operator, str(p["text"]), str(p["status"]), (step,))
        elif e.kind is EventKind.CLAIM_CHANGED and int(p["claim"]) in claims:
            c = claims[int(p["claim"])]
            step = (e.at, e.operator, str(p["status"]), p.get("evidence"))
            claims[c.event_id] = dataclasses.replace(c, status=str(p["status"]), history=(*c.history, step))
        if e.kind is EventKind.RESPONSE_DRAFTED:
            drafts[e.id] = Draft(
                e.id,
                e.at,
                e.operator,
                ResponseKind(p["kind"]),
                p["channel"],
                p["text"],
                tuple(p.get("roles") or ()),
                reply_to=p.get("reply_to"),
                troll_guard=TrollGuard.from_json(p.get("troll_guard")),
            )
        elif (
            e.kind in (EventKind.RESPONSE_APPROVED, EventKind.RESPONSE_REJECTED) and int(p["draft"]) in drafts
        ):
            approved = e.kind is EventKind.RESPONSE_APPROVED
            target = p.get("publish") if approved else None
            drafts[int(p["draft"])] = dataclasses.replace(
                drafts[int(p["draft"])],
                status="approved" if approved else "rejected",
                decided_at=e.at,
                decided_by=e.operator,
                reason=None if approved else p.get("reason"),
                final_text=p.get("text") if approved else None,
                platform=str(target["platform"]) if isinstance(target, Mapping) else None,
                sent="unsent" if isinstance(target, Mapping) else None,
            )
        elif e.kind is EventKind.PUBLISHING and int(p["draft"]) in drafts:
            drafts[int(p["draft"])] = dataclasses.replace(
                drafts[int(p["draft"])], attempts=int(p.get("attempt") or 1)
            )
        elif e.kind is EventKind.PUBLISH_FAILED and int(p["draft"]) in drafts:
            drafts[int(p["draft"])] = dataclasses.replace(drafts[int(p["draft"])], failure=dict(p))
        if e.kind is EventKind.RESPONSE_LOGGED and p.get("draft") is not None and int(p["draft"]) in drafts:
            drafts[int(p["draft"])] = dataclasses.replace(
                drafts[int(p["draft"])],
                sent="by_hand" if p.get("by_hand") else ("published" if p.get("published") else "sent"),
                sent_at=e.at,
                url=p.get("url") if p.get("published") else None,
                failure=None,
            )
        if e.kind is EventKind.RESPONSE_LOGGED:
            responses.append(
                Response(
                    e.id,
                    e.at,
                    e.operator,
                    ResponseKind(p["kind"]),
                    p["channel"],
                    p["text"],
                    p.get("url"),
                    troll_guard=TrollGuard.from_json(p.get("troll_guard")),
                )
            )
        elif e.kind is EventKind.EVIDENCE_PINNED:
            evidence.append(evidence_of(e))
        elif e.kind is EventKind.NOTE:
            notes.append(Note(e.id, e.at, e.operator, NoteKind(p.get("kind", "note")), p["text"]))
    return IncidentRecord(
        incident,
        evs,
        tuple(responses),
        tuple(evidence),
        tuple(notes),
        tuple(drafts.values()),
        tuple(claims.values()),
    )


def evidence_of(e: Event) -> Evidence:
    m: Mapping[str, Any] = e.payload["mention"]
    author: Mapping[str, Any] = m.get("author") or {}
    return Evidence(
        event_id=e.id,
        pinned_at=e.at,
        pinned_by=e.operator,
        uid=str(m["uid"]),
        source=str(m["source"]),
        created_at=parse_time(m["created_at"]),
        text=str(m.get("text", "")),
        url=m.get("url"),
        author_handle=str(author.get("handle") or ""),
        author_name=author.get("name"),
        followers=author.get("followers"),
        lang=m.get("lang"),
        sentiment=m.get("sentiment"),
        note=e.payload.get("note"),
    )


def correction_of(e: Event) -> Correction:
    p = e.payload
    return Correction(
        event_id=e.id,
        at=e.at,
        operator=e.operator,
        incident_id=e.incident_id,
        uid=str(p["uid"]),
        source=str(p["source"]),
        text=str(p["text"]),
        old_label=p.get("old"),
        new_label=str(p["new"]),
    )
