"""The post-mortem for a terminal: ``tocsin journal show`` and ``incident show``."""

from __future__ import annotations

from datetime import datetime

from tocsin.config.i18n import _
from tocsin.config.reasons import level_name
from tocsin.journal import display as d
from tocsin.journal.narrate import describe, despite_troll_guard
from tocsin.journal.reports.postmortem import (
    PostMortem,
    approval_lines,
    claim_lines,
    clock_row,
    drafts_text,
    member_name,
    revision_notes,
)


def to_text(pm: PostMortem, *, evidence_shown: int = 20) -> str:
    """The incident for a terminal: every piece of text on one clean line (no escape sequences)."""
    rec, inc, tz = pm.record, pm.record.incident, pm.tz
    o = d.one_line

    def t(dt: datetime | None) -> str:
        return d.local_time(dt, tz)

    about = _("topic {topic} · assignee {who}").format(
        topic=o(pm.topic_name, 60), who=o(member_name(pm, inc.assignee), 60)
    )
    if inc.escalation_step:
        about += " · " + _("escalation step {step}").format(step=inc.escalation_step)
    if inc.level:
        about += " · " + _("level {level}").format(level=o(level_name(inc.level), 20))
    opened = _("first signal {time} · opened {opened} by {who}").format(
        time=t(inc.first_signal_at), opened=t(inc.opened_at), who=o(inc.opened_by, 40)
    )
    out = [
        f"#{inc.id} {inc.severity.label} {d.state_name(inc.state)}: {o(inc.title, 200)}",
        f"  {about}",
        f"  {opened}",
        "",
        _("Clocks"),
    ]
    for c in pm.clocks:
        label, target, took, status = clock_row(pm, c)
        figures = _("target {target} took {took}").format(target=f"{target:<8}", took=f"{took:<16}")
        out.append(f"  {label:<26} {figures} {status}")
    out += ["", _("Checklist")]
    for item in inc.checklist:
        out.append(f"  [{'x' if item.done else ' '}] {_(item.label)}")
    if rec.responses:
        out += ["", _("Responses ({n})").format(n=len(rec.responses))]
        for r in rec.responses:
            url = d.safe_url(r.url)
            said = _("{kind} on {channel} by {who}").format(
                kind=d.kind_name(r.kind), channel=o(r.channel, 40), who=o(r.operator, 40)
            )
            out.append(f"  {t(r.at)} {said}: {o(r.text, 300)}")
            if url:
                out.append(f"    {url}")
            if r.troll_guard is not None:
                out.append(f"    ⚠ {o(despite_troll_guard(r.troll_guard), 400)}")
    if rec.claims:
        out += ["", _("Claims ({n})").format(n=len(rec.claims))]
        out += [f"  {o(line, 400)}" for line in claim_lines(pm)]
    if rec.drafts:
        out += ["", _("Approvals ({drafts})").format(drafts=drafts_text(len(rec.drafts)))]
        out += [f"  {o(line, 400)}" for line in approval_lines(pm)]
    if rec.evidence:
        out += ["", _("Evidence ({n} pinned)").format(n=len(rec.evidence))]
        for e in rec.evidence[:evidence_shown]:
            out.append(f"  {t(e.created_at)} @{o(e.author_handle, 40)}: {o(e.text, 200)}")
            out += [f"    {o(note, 300)}" for note in revision_notes(pm, e, limit=200)]
        if len(rec.evidence) > evidence_shown:
            more = _("… and {n} more (see the export)").format(n=len(rec.evidence) - evidence_shown)
            out.append(f"  {more}")
    if rec.notes:
        out += ["", _("Notes")]
        for n in rec.notes:
            kind = _("lesson") if str(n.kind) == "lesson" else _("note")
            out.append(f"  {t(n.at)} {o(n.operator, 40)} ({kind}): {o(n.text, 300)}")
    out += ["", _("Timeline")]
    for ev in rec.events:
        out.append(
            f"  {d.local_time(ev.at, tz, seconds=True)}  {o(ev.operator, 20):<10} {o(describe(ev, tz), 200)}"
        )
    return "\n".join(out) + "\n"
