"""Copy-paste waves: near-identical mentions from many accounts — size, distinct accounts, when it
started (local time), the mean bot-likelihood of its members, and its text. A wave whose members look
like bots is marked: that is a campaign, not a crowd. Kept current by a keyed diff."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo
from typing import ClassVar

from rich.text import Text

from tocsin.config.i18n import N_, _, number, percent
from tocsin.scoring.snapshot import ClusterRow, Snapshot, TopicSnapshot
from tocsin.tui import safe_text
from tocsin.tui.panes.base import TablePane
from tocsin.tui.panes.keyed_table import hottest_first

MAX_ROWS = 10
COLUMNS: tuple[tuple[str, str], ...] = (
    ("size", N_("Size")),
    ("authors", N_("Accts")),
    ("first", N_("Since")),
    ("bot", N_("Bots")),
    ("text", N_("Text")),
)
TEXT_CHARS = 160


def ranked(snapshot: Snapshot, limit: int = MAX_ROWS) -> list[tuple[TopicSnapshot, ClusterRow]]:
    """Waves to show: hotter topics first, each topic's waves largest first (the pipeline's order)."""
    topics = hottest_first(snapshot)
    return [(topic, row) for topic in topics for row in topic.clusters][:limit]


class ClustersPane(TablePane["ClusterRow"]):
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

    COLUMNS = COLUMNS
    FIXED_WIDTHS: ClassVar[dict[str, int]] = {"text": TEXT_CHARS}
    TITLE = N_("Copy-paste waves")
    STYLE_PREFIX = "clusters"

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
        super().__init__(bot_flag=bot_flag, id=id, classes=classes)
        self._tz = tz

    def shown(self, snapshot: Snapshot) -> list[tuple[str, ClusterRow]]:
        return [(f"{topic.id}\0{row.id}", row) for topic, row in ranked(snapshot)]

    def subtitle(self, snapshot: Snapshot, rows: int) -> str:
        share = max((t.copy_paste_share for t in snapshot.topics.values()), default=0.0)
        if not rows:
            return _("no copy-paste wave")
        return _("{share} of recent mentions are copies").format(share=percent(share))

    def cells(self, row: ClusterRow) -> Sequence[Text]:
        """One wave's cells; its text through safe_text."""
        style = self._style
        botty = row.bot_mean >= self._bot_flag
        mean = percent(row.bot_mean)
        bots = Text(f"{mean} ⚠" if botty else mean, style("bot" if botty else "muted"))
        since = row.first_seen.astimezone(self._tz).strftime("%H:%M")
        return (
            Text(number(row.size, 0, grouped=True), style("size")),
            Text(number(row.authors, 0, grouped=True)),
            Text(since, style("muted")),
            bots,
            safe_text.text(row.text, max_len=TEXT_CHARS),
        )
