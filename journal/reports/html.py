"""The post-mortem as one self-contained HTML page (an inline SVG for the volume, no script)."""

from __future__ import annotations

from datetime import datetime

from tocsin.config.i18n import _, language
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
        (m for m in marks if m[1] is not None and start <= m[1] <= end), key=lambda m: m[1] or start
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
    peak = volume_peak(pm)
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
    head = section_headings()

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
    out += [f"<tr><th>{h(k)}</th><td>{h(v)}</td></tr>" for k, v in summary_rows(pm)]
    out += ["</table>", f"<h2>{h(head['clocks'])}</h2><table>"]
    out.append(
        "<tr>"
        + "".join(f"<th>{h(c)}</th>" for c in (_("Clock"), _("Target"), _("Took"), _("Status")))
        + "</tr>"
    )
    for c in pm.clocks:
        label, target, took, status = clock_row(pm, c)
        cls = "bad" if c.breached else ("good" if c.status == "met" else "")
        out.append(
            f"<tr><td>{h(label)}</td><td>{h(target)}</td><td>{h(took)}</td>"
            f'<td class="{cls}">{h(status)}</td></tr>'
        )
    out += ["</table>", f"<h2>{h(head['volume'])}</h2>", _svg(pm), f"<h2>{h(head['checklist'])}</h2>"]
    out.append('<ul class="check">')
    for item in inc.checklist:
        how = f' <span class="meta">({h(ticked_box(item))}, {t(item.at)})</span>' if item.done else ""
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
        out.append(
            "<h2>" + h(_("Approvals ({drafts})").format(drafts=drafts_text(len(rec.drafts)))) + "</h2>"
        )
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
        followers = h(_("{n} followers").format(n=counts_text(e.followers)))
        meta = [t(e.created_at), who, followers, h(e.source, 30)]
        if e.sentiment:
            meta.append(h(e.sentiment))
        revised = "".join(f'<div class="rev">{h(note)}</div>' for note in revision_notes(pm, e))
        out.append(
            f'<div class="ev"><div class="who">{" · ".join(meta)}{link(e.url, _("link"))}</div>'
            f"<blockquote>{d.html_block(e.text)}</blockquote>{revised}</div>"
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
