"""A desk with ``desk.language: fr``: the wall speaks French — the header (levels, reasons, rate, clock,
behind), the key bar, the help — from the catalogs, and the next English desk is English again; the
120x40 wall and a mention's detail (its troll guard's warning) have their French snapshots."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tocsin.config.i18n import language
from tocsin.scoring.snapshot import Behind
from tocsin.tui.app import WallApp
from tocsin.tui.screens.help import HelpScreen

from ._snapshot import settle
from .test_app import MANUAL, flush, header_text, ready

SIZE = (120, 40)


def french(kit: Any) -> Any:
    settings = kit.settings(**MANUAL)
    return replace(settings, desk=replace(settings.desk, language="fr"))


async def test_a_french_desk_shows_the_wall_in_french(kit: Any) -> None:
    desk = kit.FakeDesk(french(kit))  # Europe/Paris; T0 is Saturday 21 November, 10:30 in Paris
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        reasons = ("volume 14x the usual", "61 % negative (usually 12 %)", "2 journalists")
        desk.publish(kit.topic(level="crisis", rate=1234.5, reasons=reasons), behind=Behind(11_025, 275.0))
        await flush(app, pilot)
        header = header_text(app)
        assert "sam. 21 nov. 10:30:00" in header
        assert "en retard : 11\u202f025 mentions en attente, chiffres vieux de 5 min" in header
        assert "CRISE" in header and "CRISIS" not in header
        assert "1\u202f234,5/min" in header
        assert "volume à 14x la normale · 61 % négatif (d'habitude 12 %) · 2 journalistes" in header
        wall = kit.screen_text(app)
        for word in ("Quitter", "Filtrer", "Aide", "Escalader", "Réponse"):  # the key bar
            assert word in wall, word
        assert "Quit " not in wall
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        help_text = kit.screen_text(app)
        for needle in (
            "Touches",
            "Cellule",
            "Flux (quand il a le focus)",
            "Afficher/masquer le volume",
            "[filter]",
            "Échap pour fermer",
        ):
            assert needle in help_text, needle


async def test_an_english_desk_after_a_french_one_speaks_english(kit: Any) -> None:
    french_app = WallApp(french(kit), kit.FakeDesk(french(kit)))
    assert language() == "fr" and french_app is not None
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        desk.publish(kit.topic(level="crisis"))
        await flush(app, pilot)
        assert " CRISIS " in header_text(app)
        wall = kit.screen_text(app)
        assert "Quit" in wall and "Quitter" not in wall


async def test_a_french_desk_shows_its_incidents_in_french(tmp_path: Any, kit: Any) -> None:
    from tests.desk._incident_kit import T0, team_settings
    from tocsin.desk.session import JournalSession
    from tocsin.journal.model import State
    from tocsin.tui.panes.incidents import IncidentsPane

    from ._incident_wall import pane_text, settle
    from ._incident_wall import ready as wall_ready

    settings = team_settings(tmp_path / "journal.sqlite")
    settings = replace(settings, desk=replace(settings.desk, language="fr"))
    desk = kit.FakeDesk(settings)
    session = JournalSession(settings, desk, background=False)
    app = WallApp(settings, desk, session=session)
    async with app.run_test(size=SIZE) as pilot:
        await wall_ready(app, pilot)
        inc = await session.open_incident("brioche", "sev1", "photo de moisissure", first_signal_at=T0)
        await session.journal.acknowledge(inc.id)  # type: ignore[union-attr]
        await session.poll()
        await settle(app, pilot)
        pane = app.query_one(IncidentsPane)
        headers = [str(c.label) for c in pane.columns.values()]
        assert headers[:4] == ["#", "GRAV", "ÉTAT", "INCIDENT"] and "1RE RÉPONSE" in headers
        row = pane_text(app)
        assert "acquitté" in row and "attendue dans 30:00" in row and "✓ acquit en 0s" in row
        assert pane.border_title == "Incidents · 1 ouvert"
        await session.journal.set_state(inc.id, State.MONITORING)  # type: ignore[union-attr]
        desk.clock.advance(33 * 60)
        await session.poll()
        await settle(app, pilot)
        assert "surveillé" in pane_text(app) and "dépassé depuis 3 min" in pane_text(app)


# --- the French pictures (pytest-textual-snapshot; see tests/tui/test_snapshots.py) --------------------


def french_storm_desk(kit: Any) -> Any:
    """The English snapshots' storm (``storm_desk``), on a desk that speaks French."""
    from .test_snapshots import judged

    settings = kit.settings(refresh_hz=0.001)
    desk = kit.FakeDesk(replace(settings, desk=replace(settings.desk, language="fr")))
    kit.tell_story(desk, times=5)
    desk.publish(judged(kit, kit.topic()), sources=[kit.source_status(rate=42.0)], engine="lexicon")
    return desk


def test_french_wall_120x40(kit: Any, snap_compare: Any) -> None:
    desk = french_storm_desk(kit)
    assert snap_compare(WallApp(desk.settings, desk), terminal_size=SIZE, run_before=settle)


def test_french_mention_detail_with_the_troll_guard_120x40(kit: Any, snap_compare: Any) -> None:
    """Enter on a bot's post: the detail, its troll guard's warning first, in French."""
    desk = french_storm_desk(kit)
    desk.push(
        "Boycott Maison Brioche until they answer! #BriocheGate",
        handle="brioche_truth_88",
        label="negative",
        followers=12,
        hashtags=("briochegate",),
        scores={
            "bot": {"score": 0.91, "reasons": ["account 3 days old", "140 posts in the last hour"]},
            "cluster": {"id": 7, "size": 48, "authors": 31},
        },
    )

    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        await pilot.press("enter")
        await pilot.pause()

    assert snap_compare(WallApp(desk.settings, desk), terminal_size=SIZE, run_before=run_before)
