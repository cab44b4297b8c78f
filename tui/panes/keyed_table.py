"""Keep a DataTable equal to a ranked list of keyed rows with the fewest changes.

The wall's tables (influencers, copy-paste waves) are redrawn ten times a second from snapshots
whose rows mostly do not change. Rebuilding a table each time would flicker, lose the cursor and
cost O(rows) widget work per flush; instead (like Dolphie's panels) a new row takes a stale row's
place (its cells rewritten) or is added, stale rows left over are removed, cells are updated only
where their content changed, and the table is re-sorted only when the order changed.
"""

from __future__ import annotations

import itertools
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
    """Owns the rows of ``table`` (whose columns must already be added, keys ``columns``).

    Each row key is shown in a row of the DataTable (a slot, its own key). A row that leaves gives its
    slot to a row that arrives in the same sync (its cells rewritten in place): removing a DataTable
    row lays the whole screen out again (~16 ms on the wall), and at 5,000 mentions a second rows come
    and go in the influencers' and waves' tables every few snapshots, each layout a pause the keys wait
    behind. Slots are removed only when the table shrinks."""

    def __init__(self, table: DataTable[Text], columns: Sequence[str]) -> None:
        self.table = table
        self.columns = tuple(columns)
        self._rows: dict[str, tuple[list[Text], list[tuple[object, ...]]]] = {}
        self._order: list[str] = []
        self._slot: dict[str, str] = {}
        """Row key → the DataTable row (slot) showing it."""
        self._key_at: dict[str, str] = {}
        """Slot → the row key it shows."""
        self._slots = itertools.count()

    @property
    def keys(self) -> list[str]:
        """Row keys in the order shown."""
        return list(self._order)

    def key_at(self, slot: object) -> str | None:
        """The row key shown in a DataTable row (a ``RowKey``'s value), None if none."""
        return self._key_at.get(str(slot))

    def cell(self, key: str, column: str) -> Text:
        """The cell shown for a row key."""
        return self.table.get_cell(self._slot[key], column)

    def sync(self, rows: Sequence[Row]) -> SyncCounts:
        """Make the table show ``rows`` (best first); keys must be unique."""
        counts = SyncCounts()
        table, known, slot_of, key_at = self.table, self._rows, self._slot, self._key_at
        wanted = [key for key, _ in rows]
        keep = set(wanted)
        before = [slot_of[k] for k in self._order]  # the DataTable's rows, in its order
        spare: list[str] = []
        for key in [k for k in self._order if k not in keep]:
            slot = slot_of.pop(key)
            del key_at[slot], known[key]
            spare.append(slot)
            counts.removed += 1
        spare.reverse()  # the top one first
        appended: list[str] = []
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
                if spare:  # a leaving row's place: its cells rewritten, no row removed or added
                    slot = spare.pop()
                    for column, cell in zip(self.columns, cells, strict=True):
                        table.update_cell(slot, column, cell, update_width=True)
                else:
                    slot = f"r{next(self._slots)}"
                    table.add_row(*cells, key=slot)
                    appended.append(slot)
                slot_of[key], key_at[slot] = slot, key
                known[key] = (list(cells), signatures)
                counts.added += 1
                continue
            old_cells, old_signatures = old
            for i, (cell, signature) in enumerate(zip(cells, signatures, strict=True)):
                if signature != old_signatures[i]:
                    table.update_cell(slot_of[key], self.columns[i], cell)
                    old_cells[i], old_signatures[i] = cell, signature
                    counts.updated += 1
        for slot in spare:  # the table shrank
            table.remove_row(slot)
        shown = [key_at[s] for s in before if s in key_at] + [key_at[s] for s in appended]
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
        self._slot.clear()
        self._key_at.clear()
