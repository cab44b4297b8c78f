"""The sentiment service: scores batches of texts off the event loop, with the lexicon at once and
flair when (and if) it is ready.

- Worker mode (default): one spawned worker process (``ProcessPoolExecutor(max_workers=1)``, "spawn":
  never fork a process that may hold torch threads). The lexicon is loaded once in the worker.
- Inline mode (``inline=True``, tests and benchmarks): the same engine in this process, in one
  dedicated thread.

With ``engine: flair`` the lexicon scores from the first batch while the worker loads flair in a
background thread; ``engine`` switches to ``flair`` once it is loaded, and ``note`` says why the
engine is what it is ("flair loading…", "flair model 'sentiment' not in cache (…); using lexicon").
A missing model is found by looking at files, before flair is imported, so it never hangs and the
process is set offline before flair is imported, so it never downloads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from tocsin.config.settings import SentimentSettings
from tocsin.scoring.flair_engine import FlairSentiment, ModelNotFound, resolve_model
from tocsin.scoring.language import tokenize
from tocsin.scoring.lexicon import LexiconScorer
from tocsin.sources.model import SentimentScore

log = logging.getLogger(__name__)

LOADING_NOTE = "flair loading…"
STATUS_POLL_S = 0.5
CLOSE_GRACE_S = 0.5

RawScore = tuple[str, float, str]  # (label, score, engine): cheap to pickle across the process boundary


def has_readable_content(text: str) -> bool:
    """True if the text has a word or a symbol to judge (not only links, handles and punctuation)."""
    return any(tok[0].isalnum() or tok[0] == "#" or not set(tok) <= _PUNCTUATION for tok in tokenize(text))


_PUNCTUATION = frozenset("!?.;,:…'’\"()[]{}-_/\\*&%$+=<>|~^`")


@dataclass(frozen=True)
class EngineStatus:
    engine: str
    note: str | None
    loading: bool


class SentimentEngine:
    """What runs in the worker (or the inline thread): the lexicon, and flair once loaded."""

    def __init__(
        self, flair_model: Path | None = None, *, threads: int | None = None, batch: int = 32
    ) -> None:
        self.lexicon = LexiconScorer()
        self._flair: FlairSentiment | None = None
        self._note: str | None = None
        self._loading = False
        if flair_model is not None:
            self._loading = True
            self._note = LOADING_NOTE
            threading.Thread(
                target=self._load_flair,
                args=(flair_model, threads, batch),
                name="tocsin-flair-load",
                daemon=True,
            ).start()

    def _load_flair(self, path: Path, threads: int | None, batch: int) -> None:
        try:
            self._flair = FlairSentiment.load(path, threads=threads, mini_batch_size=batch)
            self._note = f"flair model {path.name}"
        except Exception as exc:  # a broken file, a missing dependency: keep scoring with the lexicon
            log.warning("flair model %s failed to load: %s", path, exc)
            self._note = (
                f"flair model {path.name} failed to load ({type(exc).__name__}: {exc}); using lexicon"
            )
        finally:
            self._loading = False

    def status(self) -> EngineStatus:
        return EngineStatus("flair" if self._flair is not None else "lexicon", self._note, self._loading)

    def score(self, texts: Sequence[str], langs: Sequence[str | None]) -> tuple[list[RawScore], EngineStatus]:
        flair = self._flair
        if flair is None:
            scores = self.lexicon.score_batch(texts, langs)
            return [(s.label, s.score, s.engine) for s in scores], self.status()
        readable = [i for i, t in enumerate(texts) if has_readable_content(t)]
        out: list[RawScore] = [("unscored", 0.0, "flair")] * len(texts)
        try:
            predicted = flair.predict([texts[i] for i in readable])
        except Exception as exc:  # never lose a batch to a model error: the lexicon judges it
            log.warning("flair prediction failed: %s", exc)
            self._note = f"flair failed ({type(exc).__name__}: {exc}); using lexicon"
            self._flair = None
            return self.score(texts, langs)
        for i, (label, conf) in zip(readable, predicted, strict=True):
            out[i] = (label, conf, "flair")
        return out, self.status()


# --- the worker process side ---------------------------------------------------------------------

_worker_engine: SentimentEngine | None = None


def _worker_init(flair_model: str | None, threads: int | None, batch: int) -> None:
    global _worker_engine
    from tocsin.scoring.flair_engine import go_offline

    go_offline()  # before anything can import flair or transformers in this process
    from tocsin.scoring.process_name import end_with_parent, name_process

    name_process("tocsin-sentiment")
    end_with_parent()
    _worker_engine = SentimentEngine(Path(flair_model) if flair_model else None, threads=threads, batch=batch)


def _worker_score(texts: Sequence[str], langs: Sequence[str | None]) -> tuple[list[RawScore], EngineStatus]:
    assert _worker_engine is not None
    return _worker_engine.score(texts, langs)


def _worker_status() -> EngineStatus:
    assert _worker_engine is not None
    return _worker_engine.status()


def _worker_threads() -> int:
    # Leave a core to the UI loop: torch would otherwise take them all.
    return max(1, (os.cpu_count() or 2) - 1)


# --- the service (event-loop side) ---------------------------------------------------------------


class SentimentService:
    """Scores batches off the event loop; see the module docstring."""

    def __init__(self, settings: SentimentSettings, *, inline: bool = False) -> None:
        self.settings = settings
        self.inline = inline
        self.engine: str = "lexicon"
        self.note: str | None = None
        self._executor: Executor | None = None
        self._local_ready: asyncio.Future[SentimentEngine] | None = None
        self._poller: asyncio.Task[None] | None = None
        self._fallback: LexiconScorer | None = None
        self._closed = False
        self._resolution_note: str | None = None

    def _flair_model(self) -> Path | None:
        """The model to load, or None (and a note) when the lexicon is all we have."""
        if self.settings.engine != "flair":
            return None
        try:
            return resolve_model(self.settings.model)
        except ModelNotFound as exc:
            self._resolution_note = self.note = f"{exc}; using lexicon"
            return None

    async def start(self) -> None:
        """Start the worker (returns at once; the worker warms up in the background)."""
        if self._executor is not None or self._closed:
            return
        model = self._flair_model()
        if model is not None:
            self.note = LOADING_NOTE
        batch = max(1, min(self.settings.batch_size, 64))
        loop = asyncio.get_running_loop()
        if self.inline:
            executor: Executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tocsin-sentiment")
            self._executor = executor
            self._local_ready = asyncio.ensure_future(
                loop.run_in_executor(executor, lambda: SentimentEngine(model, threads=None, batch=batch))
            )
        else:
            executor = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_worker_init,
                initargs=(str(model) if model else None, _worker_threads(), batch),
            )
            self._executor = executor
            # The first submit spawns the process: do it from a thread so the loop never waits on it.
            await asyncio.to_thread(executor.submit, _worker_status)
        if model is not None:
            self._poller = asyncio.create_task(self._poll_status(), name="tocsin-sentiment-status")

    async def _status(self) -> EngineStatus:
        if self.inline:
            assert self._local_ready is not None
            return (await self._local_ready).status()
        assert self._executor is not None
        return await asyncio.wrap_future(self._executor.submit(_worker_status))

    async def _poll_status(self) -> None:
        """While flair loads, ask the worker now and then, so the switch shows without new mentions."""
        while not self._closed:
            try:
                status = await self._status()
            except (BrokenProcessPool, RuntimeError):
                return
            self._apply(status)
            if not status.loading:
                return
            await asyncio.sleep(STATUS_POLL_S)

    def _apply(self, status: EngineStatus) -> None:
        self.engine = status.engine
        self.note = status.note or self._resolution_note

    async def score(self, texts: list[str], langs: list[str | None]) -> list[SentimentScore]:
        """One score per text, same order, computed off the event loop."""
        if len(texts) != len(langs):
            raise ValueError(f"{len(texts)} texts but {len(langs)} language tags")
        if not texts:
            return []
        if self._executor is None:
            await self.start()
        if self._closed or self._executor is None:
            raise RuntimeError("sentiment service is closed")
        if self._fallback is not None:  # the worker died earlier: do not knock on its door again
            return await self._score_after_crash(texts, langs)
        try:
            if self.inline:
                assert self._local_ready is not None
                engine = await self._local_ready
                raw, status = await asyncio.get_running_loop().run_in_executor(
                    self._executor, engine.score, texts, langs
                )
            else:
                raw, status = await asyncio.wrap_future(self._executor.submit(_worker_score, texts, langs))
        except BrokenProcessPool:
            return await self._score_after_crash(texts, langs)
        self._apply(status)
        return [SentimentScore(label, score, engine) for label, score, engine in raw]  # type: ignore[arg-type]

    async def _score_after_crash(self, texts: list[str], langs: list[str | None]) -> list[SentimentScore]:
        """The worker died (killed, out of memory): keep scoring, with the lexicon in a thread."""
        if self._fallback is None:
            log.error("sentiment worker died; scoring with the lexicon in-process")
            self._fallback = await asyncio.to_thread(LexiconScorer)
        self.engine = "lexicon"
        self.note = "sentiment worker stopped; lexicon in-process"
        return await asyncio.to_thread(self._fallback.score_batch, texts, langs)

    async def wait_ready(self) -> None:
        """Wait until flair has loaded or failed (the CLI and tests; the desk never waits).

        Bound it with ``asyncio.timeout``: loading a large model takes a while."""
        if self._executor is None:
            await self.start()
        while True:
            status = await self._status()
            self._apply(status)
            if not status.loading:
                return
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        """Stop the worker; idempotent. Pending batches are cancelled."""
        if self._closed:
            return
        self._closed = True
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._poller
        executor, self._executor = self._executor, None
        if executor is None:
            return
        if isinstance(executor, ProcessPoolExecutor):
            await _shutdown_process_pool(executor)
        else:
            executor.shutdown(wait=False, cancel_futures=True)


async def _shutdown_process_pool(executor: ProcessPoolExecutor) -> None:
    """Stop the worker without keeping the desk waiting: it holds no state, and a process that has
    loaded torch can take seconds to tear itself down, so after a short grace it is terminated."""
    processes = list(getattr(executor, "_processes", {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    await asyncio.to_thread(_end_processes, processes)


def _end_processes(processes: list) -> None:
    for proc in processes:
        with contextlib.suppress(Exception):
            proc.join(CLOSE_GRACE_S)
            if proc.is_alive():
                proc.terminate()
                proc.join(CLOSE_GRACE_S)
            if proc.is_alive():
                proc.kill()
                proc.join(CLOSE_GRACE_S)
