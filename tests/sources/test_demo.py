"""The demo storm: deterministic for a seed, shaped like the story, played on the desk clock."""

from __future__ import annotations

import asyncio
import re
import statistics
import unicodedata
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tocsin.config.settings import DemoSourceSettings
from tocsin.scoring.lexicon import LexiconScorer
from tocsin.sources.base import SourceState
from tocsin.sources.clock import ManualClock, SimulatedClock
from tocsin.sources.demo import DemoSource, ScenarioPlayer, scenario_timeline
from tocsin.sources.model import Mention
from tocsin.sources.registry import build_clock
from tocsin.sources.scenario import load_scenario

STORM = datetime(2026, 11, 21, 8, 30, tzinfo=UTC)  # 09:30 in Paris (winter time)
PARIS = ZoneInfo("Europe/Paris")


def play(seed: int = 7, backfill_days: int = 7, storm: datetime = STORM) -> list[Mention]:
    player = ScenarioPlayer(
        load_scenario("bad-buzz"), source_id="demo", seed=seed, storm_start=storm, backfill_days=backfill_days
    )
    return list(player.mentions())


@pytest.fixture(scope="module")
def storm() -> list[Mention]:
    return play()


def minute(m: Mention) -> float:
    return (m.created_at - STORM).total_seconds() / 60


def in_stream(ms: list[Mention], name: str) -> list[Mention]:
    return [m for m in ms if m.extra["stream"] == name]


def per_minute(ms: list[Mention], lo: float, hi: float) -> Counter[int]:
    return Counter(int(minute(m)) for m in ms if lo <= minute(m) < hi)


# --- determinism ----------------------------------------------------------------------------------


def test_same_seed_gives_identical_mentions(storm: list[Mention]) -> None:
    again = play()
    assert [m.to_json() for m in again] == [m.to_json() for m in storm]
    assert [m.extra for m in again] == [m.extra for m in storm]


def test_another_seed_gives_another_storm(storm: list[Mention]) -> None:
    other = play(seed=8)
    assert {m.uid for m in other}.isdisjoint({m.uid for m in storm})
    assert [m.text for m in other[:50]] != [m.text for m in storm[:50]]
    assert [m.created_at for m in other[:50]] != [m.created_at for m in storm[:50]]
    # same story though: the trigger is still the trigger
    assert other[[m.extra["stream"] for m in other].index("trigger")].author.handle == "julie_goute_tout"


async def test_stream_on_a_manual_clock_plays_exactly_the_scenario(storm: list[Mention]) -> None:
    clock = ManualClock(STORM - timedelta(days=7))
    source = DemoSource(DemoSourceSettings(type="demo", id="demo"), clock, storm_start=STORM)
    got = [m async for m in source.stream()]
    assert got == storm  # received_at == created_at: the clock was at each mention's time
    assert source.status().state is SourceState.FINISHED
    assert source.status().events == len(storm)
    assert clock.now() == STORM + timedelta(minutes=420)  # the calm lasts until the scenario's end


# --- the story's shape ----------------------------------------------------------------------------


def test_backfill_is_a_week_of_quiet_chatter_with_a_daily_rhythm(storm: list[Mention]) -> None:
    backfill = [m for m in storm if m.created_at < STORM]
    assert backfill == in_stream(storm, "backfill")
    assert min(m.created_at for m in backfill) >= STORM - timedelta(days=7)
    assert min(m.created_at for m in backfill) < STORM - timedelta(days=6, hours=12)
    per_hour = len(backfill) / (7 * 24)
    assert 2 <= per_hour <= 8  # a few mentions per hour
    hours = Counter(m.created_at.astimezone(PARIS).hour for m in backfill)
    night = sum(hours[h] for h in range(0, 6))
    lunch = sum(hours[h] for h in range(11, 14))
    assert lunch > 5 * night
    weekend = sum(1 for m in backfill if m.created_at.astimezone(PARIS).weekday() >= 5)
    assert weekend / 2 > (len(backfill) - weekend) / 5  # busier per day at the weekend


def test_peak_is_tens_per_minute_and_far_above_the_baseline(storm: list[Mention]) -> None:
    counts = per_minute(storm, 0, 420)
    peak = max(counts.values())
    assert 40 <= peak <= 120
    peak_minute = max(counts, key=lambda k: counts[k])
    assert 45 <= peak_minute <= 110
    backfill_per_min = len(in_stream(storm, "backfill")) / (7 * 1440)
    assert peak > 500 * backfill_per_min
    assert 4000 <= len(storm) <= 20000  # thousands of mentions


def test_snowball_rises_over_the_first_hour(storm: list[Mention]) -> None:
    c = per_minute(storm, 0, 60)
    first, second, last = (sum(c[m] for m in range(a, a + 15)) for a in (0, 15, 45))
    assert first < second < last


def test_resurgence_exists_and_is_smaller_than_the_first_peak(storm: list[Mention]) -> None:
    def window(a: int) -> int:
        return sum(per_minute(storm, a, a + 10).values())

    first_peak = max(window(a) for a in range(0, 200, 5))
    before = window(225)  # the lull before the testimony
    resurgence = max(window(a) for a in range(240, 320, 5))
    assert resurgence > 2.5 * before
    assert resurgence < 0.7 * first_peak
    late = sum(per_minute(storm, 360, 420).values()) / 60
    assert late < 3  # calm until the end


def test_trigger_is_an_influential_strongly_negative_post(storm: list[Mention]) -> None:
    storm_part = [m for m in storm if m.created_at >= STORM]
    trigger = storm_part[0]
    assert trigger.created_at == STORM
    assert trigger.extra["stream"] == "trigger"
    assert trigger.author.followers is not None and trigger.author.followers >= 200_000
    assert "briochegate" in trigger.hashtags
    assert trigger.url and trigger.url.startswith("https://demo.example/")
    verdict = LexiconScorer().score_batch([trigger.text], [trigger.lang])[0]
    assert verdict.label == "negative" and verdict.score > 0.7


def test_journalists_are_verified_and_link_their_articles(storm: list[Mention]) -> None:
    news = in_stream(storm, "news")
    assert 5 <= len(news) <= 40
    assert all(45 <= minute(m) <= 92 for m in news)
    for m in news:
        assert m.author.verified is True
        assert m.author.followers is not None and m.author.followers >= 50_000
        assert "https://demo.example/" in m.text
    assert {m.lang for m in news} >= {"fr", "en"}


def _skeleton(text: str) -> str:
    """The words of a text, without punctuation, emoji or case: what a copy-paste keeps."""
    return " ".join(re.findall(r"\w+", text.lower()))


def test_copy_paste_wave_comes_from_young_quiet_accounts_with_one_text(storm: list[Mention]) -> None:
    wave = in_stream(storm, "copy-paste")
    assert 80 <= len(wave) <= 400
    assert all(70 <= minute(m) <= 110 for m in wave)
    for m in wave:
        a = m.author
        assert a.created_at is not None and STORM - a.created_at <= timedelta(days=14)
        assert a.posts is not None and a.posts < 30
        assert a.followers is not None and a.followers < 20
        assert a.verified is False
    default_looking = [m for m in wave if re.fullmatch(r"[a-z]+\d{6,}", m.author.handle)]
    assert len(default_looking) > 0.8 * len(wave)
    assert len({m.author.handle for m in wave}) > 0.6 * len(wave)  # many accounts, few repeats
    # near-identical: the same words up to one swapped word, but not all byte-identical
    skeletons = Counter(_skeleton(m.text) for m in wave)
    assert len(skeletons) <= 6
    assert len({m.text for m in wave}) > 10
    # and nobody else in the storm writes that text
    wave_skeletons = set(skeletons)
    assert not [m for m in storm if m.extra["stream"] != "copy-paste" and _skeleton(m.text) in wave_skeletons]


def test_brand_holding_statement_then_calmer_replies(storm: list[Mention]) -> None:
    statements = [m for m in storm if m.author.handle == "maisonbrioche"]
    assert [round(minute(m)) for m in statements] == [100, 103]
    assert all(m.author.verified for m in statements)
    assert "enquêtons" in statements[0].text and "investigating" in statements[1].text
    reactions = in_stream(storm, "reaction")
    replies = [m for m in reactions if m.reply_to]
    assert replies and {m.reply_to for m in replies} == {statements[0].uid}
    scorer = LexiconScorer()

    def negative_share(ms: list[Mention]) -> float:
        labels = [s.label for s in scorer.score_batch([m.text for m in ms], [m.lang for m in ms])]
        return labels.count("negative") / len(labels)

    outrage = in_stream(storm, "outrage")
    assert negative_share(outrage) > 0.5
    assert negative_share(reactions) < negative_share(outrage) - 0.2


def test_authors_look_like_a_real_crowd(storm: list[Mention]) -> None:
    authors = {m.author.handle: m.author for m in storm}
    assert len(authors) > 1500
    followers = sorted(a.followers or 0 for a in authors.values())
    median = statistics.median(followers)
    assert followers[-1] > 100 * median  # heavy tail
    assert sum(1 for f in followers if f >= 10_000) >= 10
    for handle in authors:
        assert re.fullmatch(r"[a-z0-9._]{2,40}", handle), handle
    # engagement follows followers
    crowd = [m for m in storm if m.extra["stream"] in ("outrage", "relay", "reaction", "resurgence")]
    crowd.sort(key=lambda m: m.author.followers or 0)
    bottom = statistics.mean(m.engagement.likes or 0 for m in crowd[: len(crowd) // 2])
    top = statistics.mean(m.engagement.likes or 0 for m in crowd[-len(crowd) // 20 :])
    assert top > 5 * max(bottom, 0.5)


def test_languages_links_replies_and_ids(storm: list[Mention]) -> None:
    langs = Counter(m.lang for m in storm)
    assert langs["fr"] > langs["en"] > 0.15 * len(storm)
    assert 0.03 * len(storm) < langs[None] < 0.25 * len(storm)
    assert len({m.uid for m in storm}) == len(storm)
    seen: set[str] = set()
    for m in storm:
        if m.reply_to:
            assert m.reply_to in seen  # replies point to a post already seen
        seen.add(m.uid)
        assert m.url and m.url.startswith("https://demo.example/@")
        for url in re.findall(r"https?://\S+", m.text):
            assert url.startswith("https://demo.example/"), url
        assert m.author.bot is None  # no platform flagged them: that is the desk's call
    storm_part = [m for m in storm if m.created_at >= STORM]
    tagged = sum(1 for m in storm_part if "briochegate" in m.hashtags)
    assert tagged > 0.6 * len(storm_part)
    assert [m.created_at for m in storm] == sorted(m.created_at for m in storm)


def test_mentions_survive_the_public_json_form(storm: list[Mention]) -> None:
    for m in storm[::97]:
        back = Mention.from_json(m.to_json(), source=m.source, received_at=m.received_at)
        assert back == m


# --- timeline, phases, clock --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "utc_hour"),
    [(datetime(2026, 11, 21, 23, 50, tzinfo=UTC), 8), (datetime(2026, 7, 14, 3, 0, tzinfo=UTC), 7)],
)
def test_storm_starts_at_half_past_nine_in_paris_on_the_local_day(day: datetime, utc_hour: int) -> None:
    tl = scenario_timeline(DemoSourceSettings(type="demo", id="demo"), now=day)
    local = tl.storm_start.astimezone(PARIS)
    assert (local.hour, local.minute) == (9, 30)
    assert local.date() == day.astimezone(PARIS).date()  # 23:50 UTC on the 21st is the 22nd in Paris
    assert tl.storm_start.hour == utc_hour
    assert tl.backfill_start == tl.storm_start - timedelta(days=7)
    assert tl.end == tl.storm_start + timedelta(hours=7)
    assert tl.pace == pytest.approx(42)


def test_default_storm_start_is_today_in_paris() -> None:
    source = DemoSource(DemoSourceSettings(type="demo", id="demo"), ManualClock())
    local = source.timeline.storm_start.astimezone(PARIS)
    assert local.date() == datetime.now(PARIS).date()
    assert (local.hour, local.minute) == (9, 30)


def test_phases_name_the_story_in_order() -> None:
    settings = DemoSourceSettings(type="demo", id="demo", backfill_days=3)
    source = DemoSource(settings, ManualClock(), storm_start=STORM)
    phases = source.phases
    names = [n for n, _ in phases]
    assert names == [
        "backfill", "trigger", "snowball", "journalists", "copy-paste wave",
        "brand statement", "recovery", "resurgence", "calm", "end",
    ]  # fmt: skip
    at = dict(phases)
    assert at["backfill"] == STORM - timedelta(days=3)
    assert at["trigger"] == STORM
    assert at["brand statement"] == STORM + timedelta(minutes=100)
    assert at["end"] == STORM + timedelta(minutes=420)
    assert [t for _, t in phases] == sorted(t for _, t in phases)


class FakeRealTime(SimulatedClock):
    """A simulated clock whose real time is fake: sleeps advance it at once and are summed."""

    def __init__(self, start: datetime, speed: float) -> None:
        self.real = 0.0
        super().__init__(start, speed, monotonic=lambda: self.real)

    async def sleep(self, seconds: float) -> None:
        self.real += max(0.0, seconds) / self.speed
        await asyncio.sleep(0)


async def _real_seconds_to_play(speed: float) -> tuple[float, float]:
    settings = DemoSourceSettings(type="demo", id="demo", speed=speed, backfill_days=1)
    from tocsin.config.settings import Settings

    desk_clock = build_clock(Settings(sources=(settings,)), now=STORM)
    clock = FakeRealTime(STORM - timedelta(days=1), desk_clock.speed)
    source = DemoSource(settings, clock, storm_start=STORM)
    real_at_trigger = None
    async for m in source.stream():
        if m.created_at >= STORM and real_at_trigger is None:
            real_at_trigger = clock.real
    assert real_at_trigger is not None
    return real_at_trigger, clock.real


async def test_speed_one_plays_the_storm_in_ten_minutes_and_speed_ten_in_one() -> None:
    lead_1, total_1 = await _real_seconds_to_play(1)
    lead_10, total_10 = await _real_seconds_to_play(10)
    assert lead_1 < 5  # the backfill takes no real time; a short calm, then the trigger
    assert total_1 - lead_1 == pytest.approx(600, rel=0.02)
    assert total_10 - lead_10 == pytest.approx(60, rel=0.02)
    assert total_1 / total_10 == pytest.approx(10, rel=0.02)


async def test_stop_ends_the_stream_promptly() -> None:
    settings = DemoSourceSettings(type="demo", id="demo", backfill_days=1)
    clock = SimulatedClock(STORM - timedelta(days=1), speed=42)  # real time: the trigger is seconds away
    source = DemoSource(settings, clock, storm_start=STORM)
    backfill = sum(1 for m in source.player().mentions() if m.created_at < STORM)
    stream = source.stream()
    for _ in range(backfill):
        await anext(stream)
    waiting = asyncio.ensure_future(anext(stream))
    for _ in range(5):
        await asyncio.sleep(0)
    assert not waiting.done()  # holding the trigger until its time
    assert source.status().state is SourceState.LIVE
    started = asyncio.get_running_loop().time()
    await source.stop()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(waiting, timeout=2)
    assert asyncio.get_running_loop().time() - started < 0.5
    assert source.status().state is SourceState.STOPPED


def test_texts_are_clean_single_line_strings(storm: list[Mention]) -> None:
    for m in storm:
        assert m.text == m.text.strip() and "  " not in m.text and "\n" not in m.text
        assert "{" not in m.text and "}" not in m.text  # every template field was filled
        assert all(unicodedata.category(c) != "Cc" for c in m.text)
