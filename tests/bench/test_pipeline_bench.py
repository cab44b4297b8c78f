"""Pipeline throughput and memory (``make bench``).

200,000 synthetic mixed French/English mentions of three topics go through a Desk with no screen:
topic matching, dedupe, lexicon sentiment in batches, all the judgement (influence, bot-likelihood,
copy-paste clustering, surging terms, the spike detector, levels, the influencer table), aggregation,
the feed and snapshots.

- ``pipeline_mentions_per_s``: inline scoring (the lexicon in a thread of this process, beside the
  judge's thread), so the figure is the pipeline's own cost, not inter-process traffic;
- ``pipeline_worker_mentions_per_s``: the same (first 50,000 mentions) with the sentiment worker
  process, the desk's default;
- ``pipeline_vs_lexicon_ratio``: pipeline throughput ÷ bare ``LexiconScorer.score_batch`` throughput on
  the same texts in the same run (1.0 = the pipeline costs nothing over scoring); with the judgement on,
  clustering dominates, so this is far below 1; ``pipeline_vs_lexicon_cpu_ratio`` is the same on this
  process's CPU time (steadier on a busy machine);
- ``judge_us_per_mention``: ``Judge.judge_batch`` alone, per mention, in batches of 256 (the work the
  judge's thread takes off the event loop);
- ``pipeline_loop_lag_ms_p99``: while the desk runs flat out, how late a 10 ms timer on its event loop
  fires (p99): what the screen and the keys would wait for;
- ``pipeline_rss_growth_mb``: resident memory growth between the 100,000th and the 200,000th mention
  (bounded state: dedupe generations, feed ring, bucket rings, the judge's bounded tables).
"""

from __future__ import annotations

import asyncio
import gc
import random
import statistics
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from tocsin.config.settings import Settings, TopicSettings
from tocsin.desk.desk import Desk
from tocsin.scoring.judge import Judge
from tocsin.scoring.lexicon import LexiconScorer
from tocsin.scoring.topics import TopicMatcher
from tocsin.sources.base import Source, SourceState
from tocsin.sources.clock import ManualClock
from tocsin.sources.model import Author, Mention, extract_hashtags

N = 200_000
HALF = N // 2
START = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)

TOPICS = (
    TopicSettings(
        id="brioche",
        name="Maison Brioche",
        keywords=(
            "maison brioche",
            "maisonbrioche",
            "#maisonbrioche",
            "#briochegate",
            "@maisonbrioche",
            "brioche gate",
        ),
    ),
    TopicSettings(id="rival", name="Pain Doré", keywords=("pain doré", "#paindore", "@paindore")),
    TopicSettings(
        id="eclair", name="Éclair Royal", keywords=("éclair royal", "#eclairroyal"), exclude=("recette",)
    ),
)

FR = [
    "{brand} franchement c'est {adj_fr}, {tail_fr}",
    "J'ai acheté un {product} chez {brand} ce matin, {adj_fr} {emoji}",
    "{brand} {tag} vous devriez avoir honte, {tail_fr}",
    "Encore une fois {brand} nous prend pour des idiots {tag}",
    "@{user} tu as vu le thread sur {brand} ? {adj_fr}",
    "Le {product} de {brand} était {adj_fr}, je n'y retournerai {never}",
]
EN = [
    "{brand} is {adj_en}, {tail_en} {emoji}",
    "Just had a {product_en} from {brand}, honestly {adj_en} {tag}",
    "@{user} did you see what {brand} did? {adj_en} {tag}",
    "Not sure why everyone is talking about {brand}, {tail_en}",
    "{brand} customer service was {adj_en} today, {tail_en}",
]
BRANDS = [
    "Maison Brioche",
    "@maisonbrioche",
    "#MaisonBrioche",
    "maison brioche",
    "Pain Doré",
    "Éclair Royal",
    "MAISON BRIOCHE",
    "Maison-Brioche",
    "#BriocheGate",
]
ADJ_FR = [
    "nul",
    "super bon",
    "immonde",
    "délicieux",
    "pas terrible",
    "honteux",
    "génial",
    "correct",
    "vraiment décevant",
    "incroyable",
]
ADJ_EN = [
    "awful",
    "great",
    "disgusting",
    "lovely",
    "not bad",
    "a scandal",
    "amazing",
    "fine",
    "so bad",
    "the best",
]
TAIL_FR = [
    "je suis dégoûté",
    "merci pour l'accueil",
    "on en parle ?",
    "quelle honte",
    "à refaire",
    "boycott total",
    "trop contente",
    "rien à dire",
]
TAIL_EN = [
    "never again",
    "thanks for the help",
    "what a mess",
    "totally recommend",
    "so disappointed",
    "boycott now",
    "love it",
    "no comment",
]
TAGS = ["#briochegate", "#boycottbrioche", "#paris", "#foodie", "#maisonbrioche", "", "", "#eclairroyal"]
EMOJI = ["😡", "😍", "🤮", "👍", "", "", "🥐", "😂"]
PRODUCTS = ["croissant", "pain au chocolat", "éclair", "flan", "chausson"]
NEVER = ["jamais", "plus", "pas de sitôt"]


def synthetic_mentions(n: int, seed: int = 11) -> list[Mention]:
    """Deterministic mixed FR/EN mentions, 12 hours of them, from 8,000 authors."""
    rng = random.Random(seed)
    authors = [
        Author(handle=f"user{i}", name=f"User {i}", followers=rng.randrange(50_000), following=i % 900)
        for i in range(8_000)
    ]
    step = timedelta(hours=12) / n
    out = []
    for i in range(n):
        fr = rng.random() < 0.55
        template = rng.choice(FR if fr else EN)
        text = (
            template.format(
                brand=rng.choice(BRANDS),
                adj_fr=rng.choice(ADJ_FR),
                adj_en=rng.choice(ADJ_EN),
                tail_fr=rng.choice(TAIL_FR),
                tail_en=rng.choice(TAIL_EN),
                tag=rng.choice(TAGS),
                emoji=rng.choice(EMOJI),
                product=rng.choice(PRODUCTS),
                product_en=rng.choice(PRODUCTS),
                user=f"user{rng.randrange(8_000)}",
                never=rng.choice(NEVER),
            )
            + f" {rng.randrange(1000)}"
        )
        at = START + step * i
        out.append(
            Mention(
                uid=f"bench-{i}",
                source="bench",
                text=text,
                created_at=at,
                received_at=at,
                url=None,
                author=authors[rng.randrange(len(authors))],
                lang="fr" if fr else "en",
                hashtags=extract_hashtags(text),
            )
        )
    return out


class PrebuiltSource(Source):
    """Hands over prepared mentions as fast as the desk takes them, moving the desk's clock to each one's
    time as a replay does (the windows, the clustering window and the tables follow the data)."""

    kind = "bench"

    def __init__(self, clock: ManualClock, mentions: list[Mention]) -> None:
        super().__init__("bench", clock)
        self.mentions = mentions
        self.advance = clock.advance_to

    async def stream(self) -> AsyncIterator[Mention]:
        self.health.set_state(SourceState.LIVE)
        advance = self.advance
        for m in self.mentions:
            advance(m.received_at)
            yield m
        self.health.set_state(SourceState.FINISHED)


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    import resource

    return pages * resource.getpagesize() / 1e6


async def run_desk(mentions: list[Mention], *, inline: bool) -> tuple[float, float, float, list[float], Desk]:
    """Seconds (real, and CPU of this process) to get every mention scored and counted, RSS growth
    (MB) from half-way to the end, and how late (ms) each tick of a 10 ms timer on the loop fired."""
    clock = ManualClock(START)
    desk = Desk(
        Settings(topics=TOPICS), clock=clock, sources=[PrebuiltSource(clock, mentions)], inline_scoring=inline
    )
    await desk.sentiment.start()
    await desk.sentiment.score(["warm up: the worker is spawned before the clock starts"], ["en"])
    marks: dict[str, float] = {}

    def watch(batch) -> None:
        seq = batch[-1].seq
        if "half" not in marks and seq >= HALF:
            gc.collect()
            marks["half"] = rss_mb()

    desk.add_batch_listener(watch)
    gc.collect()
    loop = asyncio.get_running_loop()
    lags: list[float] = []
    t0, c0 = time.perf_counter(), time.process_time()
    await desk.start()
    for _ in range(360_000):  # at most an hour
        if desk.finished:
            break
        due = loop.time() + 0.01
        await asyncio.sleep(0.01)
        lags.append(max(0.0, loop.time() - due) * 1000)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    gc.collect()
    growth = rss_mb() - marks.get("half", rss_mb())
    await desk.stop()
    return elapsed, cpu, growth, lags, desk


def judge_cost(mentions: list[Mention]) -> float:
    """Microseconds per mention for ``Judge.judge_batch`` alone (batches of 256, topics matched first)."""
    match = TopicMatcher(TOPICS).match
    items = [(m, match(m)) for m in mentions]
    judge = Judge(Settings(topics=TOPICS), start=START)
    t0 = time.perf_counter()
    for i in range(0, len(items), 256):
        judge.judge_batch(items[i : i + 256])
    return (time.perf_counter() - t0) / len(items) * 1e6


def test_pipeline_throughput_and_memory(bench_record):
    mentions = synthetic_mentions(N)
    texts = [m.text for m in mentions]
    langs = [m.lang for m in mentions]
    # The prepared mentions stand for what sources deliver over hours, not what a desk holds: keep the
    # garbage collector from walking them again and again, as it would not in a running desk.
    gc.collect()
    gc.freeze()

    lexicon = LexiconScorer()
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(0, N, 256):
        lexicon.score_batch(texts[i : i + 256], langs[i : i + 256])
    lexicon_s, lexicon_cpu = time.perf_counter() - t0, time.process_time() - c0
    del lexicon

    judge_us = judge_cost(mentions[:50_000])

    inline_s, inline_cpu, growth, lags, desk = asyncio.run(run_desk(mentions, inline=True))
    snap = desk.snapshot()
    assert sum(t.mentions for t in snap.topics.values()) >= N  # every mention matched at least one topic
    assert desk.pipeline.counters.unmatched == 0
    assert desk.pipeline.counters.judgement_failures == 0
    assert all("influence" in sm.scores and "bot" in sm.scores for sm in desk.feed_since(N - 100))
    worker_n = 50_000
    worker_s, _, _, _, _ = asyncio.run(run_desk(mentions[:worker_n], inline=False))

    bench_record("pipeline_mentions_per_s", N / inline_s)
    bench_record("pipeline_worker_mentions_per_s", worker_n / worker_s)
    bench_record("judge_us_per_mention", judge_us)
    bench_record("pipeline_loop_lag_ms_p99", statistics.quantiles(lags, n=100)[98])
    bench_record("lexicon_bare_texts_per_s", N / lexicon_s)
    bench_record("pipeline_vs_lexicon_ratio", lexicon_s / inline_s)
    # the same on CPU time: steadier than real time when other work shares the machine
    bench_record("pipeline_vs_lexicon_cpu_ratio", lexicon_cpu / inline_cpu)
    bench_record("pipeline_rss_growth_mb", growth)
