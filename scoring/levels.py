"""Crisis level per topic — calm, watch, alert, crisis — with hysteresis and its reasons in words.

The rules (thresholds from ``scoring.levels``; "volume" means rate ≥ ``min_rate_per_min`` from at least
3 distinct authors, so one angry customer is never more than calm on volume alone). Volume raises a level
only when the volume detector says so — a storm it has called, or a score ≥ ``anomaly_watch`` — and the
ratio that grades it is against the detector's own baseline: the wall, the reasons and the detector
tell one story, never "150x" beside "usual".

- **watch** when any of: a volume rise (the detector's storm, with the rate at ``watch_ratio``× its
  baseline, or a detector score ≥ ``anomaly_watch``);
  a watchlist account (journalist, activist, official…) in the conversation; a macro or mega account
  negative; volume with the negative share souring by ``negative_rise`` over its usual value; a
  copy-paste wave of ``campaign_accounts`` accounts.
- **alert** needs ``alert_min_authors`` distinct authors, volume and a hostile crowd (negative share ≥
  ``negative_share``, or souring), plus any of: ``alert_ratio``× volume or a detector score ≥
  ``anomaly_alert``; a watch-level rise with a watchlist account or an influential account negative; a
  copy-paste wave twice the watch size. A ``crisis_ratio`` rise that is not hostile stops at alert.
- **crisis** needs ``crisis_min_authors`` distinct authors and a hostile crowd, plus ``crisis_ratio``×
  volume, or an alert-level rise with two watchlist accounts or two influential accounts negative; and
  the storm must not be long past its height: the rate at least ``CRISIS_PEAK_SHARE`` of its recent peak
  (a storm that has shrunk to a fraction of its peak, still far above the usual, is an alert: the
  brand's answer is out, the crowd is moving on, people can stand down from "wake everyone up"); and
  an alert needs it at ``ALERT_PEAK_SHARE`` of its recent peak, so a second wave is an alert again.

Hysteresis: a level is entered on these thresholds but kept on thresholds relaxed by ``exit_factor``;
once even those fail, it steps down only after ``hold`` has passed since they last held. Rising is
immediate. Every state carries the facts that justify it ("volume 6.2x baseline", "71 % negative",
"2 journalists", "copy-paste wave: 23 accounts").
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType

from tocsin.config import reasons as r
from tocsin.config.settings import LEVELS, Level, LevelSettings
from tocsin.scoring.detector import times

MIN_AUTHORS_FOR_VOLUME = 3
BASELINE_FLOOR_PER_MIN = 0.1
"""A baseline below this (a quiet topic) is taken as this, so 2 mentions against 0.01 is not 200x."""


def volume_ratio(rate_per_min: float, baseline_per_min: float) -> float:
    """The rate against the usual, the one way every figure on the desk computes it."""
    return rate_per_min / max(baseline_per_min, BASELINE_FLOOR_PER_MIN)


INFLUENCER_NEGATIVE = "influencer_negative"
"""``Involvement`` kind for a macro or mega account with a negative mention."""
CRISIS_PEAK_SHARE = 1 / 3
"""A crisis needs the rate at this share of its recent peak at least (kept down to 1/4 with the default
``exit_factor``)."""
ALERT_PEAK_SHARE = 1 / 10
"""An alert needs the rate at this share of its recent peak at least: a storm that has fallen to a tenth
of its height (the point where a crisis wave is taken to have ended) is watched, not alerted on, so that
a second wave is an alert again."""


@dataclass(frozen=True, slots=True)
class TopicSignals:
    """What the pipeline knows about one topic right now (windows are the pipeline's)."""

    rate_per_min: float
    baseline_per_min: float | None
    """What is usual now, the volume detector's baseline (None while it learns)."""
    anomaly: float = 0.0
    """The volume detector's score, 0–1 (the storm's highest, else the highest of the last 15 minutes)."""
    anomaly_note: str | None = None
    """The detector's words for it ("storm since 09:41: above the usual for a Saturday 09:41 …")."""
    storm: bool = False
    """The volume detector has called a storm that is still under way."""
    unique_authors: int = 0
    """Distinct authors over the last hour."""
    negative_share: float | None = None
    """Share of negative mentions over the sentiment window (None before any is scored)."""
    usual_negative_share: float | None = None
    """The usual negative share (e.g. over the last day), for souring."""
    watchlist: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    """Role → distinct watchlist accounts in the conversation over the window."""
    influencers_negative: int = 0
    """Distinct macro or mega accounts with a negative mention over the window."""
    campaign_accounts: int = 0
    """Distinct accounts in the largest live copy-paste wave."""
    peak_rate_per_min: float | None = None
    """The highest rate of the last few hours (None when not followed)."""


@dataclass(frozen=True, slots=True)
class LevelState:
    level: Level
    reasons: tuple[str, ...]
    changed: bool
    """True when this update changed the level."""
    previous: Level
    """The level before this update."""
    since: datetime
    """When the current level was entered."""


class Involvement:
    """Who of note took part over a sliding window: watchlist accounts by role, influential accounts
    that were negative. Feeds ``TopicSignals.watchlist`` and ``influencers_negative``. Memory is bounded by
    the distinct accounts seen within the window (notable accounts are few)."""

    def __init__(self, window: timedelta = timedelta(hours=1)) -> None:
        self.window = window
        self._last: dict[tuple[str, str], datetime] = {}  # (kind, handle) → last seen
        self._order: deque[tuple[datetime, tuple[str, str]]] = deque()

    def add(self, kind: str, handle: str, at: datetime) -> None:
        """Note ``handle`` as ``kind`` (a watchlist role, or ``influencer_negative``) at ``at``."""
        key = (kind, handle.casefold())
        self._last[key] = max(at, self._last.get(key, at))
        self._order.append((at, key))

    def counts(self, now: datetime) -> dict[str, int]:
        """Kind → distinct accounts seen within the window ending at ``now``."""
        horizon = now - self.window
        while self._order and self._order[0][0] < horizon:
            _, key = self._order.popleft()
            if self._last.get(key, now) < horizon:
                del self._last[key]
        out: dict[str, int] = {}
        for kind, _ in self._last:
            out[kind] = out.get(kind, 0) + 1
        return out

    def signals(self, now: datetime) -> tuple[dict[str, int], int]:
        """(watchlist role → accounts, influential accounts negative) for ``TopicSignals``."""
        counts = self.counts(now)
        negative = counts.pop(INFLUENCER_NEGATIVE, 0)
        return counts, negative


class LevelTracker:
    """One topic's level over time. ``update`` once per snapshot with the topic's signals."""

    def __init__(self, settings: LevelSettings | None = None, *, start: datetime | None = None) -> None:
        self.settings = settings or LevelSettings()
        self.level: Level = "calm"
        self._since = start
        self._last_held: datetime | None = None

    def update(self, now: datetime, signals: TopicSignals) -> LevelState:
        """Judge the topic at ``now``; returns the level, its reasons and whether it changed."""
        previous = self.level
        current = LEVELS.index(previous)
        since = self._since or now
        entered, reasons = assess(signals, self.settings, relax=1.0)
        if entered > current:
            self._set(entered, now)
            return LevelState(self.level, reasons, True, previous, now)
        kept, kept_reasons = assess(signals, self.settings, relax=self.settings.exit_factor)
        if kept >= current:
            self._last_held = now
            return LevelState(previous, kept_reasons, False, previous, since)
        held_since = self._last_held or since
        left = self.settings.hold - (now - held_since)
        if left.total_seconds() > 0:
            minutes = max(1, round(left.total_seconds() / 60))
            note = r.say(r.HOLDING, level=previous, minutes=minutes)
            return LevelState(previous, (*kept_reasons, note), False, previous, since)
        self._set(kept, now)
        calmer = r.say(r.DOWN_FROM, level=previous, minutes=_minutes(now - held_since))
        return LevelState(self.level, (*kept_reasons, calmer), True, previous, now)

    def _set(self, index: int, now: datetime) -> None:
        self.level = LEVELS[index]
        self._since = now
        self._last_held = now


def assess(signals: TopicSignals, cfg: LevelSettings, *, relax: float = 1.0) -> tuple[int, tuple[str, ...]]:
    """The level the signals justify (index into LEVELS) and the facts behind it.

    ``relax`` < 1 lowers every threshold (used to decide whether a level still holds).
    """
    s = signals
    ratio = None
    if s.baseline_per_min is not None:
        ratio = volume_ratio(s.rate_per_min, s.baseline_per_min)
    volume = s.rate_per_min >= cfg.min_rate_per_min * relax and s.unique_authors >= MIN_AUTHORS_FOR_VOLUME
    # only the detector calls a volume rise: a storm under way, or a score at the watch line
    detected = s.storm or s.anomaly >= cfg.anomaly_watch * relax
    neg = s.negative_share
    negative = neg is not None and neg >= cfg.negative_share * relax
    souring = (
        neg is not None
        and s.usual_negative_share is not None
        and neg - s.usual_negative_share >= cfg.negative_rise * relax
    )
    hostile = negative or souring
    watchers = sum(s.watchlist.values())

    def rise(level_ratio: float, level_anomaly: float | None) -> str | None:
        """The volume rise at a level, in words: the detector calls it, the ratio grades it."""
        if ratio is not None and ratio >= level_ratio * relax:
            return r.say(r.VOLUME_RATIO, ratio=times(ratio))
        unusual = ratio is None or ratio >= cfg.watch_ratio * relax
        if level_anomaly is not None and unusual and s.anomaly >= level_anomaly * relax:
            return _spike(s)
        return None

    rising = volume and detected
    rise_watch = (rise(cfg.watch_ratio, None) or _spike(s)) if rising else None
    rise_alert = rise(cfg.alert_ratio, cfg.anomaly_alert) if rising else None
    rise_crisis = rise(cfg.crisis_ratio, None) if rising else None

    mood = []
    if neg is not None and hostile:
        usual = s.usual_negative_share
        if souring and usual is not None:
            mood.append(r.say(r.NEGATIVE_SOURING, share=round(neg * 100), usual=round(usual * 100)))
        else:
            mood.append(r.say(r.NEGATIVE, share=round(neg * 100)))
    people = [_people(n, role) for role, n in sorted(s.watchlist.items()) if n > 0]
    if s.influencers_negative:
        people.append(r.counted("influential", s.influencers_negative))
    campaign = r.say(r.WAVE, n=s.campaign_accounts) if s.campaign_accounts else None
    crowd = r.say(r.AUTHORS, n=s.unique_authors)
    peak = s.peak_rate_per_min
    cooled = None
    if peak and s.rate_per_min < peak * CRISIS_PEAK_SHARE * relax:
        cooled = r.say(r.PAST_PEAK, rate=f"{s.rate_per_min:.1f}", peak=f"{peak:.1f}")

    # crisis
    crisis_rise = None
    if hostile and s.unique_authors >= cfg.crisis_min_authors * relax:
        big_names = watchers >= 2 or s.influencers_negative >= 2
        crisis_rise = rise_crisis or (rise_alert if big_names else None)
    if crisis_rise and cooled is None:
        return 3, _facts(crisis_rise, *mood, crowd, *people, campaign)
    if not crisis_rise:
        cooled = None  # said only when it is what keeps the topic from a crisis
    # alert, unless the storm has faded to a small share of its peak (then said, when it is what holds)
    faded = None
    if volume and s.unique_authors >= cfg.alert_min_authors * relax:
        wave = s.campaign_accounts >= 2 * cfg.campaign_accounts * relax
        names = watchers >= 1 or s.influencers_negative >= 1
        alert = None
        if hostile and (rise_alert or (rise_watch and names) or wave):
            alert = (rise_alert or rise_watch, *mood, crowd, *people, campaign if wave else None, cooled)
        elif rise_crisis and not hostile:
            share = r.say(r.ONLY_NEGATIVE, share=round(neg * 100)) if neg is not None else r.NOT_SCORED
            alert = (rise_crisis, share, crowd, *people)
        if alert is not None and peak and s.rate_per_min < peak * ALERT_PEAK_SHARE * relax:
            faded = r.say(r.PAST_PEAK, rate=f"{s.rate_per_min:.1f}", peak=f"{peak:.1f}")
        elif alert is not None:
            return 2, _facts(*alert)
    # watch
    wave = s.campaign_accounts >= cfg.campaign_accounts * relax
    soured = volume and souring
    if rise_watch or watchers or s.influencers_negative or soured or wave:
        return 1, _facts(rise_watch, *mood, *people, campaign if wave else None, faded)
    return 0, ()


def _spike(s: TopicSignals) -> str:
    """The detector's own words for a rise it called that the ratio does not show (a slow ramp)."""
    if s.anomaly_note:
        return r.say(r.SPIKE_NOTE, note=s.anomaly_note)
    return r.say(r.SPIKE_SCORE, score=f"{s.anomaly:.2f}")


def _facts(*items: str | None) -> tuple[str, ...]:
    return tuple(i for i in items if i)


def _people(n: int, role: str) -> str:
    if role in r.PLURALS:
        return r.counted(role, n)
    return f"{n} {role} {'account' if n == 1 else 'accounts'}"  # a role named in the settings, as named


def _minutes(delta: timedelta) -> str:
    return str(max(1, round(delta.total_seconds() / 60)))
