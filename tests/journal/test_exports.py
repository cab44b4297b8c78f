"""Post-mortem exports are owner-only, like the journal, and go to the desk's export folder (issue 12,
item 8): never world-readable, never into whatever folder the desk was started from."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tocsin.config.settings import Settings
from tocsin.journal.api import Journal
from tocsin.journal.exports import export_dir, export_postmortem, write_private

from .conftest import team_settings


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The usual umask, under which a plain ``write_text`` makes a 0644 file."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_export_folder_defaults_beside_the_journal_and_follows_desk_exports(tmp_path: Path) -> None:
    journal = tmp_path / "data" / "journal.sqlite"
    assert export_dir(team_settings(journal), journal) == tmp_path / "data" / "exports"
    chosen = team_settings(journal, exports="~/post-mortems")
    assert export_dir(chosen, journal) == Path.home() / "post-mortems"


def test_a_file_is_written_owner_only_and_a_world_readable_one_replaced(
    tmp_path: Path, loose_umask: None
) -> None:
    path = tmp_path / "pm.html"
    path.write_text("old")
    assert mode(path) == 0o644
    write_private(path, "new")
    assert path.read_text() == "new" and mode(path) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["pm.html"]  # no temporary file left behind


def test_a_missing_folder_is_made_only_when_asked(tmp_path: Path, loose_umask: None) -> None:
    with pytest.raises(FileNotFoundError):
        write_private(tmp_path / "typo" / "pm.md", "x")
    written = write_private(tmp_path / "exports" / "pm.md", "x", make_folder=True)
    assert mode(written) == 0o600 and mode(written.parent) == 0o700


def test_a_journal_on_postgresql_exports_to_the_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    settings = team_settings("postgresql://desk@db.example/crisis")
    assert export_dir(settings, None) == tmp_path / "xdg" / "tocsin" / "exports"


@pytest.mark.sqlite_only  # "beside the journal file"
async def test_export_postmortem_goes_to_the_export_folder(
    journal: Journal, settings: Settings, tmp_path: Path, loose_umask: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    inc = await journal.open_incident("brioche", "sev2", "Mould photo")
    path = await export_postmortem(journal, inc.id, "html")
    assert path == journal.path.parent / "exports" / f"tocsin-incident-{inc.id}-postmortem.html"
    assert "Mould photo" in path.read_text() and mode(path) == 0o600
    assert not [p.name for p in os.scandir(tmp_path) if p.name.startswith("tocsin-incident-")]
