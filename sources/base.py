"""The Source protocol: an async iterator of mentions with a health record and a clean stop."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import ClassVar

from tocsin.sources.clock import Clock
from tocsin.sources.model import Mention


class SourceState(StrEnum):
    CONNECTING = "connecting"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    FAILED = "failed"
    FINISHED = "finished"  # a file or scenario played to its end
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """An immutable view of a source's health at one instant (goes into snapshots)."""

    id: str
    kind: str
    state: SourceState
    rate_per_min: float
    events: int
    malformed: int
    reconnects: int
    last_event_at: datetime | None
    last_error: str | None

    def to_json(self) -> dict[str, object]:
        from tocsin.sources.model import format_time

        return {
            "kind": self.kind,
            "state": str(self.state),
            "rate_per_min": round(self.rate_per_min, 2),
            "events": self.events,
            "malformed": self.malformed,
            "reconnects": self.reconnects,
            "last_event_at": format_time(self.last_event_at) if self.last_event_at else None,
            "last_error": self.last_error,
        }


class SourceHealth:
    """Kept current by the source; read by the monitor through ``status``.

    The rate counts events over the last ``rate_window`` of desk time, in per-second slots, so
    memory is bounded whatever the volume.
    """

    def __init__(self, clock: Clock, rate_window: timedelta = timedelta(minutes=5)) -> None:
        self._clock = clock
        self._window_s = int(rate_window.total_seconds())
        self._slots: deque[list[int]] = deque()  # [epoch second, count]
        self.state = SourceState.CONNECTING
        self.events = 0
        self.malformed = 0
        self.reconnects = 0
        self.last_event_at: datetime | None = None
        self.last_error: str | None = None

    def event(self, n: int = 1) -> None:
        now = self._clock.now()
        sec = int(now.timestamp())
        if self._slots and self._slots[-1][0] == sec:
            self._slots[-1][1] += n
        else:
            self._slots.append([sec, n])
        self.events += n
        self.last_event_at = now
        if self.state in (SourceState.CONNECTING, SourceState.RECONNECTING):
            self.state = SourceState.LIVE

    def bad_event(self, error: str) -> None:
        """A malformed event: counted, reported, skipped."""
        self.malformed += 1
        self.last_error = error

    def set_state(self, state: SourceState, error: str | None = None) -> None:
        if state is SourceState.RECONNECTING and self.state is not SourceState.RECONNECTING:
            self.reconnects += 1
        self.state = state
        if error is not None:
            self.last_error = error

    def rate_per_min(self) -> float:
        horizon = int(self._clock.now().timestamp()) - self._window_s
        while self._slots and self._slots[0][0] <= horizon:
            self._slots.popleft()
        total = sum(c for _, c in self._slots)
        return total * 60.0 / self._window_s if self._window_s else 0.0

    def status(self, source_id: str, kind: str) -> SourceStatus:
        return SourceStatus(
            id=source_id,
            kind=kind,
            state=self.state,
            rate_per_min=self.rate_per_min(),
            events=self.events,
            malformed=self.malformed,
            reconnects=self.reconnects,
            last_event_at=self.last_event_at,
            last_error=self.last_error,
        )


class Source(ABC):
    """A configured source of mentions. Iterate it (``async for m in source``); ``stop()`` ends it cleanly."""

    kind: ClassVar[str]

    def __init__(self, source_id: str, clock: Clock) -> None:
        self.id = source_id
        self.clock = clock
        self.health = SourceHealth(clock)
        self._stopping = asyncio.Event()

    @abstractmethod
    def stream(self) -> AsyncIterator[Mention]:
        """Yield mentions until the source ends or ``stop()`` is called."""

    def __aiter__(self) -> AsyncIterator[Mention]:
        return self.stream()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    async def stop(self) -> None:
        self._stopping.set()
        self.health.set_state(SourceState.STOPPED)

    def status(self) -> SourceStatus:
        return self.health.status(self.id, self.kind)
