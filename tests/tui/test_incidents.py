"""The incident workflow from the keyboard (Pilot), part one: the whole story, the countdowns, the
forms' refusals and cancel. A fake desk on a ManualClock, a real journal in a tmp dir, the session driven
by the test (no background loop), flushes called by the test."""

from __future__ import annotations

import asyncio
import io
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

from textual.widgets import Input, Select, TextArea

from tests.desk._incident_kit import T0
from tocsin.journal.api import Journal
from tocsin.journal.model import EventKind, State
from tocsin.sources.clock import ManualClock
from tocsin.tui.panes.feed import FeedView
from tocsin.tui.panes.incidents import IncidentsPane
from tocsin.tui.screens.incident_forms import IncidentForm, OpenIncidentForm, RespondForm

from ._incident_wall import SIZE, build, choose, pane_text, ready, settle


async def test_the_whole_story_from_the_keyboard(tmp_path: Path, kit: Any, monkeypatch: Any) -> None:
    app, desk, session = build(tmp_path, kit)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        pane = app.query_one(IncidentsPane)
        assert not pane.display  # nothing open: the pane takes no room
        kit.tell_story(desk)
        desk.publish(kit.topic(level="watch", reasons=("volume 2.4x the usual",)))
        await session.tick()
        desk.clock.advance(120)
        desk.publish(kit.topic(level="alert"))
        await session.tick()
        await settle(app, pilot)
        signal = session.first_signal("brioche")
        assert signal == T0  # the level left calm with the watch snapshot

        # e: open from the topic at alert, prefilled
        await pilot.press("e")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, OpenIncidentForm)
        assert form.query_one("#severity", Select).value == "sev2"
        title = form.query_one("#title", Input)
        assert title.value == "Maison Brioche: alert (volume 14x the usual, 61 % negative)"
        await pilot.press("enter")
        await settle(app, pilot)
        assert not isinstance(app.screen, IncidentForm)
        assert pane.display and len(session.incidents) == 1
        inc = session.incidents[0]
        assert (inc.severity.label, inc.first_signal_at, inc.level) == ("SEV2", signal, "alert")
        assert "ACK DUE in 10:00" in pane_text(app)

        # a: acknowledge
        await pilot.press("a")
        await settle(app, pilot)
        assert session.incidents[0].state is State.ACKNOWLEDGED
        assert "✓ acked in 0s" in pane_text(app)

        # o: assign from the roster
        await pilot.press("o")
        await pilot.pause()
        await choose(app, pilot, "hugo")
        assert session.incidents[0].assignee == "hugo"
        assert "Hugo M." in pane_text(app)

        # r: a holding statement with its text
        desk.clock.advance(300)
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, RespondForm)
        await pilot.press(*"x")
        app.screen.query_one("#text", TextArea).focus()
        await pilot.press(*"On it.")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert not isinstance(app.screen, IncidentForm)
        inc = session.incidents[0]
        assert inc.state is State.RESPONDING and inc.first_response_at is not None
        assert "✓ 10:37" in pane_text(app)

        # p: pin the selected feed mention (moved to an older line: it keeps its original time)
        feed = app.query_one(FeedView)
        feed.focus()
        await pilot.press("up", "up")
        chosen = feed.selected_mention
        assert chosen is not None and not feed.tail
        await pilot.press("p")
        await settle(app, pilot)
        assert session.incidents[0].evidence == 1

        # n: a lesson
        await pilot.press("n")
        await pilot.pause()
        await pilot.press(*"Check suppliers")
        app.screen.query_one("#lesson").value = True
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert session.incidents[0].notes == 1

        # s: monitoring, then resolved
        await pilot.press("s")
        await pilot.pause()
        await choose(app, pilot, "monitoring")
        assert session.incidents[0].state is State.MONITORING
        desk.clock.advance(600)
        await pilot.press("s")
        await pilot.pause()
        await choose(app, pilot, "resolved")
        assert session.incidents != ()  # resolving asks first
        await pilot.press("y")
        await settle(app, pilot)
        assert session.incidents == ()
        assert not pane.display

    async with await Journal.open(session.settings, clock=ManualClock(T0)) as journal:
        events = await journal.events(inc.id)
    kinds = [str(e.kind) for e in events]
    assert kinds == [
        "opened",
        "acknowledged",
        "assigned",
        "response_logged",
        "state_changed",
        "evidence_pinned",
        "note",
        "state_changed",
        "resolved",
    ]
    assert {e.operator for e in events} == {"camille"}
    assert [e.id for e in events] == sorted(e.id for e in events)
    pinned = next(e for e in events if e.kind is EventKind.EVIDENCE_PINNED)
    assert pinned.payload["mention"]["created_at"] == chosen.mention.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert events[3].payload["text"] == "On it." and events[3].payload["channel"] == "x"
    assert events[6].payload == {"kind": "lesson", "text": "Check suppliers"}

    # the post-mortem from the command line tells the same story
    from tocsin.desk.cli import main

    monkeypatch.setenv("TOCSIN_JOURNAL", str(tmp_path / "journal.sqlite"))
    out = io.StringIO()
    with redirect_stdout(out):  # the CLI runs its own event loop: give it a thread
        code = await asyncio.to_thread(main, ["journal", "export", str(inc.id), "--format", "html"])
    assert code == 0
    html = out.getvalue()
    for needle in ("On it.", "Check suppliers", "Hugo Marchand", chosen.mention.text.split(" #")[0][:40]):
        assert needle in html, needle


async def test_countdown_turns_to_breached_and_the_breach_is_recorded_once(tmp_path: Path, kit: Any) -> None:
    app, desk, session = build(tmp_path, kit)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        inc = await session.open_incident("brioche", "sev1", "mould photo", first_signal_at=T0)
        await session.journal.acknowledge(inc.id)  # type: ignore[union-attr]
        await session.poll()
        await settle(app, pilot)
        assert "due in 30:00" in pane_text(app)
        desk.clock.advance(26 * 60)
        await settle(app, pilot)
        cell = app.query_one(IncidentsPane).get_cell(str(inc.id), "response")
        assert cell.plain == "due in 4:00" and "yellow" in str(cell.style)  # under five minutes: warn
        desk.clock.advance(7 * 60)
        await settle(app, pilot)
        cell = app.query_one(IncidentsPane).get_cell(str(inc.id), "response")
        assert cell.plain == "breached 3 min ago" and "red" in str(cell.style)
        await session.tick()
        desk.clock.advance(10)
        await session.tick()
        await session.check_clocks()
        journal = session.journal
        assert journal is not None
        breaches = [e for e in await journal.events(inc.id) if e.kind is EventKind.SLA_BREACHED]
        assert [e.payload["clock"] for e in breaches] == ["first_response"]


async def test_a_response_without_text_is_refused_in_the_form(tmp_path: Path, kit: Any) -> None:
    app, _desk, session = build(tmp_path, kit)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        inc = await session.open_incident("brioche", "sev2", "mould photo")
        await session.poll()
        await settle(app, pilot)
        await pilot.press("r")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, RespondForm)
        await pilot.press(*"ig")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert app.screen is form  # still open
        assert form.error is not None and "needs the text" in form.error
        assert "needs the text" in kit.screen_text(app)
        journal = session.journal
        assert journal is not None
        assert [str(e.kind) for e in await journal.events(inc.id)] == ["opened"]  # nothing written
        # fixing it and saving works, from the same form
        form.query_one("#text", TextArea).focus()
        await pilot.press(*"Vu.")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert not isinstance(app.screen, IncidentForm)
        assert session.incidents[0].responses == 1


async def test_escape_cancels_a_form_and_writes_nothing(tmp_path: Path, kit: Any) -> None:
    app, desk, session = build(tmp_path, kit)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        desk.publish(kit.topic(level="crisis"))
        await session.tick()
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, OpenIncidentForm)
        assert app.screen.query_one("#severity", Select).value == "sev1"  # crisis → SEV1
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, IncidentForm)
        assert await session.journal.incidents(include_resolved=True) == []  # type: ignore[union-attr]
