"""What a post-mortem holds (``PostMortem``, built from the journal by ``build_postmortem``) and the
pieces every format shows the same way: the summary, the clocks, approvals, claims, volume bins, evidence
revisions. The formats are beside this module: markdown.py, html.py, data.py (JSON, CSV), text.py."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from tocsin.config.i18n import _, ngettext
from tocsin.config.reasons import level_name
from tocsin.config.text import duration_str
from tocsin.journal import display as d
from tocsin.journal.archive import MentionRevisions
from tocsin.journal.clocks import SlaClock, first_response_target
from tocsin.journal.history import VolumePoint
from tocsin.journal.model import Draft, Evidence, IncidentRecord
from tocsin.journal.narrate import claim_status, despite_troll_guard, platform_name, publish_problem

if TYPE_CHECKING:
    from tocsin.journal.api import Journal


_BEFORE = timedelta(hours=2)


_AFTER = timedelta(hours=1)


_MAX_SPAN = timedelta(days=7)


_BIN_MINUTES = (1, 5, 15, 30, 60, 180, 360, 720, 1440)


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


def volume_peak(pm: PostMortem) -> VolumePoint | None:
    return max(pm.volume, key=lambda p: p.count, default=None)


def member_name(pm: PostMortem, member: str | None) -> str:
    if not member:
        return "—"
    name = pm.names.get(member)
    return f"{name} ({member})" if name and name != member else member


def clock_row(pm: PostMortem, c: SlaClock) -> tuple[str, str, str, str]:
    """(label, target, took, status) in plain text."""
    target = "—" if c.due_at is None else duration_str(c.due_at - c.started_at)
    took = duration_str(c.elapsed)
    if c.status in ("running", "overdue", "counting") and c.stopped_at is None:
        took = _("{took} so far").format(took=took)
    return _(c.label).capitalize(), target, took, c.describe("report")


def counts_text(n: int | None) -> str:
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


def drafts_text(n: int) -> str:
    return ngettext("{n} draft", "{n} drafts", n).format(n=n)


def summary_rows(pm: PostMortem) -> list[tuple[str, str]]:
    """The summary table's rows (label, raw text), the same in every format: escape the text for it."""
    inc, tz = pm.record.incident, pm.tz

    def by(time: datetime | None, who: str | None) -> str:
        when = d.local_time(time, tz)
        return _("{time} by {who}").format(time=when, who=who) if who else when

    step = _("step {n}").format(n=inc.escalation_step) if inc.escalation_step else _("none")
    return [
        (_("Severity"), inc.severity.label),
        (_("State"), d.state_name(inc.state)),
        (_("Assignee"), member_name(pm, inc.assignee)),
        (_("First signal"), d.local_time(inc.first_signal_at, tz)),
        (_("Opened"), by(inc.opened_at, inc.opened_by)),
        (_("Acknowledged"), by(inc.acknowledged_at, inc.acknowledged_by)),
        (_("First public response"), d.local_time(inc.first_response_at, tz)),
        (_("Resolved"), d.local_time(inc.resolved_at, tz)),
        (_("Escalation"), step),
        (_("Reopened"), _("{n} time(s)").format(n=inc.reopened)),
        (_("Last level"), level_name(inc.level) if inc.level else "—"),
    ]


def ticked_box(item: Any) -> str:
    """How a checklist step got ticked: by hand, or by the response that ticks it."""
    if item.by == "check":
        return _("ticked by hand")
    return _("{kind} logged").format(kind=d.kind_name(item.by or ""))


def section_headings() -> dict[str, str]:
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
