"""The gap alarm: a source that goes quiet for much longer than its own normal, or stays disconnected,
says so in its status (snapshots, headless output and the wall read it). Driven by a ManualClock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

from tocsin.config.text import duration_str
from tocsin.sources.base import GapAlarm, Source, SourceHealth, SourceState
from tocsin.sources.clock import ManualClock
from tocsin.sources.model import Mention


def steady(clock: ManualClock, health: SourceHealth, every: float = 10.0, n: int = 20) -> None:
    """``n`` events, one every ``every`` seconds of desk time."""
    for _ in range(n):
        clock.advance(every)
        health.event()


def test_a_source_that_stops_after_steady_events_raises_the_warning() -> None:
    clock = ManualClock()
    health = SourceHealth(clock)
    health.set_state(SourceState.LIVE)
    steady(clock, health)
    assert health.typical_gap is not None and 9.0 <= health.typical_gap <= 11.0
    clock.advance(60)
    assert health.gap_warning() is None  # a minute is within a 10 s source's floor of two
    clock.advance(120)  # three minutes without a word
    status = health.status("masto", "mastodon")
    assert status.gap_warning == "silent 3 min (usually every 10 s)"
    assert status.to_json()["gap_warning"] == "silent 3 min (usually every 10 s)"
    health.event()  # it speaks again: the alarm clears
    assert health.status("masto", "mastodon").gap_warning is None


def test_the_threshold_scales_with_the_source_own_rhythm() -> None:
    clock = ManualClock()
    health = SourceHealth(clock)
    health.set_state(SourceState.LIVE)
    steady(clock, health, every=60.0)  # one event a minute: 9 min of quiet can still happen by chance
    clock.advance(9 * 60 + 50)
    assert health.gap_warning() is None
    clock.advance(20)
    assert health.gap_warning() == "silent 10 min (usually every 60 s)"


def test_an_accelerated_clock_does_not_take_a_pause_of_the_machine_for_silence() -> None:
    """The demo runs about 42 desk seconds per real second: a 3-second stall of the pipeline (a worker
    starting) would look like two minutes of silence."""

    class Fast(ManualClock):
        speed = 42.0

    clock = Fast()
    health = SourceHealth(clock)
    health.set_state(SourceState.LIVE)
    steady(clock, health)
    clock.advance(6 * 60)  # under 10 real seconds
    assert health.gap_warning() is None
    clock.advance(90)
    assert health.gap_warning() == "silent 7 min (usually every 10 s)"
    health.set_state(SourceState.RECONNECTING)  # still silent: the warning says both, and stays up
    assert health.gap_warning() == "silent 7 min (usually every 10 s), reconnecting"

    fresh = SourceHealth(clock)  # a source that never got going: only the time stuck counts
    clock.advance(6 * 60)
    assert fresh.gap_warning() is None
    clock.advance(2 * 60)
    assert fresh.gap_warning() == "connecting for 8 min"


def test_no_alarm_before_the_normal_is_learned() -> None:
    clock = ManualClock()
    health = SourceHealth(clock)
    health.set_state(SourceState.LIVE)
    steady(clock, health, n=3)
    clock.advance(3600)
    assert health.typical_gap is None and health.gap_warning() is None


def test_a_poll_page_counts_as_one_arrival() -> None:
    """A feed polled every 5 minutes delivers pages of items at once: its normal is the poll interval,
    so 6 minutes between pages does not alarm (it would with a typical gap of zero)."""
    clock = ManualClock()
    health = SourceHealth(clock)
    health.set_state(SourceState.LIVE)
    for _ in range(10):
        clock.advance(300)
        for _ in range(8):
            health.event()
            clock.advance(0.01)
    assert health.typical_gap is not None and 290 <= health.typical_gap <= 310
    clock.advance(360)
    assert health.gap_warning() is None


def test_finished_and_stopped_sources_never_alarm() -> None:
    clock = ManualClock()
    for state in (SourceState.FINISHED, SourceState.STOPPED):
        health = SourceHealth(clock)
        health.set_state(SourceState.LIVE)
        steady(clock, health)
        health.set_state(state)
        clock.advance(3 * 3600)
        assert health.status("demo", "demo").gap_warning is None, state


def test_reconnecting_past_the_limit_alarms() -> None:
    clock = ManualClock()
    health = SourceHealth(clock)
    health.set_state(SourceState.LIVE)
    steady(clock, health, every=60.0)  # a slow source: its silence line is 10 min, the stuck one 2 min
    health.set_state(SourceState.RECONNECTING, "HTTP 503")
    clock.advance(30)
    health.set_state(SourceState.RECONNECTING, "HTTP 503")  # another failed attempt: same outage
    clock.advance(60)
    assert health.gap_warning() is None  # 90 s: not past the 2-minute limit
    clock.advance(60)
    assert health.gap_warning() == "reconnecting for 2 min"
    clock.advance(10 * 60)
    assert health.gap_warning() == "silent 12 min (usually every 60 s), reconnecting"  # 750 s
    assert health.reconnects == 1


def test_a_busy_source_that_drops_is_silent_first() -> None:
    clock = ManualClock()
    health = SourceHealth(clock)
    health.set_state(SourceState.LIVE)
    steady(clock, health, every=2.0)  # busy: the silence floor (2 min) applies, not 10 × 2 s
    health.set_state(SourceState.RECONNECTING, "reset by peer")
    clock.advance(100)
    assert health.gap_warning() is None
    clock.advance(30)
    assert health.gap_warning() == "silent 2 min (usually every 2 s), reconnecting"


def test_connecting_forever_and_failed_alarm() -> None:
    clock = ManualClock()
    health = SourceHealth(clock)
    clock.advance(60)
    assert health.gap_warning() is None
    clock.advance(120)
    assert health.gap_warning() == "connecting for 3 min"
    health.set_state(SourceState.FAILED, "HTTP 401")
    assert health.gap_warning() == "failed"


def test_an_outage_does_not_teach_that_outages_are_normal() -> None:
    clock = ManualClock()
    health = SourceHealth(clock)
    health.set_state(SourceState.LIVE)
    steady(clock, health)
    typical = health.typical_gap
    health.set_state(SourceState.RECONNECTING, "reset by peer")
    clock.advance(1800)
    health.event()  # back, after half an hour: that gap is not learned
    assert health.state is SourceState.LIVE
    assert health.typical_gap == typical
    # And a long quiet spell while live teaches at most up to the alarm line.
    clock.advance(3600)
    health.event()
    assert health.typical_gap is not None and health.typical_gap < 30


def test_the_alarm_is_configurable() -> None:
    clock = ManualClock()
    alarm = GapAlarm(factor=3.0, floor=timedelta(seconds=30), min_gaps=2)
    health = SourceHealth(clock, alarm=alarm)
    health.set_state(SourceState.LIVE)
    steady(clock, health, n=4)
    clock.advance(35)
    assert health.gap_warning() == "silent 35 s (usually every 10 s)"


async def test_a_source_status_carries_the_warning() -> None:
    class Quiet(Source):
        kind = "quiet"

        async def stream(self) -> AsyncIterator[Mention]:  # pragma: no cover - never iterated here
            if False:
                yield

    clock = ManualClock()
    source = Quiet("q", clock)
    source.health.set_state(SourceState.LIVE)
    steady(clock, source.health)
    clock.advance(600)
    assert source.status().gap_warning == "silent 10 min (usually every 10 s)"
    await source.stop()
    assert source.status().gap_warning is None


def test_spans_read_like_an_operator_says_them() -> None:
    assert duration_str(4.2, "spoken") == "4 s"
    assert duration_str(89, "spoken") == "89 s"
    assert duration_str(150, "spoken") == "2 min"  # whole minutes gone by
    assert duration_str(12 * 60 + 10, "spoken") == "12 min"
    assert duration_str(2 * 3600 + 5 * 60, "spoken") == "2 h 05"
