"""The open incidents on the wall: severity, state, title, owner and the live clocks.

One row per unresolved incident, most severe first: time since the first signal, the acknowledgement
countdown ("ACK DUE in 4:12"), the first public response countdown (red once breached: "breached
3 min ago"), and the response checklist. The rows come from the session's cached incident list
(refreshed from the journal when it changes, never per tick); each flush recomputes the clocks on the
desk's clock and updates only the cells whose text changed (a keyed diff by incident id). The pane is
hidden while no incident is open.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, tzinfo
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from tocsin.config.i18n import N_, _, ngettext
from tocsin.config.settings import SlaSettings
from tocsin.config.text import duration_str
from tocsin.journal.clocks import SlaClock, clocks_for
from tocsin.journal.model import Incident, State
from tocsin.tui import safe_text

SEVERITY_STYLE: dict[str, str] = {
    "sev1": "bold white on red",
    "sev2": "bold red",
    "sev3": "bold yellow",
    "sev4": "dim",
}
STATE_LABEL: dict[str, str] = {
    "open": N_("open"),
    "acknowledged": N_("acked"),
    "responding": N_("responding"),
    "monitoring": N_("monitoring"),
    "resolved": N_("resolved"),
    "reopened": N_("reopened"),
}
"""Short words for the narrow state column (translated when shown)."""
SOON = timedelta(minutes=5)
"""A countdown under this turns from calm to yellow."""

COLUMNS: tuple[tuple[str, str, int | None], ...] = (
    ("id", "#", 4),
    ("sev", N_("SEV"), 4),
    ("state", N_("STATE"), 10),
    ("title", N_("INCIDENT"), None),
    ("owner", N_("OWNER"), 10),
    ("signal", N_("SIGNAL"), 6),
    ("ack", N_("ACK"), 16),
    ("response", N_("1ST RESPONSE"), 18),
    ("checklist", N_("CHECK"), 5),
)
"""Key, header (English, translated when the table is built), width (None: the title takes what the
others leave)."""
NARROW_COLUMNS: tuple[tuple[str, str, int | None], ...] = tuple(
    c for c in COLUMNS if c[0] not in ("owner", "signal", "checklist")
)
"""Below ``FULL_WIDTH``: the clocks that run out stay, owner, age and boxes go (``v`` and ``t`` show
them); at 80 columns the first-response countdown was the column cut off."""
MIN_TITLE = 12


def _needed(columns: tuple[tuple[str, str, int | None], ...]) -> int:
    """The pane width the columns need with a ``MIN_TITLE`` title (cell padding, border, scrollbar)."""
    return sum(w or 0 for _, _, w in columns) + 2 * len(columns) + 3 + MIN_TITLE


FULL_WIDTH = _needed(COLUMNS)
"""The narrowest pane that shows every column."""


def span(td: timedelta) -> str:
    """``42s``, ``7m05``, ``2h03``: an elapsed time in a narrow cell (``duration_str``'s narrow way)."""
    return duration_str(td, "narrow")


_ACK_STYLE = {"overdue": "bold red", "met": "green", "late": "red"}
_RESPONSE_STYLE = {"overdue": "bold white on red", "met": "green", "late": "red"}


def unsent_note(inc: Incident) -> str | None:
    """``✖ approved, not sent (A) · `` before the title when the desk failed to post an approved
    response (``A`` tries again), ``⇡ posting · `` while it posts one; None otherwise."""
    if not inc.unsent:
        return None
    if any(u.status == "failed" for u in inc.unsent.values()):
        return _("✖ approved, not sent (A)") + " · "
    return _("⇡ posting") + " · "


def ack_cell(clock: SlaClock) -> Text:
    """The acknowledgement clock: due, overdue, done (and how fast); the words are the clock's own."""
    words = clock.describe("ack_cell")
    if clock.status == "running":
        return Text(words, style="yellow" if (clock.remaining or timedelta(0)) <= SOON else "")
    return Text(words, style=_ACK_STYLE.get(clock.status, "dim"))


def response_cell(clock: SlaClock, tz: tzinfo | None) -> Text:
    """The first public response clock: due in, breached since, or sent (and when)."""
    words = clock.describe("response_cell", tz)
    if clock.status == "running":
        return Text(words, style="bold yellow" if (clock.remaining or timedelta(0)) <= SOON else "")
    if words == "—":  # stopped, or late and never sent (resolved without a response)
        return Text(words, style="dim")
    return Text(words, style=_RESPONSE_STYLE.get(clock.status, "dim"))


def checklist_cell(incident: Incident) -> Text:
    """One box per playbook step (confirm facts, act and say so, apologise, restate values)."""
    items = incident.checklist
    marks = "".join("■" if c.done else "□" for c in items)
    return Text(marks, style="green" if all(c.done for c in items) else "")


def short_name(name: str) -> str:
    """``Hugo Marchand`` → ``Hugo M.``: an owner in a narrow column."""
    words = name.split()
    if len(words) < 2:
        return name
    return f"{words[0]} {words[-1][:1]}."


def severity_rank(incident: Incident) -> tuple[int, int]:
    """Most severe first, then the oldest."""
    return (incident.severity.rank, incident.id)


class IncidentsPane(DataTable[Text]):
    """The unresolved incidents. ``set_incidents`` when the list changes, ``tick`` every flush."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", N_("Previous incident"), show=False, id="incidents-up"),
        Binding("down,j", "cursor_down", N_("Next incident"), show=False, id="incidents-down"),
        # the wall's t works from anywhere; with the incidents in focus the key bar has room to say so
        Binding("t", "app.checklist", N_("Checklist"), id="incidents-checklist"),
    ]

    DEFAULT_CSS = """
    IncidentsPane {
        height: auto;
        max-height: 9;
        border: round $error-darken-1;
        border-title-color: $text-error;
        border-title-style: bold;
        scrollbar-size-vertical: 1;
    }
    IncidentsPane:focus {
        border: round $accent;
    }
    """

    def __init__(
        self,
        sla: SlaSettings,
        tz: tzinfo | None,
        names: Mapping[str, str] | None = None,
        *,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False, show_cursor=True)
        self._sla = sla
        self._tz = tz
        self._names = dict(names or {})
        self._incidents: dict[str, Incident] = {}
        self._order: list[str] = []
        self._cells: dict[str, dict[str, str]] = {}
        """What each cell shows now (plain text and style), to update only what changed."""
        self._title_width = 0
        self._subtitle = ""
        self._columns: tuple[tuple[str, str, int | None], ...] = ()
        self.layout_shows: bool | None = None
        """None: shown while an incident is open; True: always (a layout gives the pane a terminal of
        its own); False: never (a layout without it)."""

    def on_mount(self) -> None:
        self._set_columns(COLUMNS)
        self.border_title = _("Incidents")
        self.display = bool(self.layout_shows)

    def _set_columns(self, columns: tuple[tuple[str, str, int | None], ...]) -> None:
        """Rebuild the table with ``columns`` (on a resize across ``FULL_WIDTH``, rarely)."""
        selected = self.selected_incident if self._columns else None
        self.clear(columns=True)
        self._columns = columns
        for key, label, width in columns:
            self.add_column(_(label) if label != "#" else label, key=key, width=width)
        for key in self._order:
            cells = self._cells[key]
            self.add_row(*(self._text(cells[k]) for k, _, _ in columns), key=key)
        if selected is not None:
            self.select_incident(selected.id)

    @property
    def column_keys(self) -> list[str]:
        """The columns shown now, left to right."""
        return [key for key, _, _ in self._columns]

    # --- data -----------------------------------------------------------------------------------

    @property
    def incidents(self) -> list[Incident]:
        """As shown, top to bottom."""
        return [self._incidents[k] for k in self._order]

    @property
    def selected_incident(self) -> Incident | None:
        """The incident under the cursor (the only one when there is one)."""
        if not self._order:
            return None
        row = min(max(0, self.cursor_row), len(self._order) - 1)
        key = self.coordinate_to_cell_key((row, 0)).row_key.value  # type: ignore[arg-type]
        return self._incidents.get(str(key))

    def select_incident(self, incident_id: int) -> None:
        key = str(incident_id)
        if key in self._incidents:
            self.move_cursor(row=self.get_row_index(key), animate=False)

    def set_incidents(self, incidents: Sequence[Incident], now: datetime, status: str | None = None) -> None:
        """Take the unresolved incidents (any order): remove the stale rows, add the new ones, update
        changed cells, re-sort only if the order changed."""
        wanted = {str(i.id): i for i in incidents if i.state is not State.RESOLVED}
        selected = self.selected_incident
        for key in [k for k in self._incidents if k not in wanted]:
            self.remove_row(key)
            del self._incidents[key]
            self._cells.pop(key, None)
        for key, inc in wanted.items():
            if key not in self._incidents:
                cells = self._row_cells(inc, now)
                self.add_row(*(self._text(cells[k]) for k, _, _ in self._columns), key=key)
                self._cells[key] = cells
            self._incidents[key] = inc
        order = [str(i.id) for i in sorted(wanted.values(), key=severity_rank)]
        if order != [str(row.key.value) for row in self.ordered_rows]:
            rank = {k: n for n, k in enumerate(order)}
            self.sort("id", key=lambda cell: rank.get(cell.plain.lstrip("#"), 0))
        self._order = order
        now_selected = self.selected_incident
        if (
            selected is not None
            and str(selected.id) in wanted
            and (now_selected is None or now_selected.id != selected.id)
        ):
            self.select_incident(selected.id)  # the cursor stays on the incident, not on the row
        self._subtitle = status or ""
        self.display = bool(wanted) if self.layout_shows is None else self.layout_shows
        none_open = _("Incidents · none open")
        if not wanted and self.border_title != none_open:
            self.border_title = none_open
        self.tick(now, force=True)

    def set_status(self, status: str | None) -> None:
        """What is wrong behind the pane (journal busy, alerts failing), shown on its bottom border."""
        self._subtitle = status or ""
        if self.border_subtitle != self._subtitle:
            self.border_subtitle = self._subtitle

    def tick(self, now: datetime, *, force: bool = False) -> int:
        """Bring the clocks (and any changed field) up to date at desk time ``now``; returns how many
        cells changed."""
        if not self._incidents:
            return 0
        # before its first layout the pane has no size yet: the screen's width is the best guess
        outer = self.size.width or self.screen.size.width
        columns = COLUMNS if outer >= FULL_WIDTH else NARROW_COLUMNS
        if columns != self._columns:
            self._set_columns(columns)
            force = True
        width = max(MIN_TITLE, outer - _needed(columns) + MIN_TITLE)
        if width != self._title_width:
            self._title_width = width
            force = True
        changed = 0
        for key, inc in self._incidents.items():
            cells = self._row_cells(inc, now)
            old = self._cells.get(key, {})
            for column in self.column_keys:
                value = cells[column]
                if force or old.get(column) != value:
                    if old.get(column) != value:
                        changed += 1
                    # only the title's column is sized by its content (the others have fixed widths)
                    self.update_cell(key, column, self._text(value), update_width=column == "title")
            self._cells[key] = cells
        n = len(self._incidents)
        title = ngettext("Incidents · {n} open", "Incidents · {n} open", n).format(n=n)
        if self.border_title != title:
            self.border_title = title
        subtitle = self._subtitle
        if self.border_subtitle != subtitle:
            self.border_subtitle = subtitle
        return changed

    # --- cells ----------------------------------------------------------------------------------

    def _row_cells(self, inc: Incident, now: datetime) -> dict[str, str]:
        """Each cell as ``style\\x00text`` (a hashable form compared between ticks)."""
        signal, ack, response = clocks_for(inc, self._sla, now)
        state = str(inc.state)
        owner = short_name(self._names.get(inc.assignee, inc.assignee)) if inc.assignee else "—"
        cells: dict[str, Text] = {
            "id": Text(f"#{inc.id}", style="bold"),
            "sev": Text(inc.severity.label, style=SEVERITY_STYLE.get(str(inc.severity), "")),
            "state": Text(
                _(STATE_LABEL[state]) if state in STATE_LABEL else state,
                style="bold yellow" if inc.state.needs_ack else ("dim" if state == "monitoring" else ""),
            ),
            "title": self._title(inc),
            "owner": safe_text.text(owner, max_len=10, style="" if inc.assignee else "dim"),
            "signal": Text(span(signal.elapsed)),
            "ack": ack_cell(ack),
            "response": response_cell(response, self._tz),
            "checklist": checklist_cell(inc),
        }
        return {k: f"{t.style}\x00{t.plain}" for k, t in cells.items()}

    def _title(self, inc: Incident) -> Text:
        """The title; while a response waits for its second person, that comes first (the clock is
        running and the approver may be the one reading the wall)."""
        width = max(MIN_TITLE, self._title_width or 40)
        unsent = unsent_note(inc)
        if unsent is not None:  # an approved response that did not go out: the clock still runs
            return safe_text.text(unsent + inc.title, max_len=width + len(unsent), style="bold red")
        since = inc.awaiting_approval_since
        if since is None:
            return safe_text.text(inc.title, max_len=width)
        at = since.astimezone(self._tz).strftime("%H:%M")
        waiting = _("⧗ awaiting approval since {time}").format(time=at) + " · "
        return safe_text.text(waiting + inc.title, max_len=width + len(waiting), style="bold magenta")

    @staticmethod
    def _text(cell: str) -> Text:
        style, _, plain = cell.partition("\x00")
        return Text(plain, style=style, no_wrap=True, end="")
