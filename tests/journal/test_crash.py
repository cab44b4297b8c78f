"""Durability: a desk killed mid-write loses nothing it reported; two desks writing at once lose nothing
(on an SQLite file and on PostgreSQL: the same writer processes, the journal named by a path or a URL)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tocsin.config.settings import DeskSettings, Settings
from tocsin.journal.api import Journal
from tocsin.journal.fold import fold

WRITER = Path(__file__).with_name("_writer.py")


def spawn(path: str, operator: str, count: int, busy_timeout: float = 5.0) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WRITER), str(path), operator, "1", str(count), str(busy_timeout)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def committed(lines: list[str]) -> list[tuple[int, int]]:
    """(event id, mentions archived) for every complete line a writer printed."""
    out = []
    for line in lines:
        parts = line.split()
        if line.endswith("\n") and len(parts) == 3 and parts[0] == "note":
            out.append((int(parts[1]), int(parts[2])))
    return out


async def open_journal(path: str) -> Journal:
    return await Journal.open(Settings(desk=DeskSettings(journal=path, operator="checker")))


async def check_consistent(journal: Journal) -> None:
    """integrity_check is ok (a file), and the incident rows are exactly what the events add up to."""
    if journal.path is not None:
        with sqlite3.connect(journal.path) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = {i.id: i for i in await journal.incidents(include_resolved=True)}
    assert fold(await journal.events()) == stored


@pytest.fixture
async def path(journal_location: str) -> str:
    journal = await open_journal(journal_location)
    await journal.open_incident("brioche", "sev1", "Storm")
    await journal.close()
    return journal_location


@pytest.mark.slow
async def test_sigkill_mid_write_loses_nothing_reported_committed(path: str) -> None:
    proc = spawn(path, "killed", 100_000)
    assert proc.stdout is not None
    lines: list[str] = []
    while len(lines) < 300:
        line = proc.stdout.readline()
        assert line, f"writer died early: {proc.stderr.read() if proc.stderr else ''}"
        lines.append(line)
    os.kill(proc.pid, signal.SIGKILL)  # mid-stream: it is writing the next action right now
    rest, _ = proc.communicate(timeout=30)
    lines += rest.splitlines(keepends=True)
    assert proc.returncode == -signal.SIGKILL
    reported = committed(lines)
    assert len(reported) >= 300

    journal = await open_journal(path)
    try:
        ids = {e.id for e in await journal.events(1)}
        assert {eid for eid, _ in reported} <= ids
        assert await journal.archived_count() >= reported[-1][1]
        inc = await journal.incident(1)
        assert inc.notes == len(ids) - 1 >= len(reported)
        await check_consistent(journal)
        await journal.add_note(1, "the journal still takes writes after the crash")
    finally:
        await journal.close()


@pytest.mark.slow
async def test_two_desks_writing_at_once_lose_nothing_and_never_say_locked(path: str) -> None:
    n = 150
    procs = [spawn(path, name, n, busy_timeout=0.005) for name in ("alice", "bob")]
    results = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, results, strict=True):
        assert p.returncode == 0, err
        assert "locked" not in err.lower() and "busy" not in err.lower() and err == ""
        assert len(committed(out.splitlines(keepends=True))) == n
    journal = await open_journal(path)
    try:
        record = await journal.incident_record(1)
        by = {op: sum(1 for note in record.notes if note.operator == op) for op in ("alice", "bob")}
        assert by == {"alice": n, "bob": n}
        reported = {eid for out, _ in results for eid, _ in committed(out.splitlines(keepends=True))}
        assert reported == {note.event_id for note in record.notes}
        assert await journal.archived_count() == 2 * n * 20
        await check_consistent(journal)
    finally:
        await journal.close()
