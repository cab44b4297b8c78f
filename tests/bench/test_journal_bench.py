"""Journal benchmarks: action commit latency, archive throughput and size (the bench's storm-like mentions,
and the varied replay as a desk archives it), post-mortem export at 10k evidence.

Run with ``make bench``; figures go to bench.json. Nothing here asserts a time. The journal lives on the
same disk as the repository (a real file system with fsync), as it would for a user.
"""

from __future__ import annotations

import importlib.util
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tocsin.config.settings import DeskSettings, Settings
from tocsin.journal.api import Journal
from tocsin.journal.history import VolumePoint
from tocsin.journal.reports import build_postmortem, render
from tocsin.sources.clock import ManualClock
from tocsin.sources.model import Author, Engagement, Mention, ScoredMention, SentimentScore

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]

_WORDS_FR = (
    "brioche souris boulangerie scandale jamais plus honte client service farine qualité magasin photo "
    "vidéo boycott rappel produit enquête réponse excuses vraiment toujours encore personne hier matin"
).split()
_WORDS_EN = (
    "bakery mouse never again shame customer service quality store photo video boycott recall product "
    "answer apology really still nobody yesterday morning disgusting viral thread"
).split()
_TAGS = ("#BriocheGate", "#MaisonBrioche", "#boycott", "#rappelconso")


def realistic_mentions(n: int, seed: int = 11) -> list[ScoredMention]:
    """Storm-like mentions: 60–280 characters, a few hashtags, real-looking authors, scores."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        words = _WORDS_FR if rng.random() < 0.6 else _WORDS_EN
        text = " ".join(rng.choice(words) for _ in range(rng.randint(10, 40)))
        if rng.random() < 0.7:
            text = f"@maisonbrioche {text}"
        text += " " + " ".join(rng.sample(_TAGS, rng.randint(0, 2)))
        handle = f"user_{rng.randint(1, 40_000)}"
        at = T0 + timedelta(seconds=i * 0.2)
        label = rng.choice(("negative", "negative", "neutral", "positive"))
        mention = Mention(
            uid=f"at://did:plc:{rng.getrandbits(64):016x}/app.bsky.feed.post/{i:09d}",
            source="bluesky",
            text=text[:280],
            created_at=at,
            received_at=at + timedelta(seconds=rng.random()),
            url=f"https://bsky.app/profile/{handle}/post/{i:09d}",
            author=Author(
                handle=handle,
                name=f"User {i % 977}",
                followers=int(rng.paretovariate(1.2) * 50),
                following=rng.randint(10, 2000),
                posts=rng.randint(1, 50_000),
                created_at=T0 - timedelta(days=rng.randint(1, 3000)),
                verified=False,
            ),
            lang="fr" if words is _WORDS_FR else "en",
            hashtags=tuple(t[1:].lower() for t in _TAGS if t in text),
            engagement=Engagement(rng.randint(0, 50), rng.randint(0, 300), rng.randint(0, 2000)),
        )
        out.append(
            ScoredMention(
                seq=i,
                mention=mention,
                topics=("brioche",),
                sentiment=SentimentScore(label, round(rng.random(), 3), "lexicon"),  # type: ignore[arg-type]
                scores={"influence": {"score": rng.randint(0, 100), "tier": "micro"}, "bot": {"score": 0.1}},
            )
        )
    return out


@pytest.fixture
def workdir() -> Path:
    with tempfile.TemporaryDirectory(dir=ROOT, prefix=".bench-journal-") as d:
        yield Path(d)


def settings_for(path: Path) -> Settings:
    return Settings(desk=DeskSettings(journal=str(path), operator="bench", timezone="Europe/Paris"))


async def test_journal_commit_ms(workdir: Path, bench_record: Callable[[str, float], None]) -> None:
    journal = await Journal.open(settings_for(workdir / "j.sqlite"), clock=ManualClock(T0))
    inc = await journal.open_incident("brioche", "sev2", "Storm")
    await journal.archive(realistic_mentions(5000))  # a journal with some weight in it
    timings = []
    for k in range(600):
        t0 = time.perf_counter()
        if k % 3 == 0:
            await journal.add_note(inc.id, f"note {k}: called the store manager back")
        elif k % 3 == 1:
            await journal.log_response(
                inc.id, "private_reply", "x", f"DM {k}: we are sorry, can you send us a photo?"
            )
        else:
            await journal.check(inc.id, "values", done=(k // 3) % 2 == 0)
        timings.append((time.perf_counter() - t0) * 1000)
    await journal.close()
    q = statistics.quantiles(timings[50:], n=100)
    bench_record("journal_commit_ms_p50", statistics.median(timings[50:]))
    bench_record("journal_commit_ms_p99", q[98])


async def test_archive_throughput_and_size(workdir: Path, bench_record: Callable[[str, float], None]) -> None:
    path = workdir / "j.sqlite"
    journal = await Journal.open(settings_for(path), clock=ManualClock(T0))
    await journal.close()
    empty = path.stat().st_size
    mentions = realistic_mentions(100_000)
    journal = await Journal.open(settings_for(path), clock=ManualClock(T0))
    t0 = time.perf_counter()
    for i in range(0, len(mentions), 500):
        await journal.archive(mentions[i : i + 500])
    elapsed = time.perf_counter() - t0
    assert await journal.archived_count() == 100_000
    await journal.close()  # the last connection checkpoints the WAL into the file
    bench_record("archive_mentions_per_s", len(mentions) / elapsed)
    bench_record("journal_bytes_per_100k_mentions", path.stat().st_size - empty)


REPLAY_N = 50_000


def test_journal_bytes_on_the_varied_replay(
    workdir: Path, bench_record: Callable[[str, float], None]
) -> None:
    """The archive as a desk fills it: ``tests/bench/replay.py``'s varied storm (French and English,
    campaigns, echoes, a Zipf spread of authors) through ``tocsin run --headless`` with its journal, every
    judgement on, so the scores and bot reasons archived are the real ones."""

    spec = importlib.util.spec_from_file_location(
        "tocsin_bench_replay", Path(__file__).with_name("replay.py")
    )
    assert spec is not None and spec.loader is not None
    replay = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(replay)
    data = replay.write(workdir / "replay.jsonl", REPLAY_N)
    journal = workdir / "replay.sqlite"
    config = workdir / "replay.yaml"
    config.write_text(
        f"desk: {{name: bench, journal: {journal}}}\n"
        "topics:\n  - {id: brioche, name: Maison Brioche, keywords: [maison brioche, maisonbrioche,"
        " '#maisonbrioche', '#briochegate', '@maisonbrioche']}\n"
        f"sources:\n  - {{type: jsonl, id: replay, path: {data}}}\n"
    )
    tocsin = Path(sys.executable).parent / "tocsin"
    run = [
        str(tocsin),
        "run",
        "--headless",
        "--config",
        str(config),
        "--emit",
        "incidents",
        "--duration",
        "1800",
    ]
    done = subprocess.run(run, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-2000:]
    db = sqlite3.connect(journal)
    try:
        archived = db.execute("SELECT count(*) FROM mentions").fetchone()[0]
    finally:
        db.close()
    assert archived == REPLAY_N
    bench_record("journal_bytes_per_mention_replay", journal.stat().st_size / archived)


async def test_export_html_at_10k_evidence(workdir: Path, bench_record: Callable[[str, float], None]) -> None:
    journal = await Journal.open(settings_for(workdir / "j.sqlite"), clock=ManualClock(T0))
    evidence = realistic_mentions(10_000, seed=5)
    inc = await journal.open_incident(
        "brioche", "sev1", "Storm", evidence=evidence, now=T0 + timedelta(hours=1)
    )
    await journal.record_volumes(
        VolumePoint("brioche", T0 + timedelta(minutes=m), 200 + m, negative=30) for m in range(-120, 240)
    )
    await journal.log_response(inc.id, "official_statement", "press", "Our statement")
    await journal.resolve(inc.id, now=T0 + timedelta(hours=3))
    t0 = time.perf_counter()
    page = render(await build_postmortem(journal, inc.id, now=T0 + timedelta(hours=4)), "html")
    elapsed = time.perf_counter() - t0
    await journal.close()
    assert page.count('class="ev"') == 10_001
    bench_record("export_html_s_at_10k_evidence", elapsed)
