"""SentimentService: batches off the event loop, worker process and inline thread agree."""

from __future__ import annotations

import asyncio
import time

from tocsin.config.settings import SentimentSettings
from tocsin.scoring.sentiment import SentimentService

TEXTS = [
    "Arnaque totale, remboursez-moi !!!",
    "Merci pour l'accueil, le pain est délicieux 😍",
    "The shop opens at nine on Monday",
    "not good at all 😡",
    "",
    "https://example.com @someone",
    "Maison Brioche ouvre une boutique rue de Rivoli",
    "#BriocheGate c'est honteux",
]
LANGS: list[str | None] = [None, "fr", "en", None, None, None, "fr", None]
EXPECTED = ["negative", "positive", "neutral", "negative", "unscored", "unscored", "neutral", "negative"]


async def test_inline_and_worker_modes_give_the_same_labels() -> None:
    labels = {}
    for inline in (True, False):
        service = SentimentService(SentimentSettings(), inline=inline)
        await service.start()
        try:
            scores = await service.score(TEXTS, LANGS)
        finally:
            await service.close()
        assert all(s.engine == "lexicon" for s in scores)
        assert service.engine == "lexicon" and service.note is None
        labels[inline] = [s.label for s in scores]
    assert labels[True] == labels[False] == EXPECTED


async def test_worker_start_does_not_block_the_loop() -> None:
    service = SentimentService(SentimentSettings())
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    task = asyncio.create_task(ticker())
    t0 = time.perf_counter()
    await service.start()
    started = time.perf_counter() - t0
    scores = await service.score(["super"], ["fr"])
    task.cancel()
    await service.close()
    assert scores[0].label == "positive"
    assert started < 0.5  # the worker spawns in the background
    assert ticks > 3  # the loop kept running while the worker warmed up and scored


async def test_score_before_start_and_empty_batches() -> None:
    service = SentimentService(SentimentSettings(), inline=True)
    assert await service.score([], []) == []
    scores = await service.score(["bof"], ["fr"])
    assert scores[0].label == "negative"
    await service.close()
    await service.close()  # idempotent


async def test_a_dead_worker_does_not_stop_scoring() -> None:
    service = SentimentService(SentimentSettings())
    await service.start()
    await service.score(["ok"], ["en"])
    for proc in list(service._executor._processes.values()):  # type: ignore[union-attr]
        proc.kill()
        proc.join()
    scores = await service.score(["c'est nul"], ["fr"])
    await service.close()
    assert scores[0].label == "negative"
    assert service.note and "in-process" in service.note


async def test_missing_flair_model_falls_back_with_a_note_at_once(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("FLAIR_CACHE_ROOT", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    service = SentimentService(SentimentSettings(engine="flair", model="sentiment"), inline=True)
    t0 = time.perf_counter()
    await service.start()
    scores = await service.score(["terrible service"], ["en"])
    await service.close()
    assert time.perf_counter() - t0 < 2.0
    assert service.engine == "lexicon"
    assert service.note is not None
    assert "flair model 'sentiment' not in cache" in service.note
    assert "sentiment-en-mix-distillbert_4.pt" in service.note and "using lexicon" in service.note
    assert scores[0].label == "negative" and scores[0].engine == "lexicon"
