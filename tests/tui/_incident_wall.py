"""Pilot helpers for the incident tests: a wall on a fake desk with a real tmp journal and a session the
test drives (no background loop); flushes and journal workers settled by the test, never by sleeping."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.widgets import OptionList

from tests.desk._incident_kit import team_settings
from tests.fake_desk import open_wall
from tocsin.desk.session import JournalSession
from tocsin.tui.app import WallApp
from tocsin.tui.panes.incidents import IncidentsPane

SIZE = (120, 40)


def build(tmp_path: Path, kit: Any, **settings_kw: Any) -> tuple[WallApp, Any, JournalSession]:
    settings = team_settings(tmp_path / "journal.sqlite", **settings_kw)
    desk = kit.FakeDesk(settings)
    session = JournalSession(settings, desk, background=False)
    return WallApp(settings, desk, session=session), desk, session


async def ready(app: WallApp, pilot: Any) -> None:
    await open_wall(pilot, app, pauses=100)  # a journal session opens first


async def settle(app: WallApp, pilot: Any) -> None:
    """Let workers (journal calls) finish, then flush the wall once."""
    await app.workers.wait_for_complete()
    await pilot.pause()
    app.wall.flush()
    await pilot.pause()


async def choose(app: WallApp, pilot: Any, option_id: str) -> None:
    """Pick an option of the open form's list by its id, then Enter."""
    options = app.screen.query_one(OptionList)
    ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
    options.highlighted = ids.index(option_id)
    options.focus()
    await pilot.press("enter")
    await settle(app, pilot)


def pane_text(app: WallApp) -> str:
    pane = app.query_one(IncidentsPane)
    rows = []
    for row in pane.ordered_rows:
        rows.append(" | ".join(cell.plain for cell in pane.get_row(row.key)))
    return "\n".join(rows)
