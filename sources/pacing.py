"""Waiting on the desk clock for a replayed mention's time, without outliving ``stop()``.

The demo and the jsonl replay both hold a mention until the (simulated) clock reaches its timestamp.
The wait must end at once when the source is stopped, so every wait races the source's stop event.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import datetime

from tocsin.sources.clock import Clock

MIN_SLEEP_S = 0.001
"""Real seconds below which a replayed mention is handed out at once rather than slept for."""
LATE_AFTER_S = 1.0
"""Desk seconds a replayed mention may be handed out after its time before the replay counts as late and
the clock stops for it. Mentions sharing a timestamp (a feed arrives in bursts) are handed out one after
the other while the clock runs on; stopping the clock for each burst would lose the time spent handing it
out, and a replay at 5,000 a second ran at 84 % of its pace. A live feed is a little late too."""


class StopWatch:
    """One stop-waiter per stream, raced against each sleep (cheaper than a new waiter per wait)."""

    def __init__(self, stopping: asyncio.Event) -> None:
        self._stopping = stopping
        self._waiter: asyncio.Task[bool] | None = None

    @property
    def stopped(self) -> bool:
        return self._stopping.is_set()

    async def wait(self, aw: Awaitable[object]) -> bool:
        """Await ``aw`` unless the source stops first; True when ``aw`` completed, False on stop."""
        if self._stopping.is_set():
            if asyncio.iscoroutine(aw):
                aw.close()  # never awaited: close it so Python does not warn
            return False
        if self._waiter is None:
            self._waiter = asyncio.ensure_future(self._stopping.wait())
        task = asyncio.ensure_future(aw)
        await asyncio.wait({task, self._waiter}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            return False
        task.result()  # re-raise what the sleep raised
        return not self._stopping.is_set()

    def close(self) -> None:
        """Cancel the stop-waiter (call when the stream ends)."""
        if self._waiter is not None:
            self._waiter.cancel()
            self._waiter = None


async def wait_until(clock: Clock, t: datetime, watch: StopWatch) -> bool:
    """Sleep on ``clock`` until desk time reaches ``t``, then pin the clock there when it can be moved.

    Returns False if the source was stopped meanwhile. A clock without ``advance_to`` (the wall
    clock) is simply waited on. A clock held because the desk is behind (``SimulatedClock.hold``) is
    waited on until the desk has caught up: a replay never runs ahead of what was processed. A replay
    late on its own data by more than ``LATE_AFTER_S`` of desk time stops the clock (``late``) until it
    has to wait again (``on_time``), so no mention is stamped much later than it is. A wait shorter than
    ``MIN_SLEEP_S`` of real time is not slept: at high speeds a sleep per mention would cost more than
    the mentions.
    """
    if getattr(clock, "held", False) and not await watch.wait(clock.wait_released()):  # type: ignore[attr-defined]
        return False
    delay = (t - clock.now()).total_seconds()
    if delay / clock.speed < MIN_SLEEP_S:
        late = getattr(clock, "late", None)
        if late is not None and delay < -LATE_AFTER_S:
            late()  # behind its own data: the clock waits for the replay, not the other way round
    else:
        on_time = getattr(clock, "on_time", None)
        if on_time is not None:
            on_time()
        if not await watch.wait(clock.sleep(delay)):
            return False
    advance = getattr(clock, "advance_to", None)
    if advance is not None:
        advance(t)
    return not watch.stopped
