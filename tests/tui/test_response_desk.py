"""Answering from the wall (Pilot): the respond form starts from a template, filled for the incident,
and the operator's edited text is what the journal logs."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from textual.widgets import Input, Select, TextArea
from tocsin.config.settings import ResponseTemplate, Settings
from tocsin.journal.model import EventKind
from tocsin.tui.app import TocsinApp
from tocsin.tui.screens.incident_forms import IncidentForm, RespondForm
from tocsin.tui.session import DeskSession

from ._incident_kit import team_settings
from ._incident_wall import SIZE, ready, settle

LIBRARY = (
    ResponseTemplate("hold-en", "holding_statement", "{brand} is checking: {title}. {agent}", "en"),
    ResponseTemplate("sorry-fr", "apology", "Pardon, {brand}. — {agent}", "fr", severities=("sev2",)),
    ResponseTemplate("sev1-only", "official_statement", "Statement.", "en", severities=("sev1",)),
)


def wall(tmp_path: Path, kit: Any, **changes: Any) -> tuple[TocsinApp, Any, DeskSession, Settings]:
    settings = dataclasses.replace(team_settings(tmp_path / "journal.sqlite"), responses=LIBRARY, **changes)
    desk = kit.FakeDesk(settings)
    session = DeskSession(settings, desk, background=False)
    return TocsinApp(settings, desk, session=session), desk, session, settings


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
