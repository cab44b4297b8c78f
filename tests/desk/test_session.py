"""The desk session without a screen: archive and volume history, cursors, levels into the journal,
SLA clocks, two desks on one journal, alerts (bell, desktop, webhooks in every format)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.desk._incident_kit import (
    T0,
    CursorSource,
    LevelDesk,
    LevelState,
    Receiver,
    SessionDesk,
    minutes,
    scored,
    team_settings,
    topic_at,
    webhook_receiver,
    with_operator,
)
from tocsin.config.settings import AlertSettings
from tocsin.desk.alerts import Alert, AlertDispatcher, payload
from tocsin.desk.desk import Desk
from tocsin.desk.session import JournalSession
from tocsin.journal.api import Journal
from tocsin.journal.model import EventKind, State
from tocsin.sources.clock import ManualClock


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async for r in webhook_receiver():
        yield r


async def started(settings: Any, desk: Any, **kw: Any) -> JournalSession:
    session = JournalSession(settings, desk, **kw)
    await session.start(background=False)
    return session


async def test_batches_are_archived_and_counted_per_minute(tmp_path: Path) -> None:
    settings = team_settings(tmp_path / "j.sqlite")
    desk = SessionDesk()
    session = await started(settings, desk)
    try:
        at = T0 - minutes(3)
        desk.batch(
            [
                scored(1, "maison brioche mould", at=at, label="negative"),
                scored(2, "maison brioche ok", at=at + timedelta(seconds=20), label="neutral"),
                scored(3, "love maison brioche", at=at + minutes(1), label="positive"),
                scored(4, "off topic", at=at, topics=()),
            ]
        )
        desk.batch([scored(5, "maison brioche again", at=at + timedelta(seconds=40), label="negative")])
        assert await session.flush_volume() == 2
        assert session.archiver is not None
        await session.archiver.flush()
        journal = session.journal
        assert journal is not None
        assert await journal.archived_count() == 5
        points = await journal.volume("brioche", T0 - minutes(10), T0)
        assert [(p.minute, p.count, p.negative, p.neutral, p.positive) for p in points] == [
            (at, 3, 2, 1, 0),
            (at + minutes(1), 1, 0, 0, 1),
        ]
        # a late mention adds to its minute: the minute is written again with the new total
        desk.batch([scored(6, "late maison brioche", at=at + timedelta(seconds=5), label="negative")])
        assert await session.flush_volume() == 1
        points = await journal.volume("brioche", T0 - minutes(10), T0)
        assert (points[0].count, points[0].negative) == (4, 3)
    finally:
        await session.stop()


async def test_sources_resume_from_saved_cursors_and_cursors_are_saved(tmp_path: Path) -> None:
    settings = team_settings(tmp_path / "j.sqlite")
    async with await Journal.open(settings, clock=ManualClock(T0)) as journal:
        await journal.set_cursor("masto", "110000")
    masto, other = CursorSource("masto"), CursorSource("bsky")
    desk = SessionDesk(sources=[masto, other])
    session = await started(settings, desk)
    assert masto.resumed == ["110000"] and other.resumed == []  # nothing saved for bsky: left alone
    masto.cursor, other.cursor = "110042", "1779719009157119"
    assert await session.save_cursors() == 2
    assert await session.save_cursors() == 0  # unchanged cursors are not written again
    masto.cursor = "110077"
    await session.stop()  # and the last position is saved at the end
    async with await Journal.open(settings, clock=ManualClock(T0)) as journal:
        assert await journal.get_cursor("masto") == "110077"
        assert await journal.get_cursor("bsky") == "1779719009157119"


async def test_level_changes_from_snapshots_reach_the_journal_and_alert(tmp_path: Path) -> None:
    settings = team_settings(tmp_path / "j.sqlite")
    desk = SessionDesk()
    session = await started(settings, desk)
    alerts: list[Alert] = []
    session.add_alert_listener(alerts.append)
    try:
        journal = session.journal
        assert journal is not None
        inc = await session.open_incident("brioche", "sev3", "murmurs")
        assert [a.event for a in alerts] == ["new_incident"]
        desk.clock.advance(60)
        desk.publish(topic_at("calm"))
        await session.tick()
        assert "brioche" in session.levels and session.first_signal("brioche") is None
        desk.clock.advance(60)
        risen = desk.clock.now() - timedelta(seconds=20)
        desk.publish(topic_at("watch", ["volume 2.4x the usual"], since=risen))
        await session.tick()
        assert session.first_signal("brioche") == risen
        desk.clock.advance(60)
        desk.publish(topic_at("alert", ["volume 6.2x the usual", "61 % negative"], since=desk.clock.now()))
        await session.tick()
        assert session.first_signal("brioche") == risen  # still the moment it left calm
        events = [e for e in await journal.events(inc.id) if e.kind is EventKind.LEVEL_CHANGED]
        assert [e.payload["level"] for e in events] == ["watch", "alert"]
        assert events[-1].payload["reasons"] == ["volume 6.2x the usual", "61 % negative"]
        assert session.incident(inc.id).level == "alert"  # type: ignore[union-attr]
        changes = [a for a in alerts if a.event == "level_change"]
        assert [(a.data["from"], a.data["to"], a.urgent) for a in changes] == [
            ("calm", "watch", True),
            ("watch", "alert", True),
        ]
        desk.publish(topic_at("calm"))
        await session.tick()
        assert session.first_signal("brioche") is None
        assert changes != [a for a in alerts if a.event == "level_change"]
        assert alerts[-1].urgent is False  # stepping down: news, not a bell
    finally:
        await session.stop()


async def test_a_desk_level_listener_is_used_and_resurgence_reopens(tmp_path: Path) -> None:
    settings = team_settings(tmp_path / "j.sqlite")
    desk = LevelDesk()
    session = await started(settings, desk)
    alerts: list[Alert] = []
    session.add_alert_listener(alerts.append)
    try:
        journal = session.journal
        assert journal is not None and len(desk.level_listeners) == 1
        inc = await session.open_incident("brioche", "sev2", "mould photo")
        await journal.set_state(inc.id, "monitoring")
        desk.publish(topic_at("calm"))  # ignored: the listener is the source of truth
        desk.level_listeners[0]("brioche", LevelState("alert", ("volume 6.2x the usual",)), desk.clock.now())
        await session.tick()
        assert (await journal.incident(inc.id)).state is State.REOPENED
        reopened = [a for a in alerts if a.data.get("reopened")]
        assert len(reopened) == 1 and reopened[0].incident == inc.id
        assert session.incident(inc.id).state is State.REOPENED  # type: ignore[union-attr]
    finally:
        await session.stop()


async def test_a_surge_after_a_resolve_offers_to_reopen_it_not_a_fresh_start(tmp_path: Path) -> None:
    settings = team_settings(tmp_path / "j.sqlite")
    desk = LevelDesk()
    session = await started(settings, desk)
    alerts: list[Alert] = []
    session.add_alert_listener(alerts.append)
    try:
        journal = session.journal
        assert journal is not None
        inc = await session.open_incident("brioche", "sev2", "mould photo")
        await journal.resolve(inc.id, summary="statement up")
        await session.poll()
        assert [i.id for i in session.recently_resolved("brioche")] == [inc.id]
        assert session.recently_resolved("other") == []
        desk.clock.advance(3600)
        desk.level_listeners[0]("brioche", LevelState("alert", ("volume 6.2x the usual",)), desk.clock.now())
        await session.tick()
        assert (await journal.incident(inc.id)).state is State.RESOLVED  # offered, not done behind one's back
        offered = [a for a in alerts if a.data.get("reopen_offered")]
        assert len(offered) == 1 and offered[0].incident == inc.id and "reopen it" in offered[0].title
        desk.clock.advance(49 * 3600)  # two days later it is another story
        assert session.recently_resolved("brioche") == []
    finally:
        await session.stop()


async def test_sla_breaches_are_recorded_once_and_alerted(tmp_path: Path) -> None:
    settings = team_settings(tmp_path / "j.sqlite")
    desk = SessionDesk()
    session = await started(settings, desk)
    alerts: list[Alert] = []
    session.add_alert_listener(alerts.append)
    try:
        journal = session.journal
        assert journal is not None
        inc = await session.open_incident("brioche", "sev2", "mould photo", first_signal_at=T0 - minutes(5))
        desk.clock.advance(9 * 60)
        assert await session.check_clocks() == []
        desk.clock.advance(2 * 60)  # 11 min after opening: ack overdue
        assert [e.payload["clock"] for e in await session.check_clocks()] == ["ack"]
        assert alerts[-1].event == "ack_timeout" and alerts[-1].incident == inc.id
        desk.clock.advance(20 * 60)  # 36 min after the first signal: first response overdue
        await session.tick()
        await session.tick()
        breaches = [e for e in await journal.events(inc.id) if e.kind is EventKind.SLA_BREACHED]
        assert [e.payload["clock"] for e in breaches] == ["ack", "first_response"]
        # the ack breach, then the first response's; the ladder's first step climbs by itself as well
        assert [a.event for a in alerts] == ["new_incident", "ack_timeout", "sla_breach", "ack_timeout"]
        assert alerts[-1].data["step"] == 1 and alerts[-1].data["members"] == ["hugo"]
        assert set(session.incident(inc.id).breaches) == {"ack", "first_response"}  # type: ignore[union-attr]
    finally:
        await session.stop()


async def test_two_desks_on_one_journal_see_each_others_actions(tmp_path: Path) -> None:
    settings = team_settings(tmp_path / "shared.sqlite")
    a = await started(settings, SessionDesk())
    b = await started(with_operator(settings, "hugo"), SessionDesk())
    seen: list[tuple[list[str], list[int]]] = []
    b.add_change_listener(
        lambda events, incs: seen.append(([str(e.kind) for e in events], [i.id for i in incs]))
    )
    try:
        inc = await a.open_incident("brioche", "sev2", "mould photo")
        assert b.incidents == ()
        await b.poll()
        assert [i.id for i in b.incidents] == [inc.id] and seen == [(["opened"], [inc.id])]
        assert b.journal is not None
        await b.journal.acknowledge(inc.id)
        version = a.version
        await a.poll()
        assert a.version > version
        mine = a.incident(inc.id)
        assert mine is not None and mine.state is State.ACKNOWLEDGED and mine.acknowledged_by == "hugo"
        await b.journal.resolve(inc.id)
        await a.poll()
        assert a.incidents == ()  # resolved incidents leave the wall
    finally:
        await a.stop()
        await b.stop()


async def test_a_journal_problem_is_reported_once_and_cleared(tmp_path: Path) -> None:
    settings = team_settings(tmp_path / "j.sqlite")
    desk = SessionDesk()
    session = await started(settings, desk)
    problems: list[str] = []
    session.add_problem_listener(problems.append)
    try:
        from tocsin.journal.errors import JournalBusy

        async def busy(*a: Any, **k: Any) -> Any:
            raise JournalBusy(30)

        original = session.journal.changes_since  # type: ignore[union-attr]
        session.journal.changes_since = busy  # type: ignore[union-attr,method-assign]
        session._due["poll"] = 0
        await session.tick()
        session._due["poll"] = 0
        await session.tick()
        assert len(problems) == 1 and "busy" in problems[0] and session.problem
        session.journal.changes_since = original  # type: ignore[union-attr,method-assign]
        session._due["poll"] = 0
        await session.tick()
        assert session.problem is None
    finally:
        await session.stop()


async def test_background_loop_runs_and_stops(tmp_path: Path) -> None:
    settings = team_settings(tmp_path / "j.sqlite")
    desk = SessionDesk()
    session = JournalSession(settings, desk)
    await session.start()
    desk.publish(topic_at("alert", ["volume 6.2x the usual"]))
    for _ in range(200):  # the loop wakes every TICK_S; bounded
        await asyncio.sleep(0.01)
        if session.levels.get("brioche") is not None:
            break
    assert session.levels["brioche"].level == "alert"
    await session.stop()
    await session.stop()  # idempotent
    assert session._task is None


async def test_webhook_alerts_post_each_format_without_leaking_the_url(
    tmp_path: Path, receiver: Receiver
) -> None:
    targets = [
        AlertSettings(type="webhook", url=receiver.url, format=fmt, on=("level_change",))  # type: ignore[arg-type]
        for fmt in ("slack", "mattermost", "teams", "json")
    ]
    dispatcher = AlertDispatcher(targets)
    alert = Alert(
        event="level_change",
        at=T0,
        title="Maison Brioche: watch → alert",
        detail="<!channel> @all #BriocheGate *boycott*",
        topic="brioche",
        level="alert",
        data={"from": "watch", "to": "alert"},
    )
    dispatcher.dispatch(alert)
    dispatcher.dispatch(Alert(event="new_incident", at=T0, title="not listened for"))
    await dispatcher.close(wait=5)
    assert dispatcher.sent == 4 and dispatcher.errors == 0
    by_shape: dict[tuple[str, ...], dict[str, Any]] = {tuple(sorted(p)): p for p in receiver.posts}
    assert len(by_shape) == 4 and receiver.paths == ["/hooks/s3cr3t-token"] * 4
    slack = by_shape[("text",)]
    assert slack["text"].startswith("*Maison Brioche: watch → alert*")
    assert "&lt;!channel&gt;" in slack["text"] and "<!channel>" not in slack["text"]
    mattermost = by_shape[("text", "username")]
    assert "@all" not in mattermost["text"] and "＠all" in mattermost["text"]
    teams = by_shape[("attachments", "type")]
    card = teams["attachments"][0]["content"]
    assert card["type"] == "AdaptiveCard" and card["body"][0]["text"] == "Maison Brioche: watch → alert"
    plain = next(p for p in receiver.posts if p.get("type") == "alert")
    assert plain["event"] == "level_change" and plain["from"] == "watch" and plain["to"] == "alert"
    assert plain["at"] == "2026-11-21T09:30:00Z" and plain["topic"] == "brioche"
    assert payload(alert, "json") == plain


async def test_a_failing_webhook_is_counted_and_never_names_its_url(receiver: Receiver) -> None:
    receiver.status = 500
    problems: list[str] = []
    dead = "http://127.0.0.1:9/hooks/other-s3cr3t"  # discard port: nothing listens
    dispatcher = AlertDispatcher(
        [
            AlertSettings(type="webhook", url=receiver.url, format="slack"),
            AlertSettings(type="webhook", url=dead, format="json"),
        ],
        on_problem=problems.append,
        timeout=2,
    )
    dispatcher.dispatch(Alert(event="sla_breach", at=T0, title="#1 overdue"))
    await dispatcher.close(wait=5)
    assert dispatcher.errors == 2 and len(problems) == 2
    assert any("HTTP 500" in p for p in problems)
    assert any("cannot reach" in p for p in problems)
    assert not any("s3cr3t" in p or "127.0.0.1" in p for p in problems)


async def test_bell_rings_for_urgent_alerts_only_and_desktop_is_skipped_without_notify_send() -> None:
    rung: list[int] = []
    problems: list[str] = []
    dispatcher = AlertDispatcher(
        [AlertSettings(type="bell"), AlertSettings(type="desktop", on=("new_incident",))],
        bell=lambda: rung.append(1),
        on_problem=problems.append,
        which=lambda name: None,
    )
    dispatcher.dispatch(Alert(event="level_change", at=T0, title="up"))
    dispatcher.dispatch(Alert(event="level_change", at=T0, title="down", urgent=False))
    dispatcher.dispatch(Alert(event="new_incident", at=T0, title="#1"))
    dispatcher.dispatch(Alert(event="new_incident", at=T0, title="#2"))
    await dispatcher.close()
    assert len(rung) == 3
    assert len(problems) == 1 and "notify-send" in problems[0]
    assert dispatcher.errors == 0


async def test_desktop_alert_runs_notify_send(tmp_path: Path) -> None:
    script = tmp_path / "notify-send"
    out = tmp_path / "args"
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {out}\n')
    script.chmod(0o755)
    dispatcher = AlertDispatcher([AlertSettings(type="desktop")], which=lambda name: str(script))
    dispatcher.dispatch(Alert(event="sla_breach", at=T0, title="#1 overdue\x1b[2J", detail="mould photo"))
    await dispatcher.close(wait=5)
    args = out.read_text().splitlines()
    assert args == ["--app-name=tocsin", "--urgency=critical", "#1 overdue[2J", "mould photo"]
    assert dispatcher.sent == 1


async def test_desk_stop_after_a_failed_start_does_not_crash() -> None:
    """Regression: Desk.stop() zipped sources with no pumps (strict) when start() raised early."""

    class BrokenSentiment:
        engine = "broken"
        note = None

        async def start(self) -> None:
            raise RuntimeError("worker could not spawn")

        async def score(self, texts: list[str], langs: list[str | None]) -> list[Any]:
            raise AssertionError

        async def close(self) -> None:
            pass

    from tocsin.config.settings import Settings, TopicSettings
    from tocsin.sources.base import Source, SourceState

    class Quiet(Source):
        kind = "quiet"

        async def stream(self):  # type: ignore[no-untyped-def]
            return
            yield

    clock = ManualClock(T0)
    source = Quiet("quiet", clock)
    desk = Desk(
        Settings(topics=(TopicSettings(id="brioche"),)),
        clock=clock,
        sources=[source],
        sentiment=BrokenSentiment(),
    )  # type: ignore[arg-type]
    with pytest.raises(RuntimeError):
        await desk.start()
    await desk.stop()
    assert source.health.state is SourceState.STOPPED


def test_session_and_alerts_import_without_textual_or_rich() -> None:
    """Headless mode runs a session where there is no terminal: no screen library may come along."""
    import json
    import subprocess
    import sys

    code = (
        "import json, sys\n"
        "import tocsin.desk.session, tocsin.desk.alerts, tocsin.desk.actions\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & {'textual', 'rich'})))\n"
    )
    argv = [sys.executable, "-c", code]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
