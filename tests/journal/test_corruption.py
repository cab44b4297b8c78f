"""A damaged journal is found when it is opened and said plainly, with what to do (issue 10, item 8).

Reproduced before: garbage written in the middle of the journal failed ``PRAGMA integrity_check``, yet
the desk, the CLI and the exports kept working and exited 0 without a word."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tocsin.journal import sqlite_store as store_module
from tocsin.journal.api import Journal
from tocsin.journal.errors import JournalUnavailable
from tocsin.sources.clock import ManualClock

from .conftest import T0, mention, team_settings
from .test_cli import CONFIG, run


async def fill(path: Path) -> None:
    """A journal of a few hundred pages: archived mentions with long texts."""
    journal = await Journal.open(team_settings(path), clock=ManualClock(T0))
    try:
        await journal.archive([mention(f"m{i}", "maison brioche " + "x" * 800 + str(i)) for i in range(600)])
    finally:
        await journal.close()


def damage(path: Path) -> None:
    """Overwrite one page in the middle of the file, as a failing disk or a stray write would."""
    data = bytearray(path.read_bytes())
    page = 4096
    middle = (len(data) // page // 2) * page
    data[middle : middle + page] = b"\xde\xad\xbe\xef" * (page // 4)
    path.write_bytes(bytes(data))


async def test_a_damaged_journal_is_refused_at_open_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    await fill(path)
    reopened = await Journal.open(team_settings(path), clock=ManualClock(T0))  # a healthy one opens
    await reopened.close()
    damage(path)
    with pytest.raises(JournalUnavailable) as caught:
        await Journal.open(team_settings(path), clock=ManualClock(T0))
    message = str(caught.value)
    assert "is damaged" in message and ".recover" in message and "move the file aside" in message


async def test_the_check_is_bounded_in_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A journal too big to check in time opens unchecked rather than holding the desk's start, and the
    cut-off does not outlive the check (every later query would be interrupted)."""
    path = tmp_path / "journal.sqlite"
    await fill(path)
    monkeypatch.setattr(store_module, "INTEGRITY_CHECK_S", -1.0)  # already over time at the first tick
    journal = await Journal.open(team_settings(path), clock=ManualClock(T0))
    try:
        assert await journal.archived_count() == 600
    finally:
        await journal.close()


def test_the_cli_says_so_and_exits_non_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    path = tmp_path / "journal.sqlite"
    monkeypatch.setenv("TOCSIN_JOURNAL", str(path))
    monkeypatch.setenv("TOCSIN_CONFIG", str(config))
    asyncio.run(fill(path))
    damage(path)
    code, out, err = run(capsys, "journal", "list", "--all")
    assert code != 0 and out == ""
    assert "is damaged" in err
