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

from tocsin.config import reasons as r
from tocsin.config.i18n import N_
from tocsin.config.text import duration_str
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
    gap_warning: str | None = None
    """Why this source needs a look now ("silent 12 min (usually every 10 s)", "reconnecting for
    3 min", "failed"), or None while it behaves. During a crisis, no mentions is not good news."""
    typical_gap_s: float | None = None
    """The source's usual time between arrivals, learned (None until it has seen enough)."""
    blind_since: datetime | None = None
    """Since when this source has not been seeing (failed, cut off, never connected, or silent past its
    gap alarm); None while it sees, and once it has finished or been stopped. When every source still
    meant to deliver is blind, the desk is (``scoring.snapshot.Blindness``)."""
    blind_reason: str | None = None
    """Why, in an operator's words ("no network", "token refused", "server error 503", "silent 12 min
    (usually every 10 s)"): never an exception's class name. None when ``blind_since`` is."""

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
            "gap_warning": self.gap_warning,
            "typical_gap_s": None if self.typical_gap_s is None else round(self.typical_gap_s, 1),
            "blind_since": format_time(self.blind_since) if self.blind_since else None,
            "blind_reason": self.blind_reason,
        }


@dataclass(frozen=True, slots=True)
class GapAlarm:
    """When a source counts as silent or stuck (the gap alarm of ``SourceHealth``).

    Silent: no event for longer than ``max(factor × its typical gap, floor)``, once the typical gap has
    been learned from ``min_gaps`` gaps. Stuck: connecting or reconnecting for longer than
    ``stuck_after``. Failed: at once. Finished and stopped sources never alarm.

    The factor is wide on purpose: arrivals are random, and at 5 × the mean gap a steady Poisson stream
    would cross the line once every ~150 gaps (a false alarm an hour at two mentions a minute); at 10 ×
    it is once in ~22,000. On an accelerated clock (demo, replay) both limits are at least
    ``real_floor`` of real time, so a pause of the machine (a worker starting) is not taken for silence.
    """

    factor: float = 10.0
    floor: timedelta = timedelta(minutes=2)
    stuck_after: timedelta = timedelta(minutes=2)
    real_floor: timedelta = timedelta(seconds=10)
    min_gaps: int = 5
    alpha: float = 0.1
    """Weight of the newest gap in the typical gap (an EWMA: about the last 20 arrivals count)."""
    blind_after: timedelta = timedelta(seconds=30)
    """How long a source that was seeing may reconnect, or a new one connect, before it counts as blind:
    a stream that drops and is back within seconds is not blindness, a connection attempt that hangs
    is once the usual connect timeout has gone by. A source cut off before it ever delivered anything
    (connection refused, no network, token refused) is blind at once."""
    same_arrival: timedelta = timedelta(seconds=1)
    """Events closer than this form one arrival: a poll's page, a webhook batch, a busy second. The
    typical gap is then the gap between polls or bursts, not the microseconds inside one."""


class SourceHealth:
    """Kept current by the source; read by the monitor through ``status``.

    The rate counts events over the last ``rate_window`` of desk time, in per-second slots, so
    memory is bounded whatever the volume.
    """

    def __init__(
        self,
        clock: Clock,
        rate_window: timedelta = timedelta(minutes=5),
        alarm: GapAlarm | None = None,
    ) -> None:
        self._clock = clock
        self.alarm = alarm or GapAlarm()
        self._window_s = int(rate_window.total_seconds())
        self._slots: deque[list[int]] = deque()  # [epoch second, count]
        self.state = SourceState.CONNECTING
        self.events = 0
        self.malformed = 0
        self.reconnects = 0
        self.last_event_at: datetime | None = None
        self.last_error: str | None = None
        self.reason: str | None = None
        """The last failure in an operator's words (see ``SourceStatus.blind_reason``)."""
        self.state_since: datetime = clock.now()
        """When the current state was entered (desk time)."""
        self._typical_gap: float | None = None  # seconds, EWMA of the gaps between arrivals
        self._gaps = 0
        self._arrival_at: datetime | None = None  # start of the latest arrival
        self._learn = True  # False when the next gap spans an outage: outages are not the norm

    def event(self, n: int = 1) -> None:
        now = self._clock.now()
        self._learn_gap(now)
        sec = int(now.timestamp())
        if self._slots and self._slots[-1][0] == sec:
            self._slots[-1][1] += n
        else:
            self._slots.append([sec, n])
        self.events += n
        self.last_event_at = now
        if self.state in (SourceState.CONNECTING, SourceState.RECONNECTING):
            self._enter(SourceState.LIVE, now)

    def _learn_gap(self, now: datetime) -> None:
        last = self._arrival_at
        if last is not None and now - last < self.alarm.same_arrival:
            return  # the same arrival
        self._arrival_at = now
        if last is None or not self._learn:
            self._learn = True
            return
        gap = max(0.0, (now - last).total_seconds())
        typical = self._typical_gap
        if typical is None:
            self._typical_gap = gap
        else:
            # A gap far beyond the usual (the silence that raised the alarm) teaches only up to the alarm
            # line, so one outage does not make the next one look normal; a slower regime still wins
            # after a few arrivals.
            gap = min(gap, self._silence_limit(typical))
            self._typical_gap = typical + self.alarm.alpha * (gap - typical)
        self._gaps += 1

    def _silence_limit(self, typical: float) -> float:
        return max(self.alarm.factor * typical, self._floor(self.alarm.floor))

    def _floor(self, limit: timedelta) -> float:
        """A limit in desk seconds, at least ``real_floor`` of real time on an accelerated clock."""
        speed = getattr(self._clock, "speed", 1.0)
        return max(limit.total_seconds(), self.alarm.real_floor.total_seconds() * speed)

    @property
    def typical_gap(self) -> float | None:
        """Seconds usually between arrivals, once learned from enough of them; else None."""
        if self._gaps < self.alarm.min_gaps:
            return None
        return self._typical_gap

    def gap_warning(self) -> str | None:
        """Why this source needs a look now (desk time), or None. See ``GapAlarm``."""
        state = self.state
        if state in (SourceState.FINISHED, SourceState.STOPPED):
            return None
        if state is SourceState.FAILED:
            return N_("failed")
        now = self._clock.now()
        silent: dict[str, str] | None = None
        typical = self.typical_gap
        if typical is not None and self.last_event_at is not None:
            silence = (now - self.last_event_at).total_seconds()
            if silence > self._silence_limit(typical):
                silent = {"span": duration_str(silence, "spoken"), "typical": duration_str(typical, "spoken")}
        if state in (SourceState.CONNECTING, SourceState.RECONNECTING):
            connecting = state is SourceState.CONNECTING
            if silent:  # one warning that does not flicker when a silent source starts reconnecting
                return r.say(
                    r.SOURCE_SILENT_CONNECTING if connecting else r.SOURCE_SILENT_RECONNECTING, **silent
                )
            stuck = (now - self.state_since).total_seconds()
            if stuck > self._floor(self.alarm.stuck_after):
                return r.say(
                    r.SOURCE_CONNECTING if connecting else r.SOURCE_RECONNECTING,
                    span=duration_str(stuck, "spoken"),
                )
        return r.say(r.SOURCE_SILENT, **silent) if silent else None

    def _enter(self, state: SourceState, now: datetime | None = None) -> None:
        if state is not self.state:
            self.state_since = now or self._clock.now()
        self.state = state

    def bad_event(self, error: str) -> None:
        """A malformed event: counted, reported, skipped."""
        self.malformed += 1
        self.last_error = error

    def set_state(self, state: SourceState, error: str | None = None, *, reason: str | None = None) -> None:
        """Enter ``state``. ``error``: the detail for the health pane (may quote the server);
        ``reason``: the same in plain words for the blind state (default: ``error`` itself, for
        sources whose messages are already plain)."""
        if state is SourceState.RECONNECTING and self.state is not SourceState.RECONNECTING:
            self.reconnects += 1
        if state in (SourceState.RECONNECTING, SourceState.FAILED):
            self._learn = False  # the next gap spans the outage
        self._enter(state)
        if error is not None:
            self.last_error = error
        if reason is not None or error is not None:
            self.reason = reason or error
        if state is SourceState.LIVE:
            self.reason = None

    def blind(self) -> tuple[datetime, str] | None:
        """Since when and why this source is not seeing (desk time), or None. See ``GapAlarm.blind_after``."""
        state = self.state
        if state in (SourceState.FINISHED, SourceState.STOPPED):
            return None
        reason = self.reason or self.last_error
        if state is SourceState.FAILED:
            return self.state_since, reason or N_("failed")
        now = self._clock.now()
        typical = self.typical_gap
        if typical is not None and self.last_event_at is not None:
            silence = (now - self.last_event_at).total_seconds()
            if silence > self._silence_limit(typical):
                return (
                    self.last_event_at,
                    r.say(
                        r.SOURCE_SILENT,
                        span=duration_str(silence, "spoken"),
                        typical=duration_str(typical, "spoken"),
                    ),
                )
        if state is SourceState.LIVE:
            return None
        waited = (now - self.state_since).total_seconds()
        cut_off = state is SourceState.RECONNECTING and self.last_event_at is None
        if not cut_off and waited <= self._floor(self.alarm.blind_after):
            return None
        if state is SourceState.CONNECTING:
            return self.state_since, reason or r.say(r.SOURCE_NO_ANSWER, span=duration_str(waited, "spoken"))
        return self.state_since, reason or r.say(r.SOURCE_RECONNECTING, span=duration_str(waited, "spoken"))

    def rate_per_min(self) -> float:
        horizon = int(self._clock.now().timestamp()) - self._window_s
        while self._slots and self._slots[0][0] <= horizon:
            self._slots.popleft()
        total = sum(c for _, c in self._slots)
        return total * 60.0 / self._window_s if self._window_s else 0.0

    def status(self, source_id: str, kind: str) -> SourceStatus:
        blind = self.blind()
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
            gap_warning=self.gap_warning(),
            typical_gap_s=self.typical_gap,
            blind_since=blind[0] if blind else None,
            blind_reason=blind[1] if blind else None,
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

    @property
    def cursor(self) -> str | None:
        """Where to resume after a restart (the journal keeps it; given back to ``resume``); None: a
        source with nothing to resume (the demo, a file replay: they start where their settings say)."""
        return None

    def resume(self, cursor: str | None) -> None:
        """Start from a cursor saved by an earlier run (called before iterating). Sources that cannot
        resume ignore it."""
        return None
