"""The journal's store: where it lives, who may read it, WAL, schema versions, and a busy journal.

Tests marked ``sqlite_only`` are about the SQLite file itself; the rest run on both backends
(``tests/journal/test_postgres.py`` has PostgreSQL's own: its lock, a dropped connection, LISTEN)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
import threading
from pathlib import Path

import pytest

from tocsin.config.settings import DeskSettings, Settings
from tocsin.journal.api import Journal, journal_location, journal_path
from tocsin.journal.errors import JournalBusy, JournalUnavailable
from tocsin.journal.store import SCHEMA_VERSION, Store
from tocsin.sources.clock import ManualClock

from .conftest import team_settings


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_path_env_overrides_config_which_overrides_the_platform_dir(tmp_path: Path) -> None:
    configured = Settings(desk=DeskSettings(journal="~/desk/journal.sqlite"))
    assert (
        journal_path(configured, {"TOCSIN_JOURNAL": str(tmp_path / "env.sqlite")}) == tmp_path / "env.sqlite"
    )
    assert journal_path(configured, {}) == Path.home() / "desk" / "journal.sqlite"
    default = journal_path(Settings(), {})
    assert default.name == "journal.sqlite" and "tocsin" in default.parts


def test_a_database_url_is_kept_as_written_not_made_a_path() -> None:
    url = "postgresql://desk@db.example:5432/crisis?sslmode=require"
    assert journal_location(Settings(desk=DeskSettings(journal=url)), {}) == url
    assert journal_location(Settings(), {"TOCSIN_JOURNAL": url}) == url
    with pytest.raises(ValueError, match="PostgreSQL"):
        journal_path(Settings(), {"TOCSIN_JOURNAL": url})


@pytest.mark.sqlite_only
async def test_new_journal_is_private_and_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "journal.sqlite"
    old = os.umask(0o022)
    try:
        journal = await Journal.open(team_settings(path), clock=ManualClock())
        await journal.open_incident("brioche", "sev3", "x")
        assert mode(path) == 0o600
        assert mode(path.parent) == 0o700
        wal = path.with_name("journal.sqlite-wal")
        assert wal.exists() and mode(wal) == 0o600
        await journal.close()
    finally:
        os.umask(old)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.mark.sqlite_only
async def test_existing_directory_permissions_are_left_alone(tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o755)
    store = await Store.open(tmp_path / "j.sqlite")
    await store.close()
    assert mode(tmp_path) == 0o755 and mode(tmp_path / "j.sqlite") == 0o600


async def test_reopening_keeps_everything_and_migrates_nothing_twice(journal_location: str) -> None:
    settings = team_settings(journal_location)
    first = await Journal.open(settings, clock=ManualClock())
    inc = await first.open_incident("brioche", "sev2", "Storm")
    await first.close()
    second = await Journal.open(settings, clock=ManualClock())
    assert (await second.incident(inc.id)).title == "Storm"
    await second.close()


@pytest.mark.sqlite_only
async def test_journal_from_a_newer_tocsin_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(JournalUnavailable, match="written by a newer tocsin"):
        await Store.open(path)


@pytest.mark.sqlite_only
async def test_a_file_that_is_not_a_journal_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"this is not a database, it is my shopping list" * 100)
    with pytest.raises(JournalUnavailable, match="not readable"):
        await Store.open(path)


@pytest.mark.sqlite_only
async def test_unwritable_location_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(JournalUnavailable, match="cannot open the journal"):
        await Store.open(blocker / "journal.sqlite")


def hold_write_lock(path: Path, seconds: float, started: threading.Event) -> None:
    """Another process's long write transaction, played by a thread with its own connection."""
    db = sqlite3.connect(path, isolation_level=None, timeout=0)
    db.execute("BEGIN IMMEDIATE")
    db.execute("INSERT INTO cursors VALUES ('other-desk', 'x', 0)")
    started.set()
    threading.Event().wait(seconds)
    db.execute("COMMIT")
    db.close()


@pytest.mark.sqlite_only
async def test_busy_journal_is_waited_for_not_reported(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = await Journal.open(team_settings(path), clock=ManualClock(), busy_timeout=0.05)
    started = threading.Event()
    holder = threading.Thread(target=hold_write_lock, args=(path, 0.4, started))
    holder.start()
    started.wait()
    inc = await journal.open_incident("brioche", "sev2", "written once the other desk let go")
    holder.join()
    assert inc.id == 1
    assert journal.store.retries > 0  # it did meet the lock, and waited it out
    assert await journal.get_cursor("other-desk") == "x"
    await journal.close()


@pytest.mark.sqlite_only
async def test_journal_held_too_long_says_busy_and_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = await Journal.open(team_settings(path), clock=ManualClock(), busy_timeout=0.02, retry_for=0.2)
    started = threading.Event()
    holder = threading.Thread(target=hold_write_lock, args=(path, 1.0, started))
    holder.start()
    started.wait()
    with pytest.raises(JournalBusy) as info:
        await journal.open_incident("brioche", "sev2", "Storm")
    assert "locked" not in str(info.value) and "nothing changed" in str(info.value)
    holder.join()
    assert await journal.incidents() == []
    await journal.close()


async def test_concurrent_writers_in_one_process_lose_nothing(journal_location: str) -> None:
    settings = team_settings(journal_location)
    desks = [
        await Journal.open(settings, clock=ManualClock(), operator=f"op{i}", busy_timeout=0.01)
        for i in range(3)
    ]
    inc = await desks[0].open_incident("brioche", "sev2", "Storm")

    async def write(j: Journal, n: int) -> None:
        for k in range(n):
            await j.add_note(inc.id, f"{j.operator} note {k}")

    await asyncio.gather(*(write(j, 40) for j in desks))
    record = await desks[0].incident_record(inc.id)
    assert record.incident.notes == 120 == len(record.notes)
    for j in desks:
        await j.close()


@pytest.mark.sqlite_only
async def test_actions_commit_with_synchronous_full_and_bulk_with_normal(journal: Journal) -> None:
    async def level() -> int:
        return int(await journal.store.scalar("PRAGMA synchronous"))

    assert await level() == 2  # FULL
    await journal.set_cursor("demo", "1")
    assert await level() == 1  # NORMAL: a cursor or an archive batch can be replayed
    await journal.open_incident("brioche", "sev2", "Storm")
    assert await level() == 2


async def test_an_older_journal_is_migrated_in_order(
    journal_location: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tocsin.journal import store as store_module

    path = journal_location
    old = await Journal.open(team_settings(path), clock=ManualClock())
    assert await old.store.schema_version() == SCHEMA_VERSION
    await old.open_incident("brioche", "sev2", "Before the upgrade")
    await old.close()

    later = (
        *store_module.MIGRATIONS,
        (SCHEMA_VERSION + 1, ("ALTER TABLE incidents ADD COLUMN tags TEXT",)),
        (SCHEMA_VERSION + 2, ("UPDATE incidents SET tags = 'migrated'",)),  # needs the step before it
    )
    monkeypatch.setattr(store_module, "MIGRATIONS", later)
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", SCHEMA_VERSION + 2)
    new = await Journal.open(team_settings(path), clock=ManualClock())
    assert (await new.incident(1)).title == "Before the upgrade"
    assert await new.store.schema_version() == SCHEMA_VERSION + 2
    assert await new.store.scalar("SELECT tags FROM incidents WHERE id = 1") == "migrated"
    await new.close()
    again = await Journal.open(team_settings(path), clock=ManualClock())  # nothing left to apply
    await again.close()


@pytest.mark.parametrize("ticks", range(6))
async def test_a_write_cancelled_at_any_step_leaves_no_transaction_open(
    journal_location: str, ticks: int
) -> None:
    # The session cancels its background task at stop, whatever it is doing; the writes that follow
    # (the last volume minutes, the cursors) must still work.
    store = await Store.open(journal_location)
    try:
        started = asyncio.Event()

        async def slow(tx) -> None:
            started.set()
            await tx.execute("INSERT INTO cursors VALUES ('a', 'x', 0)")
            await asyncio.Event().wait()  # never ends: the task is cancelled

        task = asyncio.create_task(store.write(slow))
        for _ in range(ticks):
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

        async def insert(tx) -> None:
            await tx.execute("INSERT INTO cursors VALUES ('b', 'y', 0)")

        await store.write(insert)
        assert await store.fetchall("SELECT source_id FROM cursors") == [("b",)]
    finally:
        await store.close()
