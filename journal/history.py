"""Per-minute volume history per topic, for the charts (the wall's sparkline, the post-mortem's graph).

One row per topic and minute: how many mentions, and how many of them negative / neutral / positive.
``record_volume`` is an upsert of the minute's totals, so the pipeline may write a minute again as it
fills (the last write wins).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from tocsin.journal.errors import EmptyField, InvalidValue
from tocsin.journal.store import Store, Tx, from_ms, to_ms

_UPSERT = (
    "INSERT INTO volume (topic, minute, count, negative, neutral, positive) VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT(topic, minute) DO UPDATE SET count = excluded.count, negative = excluded.negative, "
    "neutral = excluded.neutral, positive = excluded.positive"
)


@dataclass(frozen=True, slots=True)
class VolumePoint:
    topic: str
    minute: datetime
    """The minute's start, aware UTC."""
    count: int
    negative: int = 0
    neutral: int = 0
    positive: int = 0


def minute_of(dt: datetime) -> int:
    """Minutes since the epoch of the minute holding ``dt``."""
    return to_ms(dt) // 60_000


def _row(p: VolumePoint) -> tuple[str, int, int, int, int, int]:
    if not p.topic.strip():
        raise EmptyField("topic")
    counts = (p.count, p.negative, p.neutral, p.positive)
    if any(c < 0 for c in counts):
        raise InvalidValue("count", min(counts), ["counts of 0 or more"])
    return (p.topic, minute_of(p.minute), *counts)


class HistoryCommands:
    """The volume-history part of ``Journal``."""

    store: Store

    async def record_volume(
        self, topic: str, minute: datetime, count: int, negative: int = 0, neutral: int = 0, positive: int = 0
    ) -> None:
        """Set the totals of ``topic`` for the minute holding ``minute``."""
        await self.record_volumes([VolumePoint(topic, minute, count, negative, neutral, positive)])

    async def record_volumes(self, points: Iterable[VolumePoint]) -> None:
        """Several minutes (and topics) in one transaction."""
        rows = [_row(p) for p in points]
        if not rows:
            return

        async def upsert(tx: Tx) -> None:
            await tx.executemany(_UPSERT, rows)

        await self.store.write(upsert, durable=False)

    async def volume(self, topic: str, start: datetime, end: datetime) -> list[VolumePoint]:
        """Recorded minutes of ``topic`` in [start, end), oldest first (minutes never written are absent)."""
        rows = await self.store.fetchall(
            "SELECT minute, count, negative, neutral, positive FROM volume "
            "WHERE topic = ? AND minute >= ? AND minute < ? ORDER BY minute",
            (topic, minute_of(start), -(-to_ms(end) // 60_000)),
        )
        return [VolumePoint(topic, from_ms(m * 60_000), c, n, u, p) for m, c, n, u, p in rows]
