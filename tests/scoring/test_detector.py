"""SpikeDetector behaviour on synthetic series a desk would see (deterministic, seeded)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from tocsin.scoring.detector import Anomaly, DetectorParams, SpikeDetector

START = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)  # a Monday, midnight UTC
MINUTE = timedelta(minutes=1)


def run(
    counts: list[float], bucket: timedelta = MINUTE, params: DetectorParams | None = None
) -> list[Anomaly]:
    d = SpikeDetector(bucket, params)
    return [d.update(START + i * bucket, c) for i, c in enumerate(counts)]


def poisson(rates: list[float], seed: int = 1) -> list[float]:
    rng = np.random.default_rng(seed)
    return [float(x) for x in rng.poisson(rates)]


def test_flat_series_stays_below_the_watch_line() -> None:
    out = run(poisson([20.0] * 3 * 1440))
    judged = [a.score for a in out if not a.learning]
    assert max(judged) < 0.5  # three days of Poisson noise: the odd minute is noticed, never an alarm
    assert sum(s > 0.1 for s in judged) <= 5
    assert not any(a.storm_since for a in out)
    assert out[-1].baseline == pytest.approx(20, rel=0.15)


def test_a_storm_is_called_once_held_while_it_lasts_and_ends_when_it_calms() -> None:
    quiet, storm_len = 2 * 1440, 180
    rates = [5.0] * quiet + [60.0] * storm_len + [5.0] * 600
    out = run(poisson(rates, seed=2))
    rise = out[quiet : quiet + 3]
    assert max(a.score for a in rise) > 0.7, [a.score for a in rise]  # called within three minutes
    called = next(a for a in rise if a.score >= 0.5)
    assert called.storm_since == called.at and "above the usual for a Wednesday" in called.surprise
    # one storm: the score holds at the watch line while it lasts; it goes above again only when the
    # evidence grows half as big again (a few times while the longer windows fill), never every minute
    during = out[quiet + 1 : quiet + storm_len]
    assert all(a.storm_since == called.at for a in during)
    assert all(a.score >= 0.5 for a in during)
    assert sum(a.score > 0.6 for a in during) <= 6
    assert during[-1].storm_peak >= max(a.score for a in rise)
    # the baseline did not learn the storm: three hours in, 60 a minute is still far above the usual
    # (the level is frozen; the hour-of-day profile, two days old, takes bounded winsorised steps)
    assert during[-1].baseline < 10 and during[-1].ratio > 5
    # one-sided: the fall back to normal is not an anomaly, and the storm ends once it has calmed
    after = out[quiet + storm_len :]
    assert max(a.score for a in after) <= 0.5
    assert after[-1].storm_since is None and after[-1].score < 0.05


def test_an_hour_of_steady_excess_outscores_a_lone_blip() -> None:
    quiet = 2 * 1440
    base = poisson([1.0] * (quiet + 120), seed=12)
    blip = list(base)
    blip[quiet] = 12.0  # one minute at twelve times the usual
    ramp = list(base)
    ramp[quiet : quiet + 60] = poisson([2.5] * 60, seed=13)  # an hour at two and a half times
    blip_score = max(a.score for a in run(blip)[quiet : quiet + 60])
    ramp_out = run(ramp)[quiet : quiet + 60]
    assert blip_score < 0.2
    assert max(a.score for a in ramp_out) >= 0.5  # the ramp accumulates evidence no minute shows
    assert max(a.window for a in ramp_out if a.score >= 0.5) >= timedelta(minutes=15)


def test_a_slow_ramp_is_caught_before_its_peak() -> None:
    """A flood or a wildfire: hourly counts that build over a day instead of exploding."""
    hour = timedelta(hours=1)
    days = 5 * 24
    rates = [20.0] * days + [20.0 * 1.15**i for i in range(24)]  # +15 % an hour for a day
    out = run(poisson(rates, seed=14), bucket=hour)
    first = next(i for i, a in enumerate(out) if a.score >= 0.5)
    assert days < first < days + 16  # before the volume has even grown ten-fold
    assert max(a.score for a in out[:days]) < 0.5  # no false alarm in five ordinary days


def test_a_second_wave_after_the_calm_is_a_new_alarm() -> None:
    hour = timedelta(hours=1)
    calm = [2.0] * 72
    wave = [40.0, 60.0, 50.0, 30.0]
    rates = calm + wave + [2.0] * 8 + wave + [2.0] * 10
    out = run(poisson(rates, seed=15), bucket=hour)
    first = out[72 : 72 + 4]
    second = out[72 + 12 : 72 + 16]
    assert max(a.score for a in first) > 0.8
    assert max(a.score for a in second) > 0.8  # not silenced by the memory of the first
    assert second[-1].storm_since is not None and second[-1].storm_since > first[-1].at
    assert out[72 + 12].baseline < 5  # the first wave did not become the usual


def test_a_topic_that_bursts_every_day_needs_more_to_alarm() -> None:
    hour = timedelta(hours=1)
    days = 10
    bursty = poisson([5.0] * 24 * days, seed=16)
    for d in range(days):
        bursty[24 * d + 12] = 80.0  # a bot posting 80 at noon, every day
    steady = poisson([5.0] * 24 * days, seed=16)
    probe = 24 * days + 12
    for series in (bursty, steady):
        series += [*poisson([5.0] * 12, seed=17), 80.0, *poisson([5.0] * 11, seed=18)]
    assert run(steady, bucket=hour)[probe].score > 0.9
    assert run(bursty, bucket=hour)[probe].score < run(steady, bucket=hour)[probe].score
    assert run(bursty, bucket=hour)[probe].score < 0.5  # its daily burst is its normal


def test_daily_rhythm_not_flagged_once_learnt() -> None:
    bucket = timedelta(minutes=5)
    per_day = 288
    rates = [
        2.0 + 60.0 * max(0.0, math.sin(2 * math.pi * (i % per_day) / per_day)) for i in range(9 * per_day)
    ]
    out = run(poisson(rates, seed=3), bucket=bucket)
    later = [a.score for a in out[3 * per_day :]]
    assert max(later) < 0.3
    # the morning climb is expected: the baseline follows the profile, the next Monday too
    noon = out[8 * per_day + per_day // 4]
    assert noon.baseline > 40


def test_zero_heavy_night_jump_is_not_a_storm() -> None:
    per_day = 1440
    day = [0.05 if (i % per_day) < 7 * 60 else 3.0 for i in range(per_day)]
    counts = poisson(day * 4, seed=4)
    night = 4 * per_day + 3 * 60  # 03:00 on day five
    counts += poisson(day, seed=5)
    counts[night] = 3.0
    out = run(counts)
    assert out[night].score < 0.2
    assert max(a.score for a in out[per_day:] if not a.learning) < 0.5


def test_single_outlier_does_not_poison_the_baseline_or_blind_the_detector() -> None:
    quiet = 2 * 1440
    counts = poisson([10.0] * (quiet + 400), seed=6)
    counts[quiet] = 500.0
    out = run(counts)
    assert out[quiet].score > 0.9  # the odd bucket itself is surprising
    assert out[quiet + 300].baseline == pytest.approx(out[quiet - 1].baseline, rel=0.15)
    assert out[quiet + 300].storm_since is None  # over once the hour after it was quiet
    # a real storm two hours later is a storm of its own
    counts2 = [*counts[: quiet + 120], *poisson([70.0] * 30, seed=8)]
    out2 = run(counts2)
    assert max(a.score for a in out2[quiet + 120 : quiet + 123]) > 0.7
    assert out2[-1].storm_since is not None and out2[-1].storm_since >= out2[quiet + 120].at


def test_causal_prefix_scores_do_not_change_when_extended() -> None:
    counts = poisson([8.0] * 1500 + [50.0] * 50 + [8.0] * 200, seed=9)
    short = run(counts[:1520])
    full = run(counts)
    assert [a.score for a in short] == [a.score for a in full[:1520]]


def test_warmup_only_learns() -> None:
    out = run([0.0] * 100 + [300.0], params=DetectorParams(warmup=timedelta(hours=3)))
    assert all(a.learning and a.score == 0.0 for a in out)
    assert out[0].surprise.startswith("learning")


def test_bounded_state_and_bad_counts() -> None:
    d = SpikeDetector(MINUTE)
    for i in range(20000):
        d.update(START + i * MINUTE, float(i % 7))
    # fixed-size state, whatever the run length: profiles, one ring of six hours, two weeks of maxima
    assert len(d._season_week) == 168 and len(d._ring_r) == 360 and len(d._maxima) <= 14
    with pytest.raises(ValueError):
        d.update(START, -1)
    with pytest.raises(ValueError):
        SpikeDetector(timedelta(0))


def test_timezone_names_the_local_hour() -> None:
    from zoneinfo import ZoneInfo

    d = SpikeDetector(MINUTE, DetectorParams(warmup=MINUTE), tz=ZoneInfo("Europe/Paris"))
    d.update(START, 5)
    d.update(START + MINUTE, 5)
    a = d.update(START + 2 * MINUTE, 5)
    assert "Monday 01:02" in a.surprise
