"""Surging terms: a hashtag that jumps surges, a steady one does not; the vocabulary stays bounded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
        trends.add("Breakfast with a croissant #croissant", ["croissant"], t)
        trends.add("Morning at the shop #croissant", ["croissant"], t + timedelta(seconds=30))
    for minute in range(10):
        for k in range(20):
            at = t + timedelta(minutes=minute, seconds=3 * k)
            trends.add("they lied about the flour #BriocheGate", ["briochegate"], at)
            if k == 0:
                trends.add("Breakfast with a croissant #croissant", ["croissant"], at)
            if k == 10:
                trends.add("Morning at the shop #croissant", ["croissant"], at)
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
