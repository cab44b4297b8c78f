"""The Desk: sources, the sentiment service and the Pipeline, run together on the event loop.

The TUI and the headless writer drive a Desk: ``start()``, then read ``snapshot()`` on a timer and
``feed_since(seq)`` for new mentions (or subscribe with ``add_batch_listener``; level changes come
through ``add_level_listener``), then ``stop()``. No screen, no journal here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from tocsin.config.settings import Settings
from tocsin.scoring.levels import LevelState
from tocsin.scoring.memory import quiet_collector, trim_in_background
from tocsin.scoring.pipeline import Pipeline, SentimentScorer
from tocsin.scoring.snapshot import Snapshot
from tocsin.sources.base import Source, SourceState, SourceStatus
from tocsin.sources.clock import Clock
from tocsin.sources.model import MentionFormatError, ScoredMention, admit, valid_text

log = logging.getLogger(__name__)

DRAIN_S = 5.0
"""On stop, how long (real seconds) the pipeline may take to score what is already queued."""
STOP_SOURCE_S = 2.0
_ENDED = (SourceState.FINISHED, SourceState.FAILED, SourceState.STOPPED)
SWITCH_INTERVAL_S = 0.001
"""How long another thread of the desk's process (a source reading a file, the judge's and the sentiment
worker's pipes) may hold the interpreter while the event loop waits for it; Python's default is 5 ms,
each time the loop wants it back. Measured (``make bench``): the headless replay 9,000–9,400 →
10,080–10,100 mentions/s (the judge waited for batches), and with the wall open at 5,000/s the
key-to-screen p99 48–63 → 35–58 ms (median 48), for the same CPU."""
PUMP_STEP = 256
"""Mentions a source's pump takes in before it lets the loop run: a source handing out a burst (a chunk of
a file, a replay catching up) never holds the loop, and the keys, for more than a few milliseconds."""


class DeskLike(Protocol):
    """What the wall and the journal session need of a running desk: a ``Desk``, or a fake in tests."""

    clock: Clock

    @property
    def sources(self) -> Sequence[Source]: ...
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    def snapshot(self) -> Snapshot: ...
    def feed_since(self, seq: int, limit: int = 2000) -> list[ScoredMention]: ...
    def add_batch_listener(self, fn: Callable[[Sequence[ScoredMention]], None]) -> None: ...
    @property
    def finished(self) -> bool: ...


@runtime_checkable
class LevelHerald(Protocol):
    """A desk that says when a topic's level changes (the ``Desk`` does; a desk that does not is
    followed by comparing its snapshots)."""

    def add_level_listener(self, fn: Callable[[str, LevelState, datetime], None]) -> None: ...


class Desk:
    """One running desk. Build it, ``await start()``, read it, ``await stop()``."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        sources: list[Source] | None = None,
        inline_scoring: bool = False,
        sentiment: SentimentScorer | None = None,
    ) -> None:
        """``sentiment`` replaces the SentimentService (tests); otherwise one is built from settings.
        ``inline_scoring``: the sentiment engine and the judge run in threads of this process (tests);
        otherwise each runs in a worker process, on the second core. A desk given its ``sentiment``
        (a unit test's fake) judges in a thread too."""
        self.settings = settings
        if clock is None:
            from tocsin.sources.registry import build_clock

            clock = build_clock(settings)
        self.clock: Clock = clock
        if sources is None:
            from tocsin.sources.registry import build_sources

            sources = build_sources(settings, clock)
        self.sources: list[Source] = list(sources)
        own_workers = self._own_workers = not inline_scoring and sentiment is None
        if sentiment is None:
            from tocsin.scoring.sentiment import SentimentService

            sentiment = SentimentService(settings.scoring.sentiment, inline=inline_scoring)
        self.sentiment = sentiment
        self.pipeline = Pipeline(
            settings,
            clock,
            sentiment,
            sources=self._source_status,
            platforms={s.id: s.kind for s in self.sources},
            judge_in_worker=own_workers,
        )
        self._pumps: list[asyncio.Task[None]] = []
        self._started = False
        self._stopped = False
        self._trim_stop = threading.Event()
        self._switch_interval: float | None = None
        """The process's own switch interval while this desk runs its workers, given back at stop."""

    # --- reading ----------------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """The latest published snapshot (published at ``ui.refresh_hz``); never blocks."""
        return self.pipeline.snapshot()

    def feed_since(self, seq: int, limit: int = 2000) -> list[ScoredMention]:
        """The newest ``limit`` scored mentions with ``seq`` above the given one, oldest first."""
        return self.pipeline.feed_since(seq, limit)

    def add_batch_listener(self, fn: Callable[[Sequence[ScoredMention]], None]) -> None:
        """Call ``fn(batch)`` once per scored batch (archive, headless)."""
        self.pipeline.add_batch_listener(fn)

    def add_level_listener(self, fn: Callable[[str, LevelState, datetime], None]) -> None:
        """Call ``fn(topic_id, state, at)`` whenever a topic's level changes (``state.previous`` →
        ``state.level``, with ``state.reasons``; ``at`` is desk time). Called on the loop: keep it quick."""
        self.pipeline.add_level_listener(fn)

    @property
    def finished(self) -> bool:
        """Every source has ended (played out, failed or stopped) and every mention is scored and counted."""
        return self._started and all(t.done() for t in self._pumps) and self.pipeline.idle

    def _source_status(self) -> dict[str, SourceStatus]:
        return {s.id: s.status() for s in self.sources}

    # --- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the sentiment service, the pipeline and one task per source on the running loop."""
        if self._started:
            return
        self._started = True
        start = getattr(self.sentiment, "start", None)
        if start is not None:
            await start()
        self.pipeline.start()
        if self._own_workers:
            quiet_collector()
            self._switch_interval = sys.getswitchinterval()
            sys.setswitchinterval(SWITCH_INTERVAL_S)
            trim_in_background(self._trim_stop)  # a long shift's freed tables go back (scoring/memory.py)
        self._pumps = [asyncio.create_task(self._pump(s), name=f"tocsin-source-{s.id}") for s in self.sources]

    async def _pump(self, source: Source) -> None:
        put, offer = self.pipeline.put, self.pipeline.offer
        taken = 0
        try:
            async for raw in source.stream():
                taken += 1
                if taken % PUMP_STEP == 0:
                    await asyncio.sleep(0)
                try:
                    mention = admit(raw)  # the one boundary: nothing past it defends itself again
                except MentionFormatError as exc:
                    source.health.bad_event(f"mention {valid_text(raw.uid[:40])!r} skipped: {exc}")
                    continue
                if not offer(mention):
                    await put(mention)  # the queue is full: the source waits (back-pressure)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # one broken source must not take the desk down: say so in its health, keep the others
            log.warning("source %s failed: %s", source.id, exc)
            from tocsin.sources.net import plain_reason

            source.health.set_state(
                SourceState.FAILED, f"{type(exc).__name__}: {exc}", reason=plain_reason(exc)
            )
            return
        if source.health.state not in _ENDED and not source.stopping:
            source.health.set_state(SourceState.FINISHED)

    async def stop(self) -> None:
        """Stop the sources, score what is queued, close the sentiment worker. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        self._trim_stop.set()
        if self._switch_interval is not None:
            sys.setswitchinterval(self._switch_interval)
        if self._pumps:
            running = [s for s, t in zip(self.sources, self._pumps, strict=True) if not t.done()]
        else:  # start() failed (or was never called) before the pumps: stop every source anyway
            running = list(self.sources)
        for source in running:
            try:
                await asyncio.wait_for(source.stop(), STOP_SOURCE_S)
            except Exception as exc:
                log.warning("source %s did not stop cleanly: %s", source.id, exc)
        # a source blocked on the network (or on a full queue) ends when its task is cancelled
        await asyncio.sleep(0)
        for t in self._pumps:
            t.cancel()
        for t in self._pumps:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        if self._started:
            await self.pipeline.drain(DRAIN_S)
        await self.pipeline.stop()
        close = getattr(self.sentiment, "close", None)
        if close is not None:
            try:
                await close()
            except Exception as exc:
                log.warning("sentiment service did not close cleanly: %s", exc)
