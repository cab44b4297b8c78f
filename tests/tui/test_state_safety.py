"""State changes without one-key accidents, and a way back from the wall (Pilot): the picker marks its
row with a symbol, resolving asks for a ``y``, a resolved incident reopens from ``s`` and from the
review, and a storm coming back offers to reopen its incident rather than start a fresh one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.widgets import OptionList

from tocsin.journal.model import State
from tocsin.tui.screens.incident_forms import (
    SELECTED_MARK,
    ChoiceForm,
    ConfirmScreen,
    OpenIncidentForm,
    ReopenForm,
    StateForm,
)
from tocsin.tui.screens.review import IncidentReviewScreen, ReviewScreen

from ._incident_wall import SIZE, build, choose, ready, settle


def marked_rows(app: Any) -> list[str]:
    """The picker's rows that carry the selection mark, as plain text."""
    options = app.screen.query_one(OptionList)
    rows = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
    return [row for row in rows if row.startswith(SELECTED_MARK)]


async def open_and_resolve(app: Any, desk: Any, session: Any, kit: Any, pilot: Any) -> int:
    """An incident on brioche, resolved through the picker and its confirmation."""
    desk.publish(kit.topic(level="alert"))
    inc = await session.open_incident("brioche", "sev2", "mould photo")
    await session.poll()
    await settle(app, pilot)
    await pilot.press("s")
    await pilot.pause()
    await choose(app, pilot, "resolved")
    assert isinstance(app.screen, ConfirmScreen)
    await pilot.press("y")
    await settle(app, pilot)
    assert session.incidents == ()
    return inc.id


async def test_the_picker_marks_its_row_with_a_symbol_and_the_mark_follows_the_arrows(
    tmp_path: Path, kit: Any
) -> None:
    app, desk, session = build(tmp_path, kit)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        desk.publish(kit.topic(level="alert"))
        await session.open_incident("brioche", "sev2", "mould photo")
        await session.poll()
        await settle(app, pilot)
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, StateForm)
        assert [r[len(SELECTED_MARK) :].split(":")[0] for r in marked_rows(app)] == ["Responding"]
        await pilot.press("down")
        await pilot.pause()
        assert [r[len(SELECTED_MARK) :].split(":")[0] for r in marked_rows(app)] == ["Monitoring"]
        assert "▸ Monitoring" in kit.screen_text(app)


async def test_resolving_asks_first_and_no_is_no(tmp_path: Path, kit: Any) -> None:
    app, desk, session = build(tmp_path, kit)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        desk.publish(kit.topic(level="alert"))
        inc = await session.open_incident("brioche", "sev2", "mould photo")
        await session.poll()
        await settle(app, pilot)
        await pilot.press("s")
        await pilot.pause()
        await choose(app, pilot, "resolved")  # one arrow and Enter, as in the accident
        assert isinstance(app.screen, ConfirmScreen)
        assert "Resolve" in kit.screen_text(app)
        await pilot.press("enter")  # a second Enter by habit is no answer
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await settle(app, pilot)
        assert isinstance(app.screen, StateForm)
        assert app.screen.error is not None and "not resolved" in app.screen.error
        assert session.incidents[0].id == inc.id and not session.incidents[0].closed
        await pilot.press("escape")
        await pilot.pause()
        assert session.journal is not None
        assert (await session.journal.incident(inc.id)).state is not State.RESOLVED


async def test_s_with_nothing_open_reopens_the_recently_resolved_incident(tmp_path: Path, kit: Any) -> None:
    app, desk, session = build(tmp_path, kit)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        iid = await open_and_resolve(app, desk, session, kit, pilot)
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, ReopenForm)
        assert f"#{iid} SEV2" in kit.screen_text(app)
        await pilot.press("tab", *"wrong key", "shift+tab")
        await choose(app, pilot, str(iid))
        assert [i.id for i in session.incidents] == [iid]
        assert session.incidents[0].state is State.REOPENED
        assert session.journal is not None
        events = await session.journal.events(iid)
        assert events[-1].payload["reason"] == "wrong key"


async def test_the_review_reopens_a_resolved_incident(tmp_path: Path, kit: Any) -> None:
    app, desk, session = build(tmp_path, kit)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        iid = await open_and_resolve(app, desk, session, kit, pilot)
        await pilot.press("v")
        await settle(app, pilot)
        assert isinstance(app.screen, ReviewScreen)
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, IncidentReviewScreen)
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(app, pilot)
        assert isinstance(app.screen, IncidentReviewScreen)
        await session.poll()
        assert [(i.id, i.state) for i in session.incidents] == [(iid, State.REOPENED)]


async def test_a_storm_back_on_the_topic_offers_its_resolved_incident_before_a_new_one(
    tmp_path: Path, kit: Any
) -> None:
    app, desk, session = build(tmp_path, kit)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        iid = await open_and_resolve(app, desk, session, kit, pilot)
        desk.clock.advance(2 * 3600)
        desk.publish(kit.topic(level="crisis"))
        await settle(app, pilot)
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceForm)
        assert f"Reopen #{iid}" in kit.screen_text(app)
        await pilot.press("down")  # this time it is something else
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, OpenIncidentForm)
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("e")
        await pilot.pause()
        await pilot.press("enter")  # the default: reopen
        await settle(app, pilot)
        assert [(i.id, i.state) for i in session.incidents] == [(iid, State.REOPENED)]
        assert len(await session.journal.incidents(include_resolved=True)) == 1  # type: ignore[union-attr]
