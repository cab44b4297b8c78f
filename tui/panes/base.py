"""What every snapshot pane shares: keep the latest snapshot, repaint only when it changes."""

from __future__ import annotations

from typing import ClassVar

from textual.geometry import Size
from textual.reactive import reactive
from textual.widget import Widget
from tocsin.scoring.snapshot import Snapshot


class SnapshotPane(Widget):
    """A pane drawn from one Snapshot. The app calls ``show`` at most once per flush, and only while
    the pane is on screen; ``render`` reads the stored snapshot and the pane's own size."""

    compact: reactive[bool] = reactive(False, layout=True)
    """One line per topic (small terminals, many topics, or ``ui.layout: compact``)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.snapshot: Snapshot | None = None

    def show(self, snapshot: Snapshot) -> bool:
        """Take a new snapshot; repaint (and re-layout if the number of topics changed). True if it did."""
        if snapshot is self.snapshot:
            return False
        before = len(self.snapshot.topics) if self.snapshot else -1
        self.snapshot = snapshot
        self.refresh(layout=len(snapshot.topics) != before)
        return True

    ROOMY_LINES: ClassVar[int] = 1
    """Lines per topic in the roomy layout (one in the compact one)."""

    def lines_per_topic(self) -> int:
        return 1 if self.compact else self.ROOMY_LINES

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        n = len(self.snapshot.topics) if self.snapshot else 0
        return max(1, n * self.lines_per_topic())
