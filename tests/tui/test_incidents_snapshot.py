"""Snapshot tests of the incident workflow (pytest-textual-snapshot): the wall with open incidents
at 120x40 and the form that opens one. Fixed data, a ManualClock, a tmp journal, Europe/Paris.

Update after a deliberate change with ``pytest tests/tui/test_incidents_snapshot.py --snapshot-update``
and look at the SVGs in ``tests/tui/__snapshots__/`` before committing them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.desk._incident_kit import T0, minutes, team_settings
from tocsin.desk.session import JournalSession
from tocsin.tui.app import WallApp

from ._snapshot import settle


def storm_wall(tmp_path: Path, kit: Any) -> tuple[WallApp, Any, JournalSession]:
    settings = team_settings(tmp_path / "journal.sqlite")
    desk = kit.FakeDesk(settings)
    kit.tell_story(desk, times=5)
    desk.publish(kit.topic(), sources=[kit.source_status(rate=42.0)], engine="lexicon")
    session = JournalSession(settings, desk, background=False)
    return WallApp(settings, desk, session=session), desk, session


async def two_incidents(pilot: Any, desk: Any, session: JournalSession) -> None:
    """A SEV2 whose first response is 7 minutes overdue and a SEV1 acked, owned and answered."""
    await settle(pilot)
    journal = session.journal
    assert journal is not None
    first = await session.open_incident(
        "brioche",
        "sev2",
        "Maison Brioche: alert (volume 14x the usual, 61 % negative)",
        first_signal_at=T0 - minutes(12),
    )
    second = await session.open_incident("brioche", "sev1", "Mould photo shared by @lemonde_conso")
    await journal.acknowledge(second.id)
    await journal.assign(second.id, "hugo")
    await journal.log_response(second.id, "apology", "x", "We are so sorry: we are checking every shop.")
    await session.poll()
    desk.clock.advance(25 * 60)  # the first incident's response is now 7 minutes overdue
    await session.check_clocks()
    assert first.id == 1
    pilot.app.wall.flush()
    await pilot.pause()


def test_wall_with_incidents_120x40(tmp_path: Path, kit: Any, snap_compare: Any) -> None:
    app, desk, session = storm_wall(tmp_path, kit)

    async def run_before(pilot: Any) -> None:
        await two_incidents(pilot, desk, session)

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


def test_open_incident_form(tmp_path: Path, kit: Any, snap_compare: Any) -> None:
    app, desk, session = storm_wall(tmp_path, kit)

    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        desk.publish(kit.topic(level="watch", reasons=("volume 2.4x the usual",)))
        await session.tick()
        desk.clock.advance(180)
        desk.publish(kit.topic(level="alert"))
        await session.tick()
        pilot.app.wall.flush()
        await pilot.press("e")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)
