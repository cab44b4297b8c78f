"""The desk's clock: one injected clock drives every window, bucket, rate and countdown.

- ``WallClock``: live sources; real time.
- ``SimulatedClock``: the demo and replays; time is driven by the mentions' own timestamps and
  runs accelerated (``speed`` simulated seconds per real second) in between.
- ``ManualClock``: tests; time moves only when told, and ``sleep`` returns at once (recording the
  requested delay), so back-off timing is asserted without sleeping.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Current desk time, aware UTC."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of desk time."""
        ...

    @property
    def speed(self) -> float:
        """Desk seconds per real second (1 for live)."""
        ...


class WallClock:
    speed = 1.0

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class SimulatedClock:
    """Accelerated time anchored on the latest mention timestamp; never goes backward."""

    def __init__(
        self,
        start: datetime,
        speed: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._speed = speed
        self._monotonic = monotonic
        self._anchor = start
        self._mono_anchor = monotonic()
        self._held = False
        self._late = False
        self._released: asyncio.Event | None = None

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> datetime:
        if self._held or self._late:
            return self._anchor
        elapsed = (self._monotonic() - self._mono_anchor) * self._speed
        return self._anchor + timedelta(seconds=elapsed)

    @property
    def held(self) -> bool:
        """True while the desk is behind (``hold``): replays wait for it."""
        return self._held

    def hold(self) -> None:
        """Stop the clock while the desk is behind, until ``release``: a replay then waits for the desk
        (``wait_released``) instead of running on, so desk time never runs ahead of what was processed
        (a clock running on at 600x dated a backlog minutes late, and the wall read it as silence)."""
        if not self._held:
            self._anchor = self.now()
            self._held = True

    def release(self) -> None:
        """The desk has caught up: the clock may run again, from where it stands."""
        if self._held:
            self._held = False
            self._mono_anchor = self._monotonic()
            if self._released is not None:
                self._released.set()
                self._released = None

    async def wait_released(self) -> None:
        """Return once the desk has caught up (at once if it is not behind)."""
        while self._held:
            if self._released is None:
                self._released = asyncio.Event()
            await self._released.wait()

    def late(self) -> None:
        """A replay is late on its own data (it could not hand mentions out as fast as the clock runs):
        stop the clock until it is on time again, so mentions are not stamped later than they are."""
        if not self._late:
            self._anchor = self.now()
            self._late = True

    def on_time(self) -> None:
        """The replay is waiting for its next mention's time: the clock runs again."""
        if self._late:
            self._late = False
            self._mono_anchor = self._monotonic()

    def advance_to(self, t: datetime) -> None:
        """Move the clock to ``t`` if ``t`` is ahead (a mention's timestamp drives it)."""
        if t > self.now():
            self._anchor = t
            self._mono_anchor = self._monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self._speed)

    async def sleep_until(self, t: datetime) -> None:
        """Wait (in real time, accelerated) until desk time reaches ``t``; then the clock shows ``t``."""
        delay = (t - self.now()).total_seconds()
        if delay > 0:
            await self.sleep(delay)
        self.advance_to(t)


class ManualClock:
    """A clock for tests: ``sleep`` advances time instantly and records the delay."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
        self.sleeps: list[float] = []

    speed = 1.0

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)

    def advance_to(self, t: datetime) -> None:
        if t > self._now:
            self._now = t

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)
