"""What every snapshot pane shares: keep the latest snapshot, repaint only when what it draws changes;
and what the table panes (who is talking, copy-paste waves) share on top of that."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import ClassVar, Generic, Self, TypeVar

from rich.style import Style as RichStyle
from rich.text import Text
from textual.app import ComposeResult
from textual.content import Content
from textual.events import DescendantBlur, DescendantFocus
from textual.geometry import Region, Size
from textual.reactive import reactive
from textual.visual import VisualType
from textual.widget import Widget
from textual.widgets import DataTable

from tocsin.config.i18n import _
from tocsin.scoring.snapshot import Snapshot
from tocsin.tui.panes.keyed_table import KeyedTable, SyncCounts


def drawn_key(drawn: VisualType) -> Hashable:
    """What a drawing shows, text and styles (``Content``'s own equality compares the text alone)."""
    if isinstance(drawn, Content):
        return (drawn.plain, tuple(drawn.spans))
    return (type(drawn), id(drawn))  # anything else is never taken for the same drawing


class SnapshotPane(Widget):
    """A pane drawn from one Snapshot. The app calls ``show`` at most once per flush, and only while
    the pane is on screen; ``draw`` reads the stored snapshot and the pane's own size.

    A pane is repainted only when what it draws changed: most flushes change a few of the figures, and
    each repaint costs the wall's loop the whole of Textual's line pipeline (and, at 5,000 mentions a
    second, delays the next key). ``show`` draws the new snapshot and compares it to what is on screen;
    the drawing it made is the one painted, so nothing is drawn twice."""

    compact: reactive[bool] = reactive(False, layout=True)
    """One line per topic (small terminals, many topics, or ``ui.layout: compact``)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.snapshot: Snapshot | None = None
        self._on_screen: Hashable = None
        """``drawn_key`` of the drawing last painted."""
        self._drawn: tuple[int, VisualType] | None = None
        """A drawing made by ``show`` for the next paint, with the width it was made for."""

    def show(self, snapshot: Snapshot) -> bool:
        """Take a new snapshot; repaint if what the pane draws changed (and re-layout if the number of
        topics did). True if it repaints."""
        if snapshot is self.snapshot:
            return False
        before = len(self.snapshot.topics) if self.snapshot else -1
        self.snapshot = snapshot
        if len(snapshot.topics) != before:
            self.refresh(layout=True)
            return True
        return self.repaint_if_changed()

    def repaint_if_changed(self) -> bool:
        """Draw the pane as it stands; repaint only if that differs from what is on screen."""
        drawn = self.draw()
        # Kept even when unchanged: a paint still pending from an earlier show must paint this one.
        self._drawn = (self.content_region.width, drawn)
        if drawn_key(drawn) == self._on_screen:
            return False
        super().refresh()  # not ``self.refresh``: that would drop the drawing kept for the paint
        return True

    def refresh(
        self, *regions: Region, repaint: bool = True, layout: bool = False, recompose: bool = False
    ) -> Self:
        """A repaint asked for by anything but ``show`` (a resize, ``compact``, a pane's own switch)
        draws afresh: the drawing ``show`` kept may be of the pane as it was."""
        self._drawn = None
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def draw(self) -> VisualType:
        """The pane's content from ``self.snapshot`` at its current size (what ``render`` paints)."""
        return super().render()

    def render(self) -> VisualType:
        made, self._drawn = self._drawn, None
        drawn = made[1] if made is not None and made[0] == self.content_region.width else self.draw()
        self._on_screen = drawn_key(drawn)
        return drawn

    ROOMY_LINES: ClassVar[int] = 1
    """Lines per topic in the roomy layout (one in the compact one)."""

    def lines_per_topic(self) -> int:
        return 1 if self.compact else self.ROOMY_LINES

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        n = len(self.snapshot.topics) if self.snapshot else 0
        return max(1, n * self.lines_per_topic())


RowT = TypeVar("RowT", bound=Hashable)
"""One table row's data: compared to the last shown to tell which rows changed."""


class TablePane(SnapshotPane, Generic[RowT]):
    """A pane showing one ranked, keyed table of snapshot rows, kept in place by ``KeyedTable``.

    Subclasses give ``COLUMNS`` (key, label) and ``TITLE`` (English, marked with ``N_``: shown in the
    desk's language), ``STYLE_PREFIX`` (their component classes are
    ``<prefix>--<name>``), ``shown`` (the keyed rows of a snapshot, in order), ``cells`` (one row's cells,
    hostile fields through safe_text) and ``subtitle``."""

    COLUMNS: ClassVar[tuple[tuple[str, str], ...]] = ()
    FIXED_WIDTHS: ClassVar[dict[str, int]] = {}
    """Columns as wide as their longest possible cell from the start (the last, free-text one: cut at
    the pane's edge anyway). A column sized to its content changes the table's width with every new
    text, and each change laid the whole screen out again (~18 ms, 9 times in 23 s at 5,000/s)."""
    TITLE: ClassVar[str] = ""
    STYLE_PREFIX: ClassVar[str] = ""

    def __init__(self, *, bot_flag: float = 0.6, id: str | None = None, classes: str | None = None) -> None:
        """``bot_flag``: bot-likelihood from which a row is marked (``scoring.bots.flag_at``)."""
        super().__init__(id=id, classes=classes)
        self._bot_flag = bot_flag
        self._styles: dict[str, RichStyle] = {}
        self._data: dict[str, RowT] = {}
        self.last_sync = SyncCounts()
        table: DataTable[Text] = DataTable(cursor_type="row", show_cursor=False)
        for key, label in self.COLUMNS:
            table.add_column(_(label), key=key, width=self.FIXED_WIDTHS.get(key))
        self.rows = KeyedTable(table, [key for key, _ in self.COLUMNS])

    def compose(self) -> ComposeResult:
        yield self.rows.table

    def on_mount(self) -> None:
        self.border_title = _(self.TITLE)

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
            style = self._styles[name] = self.get_component_rich_style(f"{self.STYLE_PREFIX}--{name}")
        return style

    def on_descendant_focus(self, event: DescendantFocus) -> None:
        self.rows.table.show_cursor = True  # a cursor only while it means something

    def on_descendant_blur(self, event: DescendantBlur) -> None:
        self.rows.table.show_cursor = False

    def shown(self, snapshot: Snapshot) -> list[tuple[str, RowT]]:
        raise NotImplementedError

    def cells(self, row: RowT) -> Sequence[Text]:
        raise NotImplementedError

    def subtitle(self, snapshot: Snapshot, rows: int) -> str:
        raise NotImplementedError

    def show(self, snapshot: Snapshot) -> bool:
        """Bring the table up to date with the fewest changes; True if anything changed."""
        if snapshot is self.snapshot:
            return False
        self.snapshot = snapshot
        shown = self.shown(snapshot)
        # A row equal to the one on screen needs no cells built and no comparing (most rows, most ticks).
        before = self._data
        rows = [(key, None if before.get(key) == row else self.cells(row)) for key, row in shown]
        self._data = dict(shown)
        with self.app.batch_update():
            self.last_sync = self.rows.sync(rows)
            subtitle = self.subtitle(snapshot, len(rows))
            if subtitle != self.border_subtitle:  # setting it repaints the border, even unchanged
                self.border_subtitle = subtitle
        return self.last_sync.changed

    @property
    def shown_keys(self) -> list[str]:
        """Row keys in the order on screen (for tests)."""
        return self.rows.keys
