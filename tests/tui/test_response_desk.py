"""Answering from the wall (Pilot): the respond form starts from a template, filled for the incident,
and the operator's edited text is what the journal logs; a draft waits on the wall for a second person,
who approves it from another terminal on the same journal."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from textual.widgets import Input, Select, TextArea

from tests.desk._incident_kit import team_settings, with_operator
from tocsin.config.settings import ResponseTemplate, Settings
from tocsin.desk.session import JournalSession
from tocsin.journal.model import EventKind
from tocsin.tui.app import WallApp
from tocsin.tui.screens.approval import ApprovalForm
from tocsin.tui.screens.incident_forms import IncidentForm, RespondForm

from ._incident_wall import SIZE, choose, pane_text, ready, settle

LIBRARY = (
    ResponseTemplate("hold-en", "holding_statement", "{brand} is checking: {title}. {agent}", "en"),
    ResponseTemplate("sorry-fr", "apology", "Pardon, {brand}. — {agent}", "fr", severities=("sev2",)),
    ResponseTemplate("sev1-only", "official_statement", "Statement.", "en", severities=("sev1",)),
)


def wall(tmp_path: Path, kit: Any, **changes: Any) -> tuple[WallApp, Any, JournalSession, Settings]:
    settings = dataclasses.replace(team_settings(tmp_path / "journal.sqlite"), responses=LIBRARY, **changes)
    desk = kit.FakeDesk(settings)
    session = JournalSession(settings, desk, background=False)
    return WallApp(settings, desk, session=session), desk, session, settings


async def test_respond_from_a_template_then_edit(tmp_path: Path, kit: Any) -> None:
    app, _desk, session, _ = wall(tmp_path, kit)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        inc = await session.open_incident("brioche", "sev2", "mould photo")
        await session.poll()
        await settle(app, pilot)
        await pilot.press("r")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, RespondForm)
        picker = form.query_one("#template", Select)
        offered = [value for _, value in picker._options if isinstance(value, str)]
        assert offered == ["hold-en", "sorry-fr"]  # the sev1-only statement does not fit a SEV2
        picker.value = "sorry-fr"
        await pilot.pause()
        assert form.query_one("#kind", Select).value == "apology"
        text = form.query_one("#text", TextArea)
        assert text.text == "Pardon, Maison Brioche. — Camille"
        text.focus()
        await pilot.press("end", *" Nous rappelons chaque client.")
        form.query_one("#channel", Input).value = "instagram"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert not isinstance(app.screen, IncidentForm)
        journal = session.journal
        assert journal is not None
        [ev] = [e for e in await journal.events(inc.id) if e.kind is EventKind.RESPONSE_LOGGED]
        assert ev.payload["text"] == "Pardon, Maison Brioche. — Camille Nous rappelons chaque client."
        assert ev.payload["template"] == "sorry-fr" and ev.payload["kind"] == "apology"


async def test_a_draft_waits_on_the_wall_and_a_second_desk_approves_it(tmp_path: Path, kit: Any) -> None:
    team = dataclasses.replace(
        team_settings(tmp_path / "journal.sqlite").team, approval={"sev2": ("head-of-comms",)}
    )
    app, desk, session, settings = wall(tmp_path, kit, team=team)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        inc = await session.open_incident("brioche", "sev2", "mould photo")
        await session.poll()
        await settle(app, pilot)
        await pilot.press("r")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, RespondForm)
        form.query_one("#template", Select).value = "hold-en"
        form.query_one("#channel", Input).value = "x"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        said = [n.message for n in app._notifications]
        assert "#1 draft 3 saved: awaiting approval by head-of-comms (nothing sent yet)" in said
        assert "⧗ awaiting approval since 10:30 · mould photo" in pane_text(app)
        assert session.incidents[0].first_response_at is None

        # camille, the author, cannot approve her own draft from the wall: the form says why
        await pilot.press("A")
        await settle(app, pilot)
        assert isinstance(app.screen, ApprovalForm)
        [shown] = [str(w.render()) for w in app.screen.query(".form-context")]
        assert shown.endswith("camille at 10:30: Maison Brioche is checking: mould photo. Camille")
        await choose(app, pilot, "approve:3")
        assert isinstance(app.screen, ApprovalForm)
        assert app.screen.error is not None and "camille wrote this draft" in app.screen.error
        await pilot.press("escape")
        await pilot.pause()

        # hugo, head of comms, at a second terminal on the same journal
        desk.clock.advance(240)
        hugo_settings = with_operator(settings, "hugo")
        hugo_desk = kit.FakeDesk(hugo_settings)
        hugo_desk.clock = desk.clock
        hugo_session = JournalSession(hugo_settings, hugo_desk, background=False)
        hugo_app = WallApp(hugo_settings, hugo_desk, session=hugo_session)
        async with hugo_app.run_test(size=SIZE) as hugo:
            await ready(hugo_app, hugo)
            await hugo_session.poll()
            await settle(hugo_app, hugo)
            await hugo.press("A")
            await settle(hugo_app, hugo)
            await choose(hugo_app, hugo, "approve:3")
            assert not isinstance(hugo_app.screen, ApprovalForm)
        await session.poll()
        await settle(app, pilot)
        done = session.incidents[0]
        assert done.first_response_at == desk.clock.now() and not done.drafts
        assert "awaiting approval" not in pane_text(app)
        journal = session.journal
        assert journal is not None
        kinds = [e.kind for e in await journal.events(inc.id)]
        assert kinds[-2:] == [EventKind.RESPONSE_APPROVED, EventKind.RESPONSE_LOGGED]
