"""The #BriocheGate storm, judged: the level is called at the right moments of the story, and the wall's
tables (influencers, copy-paste waves, surging terms) show who and what drives it.

The bundled demo's mentions go through a Pipeline with the real lexicon on a manual clock, one snapshot per
simulated minute of the storm (hourly during the week of backfill): deterministic, and fine-grained
enough to see every step of the level. The same storm played by ``tocsin demo --headless`` is
``test_demo_headless.py``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from tocsin.config.loader import load_default
from tocsin.config.settings import LEVELS
from tocsin.scoring.detector import times
from tocsin.scoring.levels import LevelState, volume_ratio
from tocsin.scoring.lexicon import LexiconScorer
from tocsin.scoring.pipeline import Pipeline, live_items
from tocsin.scoring.snapshot import Snapshot
from tocsin.sources.clock import ManualClock
from tocsin.sources.demo import DemoSource
from tocsin.sources.model import Mention, ScoredMention, SentimentScore

STORM = datetime(2026, 11, 21, 8, 30, tzinfo=UTC)  # 09:30 in Paris, a Saturday
JOURNALISTS = {"claire_fabre_conso", "tomwhitaker_food"}
MEDIA = {"quotidienhexagone", "radiocite_info", "foodbizdaily"}
TRIGGER = "julie_goute_tout"


class Lexicon:
    """The lexicon engine, called in the test's own thread."""

    engine = "lexicon"
    note: str | None = None

    def __init__(self) -> None:
        self.lexicon = LexiconScorer()

    async def score(self, texts: list[str], langs: list[str | None]) -> list[SentimentScore]:
        return self.lexicon.score_batch(texts, langs)


@dataclass
class Played:
    phases: dict[str, datetime]
    snapshots: list[Snapshot] = field(default_factory=list)
    changes: list[tuple[datetime, LevelState]] = field(default_factory=list)
    scored: list[ScoredMention] = field(default_factory=list)

    def minutes(self, at: datetime) -> float:
        return (at - STORM).total_seconds() / 60

    def during(self, start: str, end: str) -> list[Snapshot]:
        return [s for s in self.snapshots if self.phases[start] <= s.at < self.phases[end]]


class Replay:
    """Feeds time-ordered mentions to a Pipeline on a manual clock, a step at a time."""

    def __init__(self, monitor: Pipeline, clock: ManualClock, mentions: Sequence[Mention]) -> None:
        self.pipeline, self.clock, self.mentions = monitor, clock, mentions
        self.next = 0

    def play(self, until: datetime, step: timedelta, played: Played, batch: int = 256) -> None:
        """Feed the mentions posted before each step's end, then take a snapshot at it."""
        monitor, mentions = self.pipeline, self.mentions
        assert isinstance(monitor.scorer, Lexicon)
        lexicon = monitor.scorer.lexicon
        t = self.clock.now()
        while t < until:
            t = min(t + step, until)
            due = []
            while self.next < len(mentions) and mentions[self.next].created_at < t:
                due.append(mentions[self.next])
                self.next += 1
            self.clock.advance_to(t)
            for k in range(0, len(due), batch):
                items: list = []
                monitor._triage(due[k : k + batch], items)
                live = live_items(items)
                scores = lexicon.score_batch([m.text for m, _ in live], [m.lang for m, _ in live])
                monitor._aggregate(items, scores, monitor.judge.judge_batch(live))
            played.snapshots.append(monitor.publish_now())


@pytest.fixture(scope="module")
def storm() -> Played:
    settings = load_default()
    source = DemoSource(settings.sources[0], ManualClock(), storm_start=STORM)
    played = Played(phases=dict(source.phases))
    clock = ManualClock(source.timeline.backfill_start)
    monitor = Pipeline(settings, clock, Lexicon())
    monitor.add_level_listener(lambda tid, state, at: played.changes.append((at, state)))
    monitor.add_batch_listener(played.scored.extend)
    replay = Replay(monitor, clock, list(source.player().mentions()))
    replay.play(STORM - timedelta(minutes=30), timedelta(hours=1), played)
    replay.play(source.timeline.end, timedelta(minutes=1), played)
    assert monitor.counters.scored == monitor.snapshot().topics["brioche"].mentions
    return played


def test_calm_all_week_then_watch_alert_crisis_as_the_storm_snowballs(storm: Played) -> None:
    phases = storm.phases
    first_at, first = storm.changes[0]
    assert first_at >= phases["trigger"]  # a week of ordinary chatter never raised anything
    assert (first.previous, first.level) == ("calm", "watch")
    assert "1 influential account negative" in first.reasons  # the food blogger's post, 248k followers
    reached = {}
    for at, state in storm.changes:
        reached.setdefault(state.level, at)
    # each step in turn, and the worst before the journalists even arrive
    assert phases["trigger"] <= reached["watch"] < reached["alert"] < reached["crisis"]
    assert reached["crisis"] < phases["journalists"]
    alert = next(s for _, s in storm.changes if s.level == "alert")
    assert re.fullmatch(r"volume (\d+(\.\d)?x|100x\+) the usual", alert.reasons[0])
    assert any(re.fullmatch(r"\d+ % negative \(usually 2\d %\)", r) for r in alert.reasons)  # souring
    # crisis all through the snowball, the journalists and the copy-paste wave
    peak = storm.during("snowball", "brand statement")
    assert {s.topics["brioche"].level for s in peak if s.at >= reached["crisis"]} == {"crisis"}
    during_press = [s.topics["brioche"] for s in storm.during("journalists", "brand statement")]
    assert any("2 journalists" in t.reasons and "3 media outlets" in t.reasons for t in during_press)


def test_down_during_recovery_up_again_at_the_resurgence(storm: Played) -> None:
    phases = storm.phases
    down = [(at, s) for at, s in storm.changes if LEVELS.index(s.level) < LEVELS.index(s.previous)]
    recovery = [(at, s) for at, s in down if phases["recovery"] <= at < phases["resurgence"]]
    assert recovery, "the level never came down after the brand's statement"
    _, stepped = recovery[0]
    assert (stepped.previous, stepped.level) == ("crisis", "alert")
    assert any(r.startswith("past its peak: ") for r in stepped.reasons)
    assert stepped.reasons[-1].startswith("down from crisis: below its thresholds for ")
    back_up = [
        s
        for at, s in storm.changes
        if phases["resurgence"] <= at < phases["calm"] and LEVELS.index(s.level) > LEVELS.index(s.previous)
    ]
    assert back_up and LEVELS.index(back_up[0].level) >= LEVELS.index("alert")
    # and the storm is over by the end: nothing above watch in its last minutes
    assert storm.snapshots[-1].topics["brioche"].level in ("calm", "watch")


def test_the_trigger_and_the_press_lead_the_influencers(storm: Played) -> None:
    early = storm.during("snowball", "journalists")
    assert all(s.topics["brioche"].influencers[0].handle == TRIGGER for s in early[:30])
    trigger = early[0].topics["brioche"].influencers[0]
    assert (trigger.tier, trigger.negative, trigger.watch_role) == ("macro", 1, None)
    assert trigger.influence >= 60 and trigger.followers == 248_300
    roles = {}
    for snap in storm.during("journalists", "brand statement"):
        for row in snap.topics["brioche"].influencers:
            roles.setdefault(row.handle, row.watch_role)
    assert {h: roles.get(h) for h in JOURNALISTS} == dict.fromkeys(JOURNALISTS, "journalist")
    assert {h: roles.get(h) for h in MEDIA} == dict.fromkeys(MEDIA, "media")


def test_the_copy_paste_wave_is_a_cluster_of_likely_bots(storm: Played) -> None:
    wave_snaps = storm.during("copy-paste wave", "recovery")
    waves = [s.topics["brioche"].clusters for s in wave_snaps]
    # listed first (likely campaigns lead), big, bot-like, its text the template
    first = [c[0] for c in waves if c]
    assert any(c.size >= 15 for c in first)
    biggest = max(first, key=lambda c: c.size)
    assert biggest.bot_mean >= 0.6
    assert "moisissure dans les brioches" in biggest.text.lower()
    assert biggest.authors >= 15 and biggest.first_seen >= storm.phases["copy-paste wave"]
    # echoes (people quoting the trigger word for word) are listed too, as what they are: not bots
    echoes = [c for c in waves[-1] if c.id != biggest.id]
    assert echoes and all(c.bot_mean < 0.5 for c in echoes)
    # the wave counts as a campaign in the level's reasons while it posts
    reasons = [r for s in wave_snaps for r in s.topics["brioche"].reasons]
    assert any(r.startswith("copy-paste wave: ") for r in reasons)
    assert storm.snapshots[-1].topics["brioche"].copy_paste_share > 0


def test_briochegate_surges(storm: Played) -> None:
    snowball = storm.during("snowball", "journalists")
    tops = [s.topics["brioche"].terms[0] for s in snowball if s.topics["brioche"].terms]
    assert tops and tops[-1].term == "briochegate" and tops[-1].kind == "hashtag"
    assert tops[-1].count > 5 * (tops[-1].usual + 1)  # still, three quarters of an hour in
    names = {t.term for s in snowball for t in s.topics["brioche"].terms}
    assert not names & {"maison", "brioche", "maisonbrioche"}  # the brand's own name is never news


def test_each_mention_carries_its_judgement(storm: Played) -> None:
    by_stream: dict[str, list[ScoredMention]] = {}
    for sm in storm.scored:
        by_stream.setdefault(sm.mention.extra["stream"], []).append(sm)
    (trigger,) = by_stream["trigger"]
    assert trigger.scores["influence"]["tier"] == "macro" and trigger.scores["influence"]["score"] >= 60
    assert trigger.scores["bot"]["score"] < 0.2 and "cluster" not in trigger.scores
    wave = by_stream["copy-paste"]
    in_cluster = [sm for sm in wave if "cluster" in sm.scores]
    assert len(in_cluster) >= 0.9 * len(wave)
    late = in_cluster[-1].scores
    assert late["cluster"]["size"] >= 15 and late["cluster"]["authors"] >= 15
    assert late["bot"]["score"] >= 0.6
    assert any(r.startswith("part of a copy-paste wave") for r in late["bot"]["reasons"])
    news = by_stream["news"]
    assert {sm.scores["influence"].get("watchlist") for sm in news} <= {"journalist", "media"}
    json_form = trigger.to_json()["scores"]
    assert set(json_form) >= {"sentiment", "influence", "bot"}


def test_the_volume_gauge_counts_unique_voices(storm: Played) -> None:
    snap = max(storm.snapshots, key=lambda s: s.topics["brioche"].rate_per_min)
    peak = snap.topics["brioche"]
    assert len(peak.unique_volume) == len(peak.volume)
    assert all(u <= v for u, v in zip(peak.unique_volume, peak.volume, strict=True))
    assert sum(peak.unique_volume) > 0.8 * sum(peak.volume)  # a crowd, not a handful of accounts
    assert peak.level == "crisis" and peak.level_since is not None and peak.level_since < snap.at


def test_the_detector_itself_calls_the_storm_its_end_and_the_resurgence(storm: Played) -> None:
    """The volume detector alone: silent all week, a storm called minutes after the trigger post, over
    once the brand's answer has calmed it, a new storm at the resurgence, nothing at the end."""
    phases = storm.phases
    topics = [(s.at, s.topics["brioche"]) for s in storm.snapshots]
    week = [t for at, t in topics if at < phases["trigger"]]
    assert week and all(t.storm_since is None and t.anomaly < 0.5 for t in week)
    storms = sorted({t.storm_since for _, t in topics if t.storm_since is not None})
    assert len(storms) == 2, storms
    first, second = storms
    assert phases["trigger"] <= first <= phases["trigger"] + timedelta(minutes=10)
    called = next(t for at, t in topics if t.storm_since == first)
    assert called.anomaly >= 0.5 and (called.surprise or "").startswith("storm since 09:3")
    # the snowball is one storm, held: never re-announced, never dropped while it lasts
    snowball = [t for at, t in topics if first + timedelta(minutes=1) <= at < phases["recovery"]]
    assert all(t.storm_since == first and t.anomaly >= 0.5 for t in snowball)
    assert max(t.anomaly for at, t in topics if at < phases["journalists"]) > 0.95
    # over once it has calmed, before the resurgence has grown: the second is a new storm
    assert phases["recovery"] < second < phases["resurgence"] + timedelta(minutes=30)
    assert any(t.storm_since is None for at, t in topics if phases["recovery"] <= at < second)
    # the level follows: an alert again at the resurgence, driven by the volume
    up = [s for at, s in storm.changes if phases["resurgence"] <= at < phases["calm"] and s.level == "alert"]
    assert up and up[0].reasons[0].startswith("volume ")
    # and it is over at the end
    assert topics[-1][1].storm_since is None and topics[-1][1].anomaly < 0.5


def test_one_story_on_the_wall(storm: Played) -> None:
    """The gauge, the level's reasons and the detector say the same thing about the volume."""
    for snap in storm.snapshots:
        t = snap.topics["brioche"]
        if t.baseline_per_min is None:
            assert t.ratio is None
            continue
        assert t.ratio == pytest.approx(volume_ratio(t.rate_per_min, t.baseline_per_min))
        said = [r for r in t.reasons if r.startswith("volume ") and r.endswith(" the usual")]
        if said and snap.at == t.level_since:  # reasons said at this snapshot carry its ratio
            assert said[0] == f"volume {times(t.ratio)} the usual"
        if t.storm_since is not None:
            assert (t.surprise or "").startswith("storm since ") and t.anomaly >= 0.5
        else:
            assert not (t.surprise or "").startswith("storm")
        if t.level != "calm" and any(r.startswith(("volume ", "spike: ")) for r in t.reasons):
            assert t.storm_since is not None or t.anomaly >= 0.5  # a volume reason only from the detector
