"""One plain sentence per event, for timelines (reports, handover, ``journal show``).

The sentences contain raw text (titles, statements, mention text): callers escape them for their
format with ``display.md``/``html_text``/``csv_cell``/``one_line``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import tzinfo
from typing import Any

from tocsin.journal.display import local_time, one_line
from tocsin.journal.model import PLAYBOOK, Event, EventKind, ResponseKind, Severity
from tocsin.sources.model import parse_time

_STEP_LABELS = {s.id: s.label for s in PLAYBOOK}
_CLOCK_LABELS = {"ack": "acknowledgement", "first_response": "first public response"}


def _sev(value: object) -> str:
    try:
        return Severity(str(value)).label
    except ValueError:
        return str(value)


def _time(value: object, tz: tzinfo) -> str:
    if isinstance(value, str) and value:
        try:
            return local_time(parse_time(value), tz)
        except ValueError:
            return value
    return "?"


def describe(event: Event, tz: tzinfo, *, limit: int = 280) -> str:
    """What happened, in a sentence (mention and statement text cut to ``limit`` characters)."""
    p: Mapping[str, Any] = event.payload
    k = event.kind
    if k is EventKind.OPENED:
        s = f'opened {_sev(p.get("severity"))} "{one_line(p.get("title"), limit)}" on {p.get("topic")}'
        if p.get("assignee"):
            s += f", assigned to {p['assignee']}"
        return s
    if k is EventKind.ACKNOWLEDGED:
        return "acknowledged" + (" (by starting work on it)" if p.get("implicit") else "")
    if k is EventKind.ESCALATED:
        if "to_severity" in p:
            return f"severity {_sev(p.get('from_severity'))} → {_sev(p['to_severity'])}"
        members = ", ".join(p.get("members") or ()) or "nobody on the roster"
        roles = ", ".join(p.get("roles") or ())
        return f"escalated to step {p.get('step')} of {p.get('of')}: {roles} ({members})"
    if k is EventKind.ASSIGNED:
        name, member = p.get("name"), p.get("member")
        return f"assigned to {name} ({member})" if name and name != member else f"assigned to {member}"
    if k is EventKind.RESPONSE_LOGGED:
        try:
            kind = ResponseKind(p.get("kind")).label
        except ValueError:
            kind = str(p.get("kind"))
        return f"{kind} on {one_line(p.get('channel'), 40)}: {one_line(p.get('text'), limit)}"
    if k is EventKind.NOTE:
        return f"{p.get('kind', 'note')}: {one_line(p.get('text'), limit)}"
    if k is EventKind.EVIDENCE_PINNED:
        m = p.get("mention") or {}
        handle = one_line((m.get("author") or {}).get("handle") or "unknown", 60)
        when = _time(m.get("created_at"), tz)
        return f"pinned @{handle}'s post of {when}: {one_line(m.get('text'), limit)}"
    if k is EventKind.SLA_BREACHED:
        clock = _CLOCK_LABELS.get(str(p.get("clock")), str(p.get("clock")))
        s = f"SLA breached: {clock} was due {_time(p.get('due'), tz)} ({_sev(p.get('severity'))})"
        if p.get("met_at"):
            s += f", done {_time(p['met_at'], tz)}"
        return s
    if k is EventKind.LEVEL_CHANGED:
        reasons = "; ".join(one_line(r, 80) for r in p.get("reasons") or ())
        return f"level {p.get('previous') or '—'} → {p.get('level')}" + (f" ({reasons})" if reasons else "")
    if k is EventKind.STATE_CHANGED:
        s = f"state {p.get('from')} → {p.get('to')}"
        return s + (f": {one_line(p['reason'], limit)}" if p.get("reason") else "")
    if k is EventKind.RESOLVED:
        return "resolved" + (f": {one_line(p['summary'], limit)}" if p.get("summary") else "")
    if k is EventKind.REOPENED:
        return f"reopened from {p.get('from')}: {one_line(p.get('reason'), limit)}"
    if k is EventKind.SENTIMENT_CORRECTED:
        change = f"{p.get('old') or 'unscored'} → {p.get('new')}"
        return f"sentiment corrected {change}: {one_line(p.get('text'), limit)}"
    if k is EventKind.NOTIFIED:
        who = p.get("name") or p.get("recipient") or "the channel"
        what = p.get("trigger") or "alert"
        tries = int(p.get("attempts") or 1)
        said = f"notified {who} via {p.get('output')} ({what})"
        return said + (f" after {tries} tries" if tries > 1 else "")
    if k is EventKind.NOTIFY_FAILED:
        who = p.get("name") or p.get("recipient") or "the channel"
        return f"could not notify {who} via {p.get('output')}: {one_line(p.get('error'), 120)}"
    if k is EventKind.RESPONSE_DRAFTED:
        try:
            kind = ResponseKind(p.get("kind")).label
        except ValueError:
            kind = str(p.get("kind"))
        roles = ", ".join(p.get("roles") or ()) or "a second person"
        return (
            f"drafted {kind} on {one_line(p.get('channel'), 40)} (draft {event.id}, awaiting approval by "
            f"{roles}): {one_line(p.get('text'), limit)}"
        )
    if k is EventKind.RESPONSE_APPROVED:
        waited = int(float(p.get("waited_s") or 0) // 60)
        edited = ", edited" if p.get("edited") else ""
        return f"approved draft {p.get('draft')} by {p.get('author')} after {waited} min{edited}"
    if k is EventKind.RESPONSE_REJECTED:
        return f"rejected draft {p.get('draft')} by {p.get('author')}: {one_line(p.get('reason'), limit)}"
    if k is EventKind.CLAIM_ADDED:
        proof = f" (evidence: {one_line(p['evidence'], 120)})" if p.get("evidence") else ""
        return f"claim {event.id} recorded as {p.get('status')}: {one_line(p.get('text'), limit)}{proof}"
    if k is EventKind.CLAIM_CHANGED:
        proof = f": {one_line(p['evidence'], limit)}" if p.get("evidence") else ""
        return f"claim {p.get('claim')} {p.get('previous')} → {p.get('status')}{proof}"
    if k is EventKind.CHECKED:
        label = _STEP_LABELS.get(str(p.get("item")), str(p.get("item")))
        return f"{'ticked' if p.get('done') else 'unticked'} “{label}”"
    return str(k)
