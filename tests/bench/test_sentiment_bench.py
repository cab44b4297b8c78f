"""Sentiment throughput: ``lexicon_texts_per_s``, ``sentiment_worker_texts_per_s``, ``flair_texts_per_s``.

Texts are synthetic mentions of the demo brand in French and English (complaints, praise, news,
links, handles, hashtags, emoji), generated from a seed so every run scores the same 100k texts.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tocsin.config.settings import SentimentSettings
from tocsin.scoring.lexicon import LexiconScorer
from tocsin.scoring.sentiment import SentimentService

FR_OPENERS = ["", "Franchement ", "Sérieux ", "Bon ", "Alors ", "Honnêtement ", "Bref ", "Perso "]
FR_BODIES = [
    "@maisonbrioche c'est une arnaque totale, remboursez-moi",
    "le pain au chocolat de Maison Brioche est délicieux",
    "j'ai trouvé un cheveu dans ma brioche, c'est dégueulasse",
    "plus jamais chez Maison Brioche après ce scandale",
    "merci pour l'accueil ce matin, équipe au top",
    "Maison Brioche ouvre une nouvelle boutique rue de Rivoli",
    "pas terrible la nouvelle recette, trop sucrée",
    "je ne recommande pas du tout, service client inexistant",
    "les croissants sont vraiment trop bons",
    "quelqu'un sait si la boutique de Lyon est ouverte dimanche ?",
]
EN_OPENERS = ["", "Honestly ", "Wow ", "Ok so ", "Lol ", "Just saying: ", "Ugh ", "Update: "]
EN_BODIES = [
    "@maisonbrioche this is a total rip-off, I want a refund",
    "best croissant I've had in years, thank you Maison Brioche",
    "found a hair in my brioche, absolutely disgusting",
    "never again, the #BriocheGate story is shameful",
    "the new store on Regent Street opens tomorrow at 9",
    "not bad at all but the coffee was cold",
    "customer service ignored me for a week, so done with them",
    "love the new seasonal menu",
    "does anyone know if they deliver on Sundays?",
    "boycott Maison Brioche until they apologise",
]
ENDINGS = [
    "",
    " !!!",
    " 😡",
    " 👍",
    " 🤮",
    " ❤️",
    " :)",
    " #boycott",
    " https://t.co/{n}",
    " #MaisonBrioche",
    " 😂😂",
]


def mentions(n: int, seed: int = 11) -> tuple[list[str], list[str | None]]:
    """``n`` synthetic FR/EN mentions and their language tags (a third untagged, as from RSS or webhooks)."""
    rng = random.Random(seed)
    texts: list[str] = []
    langs: list[str | None] = []
    for i in range(n):
        french = rng.random() < 0.5
        opener = rng.choice(FR_OPENERS if french else EN_OPENERS)
        body = rng.choice(FR_BODIES if french else EN_BODIES)
        ending = rng.choice(ENDINGS).format(n=i)
        texts.append(
            f"{opener}{body}{ending} #{rng.randrange(1000)}"
            if rng.random() < 0.3
            else f"{opener}{body}{ending}"
        )
        roll = rng.random()
        langs.append(None if roll < 0.33 else ("fr" if french else "en"))
    return texts, langs


def test_lexicon_throughput(bench_record: Callable[[str, float], None]) -> None:
    texts, langs = mentions(100_000)
    scorer = LexiconScorer()
    scorer.score_batch(texts[:1000], langs[:1000])  # warm the token memo as a running desk would be
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        scores = scorer.score_batch(texts, langs)
        best = min(best, time.perf_counter() - t0)
    assert len(scores) == len(texts)
    assert {s.label for s in scores} >= {"negative", "neutral", "positive"}
    bench_record("lexicon_texts_per_s", len(texts) / best)


def test_worker_throughput(bench_record: Callable[[str, float], None]) -> None:
    """The lexicon through the worker process, in 256-text batches as the pipeline sends them."""
    texts, langs = mentions(50_000, seed=12)

    async def run() -> float:
        service = SentimentService(SentimentSettings())
        await service.start()
        await service.score(texts[:256], langs[:256])  # the worker is up and warm
        t0 = time.perf_counter()
        pending = [
            asyncio.ensure_future(service.score(texts[i : i + 256], langs[i : i + 256]))
            for i in range(0, len(texts), 256)
        ]
        results = await asyncio.gather(*pending)
        elapsed = time.perf_counter() - t0
        await service.close()
        assert sum(len(r) for r in results) == len(texts)
        return elapsed

    bench_record("sentiment_worker_texts_per_s", len(texts) / asyncio.run(run()))


def test_flair_throughput(bench_record: Callable[[str, float], None], tmp_path: Path) -> None:
    """A from-scratch model (one-hot words + mean pool) trained here, then batched CPU inference."""
    pytest.importorskip("flair")
    from tocsin.scoring.flair_engine import FlairSentiment, LabelledData, train_model

    labelled = [
        (
            text,
            "negative"
            if any(w in text for w in ("arnaque", "rip-off", "dégueulasse", "disgusting"))
            else "neutral",
        )
        for text in mentions(600, seed=13)[0]
    ]
    labelled += [(text, "positive") for text in ("merci, délicieux", "love it, thank you", "au top 👍") * 20]
    out = tmp_path / "bench.pt"
    train_model(LabelledData(labelled), out, epochs=2, seed=1)
    model = FlairSentiment.load(out, threads=1)
    texts, _ = mentions(5_000, seed=14)
    model.predict(texts[:200])
    t0 = time.perf_counter()
    predicted = model.predict(texts)
    elapsed = time.perf_counter() - t0
    assert len(predicted) == len(texts)
    bench_record("flair_texts_per_s", len(texts) / elapsed)
