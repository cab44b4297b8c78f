"""The review (key ``v``): every incident, newest first, then one incident as the post-mortem tells it.

The list shows severity, state, topic, title, when it opened and how long it lasted; Enter opens one:
its clocks against the SLA, the response checklist, the topic's volume and negative share around it
(sparklines from the journal's per-minute history), the responses, the pinned evidence (original time
and text), lessons and notes, and the whole timeline with local times and who acted. ``x`` writes the
HTML post-mortem (``journal/reports/html.py``) owner-only into the desk's export folder
(``desk.exports``, else ``exports/`` beside the journal; ``journal/exports.py``) and says where;
``t`` ticks the checklist, ``s`` reopens. Esc goes back.

Every mention text, handle, title and note goes through ``safe_text``; times are in ``desk.timezone``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Static

from tocsin.config.i18n import N_, _, datetime_text, percent
from tocsin.config.reasons import level_name
from tocsin.desk.charts import sparkline
from tocsin.journal.api import Journal
from tocsin.journal.display import kind_name, safe_url, state_name
from tocsin.journal.errors import JournalError
from tocsin.journal.exports import export_postmortem
from tocsin.journal.model import Incident
from tocsin.journal.narrate import describe, despite_troll_guard
from tocsin.journal.reports import PostMortem, bins, build_postmortem, revision_notes
from tocsin.tui import safe_text
from tocsin.tui.panes.incidents import SEVERITY_STYLE, span
from tocsin.tui.screens.checklist import tick_mark

CHART_WIDTH = 72
STATUS_STYLE = {
    "running": "$warning",
    "overdue": "bold $text-error",
    "met": "$text-success",
    "late": "bold $text-error",
    "stopped": "$foreground-muted",
    "counting": "$foreground-muted",
}
"""A clock's status: its colour here (its words are ``SlaClock.describe``'s)."""


def _t(pm: PostMortem, dt: object, *, seconds: bool = False) -> str:
    if not isinstance(dt, datetime):
        return "—"
    if seconds:
        return datetime_text(dt.astimezone(pm.tz), "%a %d %b %H:%M:%S", "EEE d MMM HH:mm:ss")
    return datetime_text(dt.astimezone(pm.tz), "%a %d %b %H:%M", "EEE d MMM HH:mm")


def _label(word: str) -> tuple[str, str]:
    """A muted label between values: ``  owner ``."""
    return (f"  {word} ", "$foreground-muted")


def _section(title: str) -> Content:
    return Content.styled(f"\n{title}", "bold $accent")


def review_content(pm: PostMortem) -> Content:
    """One incident, as the review screen shows it (built without parsing any markup)."""
    rec, inc = pm.record, pm.record.incident
    who = pm.names.get(inc.assignee or "", inc.assignee or "—")
    lines: list[Content] = [
        Content.assemble(
            (f"#{inc.id} ", "bold"),
            (f" {inc.severity.label} ", "bold reverse"),
            " ",
            (state_name(inc.state), "bold"),
            "  ",
            safe_text.content(inc.title, "bold", max_len=200),
        ),
        Content.assemble(
            (_("topic") + " ", "$foreground-muted"),
            safe_text.content(pm.topic_name, max_len=60),
            _label(_("owner")),
            safe_text.content(who, max_len=60),
            _label(_("level")),
            (level_name(inc.level) if inc.level else "—", ""),
            (
                "  " + _("escalation step {step}").format(step=inc.escalation_step)
                if inc.escalation_step
                else "",
                "",
            ),
        ),
        Content.assemble(
            (_("first signal") + " ", "$foreground-muted"),
            _t(pm, inc.first_signal_at),
            _label(_("opened")),
            _t(pm, inc.opened_at),
            (" " + _("by") + " ", "$foreground-muted"),
            safe_text.content(inc.opened_by, max_len=40),
            _label(_("resolved")),
            _t(pm, inc.resolved_at),
        ),
        _section(_("Clocks against the SLA")),
    ]
    for c in pm.clocks:
        word, style = c.describe("review"), STATUS_STYLE.get(c.status, "")
        target = (
            _("no target")
            if c.due_at is None
            else _("target {span}").format(span=span(c.due_at - c.started_at))
        )
        took = _("took {span}").format(span=f"{span(c.elapsed):<8}")
        lines.append(
            Content.assemble(
                f"  {_(c.label).capitalize():<26}",
                (f"{target:<16}", "$foreground-muted"),
                f"{took} ",
                (word, style),
            )
        )
    lines.append(_section(_("Checklist")))
    for item in inc.checklist:
        by = (_("check") if item.by == "check" else kind_name(item.by)) if item.by else ""  # ticked by hand
        how = f"  ({by}, {_t(pm, item.at)})" if item.done and item.by else ""
        lines.append(
            Content.assemble("  ", tick_mark(item.done), f" {_(item.label)}", (how, "$foreground-muted"))
        )
    lines += _charts(pm)
    if rec.responses:
        lines.append(_section(_("Responses ({n})").format(n=len(rec.responses))))
        for r in rec.responses:
            lines.append(
                Content.assemble(
                    f"  {_t(pm, r.at)} ",
                    (kind_name(r.kind), "bold"),
                    " " + _("on") + " ",
                    safe_text.content(r.channel, max_len=40),
                    (" " + _("by") + " ", "$foreground-muted"),
                    safe_text.content(r.operator, max_len=40),
                )
            )
            lines.append(Content.assemble("    ", safe_text.content(r.text, max_len=600)))
            if safe_url(r.url):  # pasted links may carry a token: shown redacted, as in the exports
                lines.append(Content.assemble("    ", safe_text.url(safe_url(r.url), "$foreground-muted")))
            if r.troll_guard is not None:
                despite = "⚠ " + despite_troll_guard(r.troll_guard)
                lines.append(
                    Content.assemble("    ", safe_text.content(despite, "$text-warning", max_len=400))
                )
    if rec.evidence:
        lines.append(_section(_("Evidence ({n} pinned)").format(n=len(rec.evidence))))
        for e in rec.evidence[:200]:
            followers = f" ({safe_text.number_str(e.followers)})" if e.followers is not None else ""
            lines.append(
                Content.assemble(
                    f"  {_t(pm, e.created_at, seconds=True)} ",
                    safe_text.handle(e.author_handle, "bold"),
                    (followers, "$foreground-muted"),
                    (f" {e.sentiment}" if e.sentiment else "", "$foreground-muted"),
                    ": ",
                    safe_text.content(e.text, max_len=400),
                )
            )
            if safe_url(e.url):
                lines.append(Content.assemble("    ", safe_text.url(safe_url(e.url), "$foreground-muted")))
            for note in revision_notes(pm, e, limit=300):  # an edited post: its first words
                lines.append(Content.assemble("    ", safe_text.content(note, "$warning", max_len=400)))
        if len(rec.evidence) > 200:
            more = _("… and {n} more in the export").format(n=len(rec.evidence) - 200)
            lines.append(Content.styled(f"  {more}", "italic"))
    if rec.lessons:
        lines.append(_section(_("Lessons")))
        for n in rec.lessons:
            lines.append(Content.assemble("  • ", safe_text.content(n.text, max_len=600)))
    notes = [n for n in rec.notes if n not in rec.lessons]
    if notes:
        lines.append(_section(_("Notes")))
        for n in notes:
            lines.append(
                Content.assemble(
                    f"  {_t(pm, n.at)} ",
                    safe_text.content(n.operator, "bold", max_len=40),
                    ": ",
                    safe_text.content(n.text, max_len=600),
                )
            )
    lines.append(_section(_("Timeline")))
    for ev in rec.events:
        lines.append(
            Content.assemble(
                (f"  {_t(pm, ev.at, seconds=True)}  ", "$foreground-muted"),
                (safe_text.clean(ev.operator, 20).ljust(10), "bold"),
                " ",
                safe_text.content(describe(ev, pm.tz), max_len=300),
            )
        )
    return Content("\n").join(lines)


def _charts(pm: PostMortem) -> list[Content]:
    """Volume and negative share around the incident, from the per-minute history."""
    chart, size = bins(pm, CHART_WIDTH)
    around = _("Around it: {start} → {end} ({size} min per column)").format(
        start=_t(pm, pm.window[0]), end=_t(pm, pm.window[1]), size=size
    )
    lines = [_section(around)]
    counts = [b.count for b in chart]
    if not any(counts):
        nothing = _("no volume history recorded for this topic then")
        lines.append(Content.styled(f"  {nothing}", "$foreground-muted"))
        return lines
    shares = [b.negative / b.count if b.count else 0.0 for b in chart]
    top = max(counts)
    for row in sparkline(counts, len(chart), rows=2):
        lines.append(Content.assemble("  ", (row, "$primary")))
    peak = _("volume, peak {n} mentions per {size} min").format(n=top, size=size)
    lines.append(Content.styled(f"  {peak}", "$foreground-muted"))
    lines.append(Content.assemble("  ", (sparkline(shares, len(chart), top=1.0)[0], "$text-error")))
    peak_share = max(shares)
    negative = _("negative share, peak {share}").format(share=percent(peak_share))
    lines.append(Content.styled(f"  {negative}", "$foreground-muted"))
    return lines


def incident_row(inc: Incident, tz: tzinfo | None, names: dict[str, str]) -> tuple[Text, ...]:
    end = inc.resolved_at
    lasted = span(end - inc.first_signal_at) if end else _("open")
    return (
        Text(f"#{inc.id}", style="bold"),
        Text(inc.severity.label, style=SEVERITY_STYLE.get(str(inc.severity), "")),
        Text(state_name(inc.state)),
        safe_text.text(inc.topic, max_len=16),
        safe_text.text(inc.title, max_len=60),
        Text(datetime_text(inc.opened_at.astimezone(tz), "%d %b %H:%M", "d MMM HH:mm")),
        Text(lasted),
        safe_text.text(names.get(inc.assignee, inc.assignee) if inc.assignee else "—", max_len=20),
    )


REVIEW_COLUMNS: tuple[tuple[str, str], ...] = (
    ("#", "#"),
    ("sev", N_("SEV")),
    ("state", N_("STATE")),
    ("topic", N_("TOPIC")),
    ("incident", N_("INCIDENT")),
    ("opened", N_("OPENED")),
    ("lasted", N_("LASTED")),
    ("owner", N_("OWNER")),
)
"""The review list's columns: (key, title in English, translated when shown)."""


class ReviewScreen(ModalScreen[None]):
    """Every incident, newest first. Modal: the wall's keys (ack, quit…) do not act from here."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", N_("Back to the wall"), id="review-back"),
        Binding("x", "export", N_("Export HTML"), id="review-export"),
        Binding("s", "reopen", N_("Reopen"), id="review-reopen"),
    ]

    DEFAULT_CSS = """
    ReviewScreen {
        background: $background;
        & #review-heading { padding: 0 1; background: $panel; }
        & DataTable { height: 1fr; }
    }
    """

    def __init__(self, journal: Journal, tz: tzinfo | None, *, export_dir: Path | None = None) -> None:
        super().__init__()
        self.journal = journal
        self._tz = tz
        self._export_dir = export_dir
        self.incidents: list[Incident] = []

    def compose(self) -> ComposeResult:
        heading = Content.styled(_("Review · every incident, newest first"), "bold")
        yield Static(heading, id="review-heading")
        table: DataTable[Text] = DataTable(cursor_type="row", id="review-list")
        for key, label in REVIEW_COLUMNS:
            table.add_column(_(label), key=key)
        yield table
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()
        self.load()

    @work(group="review", exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        try:
            incidents = await self.journal.incidents(include_resolved=True)
        except JournalError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        self.incidents = list(reversed(incidents))
        names = {m.id: m.name for m in self.journal.settings.team.roster}
        table = self.query_one(DataTable)
        table.clear()
        for inc in self.incidents:
            table.add_row(*incident_row(inc, self._tz, names), key=str(inc.id))
        if not self.incidents:
            heading = self.query_one("#review-heading", Static)
            heading.update(Content.styled(_("Review · no incidents in the journal yet"), "bold"))

    @property
    def selected(self) -> Incident | None:
        table = self.query_one(DataTable)
        if not self.incidents or table.cursor_row < 0:
            return None
        return self.incidents[min(table.cursor_row, len(self.incidents) - 1)]

    @on(DataTable.RowSelected, "#review-list")
    def _open(self, event: DataTable.RowSelected) -> None:
        inc = self.selected
        if inc is not None:
            self.app.push_screen(IncidentReviewScreen(self.journal, inc.id, export_dir=self._export_dir))

    def action_back(self) -> None:
        self.dismiss(None)

    def action_export(self) -> None:
        inc = self.selected
        if inc is not None:
            run_export(self, self.journal, inc.id, self._export_dir)

    def action_reopen(self) -> None:
        """Reopen the selected incident, once confirmed (``s``, as on the wall)."""
        inc = self.selected
        if inc is not None:
            confirm_reopen(self, self.journal, inc, self.load)


class IncidentReviewScreen(ModalScreen[None]):
    """One incident: clocks, checklist, charts, responses, evidence, lessons, notes, timeline."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", N_("Back to the list"), id="review-incident-back"),
        Binding("x", "export", N_("Export HTML"), id="review-incident-export"),
        Binding("s", "reopen", N_("Reopen"), id="review-incident-reopen"),
        Binding("t", "checklist", N_("Checklist"), id="review-incident-checklist"),
    ]

    DEFAULT_CSS = """
    IncidentReviewScreen {
        background: $background;
        & VerticalScroll { padding: 0 1; }
    }
    """

    def __init__(self, journal: Journal, incident_id: int, *, export_dir: Path | None = None) -> None:
        super().__init__()
        self.journal = journal
        self.incident_id = incident_id
        self._export_dir = export_dir
        self.postmortem: PostMortem | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Content.styled(_("loading…"), "italic"), id="review-body")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()
        self.load()

    @work(group="review", exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        try:
            pm = await build_postmortem(self.journal, self.incident_id)
        except JournalError as exc:
            self.query_one("#review-body", Static).update(safe_text.content(str(exc), "$text-error"))
            return
        self.postmortem = pm
        self.query_one("#review-body", Static).update(review_content(pm))

    def action_back(self) -> None:
        self.dismiss(None)

    def action_export(self) -> None:
        run_export(self, self.journal, self.incident_id, self._export_dir)

    def action_reopen(self) -> None:
        """Reopen this incident, once confirmed (``s``, as on the wall)."""
        if self.postmortem is not None:
            confirm_reopen(self, self.journal, self.postmortem.record.incident, self.load)

    def action_checklist(self) -> None:
        """Tick the checklist (``t``, as on the wall); the review is read again once it closes."""
        if self.postmortem is not None:
            from tocsin.tui.screens.checklist import ChecklistScreen

            screen = ChecklistScreen(self.journal, self.postmortem.record.incident, self.postmortem.tz)

            def reload(_: Incident | None) -> None:
                self.load()

            self.app.push_screen(screen, reload)


def confirm_reopen(
    screen: Screen[None], journal: Journal, incident: Incident, reload: Callable[[], object]
) -> None:
    """Ask, then reopen a resolved (or monitoring) incident from the review; say what happened."""
    from tocsin.tui.screens.incident_forms import ConfirmScreen, incident_heading

    if str(incident.state) not in ("resolved", "monitoring"):
        said = _("#{id} is {state}: only a resolved or monitoring incident reopens")
        screen.notify(said.format(id=incident.id, state=state_name(incident.state)), markup=False)
        return

    async def reopen() -> None:
        try:
            done = await journal.reopen(incident.id, reason=N_("reopened from the review"))  # English, kept
        except JournalError as exc:
            screen.notify(safe_text.clean(str(exc), 300), severity="error", markup=False)
            return
        reopened = _("#{id} reopened: it is back on the wall").format(id=done.id)
        screen.notify(reopened, markup=False, timeout=6)
        reload()

    def answered(yes: bool | None) -> None:
        if yes:
            screen.run_worker(reopen(), group="journal", exit_on_error=False)

    question = Content.assemble(incident_heading(incident, _("Reopen")), " ?")
    screen.app.push_screen(
        ConfirmScreen(question, _("Its clocks run again and it is back on the wall.")), answered
    )


def run_export(screen: Screen[None], journal: Journal, incident_id: int, directory: Path | None) -> None:
    """Export in a worker and say where the file went (or why it could not be written)."""

    async def export() -> None:
        try:
            path = await export_postmortem(journal, incident_id, "html", directory)
        except (JournalError, OSError) as exc:
            failed = _("could not export #{id}: {error}").format(id=incident_id, error=exc)
            screen.notify(safe_text.clean(failed, 500), severity="error", markup=False)
            return
        written = _("post-mortem of #{id} written to {path}").format(id=incident_id, path=path)
        written = safe_text.clean(written, 500)
        screen.notify(written, markup=False, timeout=15)

    screen.run_worker(export(), group="export", exit_on_error=False)
