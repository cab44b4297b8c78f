"""Source health: are the sources alive? Per source its state, rate, the age of its last event on the
desk clock, reconnects, malformed events and the last error — and the gap alarm: a source silent far
beyond its own rhythm, or stuck reconnecting, turns its row red (the header says it too). During a
crisis, no mentions is not good news.

Roomy: one line per source. Compact (small terminals): everything on one line, alarms first.
Source errors may quote the remote server, so they go through safe_text like mention data.
"""

from __future__ import annotations

from datetime import datetime

from textual.content import Content
from textual.geometry import Size

from tocsin.config.i18n import N_, _, ngettext, number
from tocsin.config.reasons import shown
from tocsin.config.text import duration_str
from tocsin.desk.palette import SOURCE_STATE_MARK
from tocsin.scoring.snapshot import Snapshot
from tocsin.sources.base import SourceStatus
from tocsin.sources.clock import Clock
from tocsin.tui import safe_text
from tocsin.tui.panes.base import SnapshotPane

TROUBLED = ("reconnecting", "failed", "connecting")
ALARM_ROW = "on $error 25%"
"""The background of a row whose source raised the gap alarm."""
ALARM_TEXT = "bold $text-error"
MAX_ROWS = 12
STATE_WORDS = {
    "connecting": N_("connecting"),
    "live": N_("live"),
    "reconnecting": N_("reconnecting"),
    "failed": N_("failed"),
    "finished": N_("finished"),
    "stopped": N_("stopped"),
}
"""A source's state in words (the status keeps the English value)."""


def state_word(state: str) -> str:
    return _(STATE_WORDS[state]) if state in STATE_WORDS else state


def last_event_age(status: SourceStatus, now: datetime) -> str:
    """``last 3 s ago``, or ``no event yet``."""
    if status.last_event_at is None:
        return _("no event yet")
    return _("last {span} ago").format(span=duration_str(now - status.last_event_at, "spoken"))


def _padded(text: str, width: int) -> str:
    """``text`` in a column of ``width``, with at least one space after it (French runs longer)."""
    return text.ljust(width) if len(text) < width else text + " "


def _rate(status: SourceStatus) -> str:
    return f" {number(status.rate_per_min)}/min"


class SourceHealthPane(SnapshotPane):
    """The sources' health (``5`` shows or hides it)."""

    DEFAULT_CSS = """
    SourceHealthPane { height: auto; }
    """

    def __init__(self, clock: Clock, *, id: str | None = None, classes: str | None = None) -> None:
        """``clock``: the desk's clock (ages are desk time, also in an accelerated demo)."""
        super().__init__(id=id, classes=classes)
        self._clock = clock
        self._second = -1

    def show(self, snapshot: Snapshot) -> bool:
        # Ages move with the desk clock even while no snapshot changes: repaint once a desk second.
        second = int(self._clock.now().timestamp())
        if snapshot is self.snapshot and second == self._second:
            return False
        self._second = second
        before = self._line_count()
        self.snapshot = snapshot
        if self._line_count() != before:
            self.refresh(layout=True)
            return True
        return self.repaint_if_changed()

    def _line_count(self) -> int:
        if self.compact:
            return 1
        n = len(self.snapshot.sources) if self.snapshot else 0
        return max(1, min(n, MAX_ROWS))

    def watch_compact(self, compact: bool) -> None:
        self.set_class(compact, "-compact")  # the stylesheet drops the border: one line is all there is
        self.refresh(layout=True)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self._line_count()

    def draw(self) -> Content:
        snap = self.snapshot
        if snap is None or not snap.sources:
            return Content.styled(_("no sources reporting yet"), "$foreground-muted")
        width = max(20, self.content_region.width)
        statuses = list(snap.sources.values())
        if self.compact:
            return _one_line(statuses, width)
        now = self._clock.now()
        id_width = min(16, max(len(safe_text.clean(s.id, 16)) for s in statuses))
        kind_width = min(10, max(len(safe_text.clean(s.kind, 10)) for s in statuses))
        rows = [_row(s, now, width, id_width, kind_width) for s in statuses[:MAX_ROWS]]
        if len(statuses) > MAX_ROWS:
            more = len(statuses) - MAX_ROWS + 1
            said = ngettext("+{n} more source", "+{n} more sources", more).format(n=more)
            rows[-1] = Content.styled(said, "$foreground-muted")
        return Content("\n").join(rows)


def _cell(value: str, style: str, width: int) -> Content:
    """A hostile value in a fixed-width column."""
    cell = safe_text.content(value, style, max_len=width).truncate(width, ellipsis=True)
    return cell.pad_right(width - cell.cell_length)


def _row(status: SourceStatus, now: datetime, width: int, id_width: int, kind_width: int) -> Content:
    """``● masto  mastodon  live 3.0/min     last 12 min ago  ⚠ silent 12 min … · 2 reconnects · <error>``:
    what is wrong first, the counts when not zero, the last error when it still matters."""
    state = str(status.state)
    mark, style = SOURCE_STATE_MARK.get(state, ("?", "$foreground-muted"))
    rate = _rate(status) if state == "live" else ""
    word = state_word(state)
    head = Content.assemble(
        (mark, style),
        " ",
        _cell(status.id, "bold", id_width),
        "  ",
        _cell(status.kind, "$foreground-muted", kind_width),
        "  ",
        (word, style),
        (rate.ljust(max(0, 19 - len(word))), ""),
        " ",
        (_padded(last_event_age(status, now), 17), "$foreground-muted"),
    )
    tail: list[Content] = []
    if status.blind_reason and not (status.gap_warning and status.blind_reason in status.gap_warning):
        blind = _("⊘ not seeing: {why}").format(why=shown(status.blind_reason))
        tail.append(safe_text.content(blind, ALARM_TEXT, max_len=80))
    if status.gap_warning:
        tail.append(safe_text.content(f"⚠ {shown(status.gap_warning)}", ALARM_TEXT, max_len=80))
    if status.reconnects:
        tail.append(Content.styled(_("{n} reconnects").format(n=status.reconnects), "$text-warning"))
    if status.malformed:
        tail.append(Content.styled(_("{n} malformed").format(n=status.malformed), "$text-warning"))
    if status.last_error and (status.gap_warning or state in TROUBLED or status.malformed):
        detail = status.last_error
        if status.blind_reason and detail.startswith(status.blind_reason + ": "):
            detail = detail[len(status.blind_reason) + 2 :]  # said just before, in the same words
        tail.append(safe_text.content(detail, "$text-error", max_len=300))
    line = Content.assemble(head, Content(" · ").join(tail) if tail else (_("ok"), "$foreground-muted"))
    line = line.truncate(width, ellipsis=True)
    if status.gap_warning or status.blind_reason:
        line = line.pad_right(width - line.cell_length).stylize_before(ALARM_ROW)
    return line


def _one_line(statuses: list[SourceStatus], width: int) -> Content:
    """``⚠ masto silent 12 min · ● demo live 42.0/min · ◌ x reconnecting (3×): HTTP 503`` — alarms first."""
    ordered = sorted(
        statuses, key=lambda s: s.gap_warning is None and s.blind_reason is None
    )  # stable: the configured order otherwise
    share = max(16, width // len(statuses) - 3)
    return Content("  ·  ").join(_compact(s, share) for s in ordered).truncate(width, ellipsis=True)


def _compact(status: SourceStatus, room: int) -> Content:
    state = str(status.state)
    warning = status.blind_reason or status.gap_warning  # the plain words first: no error class names
    if warning:
        return Content.assemble(
            ("⊘ " if status.blind_reason else "⚠ ", ALARM_TEXT),
            safe_text.content(status.id, ALARM_TEXT, max_len=20),
            " ",
            safe_text.content(shown(warning), ALARM_TEXT, max_len=max(8, room)),
        )
    mark, style = SOURCE_STATE_MARK.get(state, ("?", "$foreground-muted"))
    pieces: list[Content | tuple[str, str] | str] = [
        (mark, style),
        " ",
        safe_text.content(status.id, "bold", max_len=20),
        " ",
        (state_word(state), style),
    ]
    if state == "live":
        pieces.append((_rate(status), ""))
    if status.reconnects:
        pieces.append((" " + _("({n}× reconnected)").format(n=status.reconnects), "$foreground-muted"))
    if status.malformed:
        pieces.append((" " + _("{n} malformed").format(n=status.malformed), "$text-warning"))
    head = Content.assemble(*pieces)
    if state in TROUBLED and status.last_error:
        room_left = room - head.cell_length - 2
        if room_left >= 8:
            error = safe_text.content(status.last_error, "$text-error", max_len=room_left)
            head = Content.assemble(head, ": ", error)
    return head
