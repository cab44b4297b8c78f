"""Topic matching cost against the size of the keyword list (issue 10: 10k keywords hung the desk).

Figures: ``match_us_per_mention_at_10_keywords``, ``match_us_per_mention_at_10k_keywords`` (one topic
and fifty topics sharing the list), ``match_build_s_at_10k_keywords``. The claim to hold: ten thousand
keywords cost about what ten do.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime

from tocsin.config.settings import TopicSettings
from tocsin.scoring.topics import TopicMatcher
from tocsin.sources.model import Author, Mention

T = datetime(2026, 11, 21, tzinfo=UTC)
WORDS = ["brioche", "déçu", "service", "client", "livraison", "retard", "honteux", "super", "merci", "café"]


def mentions(n: int, vocabulary: list[str]) -> list[Mention]:
    rng = random.Random(10)
    out = []
    for i in range(n):
        words = [*rng.choices(WORDS, k=25), rng.choice(vocabulary)]
        rng.shuffle(words)
        out.append(Mention(str(i), "b", " ".join(words) + " — ça arrive ?", T, T, author=Author(f"u{i}")))
    return out


def per_mention_us(matcher: TopicMatcher, batch: list[Mention]) -> float:
    match = matcher.match
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for m in batch:
            match(m)
        best = min(best, time.perf_counter() - started)
    return best / len(batch) * 1e6


def test_thousands_of_keywords_cost_about_what_ten_do(bench_record):
    small = [f"marque{i}" for i in range(10)]
    large = [f"marque{i}" for i in range(10_000)]
    batch = mentions(20_000, large)
    ten = per_mention_us(TopicMatcher([TopicSettings(id="t", keywords=tuple(small))]), batch)
    one = per_mention_us(TopicMatcher([TopicSettings(id="t", keywords=tuple(large))]), batch)
    started = time.perf_counter()
    fifty = TopicMatcher([TopicSettings(id=f"t{i}", keywords=tuple(large)) for i in range(50)])
    build = time.perf_counter() - started
    shared = per_mention_us(fifty, batch)
    bench_record("match_us_per_mention_at_10_keywords", ten)
    bench_record("match_us_per_mention_at_10k_keywords", one)
    bench_record("match_us_per_mention_at_10k_keywords_50_topics", shared)
    bench_record("match_build_s_at_10k_keywords", build)
    assert one < 3 * ten + 5 and shared < 3 * ten + 5
