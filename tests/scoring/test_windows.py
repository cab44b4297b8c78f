"""Per-topic windows: buckets, rates, seasonal baseline, unique authors, sentiment shares."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tocsin.config.settings import VolumeSettings
from tocsin.scoring.windows import TopicWindows

T0 = datetime(2026, 11, 21, 10, 0, tzinfo=UTC).timestamp()


def windows(started: float = T0, **kw) -> TopicWindows:
    return TopicWindows(VolumeSettings(**kw), timedelta(minutes=15), started)


def test_buckets_split_exactly_on_the_minute():
    w = windows()
    w.add(T0 + 59.999, "a", "neutral")
    w.add(T0 + 60.0, "b", "neutral")
    vol = w.volume(T0 + 90)
    assert vol[-2:] == (1, 1)
    assert len(vol) == 60


def test_late_arrival_lands_in_its_own_minute():
    w = windows()
    w.add(T0 + 5 * 60 + 10, "a", "neutral")  # 10:05
    w.add(T0 + 2 * 60 + 30, "b", "neutral")  # posted 10:02, arrives after 10:05
    vol = w.volume(T0 + 5 * 60 + 20)
    assert vol[-4:] == (1, 0, 0, 1)
    assert w.mentions == 2


def test_mentions_older_than_history_count_but_do_not_corrupt_buckets():
    w = windows(history=timedelta(hours=2))
    w.add(T0 + 3 * 3600, "a", "neutral")
    w.add(T0, "b", "neutral")  # three hours old: outside the kept history
    assert w.mentions == 2
    assert sum(w.volume(T0 + 3 * 3600 + 1)) == 1


def test_ring_reuses_slots_a_turn_later():
    w = windows(history=timedelta(hours=2))
    w.add(T0, "a", "neutral")
    later = T0 + w.size * 60  # same slot, one ring-turn later
    w.add(later, "b", "neutral")
    assert w.volume(later + 1)[-1] == 1
    assert w.counts(int(T0 // 60), int(T0 // 60) + 1) == [0]  # the old bucket's slot was taken


def test_rate_per_min_over_the_rate_window():
    w = windows(rate_window=timedelta(minutes=5))
    for i in range(50):  # 50 mentions between 10:00 and 10:05, evenly
        w.add(T0 + i * 6, "a", "neutral")
    assert w.rate_per_min(T0 + 300) == pytest.approx(10.0)
    # ten minutes later they have all left the window
    assert w.rate_per_min(T0 + 900) == 0.0
    # half-way: the window [10:02:30, 10:07:30] holds half of them (the 10:02 bucket counts in part)
    assert w.rate_per_min(T0 + 450) == pytest.approx(5.0)


def test_unique_authors_over_the_last_hour():
    w = windows()
    for i in range(30):
        w.add(T0 + i * 60, f"user{i % 10}", "neutral")
    assert w.unique_authors(T0 + 30 * 60) == 10
    w.add(T0 + 100 * 60, "late", "neutral")
    assert w.unique_authors(T0 + 100 * 60) == 1  # everyone else was last seen over an hour ago
    w.add(T0 + 101 * 60, "", "neutral")  # no handle: not an author
    assert w.unique_authors(T0 + 101 * 60) == 1


def test_authors_memory_is_bounded_by_the_hour():
    w = windows()
    for i in range(20_000):
        w.add(T0 + i * 2.0, f"user{i}", "neutral")  # 11 hours, everyone new
    assert len(w._author_last) <= 2 * 1800 + 4096
    assert w.unique_authors(T0 + 20_000 * 2.0) == pytest.approx(1800, abs=30)


def test_unique_authors_is_exact_when_posts_arrive_out_of_order():
    w = windows()
    w.add(T0 + 3000, "a", "neutral")
    w.add(T0 + 100, "a", "neutral")  # a late, older post by the same author: still seen at T0+3000
    w.add(T0 + 100, "b", "neutral")
    assert w.unique_authors(T0 + 3600) == 2
    assert w.unique_authors(T0 + 3600 + 200) == 1  # b's hour is over, a's is not
    assert w.unique_authors(T0 + 3000 + 3600 + 60) == 0


def test_sentiment_shares_slide_with_the_window():
    w = windows()
    for i in range(10):
        w.add(T0 + i, "a", "positive")
    for i in range(30):
        w.add(T0 + 20 * 60 + i, "b", "negative")
    for i in range(10):
        w.add(T0 + 20 * 60 + i, "c", "neutral")
    for i in range(5):
        w.add(T0 + 20 * 60 + i, "d", "unscored")  # not in the shares
    shares = w.sentiment_shares(T0 + 21 * 60)
    assert shares == pytest.approx({"negative": 0.75, "neutral": 0.25, "positive": 0.0})
    early = w.sentiment_shares(T0 + 60)
    assert early == pytest.approx({"negative": 0.0, "neutral": 0.0, "positive": 1.0})
    assert w.sentiment_shares(T0 + 5 * 3600) == {"negative": 0.0, "neutral": 0.0, "positive": 0.0}


def test_negative_trend_per_five_minutes():
    w = windows()
    now = T0 + 3600
    # last 5 minutes: all negative; 5-10 minutes ago: half; nothing before
    for i in range(10):
        w.add(now - 200 + i, "a", "negative")
    w.add(now - 400, "b", "negative")
    w.add(now - 420, "c", "positive")
    trend = w.negative_trend(now)
    assert len(trend) == 12
    assert trend[-1] == 1.0
    assert trend[-2] == 0.5
    assert trend[:-2] == (0.0,) * 10


def test_a_five_minute_bucket_works_the_same():
    w = windows(bucket=timedelta(minutes=5), rate_window=timedelta(minutes=10))
    for i in range(100):  # 100 mentions over the 10 minutes before T0 + 1 h
        w.add(T0 + 3000 + i * 6, f"u{i}", "negative" if i % 4 else "positive")
    now = T0 + 3600
    assert len(w.volume(now)) == 12
    assert w.volume(now)[-3:] == (50, 50, 0)
    assert w.rate_per_min(now) == pytest.approx(10.0)
    assert w.sentiment_shares(now)["negative"] == pytest.approx(0.75)
    assert w.unique_authors(now) == 100


def test_unique_voices_per_bucket_beside_the_volume():
    w = windows()
    for author in ("a", "a", "a", "b"):  # one loud account and one other in 10:00
        w.add(T0 + 10, author, "negative")
    w.add(T0 + 70, "a", "negative")  # 10:01: the loud one again
    w.add(T0 + 30, "c", "negative")  # a late post into 10:00 from someone new still counts there
    vol, voices = w.volume(T0 + 90), w.unique_volume(T0 + 90)
    assert vol[-2:] == (5, 1) and voices[-2:] == (3, 1)
    assert len(voices) == len(vol)


def test_negative_share_is_unknown_until_something_is_scored():
    w = windows()
    assert w.negative_share(T0 + 60) is None
    w.add(T0 + 10, "a", "unscored")
    assert w.negative_share(T0 + 60) is None
    w.add(T0 + 20, "b", "negative")
    w.add(T0 + 30, "c", "neutral")
    assert w.negative_share(T0 + 60) == pytest.approx(0.5)


def test_usual_negative_share_is_the_day_before_the_sentiment_window():
    w = windows()
    for i in range(40):  # the previous day: a quarter negative
        w.add(T0 + i * 1800, f"u{i}", "negative" if i % 4 == 0 else "positive")
    now = T0 + 20 * 3600
    for i in range(30):  # the last ten minutes: all negative, not part of the usual
        w.add(now - 600 + i * 20, f"s{i}", "negative")
    assert w.usual_negative_share(now) == pytest.approx(0.25, abs=0.03)
    assert windows().usual_negative_share(T0) is None  # nothing yet: unknown, not zero


def test_closed_bucket_counts_for_the_detector():
    w = windows()
    assert w.first_bucket is None
    w.add(T0 + 125, "a", "neutral")
    w.add(T0 + 130, "b", "neutral")
    w.add(T0 + 10, "c", "neutral")  # late: the first bucket moves back to it
    first = int(T0 // 60)
    assert w.first_bucket == first
    assert w.counts(first, first + 4) == [1, 0, 2, 0]
    assert w.counts(first - 20_000, first - 19_998) == [0, 0]  # older than kept: nothing


def test_authors_of_a_bucket_share_its_number():
    """The table of authors holds one int object per bucket, not one per author (memory in a storm)."""
    w = windows()
    for batch in range(5):
        w.add_many([(T0 + batch * 60 + i * 0.01, f"user{batch}-{i}", "neutral") for i in range(300)])
    assert len(w._author_last) == 1500
    assert len({id(b) for b in w._author_last.values()}) == len(set(w._author_last.values())) == 5


@pytest.mark.parametrize("growth", [0.0, 0.25, 1.0])
def test_when_the_authors_table_is_swept_changes_no_figure(monkeypatch, growth):
    """Sweeping the authors table often (every new author past the minimum), at +25 % or when it has
    doubled gives the same figures as never sweeping it, late posts included."""
    import random

    from tocsin.scoring import windows as module

    rng = random.Random(11)
    stream, t = [], T0
    for _ in range(6000):
        t += rng.expovariate(1 / 3.0)
        late = rng.random() < 0.1  # a late post, up to two hours old
        at = t - rng.uniform(0, 7200) if late else t
        stream.append((at, f"user{int(rng.paretovariate(1.2)) % 900}", "neutral"))
    nows = [max(e[0] for e in stream[: k + 50]) + rng.uniform(0, 90) for k in range(0, len(stream), 50)]

    def figures(min_sweep: int, growth: float) -> list[tuple[int, tuple[int, ...]]]:
        monkeypatch.setattr(module, "_AUTHORS_MIN_SWEEP", min_sweep)
        monkeypatch.setattr(module, "_AUTHORS_SWEEP_GROWTH", growth)
        w = windows()
        out = []
        for k, now in zip(range(0, len(stream), 50), nows, strict=True):
            w.add_many(stream[k : k + 50])
            out.append((w.unique_authors(now), w.unique_volume(now)))
        return out

    assert figures(50, growth) == figures(10**9, 0.0)
