"""Two-person approval, end to end: a response at a severity of ``team.approval`` is a draft until
someone else of an allowed role approves it; the response clock runs meanwhile; approval, rejection
and the final text are events, in the post-mortem and its exports; bad decisions change nothing."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from pathlib import Path

import pytest

from tocsin.config.settings import Settings
from tocsin.journal.api import Journal
from tocsin.journal.errors import JournalError, NotAllowed, UnknownDraft
from tocsin.journal.fold import fold
from tocsin.journal.model import EventKind, State
from tocsin.journal.reports import build_postmortem, render, to_text
from tocsin.sources.clock import ManualClock

from .test_cli import CONFIG, run


def approving(settings: Settings) -> Settings:
    team = dataclasses.replace(settings.team, approval={"sev1": ("comms-lead",), "sev2": ("comms-lead",)})
    return dataclasses.replace(settings, team=team)


def as_(journal: Journal, who: str) -> Journal:
    """The same journal, another person at the keyboard (a second terminal)."""
    return Journal(journal.store, journal.settings, clock=journal.clock, operator=who)


async def test_draft_self_approval_refused_approval_clock_and_export(
    settings: Settings, clock: ManualClock
) -> None:
    async with await Journal.open(approving(settings), clock=clock) as alice:
        inc = await alice.open_incident("brioche", "sev2", "Mould photo")
        clock.advance(120)
        inc, draft = await alice.respond(inc.id, "holding_statement", "x", "We are looking into it.")
        assert draft is not None
        # a draft is work (acknowledged, responding) but nothing went out: the clock keeps running
        assert inc.state is State.RESPONDING and inc.acknowledged_at is not None
        assert inc.first_response_at is None and inc.responses == 0
        assert inc.awaiting_approval_since == clock.now()
        sla = alice.clocks(inc, clock.now() + timedelta(minutes=40))[2]
        assert sla.status == "overdue"

        with pytest.raises(NotAllowed, match="wrote this draft"):
            await alice.approve(inc.id, draft)
        with pytest.raises(NotAllowed, match="is community: only comms-lead can approve"):
            await as_(alice, "bob").approve(inc.id, draft)
        with pytest.raises(NotAllowed, match="not on the roster"):
            await as_(alice, "zoe").approve(inc.id, draft)
        with pytest.raises(UnknownDraft):
            await as_(alice, "chloe").approve(inc.id, draft + 999)
        assert len(await alice.events(inc.id)) == 4  # opened, acknowledged, drafted, state: nothing more

        clock.advance(300)
        chloe = as_(alice, "chloe")
        done = await chloe.approve(inc.id, draft, text="We are looking into it. More at noon.")
        assert done.first_response_at == clock.now() and done.responses == 1
        assert done.awaiting_approval_since is None and done.drafts == {}
        with pytest.raises(UnknownDraft, match="already approved"):
            await chloe.approve(inc.id, draft)

        events = await alice.events(inc.id)
        kinds = [e.kind for e in events]
        assert kinds[-2:] == [EventKind.RESPONSE_APPROVED, EventKind.RESPONSE_LOGGED]
        approved, logged = events[-2:]
        assert approved.operator == "chloe" and approved.payload["waited_s"] == 300
        assert approved.payload["edited"] is True
        assert logged.payload["text"] == "We are looking into it. More at noon."
        assert logged.payload["author"] == "alice" and logged.payload["draft"] == draft
        assert fold(events)[inc.id] == done  # the cached row is what the events add up to

        pm = await build_postmortem(alice, inc.id)
        text = to_text(pm)
        assert f"draft {draft}: holding statement on x by alice" in text
        assert "approved by chloe at" in text and "5m later (edited before it went out)" in text
        md = render(pm, "md")
        assert "## Approvals (1 draft)" in md and "> We are looking into it." in md
        [dr] = json.loads(render(pm, "json"))["drafts"]
        assert dr["status"] == "approved" and dr["waited_s"] == 300 and dr["decided_by"] == "chloe"
        assert "approved draft" in render(pm, "csv")


async def test_rejection_needs_a_reason_and_is_in_the_post_mortem(
    settings: Settings, clock: ManualClock
) -> None:
    async with await Journal.open(approving(settings), clock=clock) as alice:
        inc = await alice.open_incident("brioche", "sev1", "Mould photo")
        _, draft = await alice.respond(inc.id, "apology", "instagram", "Sorry, it was a one-off.")
        assert draft is not None
        chloe = as_(alice, "chloe")
        with pytest.raises(JournalError, match="reason is required"):
            await chloe.reject(inc.id, draft, "  ")
        clock.advance(60)
        done = await chloe.reject(inc.id, draft, "Never say one-off before the facts are in.")
        assert done.drafts == {} and done.first_response_at is None
        assert await alice.pending_drafts() == []
        text = to_text(await build_postmortem(alice, inc.id))
        assert "rejected by chloe" in text and "Never say one-off" in text


async def test_a_severity_without_approval_logs_as_before(settings: Settings, clock: ManualClock) -> None:
    async with await Journal.open(approving(settings), clock=clock) as alice:
        inc = await alice.open_incident("brioche", "sev3", "Grumbles")
        inc, draft = await alice.respond(inc.id, "private_reply", "dm", "Could you DM us?")
        assert draft is None and inc.responses == 1


async def test_two_desks_cannot_both_decide_one_draft(settings: Settings, clock: ManualClock) -> None:
    settings = approving(settings)
    team = dataclasses.replace(
        settings.team,
        roster=(*settings.team.roster, dataclasses.replace(settings.team.roster[2], id="eve", name="Eve")),
    )
    settings = dataclasses.replace(settings, team=team)
    async with await Journal.open(settings, clock=clock) as alice:
        inc = await alice.open_incident("brioche", "sev2", "Mould photo")
        _, draft = await alice.respond(inc.id, "holding_statement", "x", "On it.")
        assert draft is not None
        async with await Journal.open(settings, clock=clock, operator="eve") as eve:
            await as_(alice, "chloe").approve(inc.id, draft)
            with pytest.raises(UnknownDraft, match="already approved"):
                await eve.reject(inc.id, draft, "too late")
    async with await Journal.open(settings, clock=clock) as reader:
        assert await reader.store.fetchall("SELECT state FROM drafts") == [("approved",)]


@pytest.fixture
def env(tmp_path: Path, journal_location: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG.replace("  escalation:", "  approval:\n    sev2: [comms-lead]\n  escalation:"))
    monkeypatch.setenv("TOCSIN_JOURNAL", journal_location)
    monkeypatch.setenv("TOCSIN_CONFIG", str(config))
    return tmp_path


def test_cli_approval_from_a_second_terminal(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "incident", "open", "--topic", "brioche", "--severity", "sev2", "--title", "Mouse photo")
    code, out, _ = run(
        capsys,
        "incident",
        "respond",
        "1",
        "--kind",
        "holding_statement",
        "--channel",
        "x",
        "--text",
        "On it.",
    )
    assert code == 0 and "drafted as draft 3, awaiting approval by comms-lead" in out
    code, out, _ = run(capsys, "incident", "drafts")
    assert code == 0 and out.startswith("#1 draft 3 by alice since ") and out.rstrip().endswith("On it.")
    code, _, err = run(capsys, "incident", "approve", "1", "3")
    assert code == 2 and "alice wrote this draft: a second person must approve it" in err
    code, _, err = run(capsys, "incident", "approve", "1", "3", "--operator", "bob")
    assert code == 2 and "only comms-lead can approve" in err
    code, _, err = run(capsys, "incident", "approve", "1", "9", "--operator", "chloe")
    assert code == 2 and "no draft 9 awaiting approval" in err
    code, out, _ = run(capsys, "incident", "approve", "1", "3", "--operator", "chloe")
    assert code == 0 and out.startswith("#1 draft 3 approved and logged as sent by chloe")
    code, out, _ = run(capsys, "journal", "show", "1")
    assert "approved by chloe" in out and "approved draft 3 by alice after 0 min" in out
    assert run(capsys, "incident", "drafts")[1] == "No response awaits approval.\n"
