"""The response checklist ticked from the wall (issue 12): ``t`` on the wall and in an incident's
review, boxes that read ``[x]``/``[ ]`` without colour, a tick shown only once the journal has it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult

from tocsin.journal.model import EventKind
from tocsin.tui.screens.checklist import ChecklistScreen, TickBox
from tocsin.tui.screens.incident_forms import NoteForm

from ._incident_wall import SIZE, build, ready, settle


async def open_incident_on_the_wall(app: Any, pilot: Any, session: Any) -> Any:
    inc = await session.open_incident("brioche", "sev2", "Mould photo")
    await session.poll()
    await settle(app, pilot)
    return inc


async def test_t_ticks_the_checklist_from_the_wall(tmp_path: Path, kit: Any) -> None:
    app, _desk, session = build(tmp_path, kit)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        inc = await open_incident_on_the_wall(app, pilot, session)
        journal = session.journal
        await journal.log_response(inc.id, "holding_statement", "x", "We are looking into it.")
        await session.poll()
        await pilot.press("t")
        await settle(app, pilot)
        assert isinstance(app.screen, ChecklistScreen)
        text = kit.screen_text(app)
        assert "[x] Say publicly you are on it  (holding statement," in text  # ticked by the response
        assert "[ ] Confirm the facts" in text
        await pilot.press("down", "enter")  # Confirm the facts
        await settle(app, pilot)
        assert "[x] Confirm the facts  (by hand," in kit.screen_text(app)
        record = await journal.incident_record(inc.id)
        assert [e.payload for e in record.events if e.kind is EventKind.CHECKED] == [
            {"item": "facts", "done": True}
        ]
        await pilot.press("space")  # space unticks it again
        await settle(app, pilot)
        assert "[ ] Confirm the facts" in kit.screen_text(app)
        await pilot.press("enter", "escape")
        await settle(app, pilot)
        assert not isinstance(app.screen, ChecklistScreen)
        assert [c.id for c in session.incidents[0].checklist if c.done] == ["hold", "facts"]
        assert "■■□□□" in kit.screen_text(app)  # the pane's boxes follow


async def test_a_step_a_response_ticked_stays_ticked_and_says_why(
    tmp_path: Path, kit: Any, monkeypatch: Any
) -> None:
    app, _desk, session = build(tmp_path, kit)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        inc = await open_incident_on_the_wall(app, pilot, session)
        await session.journal.log_response(inc.id, "holding_statement", "x", "On it.")
        await session.poll()
        await pilot.press("t")
        await settle(app, pilot)
        screen = app.screen
        said: list[str] = []
        monkeypatch.setattr(screen, "notify", lambda message, **kw: said.append(message))
        await pilot.press("enter")  # the holding statement's step
        await settle(app, pilot)
        assert said and "it stays ticked" in said[0]
        assert "[x] Say publicly you are on it" in kit.screen_text(app)


async def test_t_without_an_incident_says_so(tmp_path: Path, kit: Any, monkeypatch: Any) -> None:
    app, _desk, _session = build(tmp_path, kit)
    said: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        monkeypatch.setattr(app, "notify", lambda message, **kw: said.append(message))
        await pilot.press("t")
        await pilot.pause()
        assert not isinstance(app.screen, ChecklistScreen)
    assert said == ["no open incident: press e to open one"]


async def test_t_in_the_incident_review_ticks_and_reloads(tmp_path: Path, kit: Any) -> None:
    from tocsin.tui.screens.review import IncidentReviewScreen

    app, _desk, session = build(tmp_path, kit)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await open_incident_on_the_wall(app, pilot, session)
        await pilot.press("v")
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, IncidentReviewScreen)
        assert "[ ] Restate the values" in kit.screen_text(app)
        await pilot.press("t")
        await settle(app, pilot)
        await pilot.press("end", "enter", "escape")
        await settle(app, pilot)
        assert isinstance(app.screen, IncidentReviewScreen)
        assert "[x] Restate the values  (check," in kit.screen_text(app)


class Boxes(App[None]):
    def compose(self) -> ComposeResult:
        yield TickBox("A lesson", id="lesson")


async def test_a_checkbox_reads_its_state_in_text() -> None:
    app = Boxes()
    async with app.run_test(size=(40, 3)) as pilot:
        box = app.query_one(TickBox)
        assert str(box.render()).startswith("[ ] A lesson")
        await pilot.click("#lesson")
        await pilot.pause()
        assert box.value and str(box.render()).startswith("[x] A lesson")


async def test_the_note_form_lesson_box_is_a_tickbox(tmp_path: Path, kit: Any) -> None:
    app, _desk, session = build(tmp_path, kit)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await open_incident_on_the_wall(app, pilot, session)
        await pilot.press("n")
        await settle(app, pilot)
        assert isinstance(app.screen, NoteForm)
        assert "[ ] A lesson for the post-mortem" in kit.screen_text(app)
