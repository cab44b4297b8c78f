"""Surging terms: a hashtag that jumps surges, a steady one does not; the vocabulary stays bounded."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from tocsin.config.settings import TrendSettings
from tocsin.scoring.trends import SurgingTerms, terms_of

T0 = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)
KEYWORDS = ["maison brioche", "maisonbrioche", "#maisonbrioche", "@maisonbrioche"]


def test_terms_drop_stopwords_links_handles_and_the_topic_itself() -> None:
    trends = SurgingTerms(ignore=KEYWORDS)
    found = terms_of(
        "Le scandale de la farine chez Maison Brioche!! @maisonbrioche https://t.co/x 2026 #BriocheGate "
        "#MaisonBrioche",
        ["briochegate", "maisonbrioche"],
        trends._ignore,
    )
    assert found == {"scandale", "farine", "#briochegate"}


def steady_then_jump(trends: SurgingTerms) -> datetime:
    """Six hours of '#croissant' twice a minute, then '#briochegate' from nothing to 20 a minute."""
    t = T0
    for minute in range(6 * 60):
        t = T0 + timedelta(minutes=minute)
        trends.add("Breakfast with a croissant #croissant", ["croissant"], t, f"fan{minute % 7}")
        trends.add(
            "Morning at the shop #croissant", ["croissant"], t + timedelta(seconds=30), f"fan{minute % 5}"
        )
    for minute in range(10):
        for k in range(20):
            at = t + timedelta(minutes=minute, seconds=3 * k)
            trends.add("they lied about the flour #BriocheGate", ["briochegate"], at, f"angry{k}")
            if k == 0:
                trends.add("Breakfast with a croissant #croissant", ["croissant"], at, "fan1")
            if k == 10:
                trends.add("Morning at the shop #croissant", ["croissant"], at, "fan2")
    return t + timedelta(minutes=10)


def test_a_jumping_hashtag_surges_and_a_steady_one_does_not() -> None:
    trends = SurgingTerms(ignore=KEYWORDS)
    now = steady_then_jump(trends)
    top = trends.top(now)
    assert [s.term for s in top[:3]] == ["#briochegate", "flour", "lied"]
    assert top[0].is_hashtag and top[0].ratio > 10
    assert len(top) == 3  # the steady '#croissant' chatter does not surge


def test_min_support_keeps_a_single_post_from_trending() -> None:
    trends = SurgingTerms(TrendSettings(min_support=5), ignore=KEYWORDS)
    steady_then_jump(trends)
    later = T0 + timedelta(hours=6, minutes=11)
    trends.add("one odd post about #unicorns", ["unicorns"], later)
    assert "#unicorns" not in {s.term for s in trends.top(later)}


def test_a_surge_fades_back_into_the_baseline() -> None:
    trends = SurgingTerms(ignore=KEYWORDS)
    now = steady_then_jump(trends)
    assert trends.top(now)[0].term == "#briochegate"
    assert trends.top(now + timedelta(hours=2)) == []


def test_vocabulary_is_bounded() -> None:
    trends = SurgingTerms(TrendSettings(max_terms=500))
    for i in range(5000):
        word = "".join(chr(ord("a") + (i // 26**k) % 26) for k in range(4))
        trends.add(f"zz{word} common words", [], T0 + timedelta(seconds=i))
    assert len(trends) <= 500
    assert "common" in trends._terms  # the frequent term survives pruning


def test_ordinary_words_that_rise_with_the_storm_do_not_surge() -> None:
    """Issue 12: "good", "see", "says", "aller", "devoir", "loin" filled Surging as the volume rose."""
    trends = SurgingTerms(ignore=KEYWORDS)
    ordinary = ["good to see it says", "faut aller loin devoir", "good morning, see you"]
    t = T0
    for minute in range(6 * 60):
        t = T0 + timedelta(minutes=minute)
        trends.add(ordinary[minute % 3], [], t, f"regular{minute % 9}")
    for minute in range(10):  # ten times the volume, the same words in the same share, and the news
        for k in range(10):
            at = t + timedelta(minutes=minute, seconds=6 * k)
            text = ordinary[k % 3] if k % 2 else "margarine in the brioche, says the baker"
            trends.add(text, [], at, f"user{minute}-{k}")
    top = {s.term for s in trends.top(t + timedelta(minutes=10))}
    assert "margarine" in top
    assert not top & {"good", "see", "aller", "devoir", "loin", "morning"}


def test_a_term_from_one_account_is_not_a_trend() -> None:
    trends = SurgingTerms(ignore=KEYWORDS)
    now = steady_then_jump(trends)
    for k in range(30):
        trends.add("#buymycourse now", ["buymycourse"], now + timedelta(seconds=k), "spammer")
    later = now + timedelta(seconds=30)
    assert "#buymycourse" not in {s.term for s in trends.top(later)}
    for k in range(3):  # two more people pick it up: now it is one
        trends.add("#buymycourse lol", ["buymycourse"], later + timedelta(seconds=k), f"other{k}")
    assert "#buymycourse" in {s.term for s in trends.top(later + timedelta(seconds=3))}


def test_counts_stay_exact_over_days_of_desk_time() -> None:
    # the counts are kept scaled from a reference time that moves every few days: nothing is lost
    trends = SurgingTerms(ignore=KEYWORDS)
    t = T0
    for k in range(6 * 24 * 7):  # a week, one use every ten minutes
        t = T0 + timedelta(minutes=10 * k)
        trends.add("flour again", [], t, f"u{k % 4}")
    recent, usual = trends._decayed(trends._terms["flour"], t.timestamp())
    assert recent == pytest.approx(1 / (1 - math.exp(-600 / 900)), rel=1e-9)  # a geometric series
    assert usual == pytest.approx(1 / (1 - math.exp(-600 / 21600)), rel=1e-6)
    assert trends._ref > T0.timestamp()  # the reference moved on the way
