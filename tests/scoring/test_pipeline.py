"""The Pipeline: dedupe, batches, feed, listeners, levels, snapshots."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from tests.fakes import BRIOCHE, T0, FakeSentiment, mention, settings_with
from tocsin.config.settings import ScoringSettings, SentimentSettings, TopicSettings
from tocsin.scoring.pipeline import MentionBuffer, Pipeline, RecentKeys
from tocsin.sources.clock import ManualClock


async def run_through(monitor: Pipeline, mentions) -> None:
    monitor.start()
    for m in mentions:
        await monitor.put(m)
    assert await monitor.drain(5.0)
    await monitor.stop()


async def test_matched_mentions_are_scored_counted_and_fed(clock):
    scorer = FakeSentiment()
    mon = Pipeline(settings_with(), clock, scorer)
    seen = []
    mon.add_batch_listener(seen.append)
    ms = [
        mention("Maison Brioche c'est nul", at=T0 + timedelta(minutes=1), handle="a"),
        mention("I love maison brioche", at=T0 + timedelta(minutes=2), handle="b"),
        mention("rien à voir", at=T0 + timedelta(minutes=2), handle="c"),
        mention("#BriocheGate scandale", at=T0 + timedelta(minutes=3), handle="a"),
    ]
    await run_through(mon, ms)
    feed = mon.feed_since(0)
    assert [sm.seq for sm in feed] == [1, 2, 3]
    assert [sm.sentiment.label for sm in feed] == ["negative", "positive", "negative"]
    assert all(sm.topics == ("brioche",) for sm in feed)
    assert [sm for batch in seen for sm in batch] == feed
    assert mon.counters.unmatched == 1
    assert "rien à voir" not in [t for b in scorer.batches for t in b]  # dropped before scoring
    snap = mon.snapshot()
    topic = snap.topics["brioche"]
    assert snap.seq == 3
    assert topic.mentions == 3
    assert topic.unique_authors == 2
    assert topic.sentiment["negative"] == pytest.approx(2 / 3)
    assert topic.rate_per_min == pytest.approx(3 / 5)
    assert topic.baseline_per_min is None
    assert topic.volume[-5:] == (1, 1, 1, 0, 0)  # 10:01 … 10:05
    assert snap.engine == "fake"


async def test_feed_since_returns_the_newest_oldest_first(clock):
    mon = Pipeline(settings_with(), clock, FakeSentiment())
    await run_through(mon, [mention(f"maison brioche {i}", uid=str(i)) for i in range(50)])
    assert [sm.seq for sm in mon.feed_since(45)] == [46, 47, 48, 49, 50]
    assert [sm.seq for sm in mon.feed_since(0, limit=3)] == [48, 49, 50]
    assert mon.feed_since(50) == []


async def test_feed_is_a_bounded_ring(clock):
    mon = Pipeline(settings_with(), clock, FakeSentiment(), feed_size=100)
    await run_through(mon, [mention(f"maison brioche {i}", uid=str(i)) for i in range(300)])
    feed = mon.feed_since(0, limit=10_000)
    assert len(feed) == 100
    assert feed[0].seq == 201


async def test_duplicates_are_dropped_per_source(clock):
    mon = Pipeline(settings_with(), clock, FakeSentiment())
    a = mention("maison brioche", uid="1", source="mastodon")
    await run_through(
        mon,
        [a, a, mention("maison brioche", uid="1", source="bluesky"), mention("maison brioche", uid="2")],
    )
    assert mon.counters.duplicates == 1
    assert mon.snapshot().topics["brioche"].mentions == 3


async def test_deleted_mention_is_marked_not_counted_twice(clock):
    mon = Pipeline(settings_with(), clock, FakeSentiment())
    original = mention("maison brioche c'est nul", uid="42")
    gone = mention("", uid="42", deleted=True)  # a delete event carries no text
    await run_through(mon, [original, gone, gone])
    feed = mon.feed_since(0)
    assert [(sm.mention.deleted, sm.topics) for sm in feed] == [(False, ("brioche",)), (True, ("brioche",))]
    assert feed[1].sentiment.label == "unscored"
    assert mon.snapshot().topics["brioche"].mentions == 1
    assert mon.counters.deleted == 1
    assert mon.counters.duplicates == 1


def test_dedupe_memory_is_bounded():
    keys = RecentKeys(generation=1000)
    for i in range(10_000):
        keys.put(i, ("t",))
    assert len(keys) <= 2000
    assert keys.get(9_999) == ("t",)
    assert keys.get(9_000) == ("t",)  # at least one generation remembered
    assert keys.get(0) is None


async def test_batches_respect_batch_size(clock):
    scorer = FakeSentiment()
    settings = settings_with(scoring=ScoringSettings(sentiment=SentimentSettings(batch_size=16)))
    mon = Pipeline(settings, clock, scorer)
    ms = [mention(f"maison brioche {i}", uid=str(i)) for i in range(100)]
    for m in ms:  # queued before the collector runs: it drains them in full batches
        assert mon.offer(m)
    await run_through(mon, [])
    assert [len(b) for b in scorer.batches] == [16] * 6 + [4]


async def test_a_failing_engine_leaves_mentions_counted_unscored(clock):
    mon = Pipeline(settings_with(), clock, FakeSentiment(fail=True))
    await run_through(mon, [mention("maison brioche nul", uid="1")])
    assert mon.counters.scoring_failures == 1
    assert mon.feed_since(0)[0].sentiment.label == "unscored"
    assert mon.snapshot().topics["brioche"].mentions == 1


async def test_a_failing_listener_does_not_stop_the_pipeline(clock):
    mon = Pipeline(settings_with(), clock, FakeSentiment())

    def broken(batch):
        raise RuntimeError("disk full")

    mon.add_batch_listener(broken)
    await run_through(mon, [mention("maison brioche", uid="1"), mention("maison brioche", uid="2")])
    assert mon.counters.listener_errors >= 1
    assert mon.snapshot().topics["brioche"].mentions == 2


async def test_back_pressure_makes_a_fast_source_wait(clock):
    mon = Pipeline(settings_with(), clock, FakeSentiment(), queue_size=10)
    for i in range(10):
        await mon.put(mention("maison brioche", uid=str(i)))
    blocked = asyncio.create_task(mon.put(mention("maison brioche", uid="x")))
    await asyncio.sleep(0.01)
    assert not blocked.done() and not mon.idle
    mon.start()
    await asyncio.wait_for(blocked, 2)
    assert await mon.drain(5)
    await mon.stop()
    assert mon.snapshot().topics["brioche"].mentions == 11


async def test_buffer_keeps_order_and_wakes_waiting_sources_as_room_frees():
    buf = MentionBuffer(2)
    ms = [mention("maison brioche", uid=str(i)) for i in range(5)]
    assert buf.offer(ms[0]) and buf.offer(ms[1]) and not buf.offer(ms[2])
    waiting = [asyncio.create_task(buf.put(m)) for m in ms[2:]]
    await asyncio.sleep(0)
    assert not any(t.done() for t in waiting)
    got = buf.take(10)
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    got += buf.take(10)
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    got += buf.take(10)
    await asyncio.gather(*waiting)
    assert [m.uid for m in got] == ["0", "1", "2", "3", "4"]


async def test_buffer_a_cancelled_waiting_source_passes_its_room_on():
    buf = MentionBuffer(1)
    assert buf.offer(mention("a", uid="a"))
    first = asyncio.create_task(buf.put(mention("b", uid="b")))
    second = asyncio.create_task(buf.put(mention("c", uid="c")))
    await asyncio.sleep(0)
    buf.take(1)  # room for one: the first waiting source is woken...
    first.cancel()  # ...and cancelled before it could use it
    await asyncio.sleep(0)
    await asyncio.wait_for(second, 1)
    assert [m.uid for m in buf.take(5)] == ["c"]


async def test_buffer_wait_returns_when_something_arrives():
    buf = MentionBuffer(10)
    waiter = asyncio.create_task(buf.wait())
    await asyncio.sleep(0)
    assert not waiter.done()
    buf.offer(mention("x", uid="x"))
    await asyncio.wait_for(waiter, 1)
    assert len(buf) == 1


async def test_future_timestamps_are_bucketed_at_arrival(clock):
    mon = Pipeline(settings_with(), clock, FakeSentiment())
    now = clock.now()
    skewed = mention("maison brioche", uid="1", at=now + timedelta(hours=2), received=now)
    await run_through(mon, [skewed])
    assert mon.snapshot().topics["brioche"].volume[-1] == 1


async def test_the_snapshot_reads_the_desk_clock(clock):
    mon = Pipeline(settings_with(TopicSettings(id="a", keywords=("a",))), clock, FakeSentiment())
    clock.advance(90)
    snap = mon.publish_now()
    assert snap.at == clock.now()
    assert set(snap.topics) == {"a"}


# --- levels (the rules themselves: tests/judgement/test_levels.py) ------------------------------------


async def test_snapshot_level_rises_on_a_hostile_spike():
    clock = ManualClock(T0)
    settings = settings_with(BRIOCHE)
    mon = Pipeline(settings, clock, FakeSentiment())
    # an hour and a half of quiet (one mention every 2 minutes), then 60 angry ones in three minutes
    quiet = [mention("maison brioche", uid=f"q{i}", at=T0 + timedelta(minutes=2 * i)) for i in range(45)]
    storm_at = T0 + timedelta(minutes=90)
    storm = [
        mention("maison brioche scandale", uid=f"s{i}", at=storm_at + timedelta(seconds=3 * i), handle=str(i))
        for i in range(60)
    ]
    clock.advance_to(storm_at + timedelta(minutes=3))
    await run_through(mon, quiet + storm)
    topic = mon.publish_now().topics["brioche"]
    assert topic.rate_per_min == pytest.approx(12.0, rel=0.05)
    # the detector called the storm at its third minute, against the one baseline the gauge shows
    assert topic.storm_since == storm_at + timedelta(minutes=2)
    assert topic.baseline_per_min == pytest.approx(0.5, rel=0.4)
    assert topic.ratio == pytest.approx(topic.rate_per_min / topic.baseline_per_min)
    # 61 authors: enough for alert (20), not for crisis (100)
    assert topic.level == "alert"
    assert topic.level_since == storm_at + timedelta(minutes=3)
    assert topic.reasons[0] == f"volume {topic.ratio:.0f}x the usual"
    assert topic.reasons[1:] == ("91 % negative", "61 authors in the last hour")  # 60 angry, 6 quiet


async def test_snapshot_is_dated_at_the_last_counted_arrival_while_work_waits():
    # On a fast simulated clock, figures published while mentions still wait must not read as silence.
    clock = ManualClock(T0)
    mon = Pipeline(settings_with(), clock, FakeSentiment())
    clock.advance(300)
    first = mention("maison brioche", uid="a", at=T0, received=T0 + timedelta(minutes=1))
    later = mention("maison brioche", uid="b", at=T0, received=T0 + timedelta(minutes=3))
    assert mon.offer(first) and mon.offer(later)
    items: list = []
    mon._triage(mon._queue.take(1), items)
    mon._aggregate(
        items, await mon.scorer.score([first.text], [None]), mon.judge.judge_batch([(first, ("brioche",))])
    )
    assert mon.publish_now().at == T0 + timedelta(minutes=1)
    items = []
    mon._triage(mon._queue.take(1), items)
    mon._aggregate(
        items, await mon.scorer.score([later.text], [None]), mon.judge.judge_batch([(later, ("brioche",))])
    )
    assert mon.idle
    assert mon.publish_now().at == clock.now()  # nothing waits: as of now
    assert mon.publish_now().at == clock.now()


def test_the_fast_scored_mention_is_the_same_object_as_the_constructors():
    from tocsin.scoring.pipeline import _new_scored_mention
    from tocsin.sources.model import ScoredMention, SentimentScore

    m = mention("maison brioche", uid="1")
    s = SentimentScore("negative", 0.9, "lexicon")
    fast = _new_scored_mention(7, m, ("brioche",), s, {})
    assert type(fast) is ScoredMention
    assert fast == ScoredMention(7, m, ("brioche",), s, {})
    assert fast.to_json()["scores"]["sentiment"]["label"] == "negative"


# --- judgement ------------------------------------------------------------------------------------


async def test_mentions_carry_their_judgement_through_the_judges_thread(clock):
    mon = Pipeline(settings_with(), clock, FakeSentiment())
    texts = ["Scandale chez Maison Brioche, de la moisissure dans les brioches, boycott total"] * 4
    ms = [mention(t, uid=str(i), handle=f"user{10_000_000 + i}") for i, t in enumerate(texts)]
    await run_through(mon, ms)
    feed = mon.feed_since(0)
    assert all(0 <= sm.scores["influence"]["score"] <= 100 and "bot" in sm.scores for sm in feed)
    assert [sm.scores.get("cluster", {}).get("size") for sm in feed] == [None, None, 3, 4]
    topic = mon.snapshot().topics["brioche"]
    assert [c.size for c in topic.clusters] == [4] and topic.copy_paste_share == pytest.approx(0.75)
    assert [r.handle for r in topic.influencers][:1] and topic.influencers[0].negative == 1
    assert mon.counters.judgement_failures == 0


async def test_a_failing_judge_leaves_the_mentions_counted(clock, monkeypatch):
    mon = Pipeline(settings_with(), clock, FakeSentiment())

    def broken(items):
        raise RuntimeError("judge bug")

    monkeypatch.setattr(mon.judge, "judge_batch", broken)
    await run_through(mon, [mention("maison brioche nul", uid="1"), mention("maison brioche", uid="2")])
    assert mon.counters.judgement_failures == 1
    feed = mon.feed_since(0)
    assert [sm.sentiment.label for sm in feed] == ["negative", "neutral"] and feed[0].scores == {}
    assert mon.snapshot().topics["brioche"].mentions == 2


async def test_level_listeners_hear_each_change_once_and_a_broken_one_harms_nobody(clock):
    from tocsin.config.settings import InfluenceSettings

    watch = InfluenceSettings(watchlist=("claire",), roles={"claire": "journalist"})
    mon = Pipeline(settings_with(scoring=ScoringSettings(influence=watch)), clock, FakeSentiment())
    heard = []

    def broken(*args):
        raise RuntimeError("listener bug")

    mon.add_level_listener(broken)
    mon.add_level_listener(lambda tid, state, at: heard.append((tid, state.previous, state.level, at)))
    await run_through(mon, [mention("maison brioche : on enquête", uid="1", handle="Claire")])
    mon.publish_now()
    assert heard == [("brioche", "calm", "watch", clock.now())]
    assert mon.counters.listener_errors == 1


async def test_a_replay_clock_from_the_epoch_does_not_feed_decades_of_empty_buckets():
    epoch = ManualClock(datetime(1970, 1, 1, tzinfo=UTC))
    mon = Pipeline(settings_with(), epoch, FakeSentiment())
    epoch.advance_to(T0 + timedelta(minutes=5))
    await run_through(mon, [mention("maison brioche", uid="1", at=T0)])
    detector = mon.judge.topics["brioche"].detector
    assert detector._seen == 5  # 10:00 … 10:04: from the first mention's bucket, not from 1970
    epoch.advance_to(T0 + timedelta(days=400))
    mon.publish_now()
    assert detector._seen < 5 + 12_000  # after a long gap: at most the kept history, not 400 days


async def test_the_snapshot_json_has_the_wall_tables(clock):
    mon = Pipeline(settings_with(), clock, FakeSentiment())
    texts = ["Scandale chez Maison Brioche, de la moisissure dans les brioches #BriocheGate"] * 3
    await run_through(mon, [mention(t, uid=str(i), handle=f"p{i}") for i, t in enumerate(texts)])
    topic = mon.snapshot().to_json()["topics"]["brioche"]
    assert topic["level_since"] == "2026-11-21T10:05:00Z"
    assert 0 <= topic["anomaly"] <= 1 and topic["copy_paste_share"] == pytest.approx(2 / 3, abs=0.001)
    (wave,) = topic["clusters"]
    assert set(wave) == {"id", "size", "authors", "first_seen", "last_seen", "text", "bot_mean"}
    assert wave["size"] == 3 and wave["first_seen"] == "2026-11-21T10:00:00Z"
    row = topic["influencers"][0]
    assert set(row) == {
        "handle",
        "name",
        "source",
        "tier",
        "followers",
        "influence",
        "bot",
        "negative",
        "mentions",
        "last_text",
        "last_at",
        "watch_role",
    }
    assert row["negative"] == 1 and row["last_at"] == "2026-11-21T10:00:00Z"
    assert isinstance(topic["terms"], list)


async def test_a_stuck_judge_does_not_hold_the_desk_open(clock, monkeypatch):
    import threading

    from tocsin.scoring import pipeline

    monkeypatch.setattr(pipeline, "JUDGE_STOP_S", 0.2)
    mon = Pipeline(settings_with(), clock, FakeSentiment())
    entered, release = threading.Event(), threading.Event()

    def stuck(items):
        entered.set()
        release.wait(10)
        return []

    monkeypatch.setattr(mon.judge, "judge_batch", stuck)
    mon.start()
    await mon.put(mention("maison brioche", uid="1"))
    assert await asyncio.to_thread(entered.wait, 5)
    loop = asyncio.get_running_loop()
    began = loop.time()
    await asyncio.wait_for(mon.stop(), 5)
    assert loop.time() - began < 2
    release.set()
