"""The volume detector: is a storm rising on this topic, since when, and how unusual is it?

One ``SpikeDetector`` per topic, fed one count per closed bucket, oldest first (empty buckets as 0).
Causal and online: each ``update`` costs O(number of time scales) and the state is a fixed number of
floats (seasonal profiles, one ring of the last six hours of buckets, two weeks of daily maxima),
whatever the run length. It was designed for crises, measured on real Twitter volumes (NAB realTweets)
and real crisis ramps (CrisisLex) held out from its tuning (figures in the README).

How it judges a bucket, in words:

1. **What is usual.** Counts go through the Anscombe transform ``y = sqrt(count + 3/8)``, which makes
   Poisson-like noise about the same size (sd 1/2) at any rate, so a quiet topic and a busy one are judged
   on the same footing. What is usual for the bucket is ``level + season``: ``level`` an EWMA of the
   de-seasonalised count, ``season`` an hour-of-day profile that gives way to an hour-of-week profile as
   weeks come in. The noise scale is a running mean absolute deviation, never below Poisson noise and
   widened while little has been seen. There is **one** such baseline: the wall's "usual" rate, the
   volume ratio in the level's reasons and the detector's words all come from it.
2. **The baseline does not learn from the storm.** While a storm is on (below), the baseline only moves
   down; a storm that lasts more than ``adapt_after`` becomes the new normal. Outside storms what enters
   the baseline is winsorised, so one odd bucket barely moves it.
3. **Evidence over several time scales.** Each bucket's standardised excess ``r`` is summed over the
   last bucket, 5 and 15 minutes, an hour, three and six hours (CUSUM-like window sums, divided by the square
   root of their length). A window counts only once it holds ``min_excess`` mentions above the usual:
   one angry customer is not a storm. Each scale pays for how many independent windows a day holds
   (``sqrt(2·ln(windows per day))``): a lone five-minute blip must be far stronger than an hour of steady
   excess to score as high, and a ramp accumulates evidence that no single bucket shows.
4. **Calibrated per topic.** The evidence is then judged against the topic's own history: the median of
   its daily maxima over the last two weeks, above ``tail_ref``, is subtracted. A feed whose bots burst
   every day needs more than that to alarm; a quiet one does not; a single past storm does not move the
   median. The result maps to ``score`` with a logistic, 0.5 at ``z_mid``: the desk's watch line.
5. **One alarm per storm.** A score at 0.5 starts a *storm*. While it lasts the score holds at the watch
   line (the alarm stands) and rises above it again only if the storm grows to ``escalate`` times the
   evidence that called it (a second, bigger wave). The storm ends once the last hour's excess has
   fallen to ``rearm_share`` of its peak (or near the usual) for ``rearm_for``: the baseline then starts
   again from where the volume is, the evidence is cleared, and a new rise is a new storm.

The first ``warmup`` only learns (score 0): no judgement before the desk knows what usual is.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from tocsin.config import reasons as r
from tocsin.config.i18n import N_

ANSCOMBE = 3.0 / 8.0
_SD_PER_MAD = math.sqrt(math.pi / 2.0)  # mean absolute deviation → standard deviation, for normal noise
_DAY_NAMES = r.DAY_NAMES
DEFAULT_SCALES = (
    timedelta(0),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=3),
    timedelta(hours=6),
)
"""The windows over which excess is summed (0: one bucket). Each is rounded to whole buckets."""


@dataclass(frozen=True, slots=True)
class DetectorParams:
    """The detector's knobs. Durations are desk time, valid for any bucket from a minute to an hour.

    The defaults were chosen by leave-one-out on the shared development data (see the README): they are
    not tuned to one series."""

    level_halflife: timedelta = timedelta(hours=6)
    """How fast the de-seasonalised level follows the volume outside storms."""
    season_halflife_days: float = 7.0
    """How many days (per hour-of-day slot; weeks per hour-of-week slot) a seasonal offset remembers."""
    scale_halflife: timedelta = timedelta(days=1)
    """How fast the robust noise scale adapts."""
    warmup: timedelta = timedelta(hours=1)
    """Only learn, score 0, for this long after the first bucket (at least two buckets)."""
    clip: float = 2.5
    """Winsorise what enters the baseline at expected ± clip·sigma."""
    min_sigma: float = 0.5
    """Floor of the noise scale in transformed units (0.5 is pure Poisson noise)."""
    scales: tuple[timedelta, ...] = DEFAULT_SCALES
    bucket_cap: float = 6.0
    """One bucket's excess counts at most this many sigmas in a window sum (a blip is not a ramp)."""
    floor_cap: float = 3.0
    """And at least minus this many (one empty bucket does not erase an hour of evidence)."""
    min_excess: float = 30.0
    """Mentions above the usual a window must hold before its evidence counts."""
    tail_days: int = 14
    """Daily maxima of the evidence kept for the per-topic calibration."""
    tail_min_days: int = 3
    """Days of maxima needed before the calibration applies."""
    tail_ref: float = 3.0
    """A typical daily maximum above this much evidence is this topic's burstiness: it is subtracted."""
    z_mid: float = 4.5
    """The evidence (robust sd, after the scale's cost and the calibration) that scores 0.5."""
    z_slope: float = 0.8
    """Steepness of the logistic from evidence to score."""
    escalate: float = 1.5
    """During a storm, evidence this many times that which called it is a new alarm."""
    calm_window: timedelta = timedelta(hours=1)
    """A storm is over once its excess over this window (at least a bucket) …"""
    rearm_share: float = 0.25
    """… is below this share of its peak …"""
    rearm_z: float = 1.0
    """… or below this many sigmas a bucket …"""
    rearm_for: timedelta = timedelta(hours=1)
    """… for this long."""
    adapt_after: timedelta = timedelta(hours=12)
    """A storm longer than this becomes the new normal: the baseline learns again."""
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
    """0–1: a storm rising here. 0.5 is the watch line; it holds there while a storm lasts and goes above
    at its onset and when it grows again (0 while warming up)."""
    baseline: float
    """The usual count for a bucket at this time, before seeing this one."""
    expected_rate: float
    """The usual rate in mentions per minute (``baseline`` per bucket minute)."""
    ratio: float
    """Mentions over the window that carries the evidence against the usual for it (``window``); for
    judging, not shown (the wall shows one ratio: the rate now against ``expected_rate``)."""
    z: float
    """The evidence, in robust standard deviations after the scale's cost and the calibration."""
    surprise: str
    """The judgement in words, e.g. "above the usual for a Saturday 14:00 (last 15 min)"."""
    learning: bool = False
    """True while the detector is still warming up (no judgement yet)."""
    window: timedelta = timedelta(0)
    """The time scale whose evidence is the strongest (one bucket, 15 min, an hour…)."""
    storm_since: datetime | None = None
    """Start of the bucket that called the storm under way (None: no storm)."""
    storm_peak: float = 0.0
    """The highest score since the storm was called (0 outside storms)."""


class SpikeDetector:
    """Causal online storm detector for one topic's per-bucket counts. O(scales) per bucket."""

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
        self.tz = tz or UTC
        """The desk's time zone: seasonal slots and words are in local time."""
        step = bucket.total_seconds()
        self._minutes = step / 60.0
        self._a_level = _alpha(step, p.level_halflife.total_seconds())
        self._a_scale = _alpha(step, p.scale_halflife.total_seconds())
        # Each seasonal slot is visited (slot length / bucket) times per cycle: spread the half-life over
        # the visits so a slot remembers about `season_halflife_days` days (or weeks) of data.
        self._visits_per_hour = max(3600.0 / step, 1.0)
        self._a_season = _alpha(1.0, p.season_halflife_days * self._visits_per_hour)
        self._warmup_buckets = max(2, math.ceil(p.warmup.total_seconds() / step))
        self._season_day = [0.0] * 24
        self._season_week = [0.0] * 168
        self._week_visits = [0] * 168
        self._day_visits = [0] * 24
        self._level: float | None = None
        self._mad = p.min_sigma / _SD_PER_MAD
        self._seen = 0

        # evidence: window sums over a ring of the last `_span` buckets
        hour = max(1, round(3600.0 / step))
        calm = max(1, round(p.calm_window.total_seconds() / step))
        ks = sorted({max(1, round(s.total_seconds() / step)) for s in p.scales} | {hour, calm})
        self._ks = ks
        self._hour_index = ks.index(hour)
        self._calm_index = ks.index(calm)
        per_day = max(86400.0 / step, 2.0)
        self._cost = [math.sqrt(2.0 * math.log(max(per_day / k, 2.0))) for k in ks]
        self._span = ks[-1]
        self._ring_r = [0.0] * self._span  # capped standardised excess per bucket
        self._ring_x = [0.0] * self._span  # excess in mentions per bucket
        self._ring_y = [0.0] * self._span  # de-seasonalised transformed count (to restart the level)
        self._sum_r = [0.0] * len(ks)
        self._sum_x = [0.0] * len(ks)
        self._sum_c = [0.0] * len(ks)  # mentions, for the ratio
        self._ring_c = [0.0] * self._span
        self._filled = 0
        self._pos = 0

        # per-topic calibration: daily maxima of the raw evidence
        self._per_day = max(1, round(86400.0 / step))
        self._day_max = 0.0
        self._maxima: deque[float] = deque(maxlen=max(1, p.tail_days))
        self._burst = 0.0

        # the storm under way
        self._storm_since: datetime | None = None
        self._storm_start = 0
        self._storm_peak_excess = 0.0
        self._storm_peak_score = 0.0
        self._storm_called_at = 0.0
        self._quiet = 0
        self._rearm_buckets = max(1, round(p.rearm_for.total_seconds() / step))
        self._adapt_buckets = max(1, round(p.adapt_after.total_seconds() / step))

    @property
    def warmed_up(self) -> bool:
        return self._seen >= self._warmup_buckets

    @property
    def storm_since(self) -> datetime | None:
        """Start of the bucket that called the storm under way, or None."""
        return self._storm_since

    def expected(self, at: datetime) -> float:
        """The usual count for the bucket starting at ``at`` (0 before any data)."""
        if self._level is None:
            return 0.0
        day_slot, week_slot, _ = self._slots(at)
        return _inverse(self._expected_y(day_slot, week_slot))

    def expected_rate(self, at: datetime) -> float | None:
        """The usual rate (mentions per minute) at ``at``; None while the detector is warming up."""
        if not self.warmed_up:
            return None
        return self.expected(at) / self._minutes

    def update(self, at: datetime, count: float) -> Anomaly:
        """Judge the bucket starting at ``at`` holding ``count`` mentions, then learn from it."""
        if count < 0 or math.isnan(count) or math.isinf(count):
            raise ValueError(f"count must be a finite non-negative number, got {count!r}")
        p = self.params
        day_slot, week_slot, local = self._slots(at)
        y = math.sqrt(count + ANSCOMBE)
        if self._level is None:
            self._level = y  # first bucket: nothing to compare with yet
        season = self._season(day_slot, week_slot)
        expected_y = self._expected_y(day_slot, week_slot)
        baseline = _inverse(expected_y)
        # the noise scale, widened while the baseline rests on little data
        sigma = max(self._mad * _SD_PER_MAD, p.min_sigma) * math.sqrt(1.0 + 1.0 / (1 + self._seen))
        r = (y - expected_y) / sigma
        learning = self._seen < self._warmup_buckets

        evidence, best = self._push(r, count - baseline, count, y - season)
        self._day_max = max(self._day_max, evidence)
        z = evidence - self._burst
        score = 0.0 if learning else _logistic((z - p.z_mid) * p.z_slope)
        if not learning:
            score = self._storm(at, z, score)
        frozen = self._storm_since is not None and self._seen - self._storm_start < self._adapt_buckets
        self._learn(y, expected_y, sigma, day_slot, week_slot, frozen)

        k = self._ks[best]
        usual = max(self._sum_c[best] - self._sum_x[best], 1.0)  # the usual for the window, at least one
        ratio = self._sum_c[best] / usual
        return Anomaly(
            at=at,
            count=count,
            score=score,
            baseline=baseline,
            expected_rate=baseline / self._minutes,
            ratio=ratio,
            z=z,
            surprise=self._describe(count, baseline, ratio, local, learning, k),
            learning=learning,
            window=self.bucket * k,
            storm_since=self._storm_since,
            storm_peak=self._storm_peak_score,
        )

    # --- internals -------------------------------------------------------------------------------

    def _push(self, r_raw: float, excess: float, count: float, y_level: float) -> tuple[float, int]:
        """Add one bucket to the window sums; the strongest evidence over the scales and its index.

        A single bucket is judged on its whole excess; in longer windows each bucket's is capped, so
        that an hour of evidence is an hour of excess, not one blip."""
        p = self.params
        r = min(max(r_raw, -p.floor_cap), p.bucket_cap)
        span, pos = self._span, self._pos
        ring_r, ring_x, ring_c = self._ring_r, self._ring_x, self._ring_c
        filled = min(self._filled + 1, span)
        best, best_i = -math.inf, 0
        min_excess = p.min_excess
        for i, k in enumerate(self._ks):
            if self._filled >= k:  # the bucket k back leaves the window
                old = (pos - k) % span
                self._sum_r[i] -= ring_r[old]
                self._sum_x[i] -= ring_x[old]
                self._sum_c[i] -= ring_c[old]
            self._sum_r[i] += r
            self._sum_x[i] += excess
            self._sum_c[i] += count
            n = min(k, filled)
            s = r_raw if k == 1 else self._sum_r[i] / math.sqrt(n)
            if self._sum_x[i] < min_excess:
                s = min(s, 0.0)
            s -= self._cost[i]
            if s > best:
                best, best_i = s, i
        ring_r[pos], ring_x[pos], ring_c[pos], self._ring_y[pos] = r, excess, count, y_level
        self._pos = (pos + 1) % span
        self._filled = filled
        if self._pos == 0:  # resum now and then so rounding never accumulates
            self._resum()
        return best, best_i

    def _resum(self) -> None:
        span, end = self._span, self._pos
        for i, k in enumerate(self._ks):
            idx = [(end - j - 1) % span for j in range(min(k, self._filled))]
            self._sum_r[i] = math.fsum(self._ring_r[j] for j in idx)
            self._sum_x[i] = math.fsum(self._ring_x[j] for j in idx)
            self._sum_c[i] = math.fsum(self._ring_c[j] for j in idx)

    def _clear_evidence(self) -> None:
        for i in range(len(self._ks)):
            self._sum_r[i] = self._sum_x[i] = self._sum_c[i] = 0.0
        self._filled = 0

    def _recent_level(self) -> float:
        """The median de-seasonalised transformed count over the last hour (a storm that has calmed
        restarts from where the volume sits, not from the first minutes of what follows)."""
        n = min(self._ks[self._hour_index], self._filled)
        if n == 0:
            return -math.inf
        return statistics.median(self._ring_y[(self._pos - j - 1) % self._span] for j in range(n))

    def _storm(self, at: datetime, z: float, score: float) -> float:
        """Start, follow or end the storm; the score to report for this bucket."""
        p = self.params
        calm = self._calm_index
        n = max(1, min(self._ks[calm], self._filled))
        hour_excess = self._sum_x[calm] / n  # mentions per bucket above the usual, last calm_window
        if self._storm_since is None:
            if score >= 0.5:
                self._storm_since, self._storm_start = at, self._seen
                self._storm_peak_excess, self._storm_called_at = hour_excess, z
                self._storm_peak_score, self._quiet = score, 0
            return score
        self._storm_peak_excess = max(self._storm_peak_excess, hour_excess)
        if z >= p.escalate * self._storm_called_at:  # a second, bigger wave: a new alarm
            self._storm_called_at = z
        else:
            score = _logistic((z - p.escalate * self._storm_called_at) * p.z_slope)
        quiet = self._sum_r[calm] / n < p.rearm_z or hour_excess < p.rearm_share * self._storm_peak_excess
        self._quiet = self._quiet + 1 if quiet else 0
        if self._quiet >= self._rearm_buckets:
            # Over: start again from the volume as it is now (the tail of a storm is not a new one),
            # with no evidence carried over.
            assert self._level is not None
            self._level = max(self._level, self._recent_level())
            self._clear_evidence()
            self._storm_since, self._storm_peak_score, self._storm_peak_excess = None, 0.0, 0.0
            return score
        score = max(score, 0.5)  # the alarm stands until the storm is over
        self._storm_peak_score = max(self._storm_peak_score, score)
        return score

    def _slots(self, at: datetime) -> tuple[int, int, datetime]:
        local = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(self.tz)
        return local.hour, local.weekday() * 24 + local.hour, local

    def _season(self, day_slot: int, week_slot: int) -> float:
        # The weekly profile needs weeks to learn; until then lean on the daily one.
        w = min(self._week_visits[week_slot] / (self.params.week_weight_after * self._visits_per_hour), 1.0)
        return w * self._season_week[week_slot] + (1.0 - w) * self._season_day[day_slot]

    def _expected_y(self, day_slot: int, week_slot: int) -> float:
        assert self._level is not None
        return max(self._level + self._season(day_slot, week_slot), math.sqrt(ANSCOMBE))

    def _learn(
        self, y: float, expected_y: float, sigma: float, day_slot: int, week_slot: int, frozen: bool
    ) -> None:
        assert self._level is not None
        p = self.params
        bound = p.clip * sigma
        y_in = min(max(y, expected_y - bound), expected_y + bound)  # one odd bucket barely counts
        season = self._season(day_slot, week_slot)
        if frozen:
            # A storm is not the new normal: the level may only come down. The seasonal profile still
            # takes its winsorised step: a rhythm the desk has not seen yet (the first mornings) is
            # learnt, while one storm moves an hour's slot by at most a clip a visit.
            self._level += self._a_level * (min(y, expected_y) - season - self._level)
        else:
            self._mad += self._a_scale * (min(abs(y - expected_y), bound) - self._mad)
            self._level += self._a_level * (y_in - season - self._level)
        offset = y_in - self._level
        # A running mean until the slot has seen a half-life of data, an EWMA after: the daily profile
        # is usable after the first day instead of converging over weeks. The weekly one starts from
        # it after a week and only takes over as weeks of data come in.
        self._day_visits[day_slot] += 1
        a_day = max(self._a_season, 1.0 / self._day_visits[day_slot])
        self._season_day[day_slot] += a_day * (offset - self._season_day[day_slot])
        if self._day_visits[day_slot] > 7 * self._visits_per_hour:
            # the weekly slot starts from a daily profile a week old (not from the desk's first,
            # half-learnt day) and learns from then on
            if self._week_visits[week_slot] == 0:
                self._season_week[week_slot] = self._season_day[day_slot]
            self._season_week[week_slot] += self._a_season * (offset - self._season_week[week_slot])
            self._week_visits[week_slot] += 1
        self._seen += 1
        if self._seen % self._per_day == 0:  # a day of evidence closed: recalibrate
            self._maxima.append(self._day_max)
            self._day_max = 0.0
            if len(self._maxima) >= p.tail_min_days:
                typical = sorted(self._maxima)[len(self._maxima) // 2]
                self._burst = max(0.0, typical - p.tail_ref)

    def _describe(
        self, count: float, baseline: float, ratio: float, local: datetime, learning: bool, k: int
    ) -> str:
        when = f"{_DAY_NAMES[local.weekday()]} {local:%H:%M}"
        if learning:
            return r.say(r.VOLUME_LEARNING, n=f"{count:g}")
        if baseline < 0.5 and count < 1 and self._storm_since is None:
            return r.say(r.VOLUME_QUIET, when=when)
        # No number here: the wall's one "how many times the usual" is the gauge's (the rate now against
        # this same baseline); a second ratio over another window beside it would read as a contradiction.
        if ratio >= 1.5:
            if k > 1:
                return r.say(r.VOLUME_ABOVE_OVER, when=when, over=_span_words(self.bucket * k))
            return r.say(r.VOLUME_ABOVE, when=when)
        if ratio <= 0.67:
            return r.say(r.VOLUME_BELOW, when=when)
        return r.say(r.VOLUME_USUAL, when=when)


def times(ratio: float) -> str:
    """A ratio in words, the desk's one way: "6.2x", "38x", "100x+" (precise where it means something)."""
    if ratio >= 100:
        return "100x+"
    return f"{ratio:.0f}x" if ratio >= 10 else f"{ratio:.1f}x"


def _span_words(span: timedelta) -> str:
    minutes = round(span.total_seconds() / 60)
    if minutes < 60:
        return r.say(r.OVER_MINUTES, n=minutes)
    hours = minutes / 60
    return r.say(r.OVER_HOURS, hours=f"{hours:g}") if hours != 1 else N_("last hour")


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
