"""Flagged influencers: who is talking now — the authors who matter most by influence × negativity in
the recent window, per topic, as a table kept current by a keyed diff (never rebuilt).

Every cell is built by tui/safe_text.py: handles, names and texts are hostile. Enter on a row asks the
wall to filter the feed by that author.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.style import Style as RichStyle
from rich.text import Text
from textual.app import ComposeResult
from textual.events import DescendantBlur, DescendantFocus
from textual.geometry import Size
from textual.message import Message
from textual.widgets import DataTable
from tocsin.scoring.snapshot import InfluencerRow, Snapshot, TopicSnapshot
from tocsin.tui import safe_text
from tocsin.tui.panes.base import SnapshotPane
from tocsin.tui.panes.keyed_table import KeyedTable, SyncCounts, hottest_first

MAX_ROWS = 12
"""Rows kept in the table (the pipeline ranks; a wall is not a spreadsheet)."""
COLUMNS: tuple[tuple[str, str], ...] = (
    ("who", "Who"),
    ("tier", "Tier"),
    ("reach", "Reach"),
    ("inf", "Inf"),
    ("bot", "Bot"),
    ("neg", "Neg"),
    ("last", "Last said"),
)
LAST_TEXT = 120
HANDLE_CHARS = 20
"""A long handle is cut: the last words said need the room more."""
"""Characters of the last text kept in its cell (the column is cut at the pane's edge)."""


def ranked(snapshot: Snapshot, limit: int = MAX_ROWS) -> list[tuple[TopicSnapshot, InfluencerRow]]:
    """The rows to show: hotter topics first (by level), each in the pipeline's own order."""
    topics = hottest_first(snapshot)
    rows = [(topic, row) for topic in topics for row in topic.influencers]
    return rows[:limit]


def row_key(topic: TopicSnapshot, row: InfluencerRow) -> str:
    # NUL cannot occur in an id or a cleaned handle: the parts cannot run into each other.
    return f"{topic.id}\0{row.source}\0{row.handle}"


class InfluencersPane(SnapshotPane):
    """The table of flagged authors (``3`` shows or hides it)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "influencers--handle",
        "influencers--role",
        "influencers--muted",
        "influencers--bot",
        "influencers--negative",
        "influencers--loud",
    }

    DEFAULT_CSS = """
    InfluencersPane {
        & > DataTable { height: 1fr; background: $background; overflow-x: hidden; }
        & > DataTable > .datatable--header { background: $background; color: $foreground-muted; }
        .influencers--handle { color: $primary-lighten-2; text-style: bold; }
        .influencers--role { color: $background; background: $warning; text-style: bold; }
        .influencers--muted { color: $foreground-muted; }
        .influencers--bot { color: $text-error; text-style: bold; }
        .influencers--negative { color: $text-error; }
        .influencers--loud { color: $warning; text-style: bold; }
    }
    """

    class AuthorChosen(Message):
        """The user chose an author (Enter on a row): the wall filters the feed by them."""

        def __init__(self, handle: str) -> None:
            super().__init__()
            self.handle = handle

    def __init__(self, *, bot_flag: float = 0.6, id: str | None = None, classes: str | None = None) -> None:
        """``bot_flag``: bot-likelihood from which the Bot cell is marked (``scoring.bots.flag_at``)."""
        super().__init__(id=id, classes=classes)
        self._bot_flag = bot_flag
        self._styles: dict[str, RichStyle] = {}
        self._handles: dict[str, str] = {}
        self._data: dict[str, InfluencerRow] = {}
        self.last_sync = SyncCounts()
        table: DataTable[Text] = DataTable(cursor_type="row", show_cursor=False)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        self.rows = KeyedTable(table, [key for key, _ in COLUMNS])

    def compose(self) -> ComposeResult:
        yield self.rows.table

    def on_mount(self) -> None:
        self.border_title = "Who is talking"

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return container.height  # the table fills what the layout gives

    def notify_style_update(self) -> None:
        super().notify_style_update()
        if self._styles:  # the theme changed: the next snapshot restyles the cells that need it
            self._styles.clear()
            self._data.clear()
            self.snapshot = None

    def _style(self, name: str) -> RichStyle:
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = self.get_component_rich_style(f"influencers--{name}")
        return style

    def on_descendant_focus(self, event: DescendantFocus) -> None:
        self.rows.table.show_cursor = True  # a cursor only while it means something

    def on_descendant_blur(self, event: DescendantBlur) -> None:
        self.rows.table.show_cursor = False

    def show(self, snapshot: Snapshot) -> bool:
        """Bring the table up to date with the fewest changes; True if anything changed."""
        if snapshot is self.snapshot:
            return False
        self.snapshot = snapshot
        shown = [(row_key(topic, row), row) for topic, row in ranked(snapshot)]
        # A row equal to the one on screen needs no cells built and no comparing (most rows, most ticks).
        before = self._data
        rows = [(key, None if before.get(key) == row else self.cells(row)) for key, row in shown]
        self._data = dict(shown)
        self._handles = {key: row.handle for key, row in shown}
        with self.app.batch_update():
            self.last_sync = self.rows.sync(rows)
            subtitle = f"{len(rows)} flagged" if rows else "nobody flagged in the window"
            if subtitle != self.border_subtitle:  # setting it repaints the border, even unchanged
                self.border_subtitle = subtitle
        return self.last_sync.changed

    def cells(self, row: InfluencerRow) -> Sequence[Text]:
        """One row's cells, every hostile field through safe_text."""
        style = self._style
        who = safe_text.text(safe_text.handle_str(row.handle, HANDLE_CHARS), style("handle"))
        if row.watch_role:
            who.append(" ")
            who.append_text(Text(f" {safe_text.clean(row.watch_role, 16)} ", style("role")))  # a badge
        loud = row.tier in ("macro", "mega")
        bot = Text(f"{row.bot:.0%}", style("bot") if row.bot >= self._bot_flag else style("muted"))
        neg = Text(f"{row.negative}/{row.mentions}", style("negative") if row.negative else style("muted"))
        return (
            who,
            Text(row.tier or "–", style("loud") if loud else style("muted")),
            Text(safe_text.number_str(row.followers), style("loud") if loud else ""),
            Text(str(row.influence), style("loud") if row.influence >= 50 else ""),
            bot,
            neg,
            safe_text.text(row.last_text, max_len=LAST_TEXT),
        )

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        handle = self._handles.get(str(event.row_key.value))
        if handle:
            self.post_message(self.AuthorChosen(handle))

    @property
    def shown_keys(self) -> list[str]:
        """Row keys in the order on screen (for tests)."""
        return self.rows.keys
