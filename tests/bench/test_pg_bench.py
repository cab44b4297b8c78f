"""The journal on PostgreSQL: archive throughput (``pg_archive_mentions_per_s``).

The same archive code and the same 100,000 storm-like mentions as ``archive_mentions_per_s`` (SQLite),
in batches of 500, into a throwaway local PostgreSQL 15 server with ``fsync`` on (as a user's server
has it) over its unix socket. Archive batches commit with ``synchronous_commit = off``, as SQLite's
commit with ``synchronous = NORMAL``. Nothing here asserts a time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from tests.bench.test_journal_bench import T0, realistic_mentions
from tests.pgserver import PgServer, serve
from tocsin.config.settings import DeskSettings, Settings
from tocsin.journal.api import Journal
from tocsin.sources.clock import ManualClock


@pytest.fixture(scope="module")
def pg_server() -> Iterator[PgServer]:
    yield from serve(durable=True)  # fsync on, as a user's server


async def test_pg_archive_throughput(pg_server: PgServer, bench_record: Callable[[str, float], None]) -> None:
    settings = Settings(desk=DeskSettings(journal=pg_server.fresh_journal_url(), operator="bench"))
    mentions = realistic_mentions(100_000)
    journal = await Journal.open(settings, clock=ManualClock(T0))
    try:
        t0 = time.perf_counter()
        for i in range(0, len(mentions), 500):
            await journal.archive(mentions[i : i + 500])
        elapsed = time.perf_counter() - t0
        assert await journal.archived_count() == 100_000
    finally:
        await journal.close()
    bench_record("pg_archive_mentions_per_s", len(mentions) / elapsed)
