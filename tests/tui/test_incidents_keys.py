"""The incident workflow from the keyboard (Pilot), part two: escalation and keymaps, other desks,
a journal that cannot open, sentiment corrections, the review from the wall, the pane's selection and
hostile titles, failing alerts."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.desk._incident_kit import team_settings, with_operator
from tocsin.desk.session import JournalSession
from tocsin.journal.model import EventKind
from tocsin.tui.app import WallApp
from tocsin.tui.panes.incidents import IncidentsPane
from tocsin.tui.screens.incident_forms import IncidentForm, OpenIncidentForm

from ._incident_wall import SIZE, build, choose, pane_text, ready, settle


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
        other = JournalSession(
            with_operator(session.settings, "hugo"), kit.FakeDesk(session.settings), background=False
        )
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
    app = WallApp(settings, desk, journal=True)
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

    cwd = tmp_path / "started-here"
    cwd.mkdir()
    monkeypatch.chdir(cwd)  # where the desk was started: exports must not land here
    app, _desk, session = build(tmp_path, kit)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        journal = session.journal
        assert journal is not None
        first = await session.open_incident("brioche", "sev3", "an old one")
        await journal.resolve(first.id)
        second = await session.open_incident("brioche", "sev2", "[/boom] mould \x1b[2J photo")
        await journal.log_response(second.id, "holding_statement", "x", "On it.")
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
        assert "On it." in text
        await pilot.press("x")
        await settle(app, pilot)
        exported = tmp_path / "exports" / f"tocsin-incident-{second.id}-postmortem.html"  # beside the journal
        assert exported.exists() and "On it." in exported.read_text()
        assert exported.stat().st_mode & 0o777 == 0o600 and list(cwd.iterdir()) == []
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

    dead = AlertSettings(
        type="webhook", url="http://127.0.0.1:9/hooks/t0ken", on=("new_incident",), cooldown=timedelta(0)
    )
    app, _desk, session = build(tmp_path, kit, alerts=[dead])
    toasts: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        monkeypatch.setattr(app, "notify", lambda message, **kw: toasts.append(message))
        for title in ("mould photo", "supplier story"):
            await session.open_incident("brioche", "sev2", title)
        assert session.oncall is not None
        assert await session.oncall.worker.run_once() == 2  # both tried, both refused: kept for later
        await session.tick()  # the desk's round brings the outbox's state to the wall
        await settle(app, pilot)
        assert session.oncall.worker.retried == 2
        assert app.query_one(IncidentsPane).border_subtitle == (
            "alerts: 2 waiting to retry (webhook: cannot reach the server (ClientConnectorError))"
        )
    failures = [t for t in toasts if "failed" in t]
    assert len(failures) == 1 and "cannot reach" in failures[0] and "t0ken" not in failures[0]


async def test_e_in_a_mention_detail_opens_the_incident_about_it(tmp_path: Path, kit: Any) -> None:
    from tocsin.tui.panes.feed import FeedView
    from tocsin.tui.screens.mention import MentionScreen

    app, desk, session = build(tmp_path, kit)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        desk.publish(kit.topic(level="alert"))
        desk.push(
            "Mould in my brioche from @maisonbrioche, disgusting", handle="julie_goute_tout", label="negative"
        )
        desk.push("a later, unrelated mention")
        await session.tick()
        app.wall.flush()
        await pilot.pause()
        await pilot.press("up")
        assert app.query_one(FeedView).selected_mention.mention.author.handle == "julie_goute_tout"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, MentionScreen)
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, OpenIncidentForm)  # the detail closed, the form about it opened
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, (MentionScreen, IncidentForm))
