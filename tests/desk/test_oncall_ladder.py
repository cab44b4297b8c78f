"""The ladder climbs by itself on an injected clock and stops at the acknowledgement; each output
speaks its receiver's protocol (checked field by field); dedupe, cooldown, grouping, quiet hours."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP

from tests.desk._incident_kit import T0, SessionDesk, team_settings
from tests.desk.receivers import Receiver
from tocsin.config.outputs import in_quiet_hours
from tocsin.config.settings import AlertSettings, Settings, TeamMember, TeamSettings
from tocsin.desk.alerts import Alert
from tocsin.desk.oncall import OnCall
from tocsin.desk.session import JournalSession
from tocsin.journal.api import Journal
from tocsin.journal.model import EventKind
from tocsin.sources.clock import ManualClock


def ladder_settings(path: Path, alerts: list[AlertSettings]) -> Settings:
    """camille at the keyboard; the ladder: the community team (camille, lea), then comms, then legal."""
    base = team_settings(path, alerts=alerts)
    roster = (
        TeamMember("camille", "Camille Roux", "community-manager", {"phone": "camille-topic"}),
        TeamMember("lea", "Léa Martin", "community-manager", {"phone": "lea-topic"}),
        TeamMember("hugo", "Hugo Marchand", "head-of-comms", {"phone": "hugo-topic", "pd": ""}),
        TeamMember("ines", "Inès Garnier", "legal", {"phone": "ines-topic"}),
    )
    ladder = (("community-manager",), ("head-of-comms",), ("legal",))
    return replace(base, team=TeamSettings(roster=roster, escalation=ladder, sla=base.team.sla))


async def test_the_ladder_climbs_by_itself_and_stops_at_the_acknowledgement(tmp_path: Path) -> None:
    async with Receiver() as rx:
        phone = AlertSettings(type="ntfy", id="phone", url=rx.url, on=(), token="tk_secret")
        settings = ladder_settings(tmp_path / "j.sqlite", [phone])
        desk = SessionDesk()
        session = JournalSession(settings, desk)
        await session.start(background=False)
        oncall = session.oncall
        assert oncall is not None
        try:
            inc = await session.open_incident("brioche", "sev2", "mould photo")
            desk.clock.advance(9 * 60)
            await session.tick()
            assert await oncall.worker.run_once() == 0  # nothing yet: on: [] and no step due
            desk.clock.advance(60)  # 10 min without an acknowledgement: step 1
            await session.tick()
            assert await oncall.worker.run_once() == 1
            assert [g.json["topic"] for g in rx.got] == ["lea-topic"]  # camille is at the keyboard
            page = rx.got[0].json
            assert page["priority"] == 4 and page["tags"] == ["rotating_light"]
            assert page["title"].startswith("#1 not acknowledged: step 1 of 3 called (Léa Martin)")
            assert "tocsin incident ack 1" in page["message"] and "Ack due 10:40" in page["message"]
            assert rx.got[0].headers["Authorization"] == "Bearer tk_secret"
            desk.clock.advance(10 * 60)  # step 2
            await session.tick()
            await oncall.worker.run_once()
            assert [g.json["topic"] for g in rx.got][1:] == ["hugo-topic"]
            # acknowledged from the CLI (another process on the journal): the ladder stops there
            async with await Journal.open(
                settings, clock=ManualClock(desk.clock.now()), operator="hugo"
            ) as cli:
                await cli.acknowledge(inc.id)
            desk.clock.advance(30 * 60)
            await session.tick()
            await session.poll()
            await oncall.worker.run_once()
            assert len(rx.got) == 2
            journal = session.journal
            assert journal is not None
            events = await journal.events(inc.id)
            steps = [e.payload for e in events if e.kind is EventKind.ESCALATED]
            assert [(s["step"], s["members"], s.get("skipped")) for s in steps] == [
                (1, ["lea"], ["camille"]),
                (2, ["hugo"], None),
            ]
            notified = [e.payload for e in events if e.kind is EventKind.NOTIFIED]
            assert [(n["name"], n["output"], n["step"]) for n in notified] == [
                ("Léa Martin", "phone", 1),
                ("Hugo Marchand", "phone", 2),
            ]
            assert (await journal.incident(inc.id)).escalation_step == 2
        finally:
            await session.stop()


async def test_pagerduty_triggers_acknowledges_and_resolves_one_page(tmp_path: Path) -> None:
    async with Receiver() as rx:
        pd = AlertSettings(type="pagerduty", id="pd", url=rx.url + "/v2/enqueue", routing_key="R0UTING")
        settings = ladder_settings(tmp_path / "j.sqlite", [pd])
        async with await Journal.open(settings, clock=ManualClock(T0)) as journal:
            oncall = OnCall(settings, journal)
            await oncall.start(background=False)
            inc = await journal.open_incident(
                "brioche", "sev1", "mould photo", level="crisis", reasons=["volume x9", "journalist"]
            )
            await journal.acknowledge(inc.id)
            await journal.resolve(inc.id)
            found = {inc.id: await journal.incident(inc.id)}
            for ev in await journal.changes_since(0):  # one poll at a time, as the session reads them
                await oncall.on_events([ev], found.get)
                await oncall.worker.run_once()
            await oncall.stop()
        trigger, ack, resolve = (g.json for g in rx.got)
        key = trigger["dedup_key"]
        assert key.startswith("tocsin-") and key.endswith("-incident-1")
        assert trigger["routing_key"] == "R0UTING" and trigger["event_action"] == "trigger"
        p = trigger["payload"]
        assert p["severity"] == "critical" and p["source"] == "Maison Brioche desk"
        assert p["summary"] == "SEV1 incident #1 opened on Maison Brioche: mould photo"
        assert p["component"] == "brioche" and p["class"] == "new_incident" and p["timestamp"]
        assert p["custom_details"]["incident"] == 1 and "volume x9" in p["custom_details"]["text"]
        assert ack == {"routing_key": "R0UTING", "event_action": "acknowledge", "dedup_key": key}
        assert resolve == {"routing_key": "R0UTING", "event_action": "resolve", "dedup_key": key}


async def test_opsgenie_creates_acknowledges_and_closes_by_alias(tmp_path: Path) -> None:
    async with Receiver() as rx:
        og = AlertSettings(
            type="opsgenie", id="og", url=rx.url, api_key="G3NIE", to=("oncall@brioche.example",)
        )
        settings = ladder_settings(tmp_path / "j.sqlite", [og])
        async with await Journal.open(settings, clock=ManualClock(T0)) as journal:
            oncall = OnCall(settings, journal)
            await oncall.start(background=False)
            inc = await journal.open_incident("brioche", "sev2", "mould photo")
            await journal.acknowledge(inc.id)
            await journal.resolve(inc.id)
            found = {inc.id: await journal.incident(inc.id)}
            for ev in await journal.changes_since(0):
                await oncall.on_events([ev], found.get)
                await oncall.worker.run_once()
            await oncall.stop()
        create, ack, close = rx.got
        assert create.path == "/v2/alerts" and create.headers["Authorization"] == "GenieKey G3NIE"
        body = create.json
        alias = body["alias"]
        assert body["message"] == "SEV2 incident #1 opened on Maison Brioche: mould photo"
        assert (
            body["priority"] == "P2"
            and body["entity"] == "brioche"
            and body["tags"] == ["tocsin", "new_incident"]
        )
        assert body["responders"] == [{"username": "oncall@brioche.example", "type": "user"}]
        assert ack.path == f"/v2/alerts/{alias}/acknowledge" and ack.query == {"identifierType": "alias"}
        assert ack.json["user"] == "camille"
        assert close.path == f"/v2/alerts/{alias}/close" and close.query == {"identifierType": "alias"}


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


async def test_email_goes_over_smtp_to_the_ladder_and_the_list(tmp_path: Path) -> None:
    box = Mailbox()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(box), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        mail = AlertSettings(
            type="email",
            id="mail",
            host="127.0.0.1",
            port=port,
            tls="none",
            sender="desk@brioche.example",
            to=("crisis@brioche.example",),
            on=("new_incident",),
        )
        settings = ladder_settings(tmp_path / "j.sqlite", [mail])
        roster = tuple(replace(m, routes={"mail": f"{m.id}@brioche.example"}) for m in settings.team.roster)
        settings = replace(settings, team=replace(settings.team, roster=roster))
        async with await Journal.open(settings, clock=ManualClock(T0)) as journal:
            oncall = OnCall(settings, journal)
            await oncall.start(background=False)
            inc = await journal.open_incident("brioche", "sev2", "mould photo")
            journal.clock.advance(10 * 60)  # type: ignore[attr-defined]
            await journal.climb_ladder(keyboard="camille")
            found = {inc.id: await journal.incident(inc.id)}
            await oncall.on_events(await journal.changes_since(0), found.get)
            assert await oncall.worker.run_once() == 2
            await oncall.stop()
    finally:
        server.close()
        await server.wait_closed()
    (frm1, to1, raw1), (_, to2, raw2) = sorted(box.messages, key=lambda m: m[1])
    assert frm1 == "desk@brioche.example" and to1 == ["crisis@brioche.example"]
    first = message_from_bytes(raw1)
    assert first["Subject"] == "[tocsin] SEV2 incident #1 opened on Maison Brioche: mould photo"
    assert first["Message-ID"].startswith("<tocsin-") and first["Auto-Submitted"] == "auto-generated"
    assert "tocsin incident ack 1" in first.get_payload()
    assert to2 == ["lea@brioche.example"]  # the ladder's step 1, camille being at the keyboard
    assert "step 1 of 3" in message_from_bytes(raw2)["Subject"]


async def test_dedupe_cooldown_grouping_and_quiet_hours(tmp_path: Path) -> None:
    async with Receiver() as rx:
        chat = AlertSettings(
            type="webhook", id="chat", url=rx.url + "/slack", format="slack", min_level="watch"
        )
        night = AlertSettings(
            type="webhook",
            id="night",
            url=rx.url + "/night",
            quiet_hours="22:00-07:00",
            cooldown=timedelta(0),
        )
        settings = ladder_settings(tmp_path / "j.sqlite", [chat, night])
        async with await Journal.open(settings, clock=ManualClock(T0)) as journal:
            oncall = OnCall(settings, journal)
            await oncall.start(background=False)

            def level(to: str, prev: str) -> Alert:
                return Alert(
                    event="level_change",
                    at=journal.clock.now(),
                    title=f"Maison Brioche: {prev} → {to}",
                    topic="brioche",
                    level=to,
                )

            oncall.alert(level("watch", "calm"))
            await oncall.flush()
            await oncall.worker.run_once()
            assert sorted(g.path for g in rx.got) == ["/night", "/slack"]  # sent side by side: any order
            journal.clock.advance(30)  # type: ignore[attr-defined]
            for to, prev in (("alert", "watch"), ("crisis", "alert"), ("calm", "crisis")):
                oncall.alert(level(to, prev))
                await oncall.flush()
            oncall.alert(level("crisis", "alert"))  # the same change seen twice: deduped
            await oncall.flush()
            await oncall.worker.run_once()
            slack = [g for g in rx.got if g.path == "/slack"]
            assert len(slack) == 1  # held by the cooldown; calm is below min_level
            journal.clock.advance(5 * 60)  # type: ignore[attr-defined]
            await oncall.worker.run_once()
            slack = [g for g in rx.got if g.path == "/slack"]
            assert len(slack) == 2
            text = slack[1].json["text"]
            assert text.startswith("*Maison Brioche desk: 2 alerts*")
            assert "watch → alert" in text and "alert → crisis" in text and "→ calm" not in text
            assert len([g for g in rx.got if g.path == "/night"]) == 4  # no cooldown there; deduped

            # at 23:30 in Paris only SEV1–2 get through the night output
            late = T0.replace(hour=22, minute=30) - journal.clock.now()
            journal.clock.advance(late.total_seconds())  # type: ignore[attr-defined]
            before = len(rx.got)
            for sev in ("sev3", "sev1"):
                last = await journal.last_event_id()
                inc = await journal.open_incident("brioche", sev, f"{sev} story")
                await oncall.on_events(await journal.changes_since(last), {inc.id: inc}.get)
            await oncall.worker.run_once()
            night_msgs = [g.json for g in rx.got[before:] if g.path == "/night"]
            assert [m["severity"] for m in night_msgs] == ["sev1"]
            assert oncall.suppressed >= 2
            await oncall.stop()


def test_quiet_hours_wrap_past_midnight() -> None:
    from zoneinfo import ZoneInfo

    paris = ZoneInfo("Europe/Paris")
    assert in_quiet_hours("22:00-07:00", T0.replace(hour=22, minute=30), paris)  # 23:30 in Paris
    assert in_quiet_hours("22:00-07:00", T0.replace(hour=4), paris)
    assert not in_quiet_hours("22:00-07:00", T0, paris)  # 10:30
    assert not in_quiet_hours(None, T0, paris)
