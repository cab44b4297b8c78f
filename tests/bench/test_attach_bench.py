"""Attached desks (``make bench``): how late an attached desk shows what the ingest desk scored, and what
attaching costs the ingest desk.

The ingest desk runs in this process, as ``tocsin`` runs it (``IngestDesk`` over a real ``Desk`` and its
journal session: archive, snapshot published twice a second, presence), with its sentiment and judge in
threads of this process so that ``time.process_time`` is all of its CPU. Its one source paces 1,000
mentions a second for ``SECONDS``. Attached desks run in processes of their own
(``_attached_probe.py``: an ``AttachedDesk`` and its session, as ``tocsin --attach`` runs them without the
screen) and note when each mention became theirs to draw.

- ``attach_lag_ms_p95_sqlite`` / ``attach_lag_ms_p95_pg``: a mention scored on the ingest desk (its batch
  handed out by the pipeline) → the same mention in an attached desk's feed, 95th percentile, one attached
  desk, on an SQLite file and on a local PostgreSQL (fsync on). The wall draws at its next flush: add up
  to ``1 / ui.refresh_hz`` (100 ms) for the screen. Also the medians (``…_p50_…``).
- ``ingest_cpu_pct_attached_0_sqlite`` / ``…_4_sqlite`` (and ``_pg``): the ingest desk's CPU (% of one
  core) over the same paced second, with no attached desk and with four. Attaching must cost the ingest
  desk almost nothing: attached desks only read (on SQLite, the WAL's readers never block the writer; on
  PostgreSQL, a NOTIFY goes to every listener for the same price).

Nothing here asserts a time; a run that lost mentions fails (the figures would lie).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.pgserver import PgServer, serve
from tocsin.config.settings import DeskSettings, Settings, TopicSettings
from tocsin.desk.desk import Desk
from tocsin.desk.ingest import IngestDesk
from tocsin.desk.session import JournalSession
from tocsin.sources.base import Source, SourceState
from tocsin.sources.clock import Clock, WallClock
from tocsin.sources.model import Author, Mention, ScoredMention

RATE = 1000
SECONDS = 8.0
PROBE = Path(__file__).with_name("_attached_probe.py")
WORDS = (
    "scandale",
    "délicieux",
    "moisie",
    "boycott",
    "adore",
    "souris",
    "nul",
    "rappel",
    "excellent",
    "photo",
)


@pytest.fixture(scope="module")
def pg_server() -> Iterator[PgServer]:
    yield from serve(durable=True)  # fsync on, as a user's server


class PacedSource(Source):
    """``rate`` mentions a second for ``seconds`` once ``go`` is set, then nothing (held open)."""

    kind = "bench"

    def __init__(self, clock: Clock, go: asyncio.Event, rate: int, seconds: float) -> None:
        super().__init__("paced", clock)
        self.go, self.rate, self.total = go, rate, int(rate * seconds)

    def _mention(self, n: int) -> Mention:
        now = datetime.now(UTC)
        word = WORDS[n % len(WORDS)]
        return Mention(
            uid=f"b{n}",
            source="paced",
            text=f"Maison Brioche {word} ce matin, {n % 97} fois #briochegate",
            created_at=now,
            received_at=now,
            author=Author(handle=f"voice{n % 500}", followers=(n * 37) % 90_000),
        )

    async def stream(self) -> AsyncIterator[Mention]:
        self.health.set_state(SourceState.LIVE)
        await self.go.wait()
        loop = asyncio.get_running_loop()
        start, n = loop.time(), 0
        while n < self.total and not self.stopping:
            due = min(self.total, int((loop.time() - start) * self.rate) + 1)
            while n < due:
                self.health.event()
                yield self._mention(n)
                n += 1
            await asyncio.sleep(0.005)
        await self._stopping.wait()


async def _line(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 60)
    if not line:
        raise AssertionError(f"an attached probe died: {proc.stderr.read() if proc.stderr else ''}")
    return line.strip()


async def run(location: str, attached: int, tmp: Path) -> tuple[float, list[float]]:
    """One paced run with ``attached`` probes: the ingest desk's CPU (% of a core) and the lags (ms)
    of every mention the first probe showed."""
    topic = TopicSettings(id="brioche", name="Maison Brioche", keywords=("maison brioche",))
    settings = Settings(topics=(topic,), desk=DeskSettings(operator="ingest", journal=location))
    go = asyncio.Event()
    scored: dict[str, float] = {}

    def stamp(batch: list[ScoredMention]) -> None:
        now = time.time()
        for m in batch:
            scored[m.mention.uid] = now

    def make(clock: Clock) -> Desk:
        return Desk(
            settings, clock=clock, sources=[PacedSource(clock, go, RATE, SECONDS)], inline_scoring=True
        )

    desk = IngestDesk(settings, clock=WallClock(), make_desk=make)
    desk.add_batch_listener(stamp)  # type: ignore[arg-type]
    session = JournalSession(settings, desk)
    await session.start()
    await desk.start()
    assert desk.role == "ingest"
    outs = [tmp / f"probe-{attached}-{i}.tsv" for i in range(attached)]
    probes = [
        subprocess.Popen(  # noqa: ASYNC220 - started once, before anything is measured
            [sys.executable, str(PROBE), location, str(out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        for out in outs
    ]
    try:
        for probe in probes:
            assert await _line(probe) == "ready"
        await asyncio.sleep(1.0)  # every desk settled: the figures below are the paced seconds only
        cpu0, t0 = time.process_time(), time.perf_counter()
        go.set()
        await asyncio.sleep(SECONDS)
        cpu = (time.process_time() - cpu0) / (time.perf_counter() - t0) * 100
        await asyncio.sleep(2.0)  # the last mentions reach the probes
    finally:
        for probe in probes:
            probe.terminate()
        for probe in probes:
            probe.wait(30)
        await desk.stop()
        await session.stop()
    lags: list[float] = []
    if outs:
        rows = [line.split("\t") for line in outs[0].read_text().splitlines() if line]
        shown = {uid: float(t) for uid, t in rows}
        lags = [(shown[uid] - at) * 1000 for uid, at in scored.items() if uid in shown]
        assert len(lags) >= 0.99 * RATE * SECONDS, f"the attached desk showed {len(lags)} mentions"
    assert len(scored) >= 0.99 * RATE * SECONDS, f"the ingest desk scored {len(scored)} mentions"
    return cpu, lags


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[94]


async def _measure(
    location: Callable[[], str], tag: str, tmp: Path, record: Callable[[str, float], None]
) -> None:
    cpu_alone, _ = await run(location(), 0, tmp)
    _, lags = await run(location(), 1, tmp)
    cpu_four, _ = await run(location(), 4, tmp)
    record(f"attach_lag_ms_p95_{tag}", _p95(lags))
    record(f"attach_lag_ms_p50_{tag}", statistics.median(lags))
    record(f"ingest_cpu_pct_attached_0_{tag}", cpu_alone)
    record(f"ingest_cpu_pct_attached_4_{tag}", cpu_four)


async def test_attach_on_sqlite(tmp_path: Path, bench_record: Callable[[str, float], None]) -> None:
    runs = iter(range(100))
    await _measure(lambda: str(tmp_path / f"journal-{next(runs)}.sqlite"), "sqlite", tmp_path, bench_record)


async def test_attach_on_postgresql(
    pg_server: PgServer, tmp_path: Path, bench_record: Callable[[str, float], None]
) -> None:
    await _measure(pg_server.fresh_journal_url, "pg", tmp_path, bench_record)
