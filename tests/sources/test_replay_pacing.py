"""A replay's clock never runs ahead of the desk: held while the desk is behind, stopped while the
replay is late on its own data, and the snapshot says how far behind the desk is."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from tocsin.config.settings import Settings, TopicSettings
from tocsin.scoring.pipeline import BEHIND_MENTIONS, Pipeline
from tocsin.sources.clock import SimulatedClock
from tocsin.sources.model import Author, Mention, SentimentScore
from tocsin.sources.pacing import StopWatch, wait_until

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


class RealTime:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_held_clock_stands_still_until_released_and_then_runs_on_from_there() -> None:
    real = RealTime()
    clock = SimulatedClock(T0, speed=60, monotonic=real)
    real.now = 1.0
    assert clock.now() == T0 + timedelta(minutes=1)
    clock.hold()
    real.now = 10.0
    assert clock.now() == T0 + timedelta(minutes=1)  # no desk time passes while the desk is behind
    clock.advance_to(T0 + timedelta(minutes=2))  # the data still moves it
    assert clock.now() == T0 + timedelta(minutes=2)
    clock.release()
    real.now = 11.0
    assert clock.now() == T0 + timedelta(minutes=3)  # from where it stood, not from where it would be


async def test_a_replay_waits_for_the_desk_while_the_clock_is_held() -> None:
    clock = SimulatedClock(T0, speed=1e6)
    watch = StopWatch(asyncio.Event())
    clock.hold()
    waiting = asyncio.ensure_future(wait_until(clock, T0 + timedelta(seconds=5), watch))
    await asyncio.sleep(0.05)
    assert not waiting.done()  # held: the next mention waits for the desk
    clock.release()
    assert await asyncio.wait_for(waiting, 1.0)
    assert clock.now() >= T0 + timedelta(seconds=5)
    watch.close()


async def test_a_late_replay_stops_the_clock_instead_of_stamping_mentions_late() -> None:
    real = RealTime()
    clock = SimulatedClock(T0, speed=600, monotonic=real)
    watch = StopWatch(asyncio.Event())
    real.now = 1.0  # the replay was busy a real second: the clock ran 10 desk minutes on its own
    assert await wait_until(clock, T0 + timedelta(seconds=30), watch)  # a mention that was due long ago
    stamped = clock.now()
    real.now = 5.0  # still busy handing out mentions that are due: the clock does not run on
    assert await wait_until(clock, T0 + timedelta(minutes=1), watch)
    assert clock.now() == stamped
    # once the replay is early again (its next mention is ahead), the clock runs and meets it
    assert await wait_until(clock, stamped + timedelta(minutes=5), watch)
    assert clock.now() >= stamped + timedelta(minutes=5)
    watch.close()


async def test_a_burst_handed_out_a_little_late_keeps_the_clock_running_at_the_feeds_pace() -> None:
    """Mentions sharing a timestamp are handed out one after the other: the real time that takes is not
    lost (a replay at 5,000 a second stopped its clock for every burst and ran at 84 % of its pace)."""
    real = RealTime()
    clock = SimulatedClock(T0, speed=1, monotonic=real)
    watch = StopWatch(asyncio.Event())
    real.now = 0.3  # 300 ms spent handing out the mentions due at T0
    assert await wait_until(clock, T0, watch)
    assert clock.now() == T0 + timedelta(seconds=0.3)  # not stopped: the clock keeps the feed's pace
    real.now = 2.0  # and then a real lag, past LATE_AFTER_S: the clock stops for the replay
    assert await wait_until(clock, T0 + timedelta(seconds=0.5), watch)
    stamped = clock.now()
    real.now = 3.0
    assert clock.now() == stamped
    watch.close()


class Slow:
    """A sentiment engine that takes its time, so the desk falls behind."""

    engine = "lexicon"
    note: str | None = None

    def __init__(self) -> None:
        self.gate = asyncio.Event()

    async def score(self, texts: list[str], langs: list[str | None]) -> list[SentimentScore]:
        await self.gate.wait()
        return [SentimentScore("neutral", 0.5, "lexicon") for _ in texts]


async def test_the_desk_says_it_is_behind_and_its_replay_clock_waits() -> None:
    clock = SimulatedClock(T0, speed=100)
    settings = Settings(topics=(TopicSettings(id="brioche", name="Maison Brioche", keywords=("brioche",)),))
    engine = Slow()
    monitor = Pipeline(settings, clock, engine)
    monitor.start()
    try:
        for i in range(BEHIND_MENTIONS + 100):
            at = clock.now()
            m = Mention(
                uid=f"m{i}",
                source="replay",
                text=f"brioche {i}",
                created_at=at,
                received_at=at,
                author=Author(handle=f"a{i % 50}"),
            )
            if not monitor.offer(m):
                break
        assert clock.held  # two batches behind: desk time stops
        snap = monitor.publish_now()
        assert snap.behind is not None and snap.behind.mentions >= BEHIND_MENTIONS
        assert snap.to_json()["behind"]["mentions"] == snap.behind.mentions
        assert "mentions waiting" in snap.behind.words()
        engine.gate.set()  # the desk catches up
        for _ in range(200):
            await asyncio.sleep(0.01)
            if monitor.idle:
                break
        assert monitor.idle and not clock.held
        assert monitor.publish_now().behind is None
    finally:
        await monitor.stop()
