"""The header's presence words on a journal shared by several desks (Pilot): who this desk is, how many
desks are attached, and, loudly, when no ingest desk is alive (the figures are frozen: never calm)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tocsin.config.i18n import use
from tocsin.desk.attach import AttachedDesk
from tocsin.desk.presence import TeamView
from tocsin.desk.session import JournalSession
from tocsin.desk.wire import snapshot_to_wire
from tocsin.journal.api import Journal
from tocsin.journal.desks import INGEST, DeskPresence
from tocsin.journal.store import Store
from tocsin.scoring.snapshot import Snapshot
from tocsin.tui.app import WallApp
from tocsin.tui.panes.header import DeskHeader, team_line, team_words

SIZE = (140, 40)
MANUAL = {"refresh_hz": 0.001}  # the test flushes
W = datetime(2026, 11, 21, 9, 41, tzinfo=UTC)  # 10:41 in Paris


def header_lines(app: WallApp) -> list[str]:
    return app.query_one(DeskHeader).render().plain.splitlines()


def desk_row(desk_id: str, operator: str, role: str, seen: datetime = W) -> DeskPresence:
    return DeskPresence(desk_id, operator, role, "wall-1", 4242, W - timedelta(hours=1), seen)


def view(role: str, *, alive: bool = True, others: int = 2, gone_since: datetime | None = None) -> TeamView:
    ingest = desk_row("i", "alice", "ingest")
    me = desk_row("me", "bob", role)
    rows = (me, *(desk_row(f"o{n}", f"op{n}", "attached") for n in range(others)))
    if role == "ingest":
        return TeamView("me", role, W, rows, me, True)
    if alive:
        return TeamView("me", role, W, (ingest, *rows), ingest, True)
    return TeamView("me", role, W + timedelta(minutes=3), rows, None, False, gone_since)


async def test_the_header_says_who_this_desk_is_and_loudly_when_no_ingest_desk_is_alive(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        desk.publish(kit.topic(level="calm", rate=2.0, baseline=2.5, reasons=()))
        app.wall.flush()
        header = app.query_one(DeskHeader)
        assert "⇄" not in header_lines(app)[0]  # no journal shared: nothing said
        calm_lines = len(header_lines(app))

        header.set_team(view("ingest"))
        await pilot.pause()
        assert "⇄ ingest desk · 2 desks attached" in header_lines(app)[0]
        assert len(header_lines(app)) == calm_lines and "CALM" in header_lines(app)[1]

        header.set_team(view("attached"))
        await pilot.pause()
        assert "⇄ attached to alice's ingest desk · 3 desks attached" in header_lines(app)[0]

        header.set_team(view("standby", others=0))
        await pilot.pause()
        lines = header_lines(app)
        assert "⇄ standby · 1 desk attached" in lines[0]
        assert lines[1].startswith("◌ STANDBY: alice's desk on wall-1 ingests; this desk shows it")
        assert "CALM" in lines[2]

        header.set_team(view("attached", alive=False, gone_since=W))
        await pilot.pause()
        lines = header_lines(app)
        assert lines[1].strip() == "⊘ NO INGEST DESK since 10:41 (3 min) — figures frozen"
        assert "FROZEN" in lines[2] and "CALM" not in lines[2] and "last seen" in lines[2]
        assert len(lines) == calm_lines + 1
        # said before anything else on the screen, in the alarm's reversed style
        screen = kit.screen_text(app).splitlines()
        assert "NO INGEST DESK" in screen[1]

        header.set_team(view("attached", alive=False, gone_since=None))
        await pilot.pause()
        assert "NO INGEST DESK: nothing to show until one starts" in header_lines(app)[1]

        header.set_team(view("standby", alive=False, gone_since=W))
        await pilot.pause()
        assert header_lines(app)[1].endswith("this desk is taking over")


async def test_an_attached_wall_shows_the_ingest_desk_then_says_it_is_gone(kit: Any, tmp_path: Path) -> None:
    """The whole way: a wall on an ``AttachedDesk`` and its session, the ingest desk played by the test
    (its lease, its heartbeat, its published snapshot in the journal)."""
    journal = str(tmp_path / "journal.sqlite")
    settings = kit.settings(**MANUAL)
    settings = dataclasses.replace(
        settings, desk=dataclasses.replace(settings.desk, journal=journal, operator="bob")
    )
    store = await Store.open(journal)
    now = [W]
    lease = await store.try_lead(INGEST, holder="wall-1:1:a")
    assert lease is not None
    ingest = Journal(store, settings, clock=kit.FakeDesk().clock, operator="alice")
    await ingest.heartbeat(desk_row("wall-1:1:a", "alice", "ingest"))
    snapshot = Snapshot(
        at=W, seq=1, topics={"brioche": kit.topic(level="alert")}, sources={}, engine="lexicon"
    )
    await ingest.publish_snapshot("wall-1:1:a", snapshot_to_wire(snapshot), W)

    desk = AttachedDesk(settings)
    session = JournalSession(settings, desk, wall=lambda: now[0])
    app = WallApp(settings, desk, session=session)
    try:
        async with app.run_test(size=SIZE) as pilot:
            for _ in range(100):
                await pilot.pause()
                if app._desk_running:
                    break
            await session.presence()
            app.wall.flush()
            await pilot.pause()
            lines = header_lines(app)
            assert "⇄ attached to alice's ingest desk · 1 desk attached" in lines[0]
            assert "ALERT" in lines[1] and "Maison Brioche" in lines[1]

            await lease.release()  # the ingest desk is gone
            now[0] = W + timedelta(minutes=3)
            await session.presence()
            app.wall.flush()
            await pilot.pause()
            lines = header_lines(app)
            assert "NO INGEST DESK since 10:41 (3 min) — figures frozen" in lines[1]
            assert "FROZEN" in lines[2] and "ALERT" not in lines[2]
    finally:
        await store.close()


def test_the_presence_words_in_french() -> None:
    use("fr")
    assert team_words(view("ingest")) == "poste de collecte · 2 postes rattachés"
    attached = team_words(view("attached", others=0))
    assert attached == "rattaché au poste de collecte (alice) · 1 poste rattaché"
    line = team_line(view("attached", alive=False, gone_since=W), ZoneInfo("Europe/Paris"))
    assert line is not None
    assert line.plain.strip() == "⊘ AUCUN POSTE DE COLLECTE depuis 10:41 (3 min) — chiffres figés"
