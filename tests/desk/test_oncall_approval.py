"""A draft awaiting approval calls its approvers (``approval_needed``): the roster people holding one of
its roles, through their routes, once per draft whichever desk sees it; the decision closes the call —
a message still held in the outbox is withdrawn, and a pager resolves the draft's own thread (not the
incident's page)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from tests.desk._incident_kit import SessionDesk, team_settings
from tests.desk.receivers import Receiver
from tocsin.config.settings import AlertSettings, Settings, TeamMember, TeamSettings
from tocsin.desk.oncall import OnCall
from tocsin.desk.publishing import Publishing
from tocsin.desk.session import JournalSession
from tocsin.journal.api import Journal
from tocsin.journal.outbox import WITHDRAWN
from tocsin.sources.clock import ManualClock


def approval_settings(path: Path, alerts: list[AlertSettings]) -> Settings:
    """camille writes; hugo and sarah (head-of-comms) approve SEV1–2; lea (community) does not."""
    base = team_settings(path, alerts=alerts)
    roster = (
        TeamMember("camille", "Camille Roux", "community-manager", {"phone": "camille-topic"}),
        TeamMember("lea", "Léa Martin", "community-manager", {"phone": "lea-topic"}),
        TeamMember("hugo", "Hugo Marchand", "head-of-comms", {"phone": "hugo-topic", "pd": ""}),
        TeamMember("sarah", "Sarah Benali", "head-of-comms", {"phone": "sarah-topic"}),
    )
    approval = {"sev1": ("head-of-comms",), "sev2": ("head-of-comms",)}
    return replace(base, team=TeamSettings(roster=roster, approval=approval, sla=base.team.sla))


async def test_the_approvers_are_called_once_per_draft(tmp_path: Path) -> None:
    async with Receiver() as rx:
        phone = AlertSettings(type="ntfy", id="phone", url=rx.url, on=())
        settings = approval_settings(tmp_path / "j.sqlite", [phone])
        desk = SessionDesk()
        session = JournalSession(settings, desk)
        await session.start(background=False)
        oncall, journal = session.oncall, session.journal
        assert oncall is not None and journal is not None
        try:
            inc = await session.open_incident("brioche", "sev2", "Mould video")
            _, draft = await journal.respond(inc.id, "holding_statement", "press", "Nous enquêtons.")
            await session.poll()
            assert await oncall.worker.run_once() == 2
            pages = sorted((g.json["topic"], g.json["title"], g.json["message"]) for g in rx.got)
            assert [p[0] for p in pages] == ["hugo-topic", "sarah-topic"]  # not camille (the author), not lea
            title, message = pages[0][1], pages[0][2]
            assert title == (
                f"#1 draft {draft} by Camille Roux awaits approval (Hugo Marchand, Sarah Benali): "
                "holding statement on press"
            )
            assert "“Nous enquêtons.”" in message
            assert f"tocsin incident approve 1 {draft} --operator YOU" in message
            # another desk on the same journal sees the same events: nobody is called twice
            other = OnCall(settings, journal)
            await other.start(background=False)
            found = {inc.id: await journal.incident(inc.id)}
            assert await other.enqueue(await other.on_events(await journal.changes_since(0), found.get)) == 0
            await other.stop()
            assert await oncall.worker.run_once() == 0
        finally:
            await session.stop()


async def test_the_decision_withdraws_a_held_call_and_resolves_the_drafts_page(tmp_path: Path) -> None:
    async with Receiver() as rx:
        chat = AlertSettings(
            type="webhook", id="chat", url=rx.url + "/chat", on=("new_incident", "approval_needed")
        )
        pd = AlertSettings(
            type="pagerduty", id="pd", url=rx.url + "/v2/enqueue", routing_key="R0UTING", on=("new_incident",)
        )
        settings = approval_settings(tmp_path / "j.sqlite", [chat, pd])
        clock = ManualClock(SessionDesk().clock.now())
        async with await Journal.open(settings, clock=clock) as camille:
            oncall = OnCall(settings, camille)
            await oncall.start(background=False)
            seen = 0

            async def deliver() -> list[dict[str, object]]:
                nonlocal seen
                events = await camille.changes_since(seen)
                seen = events[-1].id if events else seen
                found = {
                    e.incident_id: await camille.incident(e.incident_id) for e in events if e.incident_id
                }
                await oncall.on_events(events, found.get)
                await oncall.worker.run_once()
                got, rx.got[:] = [g.json for g in rx.got], []
                return got

            inc = await camille.open_incident(
                "brioche", "sev3", "Mould video"
            )  # SEV3: the chat's cooldown holds
            sent = await deliver()
            assert len(sent) == 2  # the incident, to the chat and the pager
            await camille.escalate(inc.id, "sev2")
            _, draft = await camille.respond(inc.id, "holding_statement", "press", "Nous enquêtons.")
            sent = await deliver()
            pages = [p for p in sent if p.get("event_action") == "trigger"]
            assert len(pages) == 1 and str(pages[0]["dedup_key"]).endswith(f"-incident-1-draft-{draft}")
            assert not [p for p in sent if "text" in p]  # the chat's message waits for the cooldown
            async with await Journal.open(settings, clock=clock, operator="hugo") as hugo:
                async with Publishing(settings, hugo) as publishing:
                    await publishing.approve(inc.id, draft)
            sent = await deliver()
            assert sent == [
                {"routing_key": "R0UTING", "event_action": "resolve", "dedup_key": pages[0]["dedup_key"]}
            ]
            held = [r for r in await oncall.outbox.rows() if r.output == "chat" and r.state == WITHDRAWN]
            assert len(held) == 1
            clock.advance(timedelta(minutes=10).total_seconds())
            assert await deliver() == []  # nobody is asked to approve what is decided
            await oncall.stop()
