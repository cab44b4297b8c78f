"""Keep a DataTable equal to a ranked list of keyed rows with the fewest changes.

The wall's tables (influencers, copy-paste waves) are redrawn ten times a second from snapshots
whose rows mostly do not change. Rebuilding a table each time would flicker, lose the cursor and
cost O(rows) widget work per flush; instead (like Dolphie's panels) stale rows are removed, cells
are updated only where their content changed, new rows are added, and the table is re-sorted only
when the order changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.widgets import DataTable

from tocsin.config.settings import LEVELS
from tocsin.scoring.snapshot import Snapshot, TopicSnapshot

Cells = Sequence[Text]
Row = tuple[str, Cells | None]
"""A row: its stable key (e.g. source + handle) and its cells, one per column; None for a row already
shown whose data did not change (nothing to build, nothing to compare)."""


def hottest_first(snapshot: Snapshot) -> list[TopicSnapshot]:
    """Topics by level, most severe first; topics of one level keep the configured order."""

    def severity(topic: TopicSnapshot) -> int:
        return -(LEVELS.index(topic.level) if topic.level in LEVELS else 0)

    return sorted(snapshot.topics.values(), key=severity)  # sorted() is stable


def _signature(cell: Text) -> tuple[object, ...]:
    # Text.__eq__ ignores the base style, and a cell turning red is a change the user must see.
    return (cell.plain, str(cell.style), tuple(cell.spans))


@dataclass(slots=True)
class SyncCounts:
    """What one ``sync`` did to the table (tests and benchmarks read it)."""

    added: int = 0
    removed: int = 0
    updated: int = 0
    """Cells updated."""
    sorted: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.updated or self.sorted)


class KeyedTable:
    """Owns the rows of ``table`` (whose columns must already be added, keys ``columns``)."""

    def __init__(self, table: DataTable[Text], columns: Sequence[str]) -> None:
        self.table = table
        self.columns = tuple(columns)
        self._rows: dict[str, tuple[list[Text], list[tuple[object, ...]]]] = {}
        self._order: list[str] = []

    @property
    def keys(self) -> list[str]:
        """Row keys in the order shown."""
        return list(self._order)

    def sync(self, rows: Sequence[Row]) -> SyncCounts:
        """Make the table show ``rows`` (best first); keys must be unique."""
        counts = SyncCounts()
        table, known = self.table, self._rows
        wanted = [key for key, _ in rows]
        keep = set(wanted)
        for key in [k for k in self._order if k not in keep]:
            table.remove_row(key)
            del known[key]
            counts.removed += 1
        for key, cells in rows:
            if cells is None:
                if key not in known:
                    raise ValueError(f"row {key!r} is new: it needs its cells")
                continue
            if len(cells) != len(self.columns):
                raise ValueError(f"row {key!r} has {len(cells)} cells for {len(self.columns)} columns")
            signatures = [_signature(c) for c in cells]
            old = known.get(key)
            if old is None:
                table.add_row(*cells, key=key)
                known[key] = (list(cells), signatures)
                counts.added += 1
                continue
            old_cells, old_signatures = old
            for i, (cell, signature) in enumerate(zip(cells, signatures, strict=True)):
                if signature != old_signatures[i]:
                    table.update_cell(key, self.columns[i], cell)
                    old_cells[i], old_signatures[i] = cell, signature
                    counts.updated += 1
        # Rows are added at the end: the shown order is what was kept, then what was added.
        shown = [k for k in self._order if k in keep] + [k for k in wanted if k not in self._order]
        if shown != wanted:
            # DataTable.sort hands the key function the row's cells, not its key: the first cell object
            # of each row (the table keeps the very objects given) identifies the row.
            rank = {id(known[key][0][0]): i for i, key in enumerate(wanted)}
            table.sort(key=lambda cells: rank[id(cells[0])])
            counts.sorted = True
        self._order = wanted
        return counts

    def __contains__(self, key: str) -> bool:
        return key in self._rows

    def clear(self) -> None:
        """Forget every row."""
        self.table.clear()
        self._rows.clear()
        self._order = []
