"""The post-mortem of an incident: Markdown, a self-contained HTML page, JSON and CSV.

Contents: the summary, the clocks against the SLA, a volume chart from the per-minute history around
the incident (inline SVG in HTML, a sparkline in Markdown), the response checklist, the responses,
the key mentions (pinned evidence, with their original time and text, and whether the post was
deleted or edited since), lessons, notes and the full timeline. Every piece of mention or operator
text is escaped for its format (``display.py``); URLs are shown only when http(s), with credentials
redacted. The journal holds no secrets of the desk's (tokens live in the environment), and none of
the settings go into an export.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from tocsin.config.i18n import _, language, ngettext
from tocsin.config.reasons import level_name
from tocsin.config.text import duration_str
from tocsin.journal import display as d
from tocsin.journal.archive import MentionRevisions
from tocsin.journal.clocks import SlaClock, first_response_target
from tocsin.journal.history import VolumePoint
from tocsin.journal.model import Draft, Event, Evidence, IncidentRecord
from tocsin.journal.narrate import claim_status, describe, despite_troll_guard, platform_name, publish_problem
from tocsin.sources.model import format_time

if TYPE_CHECKING:
    from tocsin.journal.api import Journal

FORMATS: tuple[str, ...] = ("md", "html", "json", "csv")
_BEFORE = timedelta(hours=2)
_AFTER = timedelta(hours=1)
_MAX_SPAN = timedelta(days=7)
_BIN_MINUTES = (1, 5, 15, 30, 60, 180, 360, 720, 1440)
_SPARK = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True)
class PostMortem:
    """Everything a post-mortem shows, gathered at ``generated_at`` (desk time)."""

    record: IncidentRecord
    clocks: tuple[SlaClock, ...]
    volume: tuple[VolumePoint, ...]
    window: tuple[datetime, datetime]
    generated_at: datetime
    tz: tzinfo
    desk: str
    topic_name: str
    response_target: timedelta | None
    ack_target: timedelta
    names: Mapping[str, str]
    """Roster id → name."""
    revisions: Mapping[tuple[str, str], MentionRevisions] = field(default_factory=dict)
    """(source, uid) → what happened to a pinned post since (deleted, edited); only those it happened to."""


async def build_postmortem(
    journal: Journal, incident_id: int | str, now: datetime | None = None
) -> PostMortem:
    """Read what the post-mortem of one incident needs from the journal."""
    now = now or journal.clock.now()
    rec = await journal.incident_record(incident_id)
    inc = rec.incident
    start = min(inc.first_signal_at, inc.opened_at) - _BEFORE
    end = min((inc.resolved_at or now) + _AFTER, now)
    end = min(max(end, inc.opened_at + _AFTER), start + _MAX_SPAN)
    volume = await journal.volume(inc.topic, start, end)
    settings = journal.settings
    topic = next((t for t in settings.topics if t.id == inc.topic), None)
    revisions = await journal.pinned_revisions(inc.id) if rec.evidence else {}
    return PostMortem(
        record=rec,
        clocks=journal.clocks(inc, now),
        volume=tuple(volume),
        window=(start, end),
        generated_at=now,
        tz=d.zone(settings.desk.timezone),
        desk=settings.desk.name,
        topic_name=topic.label if topic else inc.topic,
        response_target=first_response_target(settings.team.sla, inc.severity),
        ack_target=settings.team.sla.ack_timeout,
        names={m.id: m.name for m in settings.team.roster},
        revisions=revisions,
    )


def render(pm: PostMortem, fmt: str) -> str:
    """The post-mortem in ``md``, ``html``, ``json`` or ``csv``."""
    renderers = {"md": to_markdown, "html": to_html, "json": to_json, "csv": to_csv}
    if fmt not in renderers:
        raise ValueError(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")
    return renderers[fmt](pm)


# --- shared pieces ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bin:
    start: datetime
    count: int
    negative: int


def bins(pm: PostMortem, max_bins: int) -> tuple[list[Bin], int]:
    """The volume over the window in at most ``max_bins`` equal bins; returns (bins, minutes per bin)."""
    start, end = pm.window
    minutes = max(1, int((end - start).total_seconds() // 60))
    size = next((b for b in _BIN_MINUTES if minutes / b <= max_bins), _BIN_MINUTES[-1])
    n = max(1, -(-minutes // size))
    out = [Bin(start + timedelta(minutes=i * size), 0, 0) for i in range(n)]
    counts = [[0, 0] for _ in range(n)]
    for p in pm.volume:
        i = int((p.minute - start).total_seconds() // 60) // size
        if 0 <= i < n:
            counts[i][0] += p.count
            counts[i][1] += p.negative
    return [Bin(b.start, c, neg) for b, (c, neg) in zip(out, counts, strict=True)], size


def revision_of(pm: PostMortem, e: Evidence) -> MentionRevisions | None:
    """What happened to a pinned post after the desk saw it, or None if nothing did."""
    return pm.revisions.get((e.source, e.uid))


def revision_notes(pm: PostMortem, e: Evidence, *, limit: int = 500) -> tuple[str, ...]:
    """Plain sentences for a pinned post that was edited or deleted since (raw mention text inside:
    escape for the format): ``edited by its author at 10:31 CET; first version: “…”``,
    ``deleted by its author at 10:42 CET``. Times carry the date when it is not the post's day."""
    r = revision_of(pm, e)
    if r is None:
        return ()

    def when(dt: datetime) -> str:
        same_day = dt.astimezone(pm.tz).date() == e.created_at.astimezone(pm.tz).date()
        return d.local_time(dt, pm.tz, date=not same_day)

    notes = []
    if r.edited_at is not None:
        note = _("edited by its author at {time}").format(time=when(r.edited_at))
        if r.original_text is not None and r.original_text != e.text:
            note += "; " + _("first version: “{text}”").format(text=d.one_line(r.original_text, limit))
        elif r.edited_at >= e.pinned_at:
            note += _(", after it was pinned (the words above are as pinned)")
        notes.append(note)
    if r.deleted_at is not None:
        notes.append(_("deleted by its author at {time}").format(time=when(r.deleted_at)))
    return tuple(notes)


def _peak(pm: PostMortem) -> VolumePoint | None:
    return max(pm.volume, key=lambda p: p.count, default=None)


def _who(pm: PostMortem, member: str | None) -> str:
    if not member:
        return "—"
    name = pm.names.get(member)
    return f"{name} ({member})" if name and name != member else member


def _clock_row(pm: PostMortem, c: SlaClock) -> tuple[str, str, str, str]:
    """(label, target, took, status) in plain text."""
    target = "—" if c.due_at is None else duration_str(c.due_at - c.started_at)
    took = duration_str(c.elapsed)
    if c.status in ("running", "overdue", "counting") and c.stopped_at is None:
        took = _("{took} so far").format(took=took)
    return _(c.label).capitalize(), target, took, c.describe("report")


def _counts(n: int | None) -> str:
    if n is None:
        return "?"
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if n >= 10_000:
        return f"{n / 1000:.0f}k"
    return str(n)


def approval_lines(pm: PostMortem) -> list[str]:
    """One plain sentence per draft (raw operator text inside: escape for the format): who wrote it
    when, who approved or rejected it, after how long, and why; or since when it waits."""
    out = []
    for dr in pm.record.drafts:
        at = d.local_time(dr.at, pm.tz)
        head = _("draft {draft}: {kind} on {channel} by {author}, {time}").format(
            draft=dr.event_id,
            kind=d.kind_name(dr.kind),
            channel=d.one_line(dr.channel, 40),
            author=dr.author,
            time=at,
        )
        if dr.troll_guard is not None:
            head += f" ({despite_troll_guard(dr.troll_guard)})"
        if dr.status == "pending":
            waiting = _("awaiting approval ({roles}) since {time}").format(roles=", ".join(dr.roles), time=at)
            out.append(f"{head}; {waiting}")
            continue
        waited = duration_str(dr.waited) if dr.waited is not None else "?"
        when = d.local_time(dr.decided_at, pm.tz)
        if dr.status == "approved":
            edited = _(" (edited before it went out)") if dr.final_text not in (None, dr.text) else ""
            said = _("approved by {who} at {time}, {waited} later").format(
                who=dr.decided_by, time=when, waited=waited
            )
            out.append(f"{head}; {said}{edited}{_sent(dr, pm)}")
        else:
            said = _("rejected by {who} at {time}, {waited} later: {reason}").format(
                who=dr.decided_by, time=when, waited=waited, reason=dr.reason
            )
            out.append(f"{head}; {said}")
    return out


def _sent(dr: Draft, pm: PostMortem) -> str:
    """``; published on Mastodon at 10:42: URL`` — what became of an approved draft."""
    when = d.local_time(dr.sent_at, pm.tz) if dr.sent_at else "?"
    if dr.sent == "published":
        return "; " + _("published on {platform} at {time}: {url}").format(
            platform=platform_name(dr.platform), time=when, url=d.safe_url(dr.url) or "?"
        )
    if dr.sent == "by_hand":
        return "; " + _("sent by hand at {time}").format(time=when)
    if dr.sent == "unsent" and dr.failure is not None:
        return "; " + _("not sent: {why}").format(why=publish_problem(dr.failure, pm.tz))
    if dr.sent == "unsent":
        return "; " + _("not sent yet (to be posted on {platform})").format(
            platform=platform_name(dr.platform)
        )
    return ""


def claim_lines(pm: PostMortem) -> list[str]:
    """One plain sentence per claim: its status now, and how it got there (raw text: escape it)."""
    out = []
    for c in pm.record.claims:
        steps = "; ".join(
            _("{status} {time} by {who}").format(
                status=claim_status(status), time=d.local_time(at, pm.tz), who=who
            )
            + (f" ({proof})" if proof else "")
            for at, who, status, proof in c.history
        )
        out.append(f"{claim_status(c.status).upper()}: {c.text} — {steps}")
    return out


def _drafts(n: int) -> str:
    return ngettext("{n} draft", "{n} drafts", n).format(n=n)


def _approvals_md(pm: PostMortem) -> list[str]:
    if not pm.record.drafts:
        return []
    out = ["", "## " + _("Approvals ({drafts})").format(drafts=_drafts(len(pm.record.drafts))), ""]
    for dr, line in zip(pm.record.drafts, approval_lines(pm), strict=True):
        out.append(f"- {d.md(line, 600)}")
        out.append("  > " + d.md_block(dr.text).replace("  \n", "  \n  > "))
    return out


def _summary(pm: PostMortem) -> list[tuple[str, str]]:
    """The summary table's rows (label, raw text), the same in every format: escape the text for it."""
    inc, tz = pm.record.incident, pm.tz

    def by(time: datetime | None, who: str | None) -> str:
        when = d.local_time(time, tz)
        return _("{time} by {who}").format(time=when, who=who) if who else when

    step = _("step {n}").format(n=inc.escalation_step) if inc.escalation_step else _("none")
    return [
        (_("Severity"), inc.severity.label),
        (_("State"), d.state_name(inc.state)),
        (_("Assignee"), _who(pm, inc.assignee)),
        (_("First signal"), d.local_time(inc.first_signal_at, tz)),
        (_("Opened"), by(inc.opened_at, inc.opened_by)),
        (_("Acknowledged"), by(inc.acknowledged_at, inc.acknowledged_by)),
        (_("First public response"), d.local_time(inc.first_response_at, tz)),
        (_("Resolved"), d.local_time(inc.resolved_at, tz)),
        (_("Escalation"), step),
        (_("Reopened"), _("{n} time(s)").format(n=inc.reopened)),
        (_("Last level"), level_name(inc.level) if inc.level else "—"),
    ]


def _ticked(item: Any) -> str:
    """How a checklist step got ticked: by hand, or by the response that ticks it."""
    if item.by == "check":
        return _("ticked by hand")
    return _("{kind} logged").format(kind=d.kind_name(item.by or ""))


def _headings() -> dict[str, str]:
    return {
        "summary": _("Summary"),
        "clocks": _("Clocks against the SLA"),
        "volume": _("Volume"),
        "checklist": _("Response checklist"),
        "lessons": _("Lessons"),
        "notes": _("Notes"),
        "timeline": _("Timeline"),
    }


# --- Markdown -----------------------------------------------------------------------------------


def to_markdown(pm: PostMortem) -> str:
    rec, inc, tz = pm.record, pm.record.incident, pm.tz

    def t(dt: datetime | None) -> str:
        return d.local_time(dt, tz)

    head = _headings()
    title = _("Post-mortem: incident #{id}, {severity}, {title}").format(
        id=inc.id, severity=inc.severity.label, title=d.md(inc.title, 200)
    )
    meta = _("Desk: {desk} · topic: {topic} · state: **{state}** · generated {time}").format(
        desk=d.md(pm.desk), topic=d.md(pm.topic_name), state=d.state_name(inc.state), time=t(pm.generated_at)
    )
    out: list[str] = [f"# {title}", "", meta, "", f"## {head['summary']}", "", "| | |", "|---|---|"]
    out += [f"| {label} | {d.md(value)} |" for label, value in _summary(pm)]
    columns = " | ".join((_("Clock"), _("Target"), _("Took"), _("Status")))
    out += ["", f"## {head['clocks']}", "", f"| {columns} |", "|---|---|---|---|"]
    for c in pm.clocks:
        label, target, took, status = _clock_row(pm, c)
        out.append(f"| {label} | {target} | {took} | {status} |")
    out += ["", f"## {head['volume']}", ""]
    bs, size = bins(pm, 96)
    peak = _peak(pm)
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
        how = f" ({_ticked(item)}, {t(item.at)})" if item.done else ""
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
        followers = _("{n} followers").format(n=_counts(e.followers))
        meta = [t(e.created_at), who, followers, d.md(e.source, 30)]
        if e.sentiment:
            meta.append(d.md(e.sentiment))
        line = f"- {' · '.join(meta)}: “{d.md(e.text, 500)}”"
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

_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:60rem;
padding:0 1rem;color:#1d232a;background:#fff}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #d8dde3}
.meta{color:#5b6673}table{border-collapse:collapse;width:100%;margin:.5rem 0}
td,th{border-bottom:1px solid #e6e9ed;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f5f7f9;font-weight:600}.bad{color:#b3261e;font-weight:600}.good{color:#1e7b34}
.sev{display:inline-block;padding:0 .4rem;border-radius:.3rem;background:#b3261e;color:#fff;font-weight:600}
blockquote{margin:.3rem 0;padding:.3rem .8rem;border-left:3px solid #8aa0b8;background:#f5f7f9}
.ev{border:1px solid #e6e9ed;border-radius:.4rem;padding:.4rem .7rem;margin:.4rem 0}
.ev .who{color:#5b6673;font-size:.9em}.ev .rev{color:#b3261e;font-size:.9em}
ul.check{list-style:none;padding-left:0}td.t{white-space:nowrap}
svg{width:100%;height:auto;background:#fbfcfd;border:1px solid #e6e9ed}
@media print{body{margin:0}}
"""


MARK_ROW_PX = 12
"""One row of event labels above the chart; labels that would overlap go one row down."""
_CHAR_PX = 6.0
"""Width of a 10px label character, near enough to keep labels apart."""


def _svg(pm: PostMortem) -> str:
    bs, size = bins(pm, 240)
    start, end = pm.window
    inc = pm.record.incident
    first_signal = _("first signal")
    marks = [  # the first signal first: the SLA clocks start there, not at the opening
        (first_signal, inc.first_signal_at, "#b8600b"),
        (_("opened"), inc.opened_at, "#1d232a"),
        (_("acknowledged"), inc.acknowledged_at, "#6a4fb3"),
        (_("first response"), inc.first_response_at, "#1e7b34"),
        (_("resolved"), inc.resolved_at, "#5b6673"),
    ]
    w, pad, plot_h = 800, 30, 160
    top = max((b.count for b in bs), default=0)
    if top == 0:
        return "<p>" + d.html_text(_("No volume history was recorded around this incident.")) + "</p>"
    span = max(1.0, (end - start).total_seconds())
    bw = (w - 2 * pad) / len(bs)

    def x(dt: datetime) -> float:
        return pad + (w - 2 * pad) * (dt - start).total_seconds() / span

    # labels in time order, each on the first row where it clears the one before it (events minutes
    # apart on a day-long chart would otherwise print over each other)
    placed: list[tuple[float, float, str, int, str, str]] = []
    row_ends: list[float] = []
    for label, at, colour in sorted(
        (m for m in marks if m[1] is not None and start <= m[1] <= end), key=lambda m: m[1]
    ):
        xm = x(at)  # type: ignore[arg-type]
        width = _CHAR_PX * len(label) + 4
        right_side = xm + 3 + width <= w
        left = xm + 3 if right_side else xm - 3 - width
        row = next((r for r, e in enumerate(row_ends) if left >= e), len(row_ends))
        if row == len(row_ends):
            row_ends.append(0.0)
        row_ends[row] = left + width
        placed.append(
            (xm, xm + 3 if right_side else xm - 3, "start" if right_side else "end", row, label, colour)
        )
    plot_top = 8 + MARK_ROW_PX * max(1, len(row_ends))
    h = plot_top + plot_h + pad
    base = plot_top + plot_h

    def y(v: int) -> float:
        return base - plot_h * v / top

    aria = d.html_text(_("Mentions per {size} min around the incident").format(size=size))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" role="img" aria-label="{aria}">']
    for i, b in enumerate(bs):
        if not b.count:
            continue
        x0 = pad + i * bw
        parts.append(
            f'<rect x="{x0:.1f}" y="{y(b.count):.1f}" width="{max(bw - 0.5, 0.5):.1f}" '
            f'height="{base - y(b.count):.1f}" fill="#8aa0b8"/>'
        )
        if b.negative:
            parts.append(
                f'<rect x="{x0:.1f}" y="{y(b.negative):.1f}" width="{max(bw - 0.5, 0.5):.1f}" '
                f'height="{base - y(b.negative):.1f}" fill="#d9534f"/>'
            )
    for xm, tx, anchor, row, label, colour in placed:
        text_y = 8 + MARK_ROW_PX * row + 9
        dash = ' stroke-width="2"' if label == first_signal else ' stroke-dasharray="4 3"'
        parts.append(
            f'<line x1="{xm:.1f}" y1="{text_y + 2}" x2="{xm:.1f}" y2="{base}" stroke="{colour}"{dash}/>'
        )
        parts.append(
            f'<text x="{tx:.1f}" y="{text_y}" text-anchor="{anchor}" font-size="10" fill="{colour}">'
            f"{d.html_text(label)}</text>"
        )
    axis = 'font-size="11" fill="#5b6673"'
    parts += [
        f'<line x1="{pad}" y1="{base}" x2="{w - pad}" y2="{base}" stroke="#5b6673"/>',
        f'<text x="{pad}" y="{h - 10}" {axis}>{d.html_text(d.local_time(start, pm.tz))}</text>',
        f'<text x="{w - pad}" y="{h - 10}" text-anchor="end" {axis}>'
        f"{d.html_text(d.local_time(end, pm.tz))}</text>",
        f'<text x="{pad - 4}" y="{plot_top + 4}" text-anchor="end" {axis}>{top}</text>',
        f'<text x="{pad - 4}" y="{base}" text-anchor="end" {axis}>0</text>',
        "</svg>",
    ]
    peak = _peak(pm)
    legend = (
        '<p class="meta">'
        + d.html_text(
            _("Mentions per {size} min (red: negative). Peak {count}/min at {time}.").format(
                size=size, count=peak.count, time=d.local_time(peak.minute, pm.tz)
            )
        )
        + "</p>"
        if peak
        else ""
    )
    return "".join(parts) + legend


def to_html(pm: PostMortem) -> str:
    rec, inc, tz = pm.record, pm.record.incident, pm.tz
    h = d.html_text
    head = _headings()

    def t(dt: datetime | None) -> str:
        return h(d.local_time(dt, tz))

    def link(url: str | None, label: str) -> str:
        u = d.safe_url(url)
        return f' <a href="{h(u)}" rel="noopener noreferrer nofollow">{h(label)}</a>' if u else ""

    out = [
        "<!DOCTYPE html>",
        f'<html lang="{language()}"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>" + _("Post-mortem #{id}: {title}").format(id=inc.id, title=h(inc.title, 120)) + "</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>"
        + _("Incident #{id}").format(id=inc.id)
        + f' <span class="sev">{inc.severity.label}</span> {h(inc.title, 300)}</h1>',
        '<p class="meta">'
        + _("{desk} · topic {topic} · state <b>{state}</b> · generated {time}").format(
            desk=h(pm.desk), topic=h(pm.topic_name), state=h(d.state_name(inc.state)), time=t(pm.generated_at)
        )
        + "</p>",
        f"<h2>{h(head['summary'])}</h2><table>",
    ]
    out += [f"<tr><th>{h(k)}</th><td>{h(v)}</td></tr>" for k, v in _summary(pm)]
    out += ["</table>", f"<h2>{h(head['clocks'])}</h2><table>"]
    out.append(
        "<tr>"
        + "".join(f"<th>{h(c)}</th>" for c in (_("Clock"), _("Target"), _("Took"), _("Status")))
        + "</tr>"
    )
    for c in pm.clocks:
        label, target, took, status = _clock_row(pm, c)
        cls = "bad" if c.breached else ("good" if c.status == "met" else "")
        out.append(
            f"<tr><td>{h(label)}</td><td>{h(target)}</td><td>{h(took)}</td>"
            f'<td class="{cls}">{h(status)}</td></tr>'
        )
    out += ["</table>", f"<h2>{h(head['volume'])}</h2>", _svg(pm), f"<h2>{h(head['checklist'])}</h2>"]
    out.append('<ul class="check">')
    for item in inc.checklist:
        how = f' <span class="meta">({h(_ticked(item))}, {t(item.at)})</span>' if item.done else ""
        out.append(f"<li>{'☑' if item.done else '☐'} {h(_(item.label))}{how}</li>")
    out += ["</ul>", "<h2>" + _("Responses ({n})").format(n=len(rec.responses)) + "</h2>"]
    if not rec.responses:
        out.append("<p>" + h(_("No response was logged.")) + "</p>")
    for r in rec.responses:
        said = _("{time} · {kind} on {channel} · by {who}").format(
            time=t(r.at), kind=h(d.kind_name(r.kind)), channel=h(r.channel, 60), who=h(r.operator)
        )
        guard = (
            f'<div class="rev">⚠ {h(despite_troll_guard(r.troll_guard))}</div>'
            if r.troll_guard is not None
            else ""
        )
        out.append(
            f'<div class="ev"><div class="who">{said}{link(r.url, _("published here"))}</div>'
            f"<blockquote>{d.html_block(r.text)}</blockquote>{guard}</div>"
        )
    if rec.drafts:
        out.append("<h2>" + h(_("Approvals ({drafts})").format(drafts=_drafts(len(rec.drafts)))) + "</h2>")
        for dr, line in zip(rec.drafts, approval_lines(pm), strict=True):
            out.append(
                f'<div class="ev"><div class="who">{h(line, 600)}</div>'
                f"<blockquote>{d.html_block(dr.text)}</blockquote></div>"
            )
    if rec.claims:
        out.append("<h2>" + _("Claims ({n})").format(n=len(rec.claims)) + "</h2><ul>")
        out += [f"<li>{h(line, 800)}</li>" for line in claim_lines(pm)]
        out.append("</ul>")
    out.append("<h2>" + _("Key mentions ({n} pinned)").format(n=len(rec.evidence)) + "</h2>")
    if not rec.evidence:
        out.append("<p>" + h(_("No evidence was pinned.")) + "</p>")
    for e in rec.evidence:
        who = f"@{h(e.author_handle, 60)}" if e.author_handle else h(_("unknown author"))
        if e.author_name:
            who += f" ({h(e.author_name, 60)})"
        followers = h(_("{n} followers").format(n=_counts(e.followers)))
        meta = [t(e.created_at), who, followers, h(e.source, 30)]
        if e.sentiment:
            meta.append(h(e.sentiment))
        notes = "".join(f'<div class="rev">{h(note)}</div>' for note in revision_notes(pm, e))
        out.append(
            f'<div class="ev"><div class="who">{" · ".join(meta)}{link(e.url, _("link"))}</div>'
            f"<blockquote>{d.html_block(e.text)}</blockquote>{notes}</div>"
        )
    out.append(f"<h2>{h(head['lessons'])}</h2>")
    lessons = rec.lessons
    out.append(
        "<ul>"
        + "".join(
            f"<li>{d.html_block(n.text)} <span class='meta'>({h(n.operator)}, {t(n.at)})</span></li>"
            for n in lessons
        )
        + "</ul>"
        if lessons
        else "<p>" + h(_("None written yet.")) + "</p>"
    )
    notes = [n for n in rec.notes if n not in lessons]
    if notes:
        out.append(f"<h2>{h(head['notes'])}</h2><ul>")
        out += [f"<li>{t(n.at)}, {h(n.operator)}: {d.html_block(n.text)}</li>" for n in notes]
        out.append("</ul>")
    columns = "".join(f"<th>{h(c)}</th>" for c in (_("Time"), _("Who"), _("What")))
    out.append(f"<h2>{h(head['timeline'])}</h2><table><tr>{columns}</tr>")
    for ev in rec.events:
        out.append(
            f'<tr><td class="t">{h(d.local_time(ev.at, tz, seconds=True))}</td><td>{h(ev.operator)}</td>'
            f"<td>{h(describe(ev, tz))}</td></tr>"
        )
    out += ["</table>", "</body></html>", ""]
    return "\n".join(out)


# --- JSON and CSV -------------------------------------------------------------------------------


def _redact(obj: Any) -> Any:
    """Payloads with every ``url`` made safe (credentials redacted, non-http dropped)."""
    if isinstance(obj, Mapping):
        return {k: (d.safe_url(v) if k == "url" else _redact(v)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_redact(v) for v in obj]
    return obj


def _event_json(ev: Event) -> dict[str, Any]:
    return _redact(ev.to_json())


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


def to_text(pm: PostMortem, *, evidence_shown: int = 20) -> str:
    """The incident for a terminal: every piece of text on one clean line (no escape sequences)."""
    rec, inc, tz = pm.record, pm.record.incident, pm.tz
    o = d.one_line

    def t(dt: datetime | None) -> str:
        return d.local_time(dt, tz)

    about = _("topic {topic} · assignee {who}").format(
        topic=o(pm.topic_name, 60), who=o(_who(pm, inc.assignee), 60)
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
        label, target, took, status = _clock_row(pm, c)
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
        out += ["", _("Approvals ({drafts})").format(drafts=_drafts(len(rec.drafts)))]
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
