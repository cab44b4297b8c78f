"""The source status line: per source its state, rate, and what went wrong (one line, bottom of the
wall). Source errors may quote the remote server, so they go through safe_text like mention data."""

from __future__ import annotations

from textual.content import Content
from tocsin.sources.base import SourceStatus
from tocsin.tui import safe_text
from tocsin.tui.panes.base import SnapshotPane
from tocsin.tui.panes.palette import SOURCE_STATE_MARK

TROUBLED = ("reconnecting", "failed", "connecting")


class SourceStatusLine(SnapshotPane):
    """One line: ``● demo live 42.0/min · ◌ masto reconnecting (3×): HTTP 503``."""

    DEFAULT_CSS = """
    SourceStatusLine { height: 1; }
    """

    def render(self) -> Content:
        snap = self.snapshot
        if snap is None or not snap.sources:
            return Content.styled("no sources reporting yet", "$foreground-muted")
        width = max(20, self.content_region.width)
        statuses = list(snap.sources.values())
        # With many sources, give each an equal share of the line; errors are cut to fit.
        share = max(16, width // len(statuses) - 3)
        parts: list[Content] = []
        for status in statuses:
            parts.append(_source(status, share))
        return Content("  ·  ").join(parts).truncate(width, ellipsis=True)


def _source(status: SourceStatus, room: int) -> Content:
    state = str(status.state)
    mark, style = SOURCE_STATE_MARK.get(state, ("?", "$foreground-muted"))
    pieces: list[Content | tuple[str, str] | str] = [
        (mark, style),
        " ",
        safe_text.content(status.id, "bold", max_len=20),
        " ",
        (state, style),
    ]
    if state == "live":
        pieces.append((f" {status.rate_per_min:.1f}/min", ""))
    if status.reconnects:
        pieces.append((f" ({status.reconnects}× reconnected)", "$foreground-muted"))
    if status.malformed:
        pieces.append((f" {status.malformed} malformed", "$text-warning"))
    head = Content.assemble(*pieces)
    if state in TROUBLED and status.last_error:
        room_left = room - head.cell_length - 2
        if room_left >= 8:
            error = safe_text.content(status.last_error, "$text-error", max_len=room_left)
            head = Content.assemble(head, ": ", error)
    return head
