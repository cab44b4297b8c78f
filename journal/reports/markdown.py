"""The post-mortem in Markdown (a sparkline for the volume)."""

from __future__ import annotations

from datetime import datetime

from tocsin.config.i18n import _
from tocsin.journal import display as d
from tocsin.journal.narrate import describe, despite_troll_guard
from tocsin.journal.reports.postmortem import (
    PostMortem,
    approval_lines,
    bins,
    claim_lines,
    clock_row,
    counts_text,
    drafts_text,
    revision_notes,
    section_headings,
    summary_rows,
    ticked_box,
    volume_peak,
)

_SPARK = "▁▂▃▄▅▆▇█"


def _approvals_md(pm: PostMortem) -> list[str]:
    if not pm.record.drafts:
        return []
    out = ["", "## " + _("Approvals ({drafts})").format(drafts=drafts_text(len(pm.record.drafts))), ""]
    for dr, line in zip(pm.record.drafts, approval_lines(pm), strict=True):
        out.append(f"- {d.md(line, 600)}")
        out.append("  > " + d.md_block(dr.text).replace("  \n", "  \n  > "))
    return out


def to_markdown(pm: PostMortem) -> str:
    rec, inc, tz = pm.record, pm.record.incident, pm.tz

    def t(dt: datetime | None) -> str:
        return d.local_time(dt, tz)

    head = section_headings()
    title = _("Post-mortem: incident #{id}, {severity}, {title}").format(
        id=inc.id, severity=inc.severity.label, title=d.md(inc.title, 200)
    )
    meta = _("Desk: {desk} · topic: {topic} · state: **{state}** · generated {time}").format(
        desk=d.md(pm.desk), topic=d.md(pm.topic_name), state=d.state_name(inc.state), time=t(pm.generated_at)
    )
    out: list[str] = [f"# {title}", "", meta, "", f"## {head['summary']}", "", "| | |", "|---|---|"]
    out += [f"| {label} | {d.md(value)} |" for label, value in summary_rows(pm)]
    columns = " | ".join((_("Clock"), _("Target"), _("Took"), _("Status")))
    out += ["", f"## {head['clocks']}", "", f"| {columns} |", "|---|---|---|---|"]
    for c in pm.clocks:
        label, target, took, status = clock_row(pm, c)
        out.append(f"| {label} | {target} | {took} | {status} |")
    out += ["", f"## {head['volume']}", ""]
    bs, size = bins(pm, 96)
    peak = volume_peak(pm)
    if peak is None:
        out.append(_("No volume history was recorded around this incident."))
    else:
        top = max(b.count for b in bs) or 1
        spark = "".join(_SPARK[min(7, b.count * 8 // (top + 1))] if b.count else " " for b in bs)
        out += [
            f"`{spark}`",
            "",
            _(
                "{start} to {end}, {size} min per step; "
                "peak {count} mentions/min at {time} ({negative} negative)."
            ).format(
                start=t(pm.window[0]),
                end=t(pm.window[1]),
                size=size,
                count=peak.count,
                time=t(peak.minute),
                negative=peak.negative,
            ),
        ]
    out += ["", f"## {head['checklist']}", ""]
    for item in inc.checklist:
        how = f" ({ticked_box(item)}, {t(item.at)})" if item.done else ""
        out.append(f"- [{'x' if item.done else ' '}] {_(item.label)}{how}")
    out += ["", "## " + _("Responses ({n})").format(n=len(rec.responses)), ""]
    if not rec.responses:
        out.append(_("No response was logged."))
    for r in rec.responses:
        said = _("{time}: {kind} on {channel} (by {who})").format(
            time=t(r.at), kind=d.kind_name(r.kind), channel=d.md(r.channel, 60), who=d.md(r.operator)
        )
        out.append(f"### {said}")
        out.append("")
        out.append("> " + d.md_block(r.text).replace("  \n", "  \n> "))
        if d.safe_url(r.url):
            out += ["", d.md_link(_("published here"), r.url)]
        if r.troll_guard is not None:
            out += ["", f"⚠ *{d.md(despite_troll_guard(r.troll_guard))}*"]
        out.append("")
    out += _approvals_md(pm)
    if rec.claims:
        out += ["", "## " + _("Claims ({n})").format(n=len(rec.claims)), ""]
        out += [f"- {d.md(line, 800)}" for line in claim_lines(pm)]
    out += ["", "## " + _("Key mentions ({n} pinned)").format(n=len(rec.evidence)), ""]
    if not rec.evidence:
        out.append(_("No evidence was pinned."))
    for e in rec.evidence:
        who = f"@{d.md(e.author_handle, 60)}" if e.author_handle else _("unknown author")
        if e.author_name:
            who += f" ({d.md(e.author_name, 60)})"
        followers = _("{n} followers").format(n=counts_text(e.followers))
        facts = [t(e.created_at), who, followers, d.md(e.source, 30)]
        if e.sentiment:
            facts.append(d.md(e.sentiment))
        line = f"- {' · '.join(facts)}: “{d.md(e.text, 500)}”"
        if d.safe_url(e.url):
            line += " " + d.md_link(_("link"), e.url)
        for note in revision_notes(pm, e):
            line += f" — *{d.md(note)}*"  # escaped, so the note cannot close the emphasis early
        out.append(line)
    out += ["", f"## {head['lessons']}", ""]
    lessons = rec.lessons
    if not lessons:
        out.append(_("None written yet (add one: `tocsin incident note ID --lesson TEXT`)."))
    for n in lessons:
        out.append(f"- {d.md_block(n.text)} ({d.md(n.operator)}, {t(n.at)})")
    notes = [n for n in rec.notes if n not in lessons]
    if notes:
        out += ["", f"## {head['notes']}", ""]
        for n in notes:
            out.append(f"- {t(n.at)}, {d.md(n.operator)}: {d.md_block(n.text)}")
    columns = " | ".join((_("Time"), _("Who"), _("What")))
    out += ["", f"## {head['timeline']}", "", f"| {columns} |", "|---|---|---|"]
    for ev in rec.events:
        out.append(
            f"| {d.local_time(ev.at, tz, seconds=True)} | {d.md(ev.operator)} | {d.md(describe(ev, tz))} |"
        )
    out.append("")
    return "\n".join(out)


# --- HTML ---------------------------------------------------------------------------------------
