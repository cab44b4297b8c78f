"""The wall under load (``make bench``).

A stand-in desk delivers 5,000 mentions per second of desk time (500 per 10 Hz flush, varied French and
English texts with hostile bits) and a new snapshot every flush, to a 120x40 headless wall:

- ``ui_flush_ms_p95_at_5000``: one flush (read the snapshot and the new mentions once, update every pane
  once, keep the feed bounded), p95 over 300 flushes;
- ``ui_frame_ms_p95_at_5000``: the flush plus the screen update it causes (layout and render of every
  dirty region), p95;
- ``key_latency_ms_p99_at_5000``: from a key press (scrolling the feed) to its handling, with the flush
  timer running at 10 Hz against that stream, p99 over 300 presses;
- ``startup_first_frame_s``: from launching ``python`` to the first frame of the wall on the embedded
  default (the demo), in a fresh process: imports, settings, desk construction, first render.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from textual import events

from tocsin.config.settings import DemoSourceSettings, DeskSettings, Settings, TopicSettings, UiSettings
from tocsin.scoring.snapshot import Snapshot, TopicSnapshot
from tocsin.sources.base import SourceState, SourceStatus
from tocsin.sources.clock import ManualClock
from tocsin.sources.model import Author, Mention, ScoredMention, SentimentScore
from tocsin.tui.app import WallApp
from tocsin.tui.panes.feed import FeedView

RATE_PER_S = 5000
HZ = 10
PER_FLUSH = RATE_PER_S // HZ
POOL = 30
"""Distinct batches and snapshots made up front and cycled (20 s of stream would take as long to build)."""
T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
TEXTS = [
    "Honteux ce qui se passe chez @maisonbrioche, de la moisissure dans les brioches #BriocheGate",
    "Just binned everything I bought at Maison Brioche this week 🤢 #briochegate",
    "Franchement ça arrive, une boutique sur des centaines. @maisonbrioche a bien réagi",
    "[@click=app.quit]x[/] maison brioche \x1b]0;pwned\x07 \u202eevil",
    "Crème brûlée brioche is back, finally! " + "long " * 80,
    "Toujours aucune réponse de Maison brioche. #BRIOCHEGATE",
]
LABELS = ("negative", "negative", "positive", "neutral", "positive", "negative")


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


class StreamDesk:
    """Hands out PER_FLUSH new mentions and a new snapshot each time the wall reads it."""

    def __init__(self, refresh_hz: float = HZ) -> None:
        self.clock = ManualClock(T0)
        self.settings = Settings(
            desk=DeskSettings(name="bench", timezone="Europe/Paris"),
            topics=(TopicSettings(id="brioche", name="Maison Brioche"),),
            sources=(DemoSourceSettings(type="demo", id="demo"),),
            ui=UiSettings(refresh_hz=refresh_hz),
        )
        self.finished = False
        self.snapshots_read = self.batches_read = 0
        self._snapshots = [make_snapshot(k, self.clock) for k in range(POOL)]
        self._batches = [make_batch(k, T0) for k in range(POOL)]

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    def snapshot(self) -> Snapshot:
        """The next published snapshot (made beforehand, as the real Desk publishes them)."""
        self.clock.advance(1 / HZ)
        self.snapshots_read += 1
        return self._snapshots[self.snapshots_read % len(self._snapshots)]

    def feed_since(self, seq: int, limit: int = 2000) -> list[ScoredMention]:
        """The next PER_FLUSH mentions (made beforehand: the real Desk hands out a slice of its ring)."""
        self.batches_read += 1
        return self._batches[self.batches_read % len(self._batches)][-limit:]

    @property
    def seq(self) -> int:
        return self.batches_read * PER_FLUSH


def make_snapshot(k: int, clock: ManualClock) -> Snapshot:
    n = k * PER_FLUSH
    topic = TopicSnapshot(
        id="brioche",
        name="Maison Brioche",
        rate_per_min=RATE_PER_S * 60.0,
        baseline_per_min=40.0 + k % 7,
        mentions=n,
        unique_authors=n // 3,
        sentiment={"negative": 0.6, "neutral": 0.3, "positive": 0.1},
        volume=tuple((k + i) % 97 for i in range(60)),
        negative_trend=tuple(0.05 * ((i + k) % 12) for i in range(12)),
        level="crisis",
        reasons=(f"volume {k % 300}x the usual", "60 % negative"),
    )
    status = SourceStatus("demo", "demo", SourceState.LIVE, RATE_PER_S * 60.0, n, 0, 0, clock.now(), None)
    return Snapshot(
        at=clock.now(), seq=n, topics={"brioche": topic}, sources={"demo": status}, engine="lexicon"
    )


def make_batch(k: int, now: datetime) -> list[ScoredMention]:
    out = []
    for j in range(PER_FLUSH):
        seq = k * PER_FLUSH + j + 1
        i = seq % len(TEXTS)
        m = Mention(
            uid=str(seq),
            source="demo",
            text=TEXTS[i],
            created_at=now - timedelta(seconds=1),
            received_at=now,
            author=Author(handle=f"user_{seq % 997}", followers=seq % 50_000),
        )
        label = LABELS[i]
        out.append(ScoredMention(seq, m, ("brioche",), SentimentScore(label, 0.8, "lexicon")))  # type: ignore[arg-type]
    return out


async def test_flush_and_frame_under_5000_mentions_per_second(
    bench_record: Callable[[str, float], None],
) -> None:
    desk = StreamDesk(refresh_hz=0.001)  # the timer stays quiet: the test calls each flush and times it
    app = WallApp(desk.settings, desk)  # type: ignore[arg-type]
    flush_ms: list[float] = []
    frame_ms: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(20):
            await pilot.pause()
        for _ in range(300):
            t = time.perf_counter()
            app.wall.flush()
            t_flush = time.perf_counter()
            app.screen._refresh_layout()
            app.screen._compositor.render_update(full=False)
            t_frame = time.perf_counter()
            flush_ms.append((t_flush - t) * 1000)
            frame_ms.append((t_frame - t) * 1000)
            await pilot.pause()
    bench_record("ui_flush_ms_p95_at_5000", p(flush_ms, 95))
    bench_record("ui_frame_ms_p95_at_5000", p(frame_ms, 95))


async def test_key_latency_while_the_stream_flows(bench_record: Callable[[str, float], None]) -> None:
    """Time from a key event entering the app to the feed's scroll action running, while the 10 Hz
    flush timer brings in the stream (Pilot's own press waits for the process to go idle, which a
    flowing stream never lets it do, so it cannot measure this)."""
    desk = StreamDesk()
    app = WallApp(desk.settings, desk)  # type: ignore[arg-type]
    latencies: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(20):
            await pilot.pause(0.02)
        feed = app.query_one(FeedView)
        handled = asyncio.Event()
        for name in ("action_line_up", "action_line_down"):
            original = getattr(feed, name)

            def traced(original: Callable[[], None] = original) -> None:
                original()
                handled.set()

            setattr(feed, name, traced)
        reads_before = desk.batches_read
        for i in range(300):
            handled.clear()
            t = time.perf_counter()
            app._driver.send_message(events.Key("up" if i % 2 == 0 else "down", None))  # type: ignore[union-attr]
            await asyncio.wait_for(handled.wait(), 10)
            latencies.append((time.perf_counter() - t) * 1000)
            await asyncio.sleep(0.005 * (i % 11))  # land at every phase of the flush timer
    assert desk.batches_read - reads_before > 5  # the stream really flowed during the presses
    bench_record("key_latency_ms_p99_at_5000", p(latencies, 99))


def test_startup_first_frame(bench_record: Callable[[str, float], None]) -> None:
    script = textwrap.dedent(
        """
        import json, time
        from tocsin.config.loader import load_default
        from tocsin.tui.app import WallApp

        class Probe(WallApp):
            def on_mount(self) -> None:
                super().on_mount()
                self.call_after_refresh(self.first_frame)

            def first_frame(self) -> None:
                print(json.dumps({"first_frame": time.time()}), flush=True)
                self.exit(0)

        Probe(load_default()).run(headless=True, size=(120, 40))
        """
    )
    runs = []
    for _ in range(3):
        start = time.time()
        out = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
        )
        line = next(ln for ln in out.stdout.splitlines() if ln.startswith("{"))
        runs.append(json.loads(line)["first_frame"] - start)
    bench_record("startup_first_frame_s", statistics.median(runs))
