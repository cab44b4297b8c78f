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


def test_flat_series_scores_low() -> None:
    out = run(poisson([20.0] * 3 * 1440))
    judged = [a.score for a in out if not a.learning]
    assert max(judged) < 0.3  # the odd Poisson 40-against-20 minute is noticed, never alarming
    assert sum(s > 0.1 for s in judged) <= 3
    assert out[-1].baseline == pytest.approx(20, rel=0.15)


def test_step_rise_scores_at_the_rise_not_the_turn_down() -> None:
    quiet, storm_len = 2 * 1440, 180
    rates = [5.0] * quiet + [60.0] * storm_len + [5.0] * 600
    out = run(poisson(rates, seed=2))
    rise = out[quiet : quiet + 3]
    assert max(a.score for a in rise) > 0.9, [a.score for a in rise]
    # the storm keeps going: it is not re-announced every minute
    assert max(a.score for a in out[quiet + 30 : quiet + storm_len]) < 0.5
    # one-sided: the fall back to normal is not an anomaly
    assert max(a.score for a in out[quiet + storm_len : quiet + storm_len + 60]) < 0.05
    assert "x the usual for a Wednesday" in rise[0].surprise


def test_daily_rhythm_not_flagged_once_learnt() -> None:
    bucket = timedelta(minutes=5)
    per_day = 288
    rates = [
        2.0 + 60.0 * max(0.0, math.sin(2 * math.pi * (i % per_day) / per_day)) for i in range(9 * per_day)
    ]
    out = run(poisson(rates, seed=3), bucket=bucket)
    later = [a.score for a in out[3 * per_day :]]
    assert max(later) < 0.3
    # the morning climb is expected: the baseline follows the profile
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
    assert max(a.score for a in out[quiet + 1 : quiet + 300]) < 0.2
    assert out[quiet + 300].baseline == pytest.approx(out[quiet - 1].baseline, rel=0.15)
    # a real storm an hour later is still caught
    counts2 = [*counts[: quiet + 60], *poisson([70.0] * 30, seed=8)]
    out2 = run(counts2)
    assert max(a.score for a in out2[quiet + 60 : quiet + 63]) > 0.9


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
    assert len(vars(d)) < 40 and len(d._season_week) == 168  # fixed-size state, whatever the run length
    with pytest.raises(ValueError):
        d.update(START, -1)
    with pytest.raises(ValueError):
        SpikeDetector(timedelta(0))


def test_timezone_names_the_local_hour() -> None:
    from zoneinfo import ZoneInfo

    d = SpikeDetector(MINUTE, DetectorParams(warmup=MINUTE), tz=ZoneInfo("Europe/Paris"))
    d.update(START, 5)
    a = d.update(START + MINUTE, 5)
    assert "Monday 01:01" in a.surprise
