"""Crisis levels: thresholds with reasons, hysteresis, and one angry customer stays calm."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from tocsin.config.settings import LevelSettings
from tocsin.scoring.levels import INFLUENCER_NEGATIVE, Involvement, LevelTracker, TopicSignals, assess

T0 = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)
CFG = LevelSettings()  # watch 2x, alert 4x, crisis 8x, 50 % negative, hold 10 min, exit factor 0.75

QUIET = TopicSignals(rate_per_min=0.5, baseline_per_min=0.5, unique_authors=20, negative_share=0.2)
STORM = TopicSignals(
    rate_per_min=31.0,
    baseline_per_min=5.0,
    unique_authors=412,
    negative_share=0.71,
    usual_negative_share=0.18,
    watchlist={"journalist": 2},
    campaign_accounts=23,
    storm=True,
)


def test_quiet_topic_is_calm() -> None:
    assert assess(QUIET, CFG) == (0, ())


def test_one_angry_customer_stays_calm() -> None:
    # one author, five furious posts in a minute on a topic that is usually silent
    angry = TopicSignals(rate_per_min=5.0, baseline_per_min=0.01, unique_authors=1, negative_share=1.0)
    tracker = LevelTracker(CFG)
    state = tracker.update(T0, angry)
    assert state.level == "calm" and not state.changed


def test_crisis_reasons_in_words() -> None:
    state = LevelTracker(CFG).update(T0, STORM)
    assert state.level == "crisis" and state.changed and state.previous == "calm"
    assert state.reasons == (
        "volume 6.2x the usual",
        "71 % negative (usually 18 %)",
        "412 authors in the last hour",
        "2 journalists",
        "copy-paste wave: 23 accounts",
    )


def test_alert_needs_a_hostile_crowd_and_enough_authors() -> None:
    rise = TopicSignals(
        rate_per_min=25.0, baseline_per_min=5.0, unique_authors=60, negative_share=0.62, storm=True
    )
    level, reasons = assess(rise, CFG)
    assert level == 2 and reasons[:2] == ("volume 5.0x the usual", "62 % negative")
    assert assess(replace(rise, unique_authors=10), CFG)[0] == 1  # a handful of people: watch only
    happy = replace(rise, rate_per_min=50.0, negative_share=0.1)
    level, reasons = assess(happy, CFG)
    assert level == 2 and "only 10 % negative" in reasons  # a big friendly wave is not a crisis


def test_volume_raises_a_level_only_when_the_detector_calls_a_storm() -> None:
    """One story: a ratio against a near-empty baseline is not a storm while the detector says usual."""
    rise = TopicSignals(
        rate_per_min=25.0, baseline_per_min=0.2, unique_authors=60, negative_share=0.62, anomaly=0.1
    )
    assert assess(rise, CFG)[0] == 0
    level, reasons = assess(replace(rise, storm=True), CFG)
    assert level == 2 and reasons[0] == "volume 100x+ the usual"  # the same ratio, said the one way
    called = replace(rise, anomaly=0.6, anomaly_note="above the usual for a Friday 09:00")
    level, reasons = assess(called, CFG)
    assert level == 2 and reasons[0] == "volume 100x+ the usual"


def test_watch_on_a_journalist_or_a_spike_alone() -> None:
    journalist = replace(QUIET, watchlist={"journalist": 1})
    assert assess(journalist, CFG) == (1, ("1 journalist",))
    spike = TopicSignals(
        rate_per_min=12.0,
        baseline_per_min=None,
        anomaly=0.93,
        anomaly_note="above the usual for a Saturday 14:00 (last 15 min)",
        unique_authors=15,
        negative_share=0.3,
    )
    assert assess(spike, CFG) == (1, ("spike: above the usual for a Saturday 14:00 (last 15 min)",))


def test_hysteresis_enter_high_exit_lower_and_hold_before_stepping_down() -> None:
    tracker = LevelTracker(CFG)
    alert = TopicSignals(
        rate_per_min=22.0, baseline_per_min=5.0, unique_authors=60, negative_share=0.6, storm=True
    )
    assert tracker.update(T0, alert).level == "alert"
    # 3.5x is under the 4x entry threshold but above the 3x exit one: it stays, no hold needed
    dip = replace(alert, rate_per_min=17.5)
    for minute in range(1, 30):
        state = tracker.update(T0 + timedelta(minutes=minute), dip)
        assert state.level == "alert" and not state.changed
    # flapping around the threshold never re-announces the level
    assert not tracker.update(T0 + timedelta(minutes=30), alert).changed
    # clearly calmer: held for 10 minutes, then one step to what the signals still justify
    calmer = replace(alert, rate_per_min=11.0)  # 2.2x: watch
    t = T0 + timedelta(minutes=31)
    state = tracker.update(t, calmer)
    assert state.level == "alert" and state.reasons[-1] == "holding alert for 9 more min"
    state = tracker.update(t + timedelta(minutes=8), calmer)
    assert state.level == "alert"
    state = tracker.update(t + timedelta(minutes=9), calmer)
    assert state.level == "watch" and state.changed and state.previous == "alert"
    assert state.reasons[0] == "volume 2.2x the usual"
    assert state.reasons[-1] == "down from alert: below its thresholds for 10 min"
    # a renewed rise is immediate
    assert tracker.update(t + timedelta(minutes=10), STORM).level == "crisis"


def test_negative_share_souring_counts_only_with_volume() -> None:
    soured = TopicSignals(
        rate_per_min=3.0,
        baseline_per_min=3.0,
        unique_authors=40,
        negative_share=0.45,
        usual_negative_share=0.2,
    )
    assert assess(soured, CFG) == (1, ("45 % negative (usually 20 %)",))
    assert assess(replace(soured, rate_per_min=0.5), CFG)[0] == 0


def test_involvement_counts_distinct_accounts_over_the_window() -> None:
    people = Involvement(window=timedelta(hours=1))
    people.add("journalist", "@JDupont", T0)
    people.add("journalist", "@jdupont", T0 + timedelta(minutes=5))  # the same account twice
    people.add("official", "prefecture", T0 + timedelta(minutes=10))
    people.add(INFLUENCER_NEGATIVE, "bigvoice", T0 + timedelta(minutes=20))
    assert people.signals(T0 + timedelta(minutes=30)) == ({"journalist": 1, "official": 1}, 1)
    # the journalist's last post was at 0:05: gone after 1:05, the others stay until their hour is up
    assert people.signals(T0 + timedelta(minutes=66)) == ({"official": 1}, 1)
    assert people.signals(T0 + timedelta(hours=3)) == ({}, 0)
    assert len(people._last) == 0


def test_a_crisis_long_past_its_peak_steps_down_to_alert() -> None:
    tracker = LevelTracker(CFG)
    peak = replace(STORM, rate_per_min=80.0, peak_rate_per_min=80.0)
    assert tracker.update(T0, peak).level == "crisis"
    # still 30x the usual and hostile, but a quarter of the peak: kept (exit at 1/4)...
    assert tracker.update(T0 + timedelta(minutes=5), replace(peak, rate_per_min=21.0)).level == "crisis"
    # ...then a fifth of it: held ten minutes after it last held, then alert, saying why
    fading = replace(peak, rate_per_min=16.0)
    state = tracker.update(T0 + timedelta(minutes=6), fading)
    assert state.level == "crisis" and state.reasons[-1] == "holding crisis for 9 more min"
    state = tracker.update(T0 + timedelta(minutes=15), fading)
    assert (state.previous, state.level) == ("crisis", "alert")
    assert "past its peak: 16.0/min, down from 80.0/min" in state.reasons
    # a second wave near the first one's height is a crisis again at once
    assert tracker.update(T0 + timedelta(minutes=17), replace(peak, rate_per_min=30.0)).level == "crisis"


def test_the_peak_rule_only_speaks_when_it_is_what_holds_the_crisis_back() -> None:
    small = TopicSignals(
        rate_per_min=25.0,
        baseline_per_min=5.0,
        unique_authors=60,
        negative_share=0.62,
        peak_rate_per_min=100.0,
        storm=True,
    )
    level, reasons = assess(small, CFG)
    assert level == 2 and not any(r.startswith("past its peak") for r in reasons)  # too few for a crisis


def test_media_outlets_and_unknown_roles_in_words() -> None:
    signals = replace(QUIET, watchlist={"media": 3, "journalist": 1, "blogger": 2})
    assert assess(signals, CFG) == (1, ("2 blogger accounts", "1 journalist", "3 media outlets"))
    assert assess(replace(QUIET, watchlist={"media": 1}), CFG) == (1, ("1 media outlet",))
