"""Copy-paste waves: near-identical mentions from many accounts — size, distinct accounts, when it
started (local time), the mean bot-likelihood of its members, and its text. A wave whose members look
like bots is marked: that is a campaign, not a crowd. Kept current by a keyed diff."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo
from typing import ClassVar

from rich.style import Style as RichStyle
from rich.text import Text
from textual.app import ComposeResult
from textual.events import DescendantBlur, DescendantFocus
from textual.geometry import Size
from textual.widgets import DataTable
from tocsin.scoring.snapshot import ClusterRow, Snapshot, TopicSnapshot
from tocsin.tui import safe_text
from tocsin.tui.panes.base import SnapshotPane
from tocsin.tui.panes.keyed_table import KeyedTable, SyncCounts, hottest_first

MAX_ROWS = 10
COLUMNS: tuple[tuple[str, str], ...] = (
    ("size", "Size"),
    ("authors", "Accts"),
    ("first", "Since"),
    ("bot", "Bots"),
    ("text", "Text"),
)
TEXT_CHARS = 160


def ranked(snapshot: Snapshot, limit: int = MAX_ROWS) -> list[tuple[TopicSnapshot, ClusterRow]]:
    """Waves to show: hotter topics first, each topic's waves largest first (the pipeline's order)."""
    topics = hottest_first(snapshot)
    return [(topic, row) for topic in topics for row in topic.clusters][:limit]


class ClustersPane(SnapshotPane):
    """The table of live copy-paste waves (``4`` shows or hides it with the surging terms)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"clusters--muted", "clusters--bot", "clusters--size"}

    DEFAULT_CSS = """
    ClustersPane {
        & > DataTable { height: 1fr; background: $background; overflow-x: hidden; }
        & > DataTable > .datatable--header { background: $background; color: $foreground-muted; }
        .clusters--muted { color: $foreground-muted; }
        .clusters--bot { color: $text-error; text-style: bold; }
        .clusters--size { text-style: bold; }
    }
    """

    def __init__(
        self,
        tz: tzinfo | None,
        *,
        bot_flag: float = 0.6,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """``tz``: the desk's time zone for the Since column; ``bot_flag``: mean bot-likelihood from which
        a wave is marked (``scoring.bots.flag_at``)."""
        super().__init__(id=id, classes=classes)
        self._tz = tz
        self._bot_flag = bot_flag
        self._styles: dict[str, RichStyle] = {}
        self._data: dict[str, ClusterRow] = {}
        self.last_sync = SyncCounts()
        table: DataTable[Text] = DataTable(cursor_type="row", show_cursor=False)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        self.rows = KeyedTable(table, [key for key, _ in COLUMNS])

    def compose(self) -> ComposeResult:
        yield self.rows.table

    def on_mount(self) -> None:
        self.border_title = "Copy-paste waves"

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return container.height

    def notify_style_update(self) -> None:
        super().notify_style_update()
        if self._styles:
            self._styles.clear()
            self._data.clear()
            self.snapshot = None

    def _style(self, name: str) -> RichStyle:
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = self.get_component_rich_style(f"clusters--{name}")
        return style

    def on_descendant_focus(self, event: DescendantFocus) -> None:
        self.rows.table.show_cursor = True

    def on_descendant_blur(self, event: DescendantBlur) -> None:
        self.rows.table.show_cursor = False

    def show(self, snapshot: Snapshot) -> bool:
        if snapshot is self.snapshot:
            return False
        self.snapshot = snapshot
        shown = [(f"{topic.id}\0{row.id}", row) for topic, row in ranked(snapshot)]
        before = self._data  # an unchanged wave needs no cells built (see InfluencersPane.show)
        rows = [(key, None if before.get(key) == row else self.cells(row)) for key, row in shown]
        self._data = dict(shown)
        share = max((t.copy_paste_share for t in snapshot.topics.values()), default=0.0)
        with self.app.batch_update():
            self.last_sync = self.rows.sync(rows)
            subtitle = f"{share:.0%} of recent mentions are copies" if rows else "no copy-paste wave"
            if subtitle != self.border_subtitle:  # setting it repaints the border, even unchanged
                self.border_subtitle = subtitle
        return self.last_sync.changed

    def cells(self, row: ClusterRow) -> Sequence[Text]:
        """One wave's cells; its text through safe_text."""
        style = self._style
        botty = row.bot_mean >= self._bot_flag
        mean = f"{row.bot_mean:.0%}"
        bots = Text(f"{mean} ⚠" if botty else mean, style("bot" if botty else "muted"))
        since = row.first_seen.astimezone(self._tz).strftime("%H:%M")
        return (
            Text(f"{row.size:,}", style("size")),
            Text(f"{row.authors:,}"),
            Text(since, style("muted")),
            bots,
            safe_text.text(row.text, max_len=TEXT_CHARS),
        )
