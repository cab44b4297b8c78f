"""The shift handover: what is open, who has not acknowledged, which clocks broke, and what happened.

Readable Markdown for the next person on call (``tocsin handover --since 8h`` prints it). Clock
states are computed at ``now``, so a breach shows even if no desk was running to record it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from tocsin.config.i18n import _, ngettext
from tocsin.config.reasons import level_name
from tocsin.config.text import duration_str
from tocsin.journal import display as d
from tocsin.journal.model import Event, EventKind, Incident
from tocsin.journal.narrate import describe

if TYPE_CHECKING:
    from tocsin.journal.api import Journal


async def build_handover(journal: Journal, since: timedelta, now: datetime | None = None) -> str:
    """The handover covering ``since`` before ``now`` (desk time)."""
    now = now or journal.clock.now()
    start = now - since
    tz = d.zone(journal.settings.desk.timezone)
    names = {m.id: m.name for m in journal.settings.team.roster}
    open_incidents = await journal.incidents()
    events = await journal.events(since=start)
    touched_ids = {e.incident_id for e in events if e.incident_id is not None}
    known = {i.id: i for i in open_incidents}
    for iid in sorted(touched_ids - known.keys()):
        known[iid] = await journal.incident(iid)

    def t(dt: datetime | None, date: bool = False) -> str:
        return d.local_time(dt, tz, date=date)

    def head(inc: Incident) -> str:
        return f"#{inc.id} {inc.severity.label} {d.state_name(inc.state)}: {d.md(inc.title, 120)}"

    prepared = _("Prepared by {who}, covering the last {span} (since {time}).").format(
        who=d.md(journal.operator), span=duration_str(since), time=d.local_time(start, tz)
    )
    out = [
        "# "
        + _("Handover: {desk}, {time}").format(
            desk=d.md(journal.settings.desk.name), time=d.local_time(now, tz)
        ),
        "",
        prepared,
        "",
        "## " + _("Open incidents ({n})").format(n=len(open_incidents)),
        "",
    ]
    if not open_incidents:
        out.append(_("Nothing open."))
    for inc in open_incidents:
        clocks = journal.clocks(inc, now)
        done = sum(1 for c in inc.checklist if c.done)
        who = names.get(inc.assignee or "", inc.assignee) if inc.assignee else _("unassigned")
        opened = _("opened {time} ({span} ago)").format(
            time=t(inc.opened_at, date=True), span=duration_str(now - inc.opened_at)
        )
        parts = [
            _("topic {topic}").format(topic=d.md(inc.topic)),
            d.md(who),
            opened,
            clocks[1].describe("handover"),
            clocks[2].describe("handover"),
            _("checklist {done}/{of}").format(done=done, of=len(inc.checklist)),
        ]
        if inc.level:
            parts.append(_("level {level}").format(level=d.md(level_name(inc.level))))
        out.append(f"- **{head(inc)}**  \n  " + " · ".join(parts))
    unacked = [i for i in open_incidents if i.state.needs_ack]
    out += ["", "## " + _("Waiting for acknowledgement ({n})").format(n=len(unacked)), ""]
    if not unacked:
        out.append(_("None: every open incident has someone on it."))
    for inc in unacked:
        out.append(f"- **{head(inc)}**, {journal.clocks(inc, now)[1].describe('handover')}")
    breaches: list[str] = []
    for inc in open_incidents:
        for c in journal.clocks(inc, now)[1:]:
            if c.breached:
                recorded = inc.breaches.get(c.name)
                note = _(", recorded {time}").format(time=t(recorded)) if recorded else ""
                due = _("was due {time}").format(time=t(c.due_at))
                breaches.append(f"- #{inc.id}: {c.describe('handover')} ({due}{note})")
    for e in events:
        if e.kind is EventKind.SLA_BREACHED and e.incident_id in known and known[e.incident_id].closed:
            since_resolved = _("(since resolved)")
            breaches.append(f"- #{e.incident_id} {since_resolved}: {d.md(describe(e, tz))}")
    out += ["", "## " + _("SLA breaches ({n})").format(n=len(breaches)), ""]
    out += breaches or [_("None.")]
    # the English words as they always were, one form for every count; the pair gives French its singular
    happened = ngettext(
        "What happened since {time} ({n} events)", "What happened since {time} ({n} events)", len(events)
    ).format(time=d.local_time(start, tz), n=len(events))
    out += ["", f"## {happened}", ""]
    if not events:
        out.append(_("Nothing was recorded."))
    by_incident: dict[int | None, list[Event]] = defaultdict(list)
    for e in events:
        by_incident[e.incident_id].append(e)
    for iid in sorted(i for i in by_incident if i is not None):
        out += [f"### {head(known[iid])}", ""]
        for e in by_incident[iid]:
            out.append(f"- {t(e.at)} {d.md(e.operator)}: {d.md(describe(e, tz, limit=200))}")
        out.append("")
    loose = by_incident.get(None, [])
    if loose:
        corrections = sum(1 for e in loose if e.kind is EventKind.SENTIMENT_CORRECTED)
        out += [
            "### " + _("Outside incidents"),
            "",
            "- " + _("{n} sentiment correction(s) for the training data").format(n=corrections),
            "",
        ]
    resolved = [
        known[i]
        for i in sorted(touched_ids)
        if (resolved_at := known[i].resolved_at) is not None and resolved_at >= start
    ]
    if resolved:
        out += ["## " + _("Resolved in this period"), ""]
        for inc in resolved:
            said = _("resolved {time}").format(time=t(inc.resolved_at))
            out.append(f"- #{inc.id} {inc.severity.label}: {d.md(inc.title, 120)}, {said}")
        out.append("")
    return "\n".join(out).rstrip() + "\n"
