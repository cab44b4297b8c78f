"""The post-mortem as data: JSON (every event, credentials redacted) and CSV (the pinned evidence)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from tocsin.journal import display as d
from tocsin.journal.archive import MentionRevisions
from tocsin.journal.model import Event
from tocsin.journal.narrate import describe
from tocsin.journal.reports.postmortem import (
    PostMortem,
    revision_of,
)
from tocsin.sources.model import format_time


def _redact(obj: Any) -> Any:
    """Payloads with every ``url`` made safe (credentials redacted, non-http dropped)."""
    if isinstance(obj, Mapping):
        return {k: (d.safe_url(v) if k == "url" else _redact(v)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_redact(v) for v in obj]
    return obj


def _event_json(ev: Event) -> dict[str, Any]:
    return cast(dict[str, Any], _redact(ev.to_json()))


def _revision_json(r: MentionRevisions | None, t: Any) -> dict[str, Any]:
    """The post's revisions for tooling: when the desk learnt of its deletion and last edit (UTC), and
    the words first archived when an edit changed them."""
    if r is None:
        return {"deleted_at": None, "edited_at": None, "original_text": None}
    return {"deleted_at": t(r.deleted_at), "edited_at": t(r.edited_at), "original_text": r.original_text}


def to_json(pm: PostMortem) -> str:
    rec, inc = pm.record, pm.record.incident

    def t(dt: datetime | None) -> str | None:
        return format_time(dt) if dt else None

    obj = {
        "type": "postmortem",
        "generated_at": t(pm.generated_at),
        "desk": pm.desk,
        "topic": {"id": inc.topic, "name": pm.topic_name},
        "incident": inc.to_json(),
        "sla": {
            "ack": pm.ack_target.total_seconds(),
            "first_response": pm.response_target.total_seconds() if pm.response_target else None,
        },
        "clocks": [
            {
                "name": c.name,
                "started_at": t(c.started_at),
                "due_at": t(c.due_at),
                "done_at": t(c.done_at),
                "stopped_at": t(c.stopped_at),
                "elapsed_s": c.elapsed.total_seconds(),
                "status": c.status,
                "breached": c.breached,
            }
            for c in pm.clocks
        ],
        "responses": [
            {
                "event": r.event_id,
                "at": t(r.at),
                "operator": r.operator,
                "kind": str(r.kind),
                "channel": r.channel,
                "text": r.text,
                "url": d.safe_url(r.url),
                "troll_guard": r.troll_guard.to_json() if r.troll_guard is not None else None,
            }
            for r in rec.responses
        ],
        "drafts": [
            {
                "event": dr.event_id,
                "at": t(dr.at),
                "author": dr.author,
                "kind": str(dr.kind),
                "channel": dr.channel,
                "text": dr.text,
                "roles": list(dr.roles),
                "status": dr.status,
                "decided_at": t(dr.decided_at),
                "decided_by": dr.decided_by,
                "waited_s": dr.waited.total_seconds() if dr.waited is not None else None,
                "reason": dr.reason,
                "final_text": dr.final_text,
                "reply_to": dict(dr.reply_to) if dr.reply_to else None,
                "platform": dr.platform,
                "sent": dr.sent,
                "sent_at": t(dr.sent_at),
                "url": d.safe_url(dr.url),
                "failure": dict(dr.failure) if dr.failure else None,
                "troll_guard": dr.troll_guard.to_json() if dr.troll_guard is not None else None,
            }
            for dr in rec.drafts
        ],
        "claims": [
            {
                "event": c.event_id,
                "text": c.text,
                "status": c.status,
                "history": [
                    {"at": t(at), "operator": who, "status": status, "evidence": proof}
                    for at, who, status, proof in c.history
                ],
            }
            for c in rec.claims
        ],
        "evidence": [
            {
                "event": e.event_id,
                "pinned_at": t(e.pinned_at),
                "pinned_by": e.pinned_by,
                "uid": e.uid,
                "source": e.source,
                "created_at": t(e.created_at),
                "text": e.text,
                "url": d.safe_url(e.url),
                "author": {"handle": e.author_handle, "name": e.author_name, "followers": e.followers},
                "lang": e.lang,
                "sentiment": e.sentiment,
                "note": e.note,
                **_revision_json(revision_of(pm, e), t),
            }
            for e in rec.evidence
        ],
        "lessons": [{"at": t(n.at), "operator": n.operator, "text": n.text} for n in rec.lessons],
        "notes": [
            {"at": t(n.at), "operator": n.operator, "kind": str(n.kind), "text": n.text} for n in rec.notes
        ],
        "volume": {
            "from": t(pm.window[0]),
            "to": t(pm.window[1]),
            "minutes": [
                {
                    "minute": t(p.minute),
                    "count": p.count,
                    "negative": p.negative,
                    "neutral": p.neutral,
                    "positive": p.positive,
                }
                for p in pm.volume
            ],
        },
        "events": [_event_json(ev) for ev in rec.events],
    }
    return json.dumps(obj, ensure_ascii=False, indent=2) + "\n"


CSV_COLUMNS: Sequence[str] = (
    "event_id",
    "at_utc",
    "at_local",
    "incident",
    "operator",
    "kind",
    "what",
    "url",
    # on evidence_pinned rows, what happened to the post since: deleted, edited (and its first words)
    "mention_deleted_at_utc",
    "mention_edited_at_utc",
    "mention_first_version",
)


def to_csv(pm: PostMortem) -> str:
    """The timeline, one row per event; every cell neutralised against spreadsheet formulas."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    for ev in pm.record.events:
        p = ev.payload
        url = p.get("url") or (p.get("mention") or {}).get("url") if isinstance(p, Mapping) else None
        r = _pinned_revision(pm, ev)
        w.writerow(
            [
                ev.id,
                format_time(ev.at),
                d.csv_cell(d.local_time(ev.at, pm.tz, seconds=True)),
                ev.incident_id,
                d.csv_cell(ev.operator),
                str(ev.kind),
                d.csv_cell(describe(ev, pm.tz, limit=2000)),
                d.csv_cell(d.safe_url(url) or ""),
                format_time(r.deleted_at) if r and r.deleted_at else "",
                format_time(r.edited_at) if r and r.edited_at else "",
                d.csv_cell(r.original_text) if r and r.original_text is not None else "",
            ]
        )
    return buf.getvalue()


def _pinned_revision(pm: PostMortem, ev: Event) -> MentionRevisions | None:
    if not pm.revisions or str(ev.kind) != "evidence_pinned":
        return None
    m = ev.payload.get("mention") if isinstance(ev.payload, Mapping) else None
    if not isinstance(m, Mapping):
        return None
    return pm.revisions.get((str(m.get("source")), str(m.get("uid"))))


# --- plain text (``tocsin journal show``) -------------------------------------------------------
