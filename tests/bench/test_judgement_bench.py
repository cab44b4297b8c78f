"""Judgement benchmarks: detector cost per bucket, copy-paste clustering cost per mention at 100k.

Run with ``make bench``; figures go to bench.json. Nothing here asserts a time: a figure that grows
with the number of mentions seen is caught by comparing the last 10k with the first 10k below.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from tocsin.config.settings import ClusterSettings
from tocsin.scoring.clusters import CopyPasteIndex
from tocsin.scoring.detector import SpikeDetector

START = datetime(2026, 11, 2, tzinfo=UTC)


def test_detector_us_per_bucket(bench_record: Callable[[str, float], None]) -> None:
    rng = random.Random(5)
    counts = [float(rng.randint(0, 40)) for _ in range(100_000)]
    bucket = timedelta(minutes=1)
    d = SpikeDetector(bucket)
    t0 = time.perf_counter()
    for i, c in enumerate(counts):
        d.update(START + i * bucket, c)
    elapsed = time.perf_counter() - t0
    bench_record("detector_us_per_bucket", elapsed / len(counts) * 1e6)


def _mentions(n: int, seed: int = 3) -> list[tuple[str, str, datetime]]:
    """Ordinary chatter (unique texts) with copy-paste waves mixed in, ~14 mentions per second."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyzéè"
    vocab = ["".join(rng.choice(letters) for _ in range(rng.randint(2, 9))) for _ in range(5000)]
    vocab += ["brioche", "maison", "boycott", "farine", "scandale", "merci"]
    templates = [
        "Boycott @maisonbrioche now they lied about the flour #BriocheGate {}",
        "Maison Brioche a menti sur la farine, partagez avant que ce soit supprimé {}",
        "I will never buy from Maison Brioche again after this scandal {} #BriocheGate",
    ]
    out = []
    for i in range(n):
        at = START + timedelta(seconds=i * 0.07)
        if rng.random() < 0.25:
            text = rng.choice(templates).format(f"https://t.co/{rng.randrange(10**6)} {rng.choice(vocab)}")
        else:
            text = " ".join(rng.choice(vocab) for _ in range(rng.randint(6, 30)))
        out.append((f"user{rng.randrange(40_000)}", text, at))
    return out


def test_cluster_us_per_mention_at_100k(bench_record: Callable[[str, float], None]) -> None:
    n = 100_000
    mentions = _mentions(n)
    index = CopyPasteIndex(ClusterSettings(window=timedelta(hours=6), max_entries=50_000))
    laps = []
    t0 = time.perf_counter()
    for i, (author, text, at) in enumerate(mentions):
        index.add(str(i), author, text, at)
        if (i + 1) % 10_000 == 0:
            laps.append(time.perf_counter())
    first = laps[0] - t0
    last = laps[-1] - laps[-2]
    assert len(index) <= 50_000
    bench_record("cluster_us_per_mention_at_100k", last / 10_000 * 1e6)
    bench_record("cluster_us_per_mention_first_10k", first / 10_000 * 1e6)
    bench_record("cluster_cost_growth_100k_vs_10k", last / first)
