"""The incident workflow from the keyboard (Pilot): a fake desk on a ManualClock, a real journal in
a tmp dir, the session driven by the test (no background loop), flushes called by the test."""

from __future__ import annotations

import asyncio
import io
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, OptionList, Select, TextArea
from tocsin.journal.api import Journal
from tocsin.journal.model import EventKind, State
from tocsin.sources.clock import ManualClock
from tocsin.tui.app import TocsinApp
from tocsin.tui.panes.feed import FeedView
from tocsin.tui.panes.incidents import IncidentsPane
from tocsin.tui.screens.incident_forms import IncidentForm, OpenIncidentForm, RespondForm
from tocsin.tui.session import DeskSession

from ._incident_kit import T0, team_settings, with_operator

SIZE = (120, 40)


def build(tmp_path: Path, kit: Any, **settings_kw: Any) -> tuple[TocsinApp, Any, DeskSession]:
    settings = team_settings(tmp_path / "journal.sqlite", **settings_kw)
    desk = kit.FakeDesk(settings)
    session = DeskSession(settings, desk, background=False)
    return TocsinApp(settings, desk, session=session), desk, session


async def ready(app: TocsinApp, pilot: Any) -> None:
    for _ in range(100):
        await pilot.pause()
        if app._desk_running:
            return
    raise AssertionError("the desk never started")


async def settle(app: TocsinApp, pilot: Any) -> None:
    """Let workers (journal calls) finish, then flush the wall once."""
    await app.workers.wait_for_complete()
    await pilot.pause()
    app.flush()
    await pilot.pause()


async def choose(app: TocsinApp, pilot: Any, option_id: str) -> None:
    """Pick an option of the open form's list by its id, then Enter."""
    options = app.screen.query_one(OptionList)
    ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
    options.highlighted = ids.index(option_id)
    options.focus()
    await pilot.press("enter")
    await settle(app, pilot)


def pane_text(app: TocsinApp) -> str:
    pane = app.query_one(IncidentsPane)
    rows = []
    for row in pane.ordered_rows:
        rows.append(" | ".join(cell.plain for cell in pane.get_row(row.key)))
    return "\n".join(rows)


async def test_the_whole_story_from_the_keyboard(tmp_path: Path, kit: Any, monkeypatch: Any) -> None:
    app, desk, session = build(tmp_path, kit)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        pane = app.query_one(IncidentsPane)
        assert not pane.display  # nothing open: the pane takes no room
        kit.tell_story(desk)
        desk.publish(kit.topic(level="watch", reasons=("volume 2.4x baseline",)))
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
        assert title.value == "Maison Brioche: alert (volume 13.5x baseline, 61 % negative)"
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
        await pilot.press(*"We are looking into it.")
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
        await pilot.press(*"Supplier list must be checked weekly")
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
    assert events[3].payload["text"] == "We are looking into it." and events[3].payload["channel"] == "x"
    assert events[6].payload == {"kind": "lesson", "text": "Supplier list must be checked weekly"}

    # the post-mortem from the command line tells the same story
    from tocsin.tui.cli import main

    monkeypatch.setenv("TOCSIN_JOURNAL", str(tmp_path / "journal.sqlite"))
    out = io.StringIO()
    with redirect_stdout(out):  # the CLI runs its own event loop: give it a thread
        code = await asyncio.to_thread(main, ["journal", "export", str(inc.id), "--format", "html"])
    assert code == 0
    html = out.getvalue()
    for needle in ("We are looking into it.", "Supplier list must be checked weekly", "Hugo Marchand",
                   chosen.mention.text.split(" #")[0][:40]):
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
        await pilot.press(*"instagram")
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
        await pilot.press(*"Nous regardons.")
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


async def test_e_on_an_existing_incident_escalates_it(tmp_path: Path, kit: Any) -> None:
    app, desk, session = build(tmp_path, kit)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        desk.publish(kit.topic(level="alert"))
        inc = await session.open_incident("brioche", "sev2", "mould photo")
        await session.poll()
        await settle(app, pilot)
        await pilot.press("e")
        await pilot.pause()
        await choose(app, pilot, "sev1")
        assert session.incidents[0].severity.label == "SEV1"
        await pilot.press("e")
        await pilot.pause()
        await choose(app, pilot, "ladder")
        assert session.incidents[0].escalation_step == 1
        journal = session.journal
        assert journal is not None
        escalations = [e.payload for e in await journal.events(inc.id) if e.kind is EventKind.ESCALATED]
        assert escalations[0] == {"from_severity": "sev2", "to_severity": "sev1"}
        assert escalations[1]["roles"] == ["head-of-comms"] and escalations[1]["members"] == ["hugo"]


async def test_escalate_key_can_be_remapped(tmp_path: Path, kit: Any) -> None:
    app, desk, session = build(tmp_path, kit, keymap={"escalate": "f2"})
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        desk.publish(kit.topic(level="alert"))
        await session.tick()
        await pilot.press("e")
        await pilot.pause()
        assert not isinstance(app.screen, IncidentForm)  # the old key is free
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(app.screen, OpenIncidentForm)
        await pilot.press("escape")
        await pilot.press("question_mark")
        await pilot.pause()
        text = kit.screen_text(app)
        line = next(line for line in text.splitlines() if "[escalate]" in line)
        assert "f2" in line.lower() and "Escalate" in line


async def test_keys_without_an_incident_say_so(tmp_path: Path, kit: Any, monkeypatch: Any) -> None:
    app, _desk, _session = build(tmp_path, kit)
    said: list[tuple[str, dict[str, Any]]] = []
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        monkeypatch.setattr(app, "notify", lambda message, **kw: said.append((message, kw)))
        for key in "aornsp":
            await pilot.press(key)
            await pilot.pause()
            assert not isinstance(app.screen, IncidentForm)
    assert len(said) == 6 and all("press e to open one" in m for m, _ in said)
    assert all(kw.get("markup") is False for _, kw in said)


async def test_another_desk_action_shows_after_a_poll(tmp_path: Path, kit: Any, monkeypatch: Any) -> None:
    app, _desk, session = build(tmp_path, kit)
    toasts: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        inc = await session.open_incident("brioche", "sev2", "mould photo")
        await session.poll()
        await settle(app, pilot)
        monkeypatch.setattr(app, "notify", lambda message, **kw: toasts.append(message))
        other = DeskSession(with_operator(session.settings, "hugo"), kit.FakeDesk(session.settings),
                            background=False)
        await other.start()
        try:
            await other.journal.acknowledge(inc.id)  # type: ignore[union-attr]
        finally:
            await other.stop()
        await session.poll()  # what the background loop does about once a second
        await settle(app, pilot)
        assert session.incidents[0].acknowledged_by == "hugo"
        assert "acked" in pane_text(app)
        assert toasts == ["hugo on #1: acknowledged"]


async def test_journal_that_cannot_open_leaves_the_wall_up(
    tmp_path: Path, kit: Any, monkeypatch: Any
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the journal's folder should be")
    settings = team_settings(blocker / "journal.sqlite")
    desk = kit.FakeDesk(settings)
    app = TocsinApp(settings, desk, journal=True)
    said: list[str] = []
    monkeypatch.setattr(app, "notify", lambda message, **kw: said.append(message))
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        assert app.session is None and desk.started
        await pilot.press("e")
        await pilot.pause()
        assert not isinstance(app.screen, IncidentForm)
    assert any(m.startswith("no incident journal") for m in said)


@pytest.mark.parametrize("label", ["positive", "neutral"])
async def test_correcting_a_mention_sentiment_is_kept_as_training_data(
    tmp_path: Path, kit: Any, label: str
) -> None:
    app, desk, session = build(tmp_path, kit)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        desk.push("Crème brûlée brioche is back, finally!", label="negative", handle="sucre_sale")
        await settle(app, pilot)
        await pilot.press("c")
        await pilot.pause()
        await choose(app, pilot, label)
        journal = session.journal
        assert journal is not None
        corrections = await journal.corrections()
        assert [(c.text, c.old_label, c.new_label) for c in corrections] == [
            ("Crème brûlée brioche is back, finally!", "negative", label)
        ]


async def test_review_lists_incidents_opens_one_and_exports_html(
    tmp_path: Path, kit: Any, monkeypatch: Any
) -> None:
    from tocsin.tui.screens.review import IncidentReviewScreen, ReviewScreen

    monkeypatch.chdir(tmp_path)
    app, _desk, session = build(tmp_path, kit)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        journal = session.journal
        assert journal is not None
        first = await session.open_incident("brioche", "sev3", "an old one")
        await journal.resolve(first.id)
        second = await session.open_incident("brioche", "sev2", "[/boom] mould \x1b[2J photo")
        await journal.log_response(second.id, "holding_statement", "x", "We are looking into it.")
        await session.poll()
        await pilot.press("v")
        await settle(app, pilot)
        review = app.screen
        assert isinstance(review, ReviewScreen)
        assert [i.id for i in review.incidents] == [second.id, first.id]  # newest first
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, IncidentReviewScreen)
        text = kit.screen_text(app)
        assert "[/boom] mould photo" in text and "\x1b" not in text
        assert "Holding statement" in text.replace("holding statement", "Holding statement")
        assert "We are looking into it." in text
        await pilot.press("x")
        await settle(app, pilot)
        exported = tmp_path / f"tocsin-incident-{second.id}-postmortem.html"
        assert exported.exists() and "We are looking into it." in exported.read_text()
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is review
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ReviewScreen)



async def test_pane_keeps_the_selected_incident_and_shows_hostile_titles_as_text(
    tmp_path: Path, kit: Any
) -> None:
    app, _desk, session = build(tmp_path, kit)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        journal = session.journal
        assert journal is not None
        one = await session.open_incident("brioche", "sev3", "first")
        two = await session.open_incident("brioche", "sev3", "[@click=app.quit]x[/] \x1b]0;pwned\x07 second")
        three = await session.open_incident("brioche", "sev1", "third")
        await session.poll()
        await settle(app, pilot)
        pane = app.query_one(IncidentsPane)
        assert [i.id for i in pane.incidents] == [three.id, one.id, two.id]  # most severe first
        pane.focus()
        await pilot.press("down", "down")
        assert pane.selected_incident is not None and pane.selected_incident.id == two.id
        await journal.resolve(one.id)  # another desk closes the one above it
        await session.poll()
        await settle(app, pilot)
        assert [i.id for i in pane.incidents] == [three.id, two.id]
        assert pane.selected_incident is not None and pane.selected_incident.id == two.id
        text = kit.screen_text(app)
        assert "[@click=app.quit]x[/]" in text and "\x1b" not in text and "\x07" not in text
        await pilot.click(IncidentsPane, offset=(30, 2))  # a click on the hostile title runs nothing
        assert app.is_running


async def test_failing_alerts_are_counted_on_the_pane_and_said_once(
    tmp_path: Path, kit: Any, monkeypatch: Any
) -> None:
    from tocsin.config.settings import AlertSettings

    dead = AlertSettings(type="webhook", url="http://127.0.0.1:9/hooks/t0ken", on=("new_incident",))
    app, _desk, session = build(tmp_path, kit, alerts=[dead])
    toasts: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        monkeypatch.setattr(app, "notify", lambda message, **kw: toasts.append(message))
        for title in ("mould photo", "supplier story"):
            await session.open_incident("brioche", "sev2", title)
            await session.alerts.close(wait=5)  # let the delivery fail
        await settle(app, pilot)
        assert session.alerts.errors == 2
        assert app.query_one(IncidentsPane).border_subtitle == "2 alerts failed"
    failures = [t for t in toasts if "failed" in t]
    assert len(failures) == 1 and "cannot reach" in failures[0] and "t0ken" not in failures[0]
