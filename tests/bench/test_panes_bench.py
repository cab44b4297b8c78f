"""The who/what panes under load (``make bench``).

The same stream as the wall benchmark (5,000 mentions per second of desk time, 500 per 10 Hz flush),
but every snapshot carries the judgement a storm brings: 12 flagged influencers whose counts move every
flush (authors come and go, the order changes now and then), 10 copy-paste waves growing, 8 surging
terms, 3 sources (one raising the gap alarm). On a 120x40 wall:

- ``ui_flush_ms_p95_judged_at_5000``: one flush with every pane updated (keyed diffs included), p95 over
  300 flushes;
- ``ui_frame_ms_p95_judged_at_5000``: the flush plus the screen update it causes, p95;
- ``influencers_sync_us_p95``: the influencers pane's own update (diff and DataTable calls), p95.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from tocsin.config.settings import DemoSourceSettings, DeskSettings, Settings, TopicSettings, UiSettings
from tocsin.scoring.snapshot import ClusterRow, InfluencerRow, Snapshot, TermRow, TopicSnapshot
from tocsin.sources.base import SourceState, SourceStatus
from tocsin.sources.clock import ManualClock
from tocsin.sources.model import Author, Mention, ScoredMention, SentimentScore
from tocsin.tui.app import WallApp
from tocsin.tui.panes.influencers import InfluencersPane

HZ = 10
PER_FLUSH = 500
POOL = 40
T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
TEXTS = [
    "Honteux ce qui se passe chez @maisonbrioche #BriocheGate",
    "[@click=app.quit]x[/] maison brioche \x1b]0;pwned\x07 \u202eevil",
    "Boycott Maison Brioche until they answer! #BriocheGate",
    "Crème brûlée brioche is back, finally! " + "long " * 40,
]


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[94]


def judged_topic(k: int, now: datetime) -> TopicSnapshot:
    """Flush ``k`` of a storm: counts grow, an author joins every 5 flushes, the top two swap every 7."""
    authors = [f"voice_{(i + k // 5) % 40}" for i in range(12)]
    if k % 7 == 0:
        authors[0], authors[1] = authors[1], authors[0]
    influencers = tuple(
        InfluencerRow(
            handle,
            None,
            "demo",
            "micro",
            15_000 + i,
            60 - i,
            0.1 + 0.05 * (i % 5),
            (k + i) // 3,
            (k + i) // 2 + 1,
            TEXTS[(k + i) % len(TEXTS)],
            now,
            "journalist" if i == 3 else None,
        )
        for i, handle in enumerate(authors)
    )
    clusters = tuple(
        ClusterRow(
            c,
            10 + k // (c + 1),
            8 + k // (c + 2),
            now - timedelta(minutes=30 - c),
            now,
            TEXTS[c % len(TEXTS)],
            0.2 + 0.07 * c,
        )
        for c in range(10)
    )
    terms = tuple(
        TermRow(f"term{t}", "hashtag" if t % 2 else "word", 100.0 - t * 5 + k % 3, 3.0, 12.0 - t)
        for t in range(8)
    )
    return TopicSnapshot(
        id="brioche",
        name="Maison Brioche",
        rate_per_min=30_000.0,
        baseline_per_min=40.0,
        mentions=k * PER_FLUSH,
        unique_authors=k * 100,
        sentiment={"negative": 0.6, "neutral": 0.3, "positive": 0.1},
        volume=tuple((k + i) % 97 for i in range(60)),
        negative_trend=(0.3,) * 12,
        level="crisis",
        reasons=("volume 31x the usual",),
        anomaly=0.95,
        surprise="above the usual for a Saturday 10:00 (last 15 min)",
        unique_volume=tuple((k + i) % 61 for i in range(60)),
        influencers=influencers,
        terms=terms,
        clusters=clusters,
        copy_paste_share=0.2,
    )


class JudgedDesk:
    """A new judged snapshot and PER_FLUSH new mentions each time the wall reads it."""

    def __init__(self) -> None:
        self.clock = ManualClock(T0)
        self.settings = Settings(
            desk=DeskSettings(name="bench", timezone="Europe/Paris"),
            topics=(TopicSettings(id="brioche", name="Maison Brioche"),),
            sources=(DemoSourceSettings(type="demo", id="demo"),),
            ui=UiSettings(refresh_hz=0.001),  # the test calls each flush and times it
        )
        self.finished = False
        self.reads = 0
        self._snapshots = [self._snapshot(k) for k in range(POOL)]
        self._batches = [self._batch(k) for k in range(POOL)]

    def _snapshot(self, k: int) -> Snapshot:
        now = T0 + timedelta(seconds=k / HZ)
        sources = {
            sid: SourceStatus(
                sid,
                "mastodon",
                SourceState.LIVE,
                100.0,
                k,
                0,
                k % 3,
                now,
                None,
                "silent 12 min (usually every 10 s)" if sid == "masto2" else None,
            )
            for sid in ("demo", "masto", "masto2")
        }
        topic = judged_topic(k, now)
        topics = {"brioche": topic}
        return Snapshot(at=now, seq=k * PER_FLUSH, topics=topics, sources=sources, engine="lexicon")

    def _batch(self, k: int) -> list[ScoredMention]:
        out = []
        for j in range(PER_FLUSH):
            seq = k * PER_FLUSH + j + 1
            author = Author(handle=f"user_{seq % 997}", followers=seq % 50_000)
            text = TEXTS[seq % len(TEXTS)]
            m = Mention(uid=str(seq), source="demo", text=text, created_at=T0, received_at=T0, author=author)
            out.append(ScoredMention(seq, m, ("brioche",), SentimentScore("negative", 0.8, "lexicon")))
        return out

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    def snapshot(self) -> Snapshot:
        self.clock.advance(1 / HZ)
        self.reads += 1
        return self._snapshots[self.reads % POOL]

    def feed_since(self, seq: int, limit: int = 2000) -> list[ScoredMention]:
        return self._batches[self.reads % POOL][-limit:]


async def test_flush_with_judged_snapshots(bench_record: Callable[[str, float], None]) -> None:
    desk = JudgedDesk()
    app = WallApp(desk.settings, desk)  # type: ignore[arg-type]
    flush_ms: list[float] = []
    frame_ms: list[float] = []
    sync_us: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(20):
            await pilot.pause()
        pane = app.query_one(InfluencersPane)
        show = pane.show

        def timed_show(snapshot: Snapshot) -> bool:
            t = time.perf_counter()
            changed = show(snapshot)
            sync_us.append((time.perf_counter() - t) * 1e6)
            return changed

        pane.show = timed_show  # type: ignore[method-assign]
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
        assert len(pane.rows.keys) == 12 and sync_us  # the table really was kept up to date
    bench_record("ui_flush_ms_p95_judged_at_5000", p95(flush_ms))
    bench_record("ui_frame_ms_p95_judged_at_5000", p95(frame_ms))
    bench_record("influencers_sync_us_p95", p95(sync_us))
