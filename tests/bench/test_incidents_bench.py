"""The incident workflow's cost (``make bench``).

- ``session_listener_us_per_mention``: what the desk session adds on the event loop per scored mention
  (queueing it for the archive, counting its topic minute), over batches of 500 like a 5,000/s storm at
  10 Hz; the archive write itself runs in the background (``archive_mentions_per_s`` measures it);
- ``incident_ack_ms_p95``: from pressing ``a`` on the wall to the incidents pane showing the incident
  acknowledged: the journal's durable commit (synchronous=FULL), the session's poll, the pane update;
  p95 over 40 incidents on a journal in a temporary directory.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tocsin.config.settings import DeskSettings, Settings, TeamMember, TeamSettings, TopicSettings, UiSettings
from tocsin.desk.session import JournalSession
from tocsin.journal.model import State
from tocsin.scoring.snapshot import Snapshot
from tocsin.sources.clock import ManualClock
from tocsin.sources.model import Author, Mention, ScoredMention, SentimentScore
from tocsin.tui.app import WallApp
from tocsin.tui.panes.incidents import IncidentsPane

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
LABELS = ("negative", "neutral", "positive", "negative")


def settings_in(tmp: Path) -> Settings:
    return Settings(
        desk=DeskSettings(
            name="bench", operator="camille", timezone="Europe/Paris", journal=str(tmp / "journal.sqlite")
        ),
        topics=(TopicSettings(id="brioche", name="Maison Brioche"), TopicSettings(id="rival")),
        team=TeamSettings(roster=(TeamMember("camille", "Camille Roux", "community-manager"),)),
        ui=UiSettings(refresh_hz=0.001),
    )


class BenchDesk:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.clock = ManualClock(T0)
        self.sources: list[Any] = []  # a desk without sources: nothing to resume or watch
        self.listeners: list[Callable[[Any], None]] = []
        self._snapshot = Snapshot(at=T0, seq=0, topics={}, sources={}, engine="lexicon")
        self.started = False

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        pass

    def snapshot(self) -> Snapshot:
        return self._snapshot

    def feed_since(self, seq: int, limit: int = 2000) -> list[ScoredMention]:
        return []

    @property
    def finished(self) -> bool:
        return False

    def add_batch_listener(self, fn: Callable[[Any], None]) -> None:
        self.listeners.append(fn)


def batches(n: int, size: int) -> list[list[ScoredMention]]:
    out = []
    seq = 0
    for b in range(n):
        batch = []
        for i in range(size):
            seq += 1
            at = T0 + timedelta(seconds=b * 0.1 + i * 0.0002)
            m = Mention(
                uid=f"u{seq}",
                source="demo",
                text=f"maison brioche #{seq}",
                created_at=at,
                received_at=at,
                author=Author(handle=f"h{seq % 997}"),
            )
            topics = ("brioche",) if seq % 5 else ("brioche", "rival")
            score = SentimentScore(LABELS[seq % 4], 0.7, "lexicon")  # type: ignore[arg-type]
            batch.append(ScoredMention(seq=seq, mention=m, topics=topics, sentiment=score))
        out.append(batch)
    return out


async def test_session_listener_cost(tmp_path: Path, bench_record: Callable[[str, float], None]) -> None:
    settings = settings_in(tmp_path)
    desk = BenchDesk(settings)
    session = JournalSession(settings, desk, background=False)
    await session.start()
    work = batches(200, 500)
    listener = desk.listeners[0]
    try:
        spent = 0.0
        for batch in work:
            began = time.perf_counter()
            listener(batch)
            spent += time.perf_counter() - began
            assert session.archiver is not None
            await session.archiver.flush()  # the background writes are not what is measured here
        total = sum(len(b) for b in work)
        bench_record("session_listener_us_per_mention", spent / total * 1e6)
        assert await session.flush_volume() > 0
    finally:
        await session.stop()


async def test_incident_ack_latency(tmp_path: Path, bench_record: Callable[[str, float], None]) -> None:
    settings = settings_in(tmp_path)
    desk = BenchDesk(settings)
    session = JournalSession(settings, desk, background=False)
    app = WallApp(settings, desk, session=session)
    timings: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(100):
            await pilot.pause()
            if app._desk_running:
                break
        pane = app.query_one(IncidentsPane)
        for i in range(40):
            inc = await session.open_incident("brioche", "sev2", f"incident {i}")
            app.wall.flush()
            await pilot.pause()
            pane.select_incident(inc.id)
            began = time.perf_counter()
            await pilot.press("a")
            for _ in range(2000):
                current = next((x for x in pane.incidents if x.id == inc.id), None)
                if current is not None and current.state is State.ACKNOWLEDGED:
                    break
                await pilot.pause(0.001)
            timings.append(time.perf_counter() - began)
            assert session.journal is not None
            await session.journal.resolve(inc.id)
            await session.poll()
    bench_record("incident_ack_ms_p95", statistics.quantiles(timings, n=20)[-1] * 1000)
