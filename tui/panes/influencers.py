"""Flagged influencers: who is talking now — the authors who matter most by influence × negativity in
the recent window, per topic, as a table kept current by a keyed diff (never rebuilt).

Every cell is built by tui/safe_text.py: handles, names and texts are hostile. Enter on a row asks the
wall to filter the feed by that author.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable

from tocsin.config.i18n import N_, _, percent
from tocsin.config.reasons import role_name
from tocsin.scoring.snapshot import InfluencerRow, Snapshot, TopicSnapshot
from tocsin.tui import safe_text
from tocsin.tui.panes.base import TablePane
from tocsin.tui.panes.keyed_table import hottest_first

MAX_ROWS = 12
"""Rows kept in the table (the pipeline ranks; a wall is not a spreadsheet)."""
COLUMNS: tuple[tuple[str, str], ...] = (
    ("who", N_("Who")),
    ("tier", N_("Tier")),
    ("reach", N_("Reach")),
    ("inf", N_("Inf")),
    ("bot", N_("Bot")),
    ("neg", N_("Neg")),
    ("last", N_("Last said")),
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


class InfluencersPane(TablePane["InfluencerRow"]):
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

    COLUMNS = COLUMNS
    FIXED_WIDTHS: ClassVar[dict[str, int]] = {"last": LAST_TEXT}
    TITLE = N_("Who is talking")
    STYLE_PREFIX = "influencers"

    def __init__(self, *, bot_flag: float = 0.6, id: str | None = None, classes: str | None = None) -> None:
        """``bot_flag``: bot-likelihood from which the Bot cell is marked (``scoring.bots.flag_at``)."""
        super().__init__(bot_flag=bot_flag, id=id, classes=classes)
        self._handles: dict[str, str] = {}

    def shown(self, snapshot: Snapshot) -> list[tuple[str, InfluencerRow]]:
        shown = [(row_key(topic, row), row) for topic, row in ranked(snapshot)]
        self._handles = {key: row.handle for key, row in shown}
        return shown

    def subtitle(self, snapshot: Snapshot, rows: int) -> str:
        return _("{n} flagged").format(n=rows) if rows else _("nobody flagged in the window")

    def cells(self, row: InfluencerRow) -> Sequence[Text]:
        """One row's cells, every hostile field through safe_text."""
        style = self._style
        who = safe_text.text(safe_text.handle_str(row.handle, HANDLE_CHARS), style("handle"))
        if row.watch_role:
            who.append(" ")
            who.append_text(
                Text(f" {safe_text.clean(role_name(row.watch_role), 16)} ", style("role"))
            )  # a badge
        loud = row.tier in ("macro", "mega")
        bot = Text(percent(row.bot), style("bot") if row.bot >= self._bot_flag else style("muted"))
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
        key = self.rows.key_at(event.row_key.value)
        handle = self._handles.get(key) if key is not None else None
        if handle:
            self.post_message(self.AuthorChosen(handle))
