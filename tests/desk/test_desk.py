"""The Desk end to end with sources and a scorer of our own (the real ones: test_desk_real.py)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from tests.fakes import T0, FakeSentiment, ListSource, mention, settings_with
from tocsin.desk.desk import PUMP_STEP, Desk
from tocsin.sources.base import SourceState
from tocsin.sources.clock import ManualClock


def storm(source: str, n: int, start=T0):
    return [
        mention(
            f"maison brioche scandale {i}",
            uid=f"{source}-{i}",
            source=source,
            at=start + timedelta(seconds=i),
            handle=f"{source}{i % 7}",
        )
        for i in range(n)
    ]


async def until(predicate, within: float = 5.0) -> None:
    """Poll a condition of the running desk (real time), failing after ``within`` seconds."""
    for _ in range(int(within / 0.005)):
        if predicate():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition not reached in time")


async def wait_finished(desk: Desk) -> None:
    await until(lambda: desk.finished)


async def test_desk_runs_sources_to_the_end_and_stops_cleanly():
    clock = ManualClock(T0 + timedelta(minutes=2))
    scorer = FakeSentiment()
    a = ListSource("a", clock, storm("a", 60))
    b = ListSource("b", clock, storm("b", 40))
    desk = Desk(settings_with(), clock=clock, sources=[a, b], sentiment=scorer)
    batches = []
    desk.add_batch_listener(batches.append)
    assert not desk.finished
    await desk.start()
    assert scorer.started
    await wait_finished(desk)
    await desk.stop()
    await desk.stop()  # idempotent
    assert scorer.closed
    snap = desk.snapshot()
    assert snap.topics["brioche"].mentions == 100
    assert snap.seq == 100
    states = {k: s.state for k, s in snap.sources.items()}
    assert states == {"a": SourceState.FINISHED, "b": SourceState.FINISHED}
    assert len(desk.feed_since(0, limit=1000)) == 100
    assert sum(len(b) for b in batches) == 100
    leftover = [t for t in asyncio.all_tasks() if t.get_name().startswith("tocsin-")]
    assert leftover == []


async def test_a_failing_source_is_marked_failed_and_the_others_go_on():
    clock = ManualClock(T0 + timedelta(minutes=2))
    bad = ListSource("bad", clock, storm("bad", 5), error=ConnectionResetError("peer went away"))
    good = ListSource("good", clock, storm("good", 30))
    desk = Desk(settings_with(), clock=clock, sources=[bad, good], sentiment=FakeSentiment())
    await desk.start()
    await wait_finished(desk)
    await desk.stop()
    sources = desk.snapshot().sources
    assert sources["bad"].state == SourceState.FAILED
    assert "peer went away" in (sources["bad"].last_error or "")
    assert sources["good"].state == SourceState.FINISHED
    assert desk.snapshot().topics["brioche"].mentions == 35


async def test_stop_ends_a_live_source_that_never_finishes():
    clock = ManualClock(T0 + timedelta(minutes=2))
    live = ListSource("live", clock, storm("live", 10), hold_open=True)
    desk = Desk(settings_with(), clock=clock, sources=[live], sentiment=FakeSentiment())
    await desk.start()
    await until(lambda: desk.snapshot().seq >= 10)
    assert not desk.finished
    await asyncio.wait_for(desk.stop(), 5)
    assert desk.snapshot().sources["live"].state == SourceState.STOPPED
    assert desk.snapshot().topics["brioche"].mentions == 10


async def test_stop_before_start_is_harmless():
    clock = ManualClock(T0)
    desk = Desk(settings_with(), clock=clock, sources=[], sentiment=FakeSentiment())
    await desk.stop()
    assert not desk.finished


class BurstSource(ListSource):
    """Hands its whole list out without ever awaiting (a file chunk, a replay catching up)."""

    async def stream(self):
        self.health.set_state(SourceState.LIVE)
        for m in self.mentions:
            self.health.event()
            yield m
        self.health.set_state(SourceState.FINISHED)


async def test_a_burst_from_a_source_never_holds_the_loop_for_long():
    clock = ManualClock(T0 + timedelta(minutes=2))
    n = 10 * PUMP_STEP
    source = BurstSource("a", clock, storm("a", n))
    desk = Desk(settings_with(), clock=clock, sources=[source], sentiment=FakeSentiment())
    turns = 0
    done = asyncio.Event()

    async def other_work() -> None:  # a key press, a frame: anything else the loop runs
        nonlocal turns
        while not done.is_set():
            turns += 1
            await asyncio.sleep(0)

    other = asyncio.create_task(other_work())
    await desk.start()
    await until(lambda: source.health.state is SourceState.FINISHED)
    done.set()
    await other
    await wait_finished(desk)
    await desk.stop()
    assert desk.snapshot().topics["brioche"].mentions == n
    assert turns >= n // PUMP_STEP  # the loop ran between every step of the burst
