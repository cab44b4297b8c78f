"""The volume spike detector: is this bucket's mention count a storm starting?

One ``SpikeDetector`` per topic, fed one count per closed bucket, oldest first (empty buckets as 0).
It is causal and online: each ``update`` costs O(1) and the state is a fixed number of floats
(a 168-slot hour-of-week profile, a 24-slot hour-of-day profile and a few scalars), whatever the run length.

How it judges a bucket, in words:

1. Counts are put through the Anscombe transform ``y = sqrt(count + 3/8)``. For Poisson-like counts
   this makes the noise about the same size (sd 1/2) whatever the rate, so a jump from 0 to 3 at night
   and a jump from 300 to 303 at noon are judged on the same footing.
2. What is usual for this bucket is ``expected = level + season``: ``level`` is an EWMA of the
   de-seasonalised transformed count (the recent days' volume), ``season`` an online EWMA profile of
   the offset at this hour of the day, and, once a few weeks have been seen, this hour of the week
   (Saturday afternoons are not Monday mornings). The residual ``y - expected`` is divided by a robust
   scale: an EWMA of the absolute residual (a running mean absolute deviation), never below the
   Poisson floor.
3. Only upward surprise counts (a storm is a rise; a quiet hour is not news). What enters the
   baseline is winsorised to ``expected ± clip·sigma``, so one odd bucket barely moves it, while a
   lasting change is still learnt, a clipped step at a time.
4. The surprise ``z`` is then judged against the topic's own burstiness: divided by the RMS of its
   recent surprises (``tail_halflife``, floored at 1). A feed that bursts every day needs a bigger
   burst to alarm than one that never does.
5. Re-firing during a long storm is damped: the detector remembers the largest surprise it recently
   reported (decaying with ``memory_halflife``) and scores a bucket by how far it goes *beyond* that
   memory. The onset of a storm scores high; its hundredth bucket at the same height does not; a
   second, bigger wave does.
6. What is left maps to a score in [0, 1] with a logistic centred on ``z_mid`` (defaults: 2 → ~0.1,
   4 → 0.5, 6 → ~0.9).

The first ``warmup`` of data only learns (score 0): no judgement before the desk knows what usual is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

ANSCOMBE = 3.0 / 8.0
_SD_PER_MAD = math.sqrt(math.pi / 2.0)  # mean absolute deviation → standard deviation, for normal noise
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True, slots=True)
class DetectorParams:
    """The detector's knobs. Durations are desk time; the defaults suit 1-minute to 5-minute buckets."""

    level_halflife: timedelta = timedelta(hours=6)
    """How fast the de-seasonalised level follows the volume (days-long drifts, not a storm's rise)."""
    season_halflife_days: float = 7.0
    """How many days (per hour-of-day slot; weeks per hour-of-week slot) a seasonal offset remembers."""
    scale_halflife: timedelta = timedelta(days=1)
    """How fast the robust noise scale adapts."""
    memory_halflife: timedelta = timedelta(days=1)
    """How long a reported surprise damps later ones (so a long storm does not fire on every bucket)."""
    tail_halflife: timedelta = timedelta(days=14)
    """Surprise is judged against this topic's own history of surprises (their RMS over this half-life):
    a topic that bursts every day needs a bigger burst to alarm than one that never does."""
    warmup: timedelta = timedelta(hours=2)
    """Only learn, score 0, for this long after the first bucket."""
    clip: float = 2.5
    """Winsorise what enters the baseline at expected ± clip·sigma."""
    min_sigma: float = 0.5
    """Floor of the noise scale in transformed units (0.5 is pure Poisson noise)."""
    z_mid: float = 4.0
    """The surprise (robust sd) that scores 0.5."""
    z_slope: float = 1.1
    """Steepness of the logistic from surprise to score."""
    week_weight_after: float = 3.0
    """Weeks of data per hour-of-week slot after which the weekly profile fully replaces the daily one."""


@dataclass(frozen=True, slots=True)
class Anomaly:
    """The detector's judgement of one bucket."""

    at: datetime
    """Start of the bucket (aware UTC)."""
    count: float
    """Mentions in the bucket."""
    score: float
    """0–1: how strongly this bucket looks like a storm rising (0 while warming up)."""
    baseline: float
    """The usual count for a bucket at this time, before seeing this one."""
    expected_rate: float
    """The usual rate in mentions per minute (``baseline`` per bucket minute)."""
    ratio: float
    """``count / baseline`` (baseline floored at one mention per bucket to keep quiet hours sane)."""
    z: float
    """Upward surprise in robust standard deviations (0 when the count is at or below usual)."""
    surprise: str
    """The judgement in words, e.g. "6.2x the usual for a Saturday 14:00"."""
    learning: bool = False
    """True while the detector is still warming up (no judgement yet)."""


class SpikeDetector:
    """Causal online volume anomaly detector for one topic's per-bucket counts. O(1) per bucket."""

    def __init__(
        self,
        bucket: timedelta = timedelta(minutes=1),
        params: DetectorParams | None = None,
        *,
        tz: tzinfo | None = None,
    ) -> None:
        if bucket <= timedelta(0):
            raise ValueError("bucket must be positive")
        self.bucket = bucket
        self.params = p = params or DetectorParams()
        self._tz = tz or UTC
        per_bucket = bucket.total_seconds()
        self._a_level = _alpha(per_bucket, p.level_halflife.total_seconds())
        self._a_scale = _alpha(per_bucket, p.scale_halflife.total_seconds())
        self._decay_memory = 0.5 ** (per_bucket / max(p.memory_halflife.total_seconds(), per_bucket))
        # Each seasonal slot is visited (slot length / bucket) times per cycle: spread the half-life over
        # the visits so a slot remembers about `season_halflife_days` days (or weeks) of data.
        visits_per_hour = max(3600.0 / per_bucket, 1.0)
        self._a_day = _alpha(1.0, p.season_halflife_days * visits_per_hour)
        self._a_week = _alpha(1.0, p.season_halflife_days * visits_per_hour)
        self._warmup_buckets = max(1, math.ceil(p.warmup.total_seconds() / per_bucket))
        self._season_day = [0.0] * 24
        self._season_week = [0.0] * 168
        self._week_visits = [0] * 168
        self._day_visits = [0] * 24
        self._level: float | None = None
        self._mad = p.min_sigma / _SD_PER_MAD
        self._memory = 0.0
        self._memory_before = 0.0
        self._last_relative = 0.0
        self._lone = False
        self._tail = 1.0
        self._a_tail = _alpha(per_bucket, p.tail_halflife.total_seconds())
        self._seen = 0

    @property
    def warmed_up(self) -> bool:
        return self._seen >= self._warmup_buckets

    def expected(self, at: datetime) -> float:
        """The usual count for the bucket starting at ``at`` (0 before any data)."""
        if self._level is None:
            return 0.0
        day_slot, week_slot, _ = self._slots(at)
        return _inverse(self._expected_y(day_slot, week_slot))

    def update(self, at: datetime, count: float) -> Anomaly:
        """Judge the bucket starting at ``at`` holding ``count`` mentions, then learn from it."""
        if count < 0 or math.isnan(count):
            raise ValueError(f"count must be a non-negative number, got {count!r}")
        p = self.params
        day_slot, week_slot, local = self._slots(at)
        y = math.sqrt(count + ANSCOMBE)
        if self._level is None:
            self._level = y  # first bucket: nothing to compare with yet
        expected_y = self._expected_y(day_slot, week_slot)
        sigma = max(self._mad * _SD_PER_MAD, p.min_sigma)
        resid = y - expected_y
        z = max(resid / sigma, 0.0)
        learning = self._seen < self._warmup_buckets

        # Judge the surprise against this topic's usual burstiness, then score only what goes beyond
        # the surprise recently reported (decaying), so a long storm fires at its rise, not all along.
        relative = z / math.sqrt(max(self._tail, 1.0))
        self._memory *= self._decay_memory
        self._memory_before *= self._decay_memory
        if relative < 1.0 and self._last_relative >= 1.0 and self._lone:
            # The surprise of the last bucket did not last: a lone odd bucket must not blind the
            # detector to a real storm that follows it, so forget it.
            self._memory = self._memory_before
        score = 0.0 if learning else _logistic((relative - self._memory - p.z_mid) * p.z_slope)
        if not learning:
            self._tail += self._a_tail * (z * z - self._tail)
            if relative >= 1.0 and self._last_relative < 1.0:
                self._memory_before, self._lone = self._memory, True
            else:
                self._lone = False
            self._memory = max(self._memory, relative)
        self._last_relative = relative

        self._learn(y, expected_y, sigma, day_slot, week_slot)
        baseline = _inverse(expected_y)
        minutes = self.bucket.total_seconds() / 60.0
        ratio = count / max(baseline, 1.0)
        return Anomaly(
            at=at,
            count=count,
            score=score,
            baseline=baseline,
            expected_rate=baseline / minutes,
            ratio=ratio,
            z=z,
            surprise=self._describe(count, baseline, ratio, local, learning),
            learning=learning,
        )

    # --- internals -------------------------------------------------------------------------------

    def _slots(self, at: datetime) -> tuple[int, int, datetime]:
        local = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(self._tz)
        return local.hour, local.weekday() * 24 + local.hour, local

    def _season(self, day_slot: int, week_slot: int) -> float:
        # The weekly profile needs weeks to learn; until then lean on the daily one.
        w = min(self._week_visits[week_slot] / (self.params.week_weight_after * self._visits_per_slot()), 1.0)
        return w * self._season_week[week_slot] + (1.0 - w) * self._season_day[day_slot]

    def _visits_per_slot(self) -> float:
        return max(3600.0 / self.bucket.total_seconds(), 1.0)

    def _expected_y(self, day_slot: int, week_slot: int) -> float:
        assert self._level is not None
        return max(self._level + self._season(day_slot, week_slot), math.sqrt(ANSCOMBE))

    def _learn(self, y: float, expected_y: float, sigma: float, day_slot: int, week_slot: int) -> None:
        assert self._level is not None
        p = self.params
        bound = p.clip * sigma
        y_in = min(max(y, expected_y - bound), expected_y + bound)  # winsorised: one odd bucket barely counts
        self._mad += self._a_scale * (min(abs(y - expected_y), bound) - self._mad)
        season = self._season(day_slot, week_slot)
        self._level += self._a_level * (y_in - season - self._level)
        offset = y_in - self._level
        # A running mean until the slot has seen a half-life of data, an EWMA after: the daily profile
        # is usable after the first day instead of converging over weeks. The weekly one starts from
        # it and only takes over as weeks of data come in.
        self._day_visits[day_slot] += 1
        a_day = max(self._a_day, 1.0 / self._day_visits[day_slot])
        self._season_day[day_slot] += a_day * (offset - self._season_day[day_slot])
        if self._week_visits[week_slot] == 0:
            self._season_week[week_slot] = self._season_day[day_slot]
        self._season_week[week_slot] += self._a_week * (offset - self._season_week[week_slot])
        self._week_visits[week_slot] += 1
        self._seen += 1

    def _describe(self, count: float, baseline: float, ratio: float, local: datetime, learning: bool) -> str:
        when = f"{_DAY_NAMES[local.weekday()]} {local:%H:%M}"
        if learning:
            return f"learning the usual volume ({count:g} mentions)"
        if baseline < 0.5 and count < 1:
            return f"quiet, as usual for a {when}"
        if ratio >= 1.5:
            return f"{ratio:.1f}x the usual for a {when}"
        if ratio <= 0.67:
            return f"below the usual for a {when}"
        return f"usual for a {when}"


def _alpha(step: float, halflife: float) -> float:
    """EWMA weight for one step so that old data halves every ``halflife`` (same unit as ``step``)."""
    if halflife <= step:
        return 1.0
    return 1.0 - 0.5 ** (step / halflife)


def _inverse(y: float) -> float:
    """Back from the Anscombe scale to a count (clamped at 0)."""
    return max(y * y - ANSCOMBE, 0.0)


def _logistic(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)
