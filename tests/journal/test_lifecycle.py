"""The incident lifecycle on a manual desk clock: states, clocks, breaches, resurgence, checklist."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tocsin.journal.api import Journal
from tocsin.journal.errors import AlreadyDone, InvalidTransition, NoEscalationStep
from tocsin.journal.fold import fold
from tocsin.journal.model import EventKind, Severity, State
from tocsin.sources.clock import ManualClock

from .conftest import T0, mention


async def test_a_night_on_call_from_alert_to_resolution(journal: Journal, clock: ManualClock) -> None:
    inc = await journal.open_incident(
        "brioche",
        "sev3",
        "Mouse in a brioche photo",
        first_signal_at=T0 - timedelta(minutes=5),
        evidence=[mention()],
    )
    assert (inc.id, inc.state, inc.severity, inc.evidence) == (1, State.OPEN, Severity.SEV3, 1)
    assert inc.first_signal_at == T0 - timedelta(minutes=5)
    assert inc.opened_by == "alice"

    clock.advance(240)
    inc = await journal.acknowledge(inc.id)
    assert inc.state is State.ACKNOWLEDGED and inc.acknowledged_at == T0 + timedelta(minutes=4)
    _, ack, resp = journal.clocks(inc)
    assert ack.status == "met" and ack.elapsed == timedelta(minutes=4)
    assert resp.status == "running" and resp.remaining == timedelta(
        minutes=51
    )  # SEV3: 60 min from first signal

    inc = await journal.escalate(inc.id, "sev1")  # the photo goes viral: 30 min target, 9 min already gone
    assert inc.severity is Severity.SEV1
    assert journal.clocks(inc)[2].remaining == timedelta(minutes=21)

    clock.advance(600)
    inc = await journal.log_response(inc.id, "holding_statement", "x", "We are looking into it right now.")
    assert inc.state is State.RESPONDING
    assert inc.first_response_at == T0 + timedelta(minutes=14)
    assert journal.clocks(inc)[2].status == "met"

    await journal.log_response(inc.id, "apology", "instagram", "We are sorry.", "https://instagram.com/p/1")
    await journal.log_response(inc.id, "official_statement", "press", "Our findings: …")
    await journal.check(inc.id, "facts")
    inc = await journal.set_state(inc.id, "monitoring")
    assert inc.state is State.MONITORING
    assert [c.id for c in inc.checklist if c.done] == ["hold", "facts", "act", "apologise"]
    by = {c.id: c.by for c in inc.checklist}
    assert by == {
        "hold": "holding_statement",  # the holding statement ticks its step
        "facts": "check",
        "act": "official_statement",
        "apologise": "apology",
        "values": None,
    }

    clock.advance(3600)
    inc = await journal.resolve(inc.id, summary="Photo was a hoax; retraction published")
    assert inc.state is State.RESOLVED and inc.resolved_at == T0 + timedelta(minutes=74)
    assert await journal.check_clocks() == []  # every goal met in time: no breach
    kinds = [e.kind for e in (await journal.incident_record(inc.id)).events]
    assert kinds == [
        EventKind.OPENED,
        EventKind.EVIDENCE_PINNED,
        EventKind.ACKNOWLEDGED,
        EventKind.ESCALATED,
        EventKind.RESPONSE_LOGGED,
        EventKind.STATE_CHANGED,
        EventKind.RESPONSE_LOGGED,
        EventKind.RESPONSE_LOGGED,
        EventKind.CHECKED,
        EventKind.STATE_CHANGED,
        EventKind.RESOLVED,
    ]


async def test_first_response_sla_counts_down_and_breach_is_recorded_once(
    journal: Journal, clock: ManualClock
) -> None:
    inc = await journal.open_incident("brioche", "sev2", "Boycott call")
    await journal.acknowledge(inc.id)
    clock.advance(29 * 60)
    inc = await journal.incident(inc.id)
    assert journal.clocks(inc)[2].remaining == timedelta(minutes=1)
    assert await journal.check_clocks() == []

    clock.advance(60)  # exactly at the deadline: not yet late
    assert await journal.check_clocks() == []
    clock.advance(1)
    breaches = await journal.check_clocks()
    assert [(e.kind, e.payload["clock"], e.operator) for e in breaches] == [
        (EventKind.SLA_BREACHED, "first_response", "tocsin")
    ]
    assert breaches[0].payload["due"] == "2026-11-21T09:30:00Z"
    for _ in range(3):
        clock.advance(300)
        assert await journal.check_clocks() == []  # once per clock, however often the app asks
    inc = await journal.incident(inc.id)
    assert set(inc.breaches) == {"first_response"}
    assert journal.clocks(inc)[2].status == "overdue"

    inc = await journal.log_response(inc.id, "holding_statement", "x", "On it.")
    assert journal.clocks(inc)[2].status == "late"


async def test_ack_timeout_is_a_breach_and_late_ack_still_counts(
    journal: Journal, clock: ManualClock
) -> None:
    inc = await journal.open_incident("brioche", "sev4", "Odd hashtag trending")
    clock.advance(10 * 60 + 1)
    (breach,) = await journal.check_clocks()
    assert breach.payload["clock"] == "ack" and breach.payload["due"] == "2026-11-21T09:10:00Z"
    clock.advance(3600)
    assert await journal.check_clocks() == []  # SEV4 has no response clock; ack already recorded
    inc = await journal.acknowledge(inc.id)
    assert journal.clocks(inc)[1].status == "late"
    assert journal.clocks(inc)[2].due_at is None


async def test_late_ack_is_recorded_even_if_no_desk_checked_in_time(
    journal: Journal, clock: ManualClock
) -> None:
    inc = await journal.open_incident("brioche", "sev2", "Nobody watching")
    clock.advance(15 * 60)
    await journal.acknowledge(inc.id)
    (breach,) = await journal.check_clocks()
    assert breach.payload["clock"] == "ack" and breach.payload["met_at"] == "2026-11-21T09:15:00Z"


async def test_resolved_before_the_deadline_is_not_a_breach(journal: Journal, clock: ManualClock) -> None:
    inc = await journal.open_incident("brioche", "sev1", "False alarm")
    clock.advance(5 * 60)
    await journal.resolve(inc.id, summary="a parody account")
    clock.advance(3600)
    assert await journal.check_clocks() == []


async def test_monitoring_incident_reopens_when_the_topic_surges(
    journal: Journal, clock: ManualClock
) -> None:
    inc = await journal.open_incident("brioche", "sev2", "Storm", level="alert")
    await journal.log_response(inc.id, "official_statement", "x", "Statement")
    await journal.set_state(inc.id, "monitoring")
    old = await journal.open_incident("brioche", "sev3", "Last week's storm")
    await journal.resolve(old.id)
    other = await journal.open_incident("rival", "sev3", "Not our topic")
    await journal.set_state(other.id, "monitoring")

    clock.advance(1800)
    events = await journal.on_level("brioche", "watch", ["volume 2.1x the usual"])
    assert [(e.incident_id, e.kind) for e in events] == [(1, EventKind.LEVEL_CHANGED)]
    assert await journal.on_level("brioche", "watch", ["volume 2.3x the usual"]) == []  # same level: nothing

    clock.advance(600)
    events = await journal.on_level("brioche", "crisis", ["volume 9.5x the usual", "72 % negative"])
    assert [(e.incident_id, e.kind) for e in events] == [
        (1, EventKind.LEVEL_CHANGED),
        (1, EventKind.REOPENED),
    ]
    assert events[1].payload["reason"] == "resurgence: level crisis"
    inc = await journal.incident(inc.id)
    assert inc.state is State.REOPENED and inc.reopened == 1 and inc.level == "crisis"
    assert inc.state.needs_ack
    assert (await journal.incident(old.id)).state is State.RESOLVED  # resolved ones are left alone
    assert (await journal.incident(other.id)).state is State.MONITORING  # other topics too
    assert (await journal.acknowledge(inc.id)).state is State.ACKNOWLEDGED


async def test_calm_level_on_monitoring_incident_does_not_reopen(
    journal: Journal, clock: ManualClock
) -> None:
    inc = await journal.open_incident("brioche", "sev2", "Storm")
    await journal.set_state(inc.id, "monitoring")
    events = await journal.on_level("brioche", "calm", [])
    assert [e.kind for e in events] == [EventKind.LEVEL_CHANGED]
    assert (await journal.incident(inc.id)).state is State.MONITORING


async def test_moving_into_work_acknowledges_first(journal: Journal, clock: ManualClock) -> None:
    inc = await journal.open_incident("brioche", "sev2", "Storm")
    clock.advance(90)
    inc = await journal.set_state(inc.id, "responding")
    assert inc.acknowledged_at == T0 + timedelta(seconds=90)
    events = (await journal.incident_record(inc.id)).events
    assert [e.kind for e in events[1:]] == [EventKind.ACKNOWLEDGED, EventKind.STATE_CHANGED]
    assert events[1].payload == {"from": "open", "implicit": True}


async def test_transitions_that_make_no_sense_are_refused(journal: Journal) -> None:
    inc = await journal.open_incident("brioche", "sev2", "Storm")
    with pytest.raises(InvalidTransition, match="only a monitoring or resolved incident can be reopened"):
        await journal.reopen(inc.id)
    await journal.acknowledge(inc.id)
    with pytest.raises(AlreadyDone, match="already acknowledged by alice"):
        await journal.acknowledge(inc.id)
    with pytest.raises(AlreadyDone, match="already SEV2"):
        await journal.escalate(inc.id, "SEV2")
    await journal.resolve(inc.id)
    with pytest.raises(AlreadyDone, match="already resolved"):
        await journal.resolve(inc.id)
    inc = await journal.reopen(inc.id, reason="new photos")
    assert inc.state is State.REOPENED and inc.resolved_at is None


async def test_escalation_ladder_calls_each_step_then_stops(journal: Journal) -> None:
    inc = await journal.open_incident("brioche", "sev2", "Storm")
    inc = await journal.escalate(inc.id)
    ev = (await journal.changes_since(inc.last_event_id - 1))[0]
    assert ev.payload == {"step": 1, "of": 2, "roles": ["comms-lead"], "members": ["chloe"]}
    inc = await journal.escalate(inc.id)
    ev = (await journal.changes_since(inc.last_event_id - 1))[0]
    assert ev.payload["members"] == ["chloe", "dan"] and inc.escalation_step == 2
    with pytest.raises(NoEscalationStep, match="top of the escalation ladder"):
        await journal.escalate(inc.id)


async def test_assign_checks_the_roster(journal: Journal) -> None:
    inc = await journal.open_incident("brioche", "sev2", "Storm", assignee="bob")
    assert inc.assignee == "bob"
    inc = await journal.assign(inc.id, "chloe")
    assert inc.assignee == "chloe"
    record = await journal.incident_record(inc.id)
    assert record.events[-1].payload == {
        "member": "chloe",
        "name": "Chloé Dubois",
        "role": "comms-lead",
        "previous": "bob",
    }


async def test_checklist_hand_ticks_and_logged_responses(journal: Journal) -> None:
    inc = await journal.open_incident("brioche", "sev2", "Storm")
    inc = await journal.check(inc.id, "values")
    assert next(c for c in inc.checklist if c.id == "values").done
    inc = await journal.check(inc.id, "values", done=False)
    assert not next(c for c in inc.checklist if c.id == "values").done
    await journal.log_response(inc.id, "correction", "x", "Correction: the photo is from 2019.")
    with pytest.raises(AlreadyDone, match="it stays ticked"):
        await journal.check(inc.id, "act", done=False)
    with pytest.raises(AlreadyDone):
        await journal.check(inc.id, "act")


async def test_notes_and_lessons_are_allowed_after_resolution(journal: Journal) -> None:
    inc = await journal.open_incident("brioche", "sev2", "Storm")
    await journal.resolve(inc.id)
    inc = await journal.add_note(inc.id, "Answer within 15 minutes next time", kind="lesson")
    record = await journal.incident_record(inc.id)
    assert [n.text for n in record.lessons] == ["Answer within 15 minutes next time"]


async def test_pinned_evidence_keeps_the_original_time_and_text(journal: Journal, clock: ManualClock) -> None:
    inc = await journal.open_incident("brioche", "sev2", "Storm")
    original = mention("m9", "Original words #BriocheGate", at=T0 - timedelta(hours=3))
    clock.advance(600)
    await journal.pin_evidence(inc.id, original, note="the post that started it")
    with pytest.raises(AlreadyDone, match="already has this mention pinned"):
        await journal.pin_evidence(inc.id, original)
    edited = mention("m9", "Edited to say something else", at=T0 - timedelta(hours=3))
    await journal.archive([edited])  # the platform sends the edit later
    (ev,) = (await journal.incident_record(inc.id)).evidence
    assert ev.text == "Original words #BriocheGate" and ev.created_at == T0 - timedelta(hours=3)
    assert ev.pinned_at == T0 + timedelta(minutes=10) and ev.note == "the post that started it"
    archived = await journal.archived_mention("demo", "m9")
    assert archived is not None and archived.pinned and archived.mention.text == "Original words #BriocheGate"


async def test_incident_rows_are_what_the_events_add_up_to(journal: Journal, clock: ManualClock) -> None:
    inc = await journal.open_incident("brioche", "sev3", "Storm", evidence=[mention("a"), mention("b")])
    clock.advance(700)
    await journal.check_clocks()
    await journal.log_response(inc.id, "apology", "x", "Sorry")
    await journal.escalate(inc.id, "sev1")
    await journal.on_level("brioche", "alert", ["x"])
    await journal.set_state(inc.id, "monitoring")
    await journal.on_level("brioche", "crisis", ["y"])
    await journal.check(inc.id, "facts")
    second = await journal.open_incident("rival", "sev4", "Other")
    await journal.resolve(second.id)
    stored = {i.id: i for i in await journal.incidents(include_resolved=True)}
    assert fold(await journal.events()) == stored
    assert await journal.rebuild_incidents() == 2
    assert {i.id: i for i in await journal.incidents(include_resolved=True)} == stored
    assert [i.id for i in await journal.incidents()] == [inc.id]
    assert [i.id for i in await journal.incidents(include_resolved=True, topic="rival")] == [second.id]


async def test_sentiment_corrections_are_kept_with_their_text(journal: Journal) -> None:
    from tocsin.sources.model import ScoredMention, SentimentScore

    scored = ScoredMention(
        1,
        mention("s1", "Génial, encore une souris 🙄"),
        ("brioche",),
        SentimentScore("positive", 0.7, "lexicon"),
    )
    ev = await journal.correct_sentiment(scored, "negative")
    assert ev.payload["old"] == "positive" and ev.payload["new"] == "negative" and ev.incident_id is None
    (c,) = await journal.corrections()
    assert (c.text, c.old_label, c.new_label, c.operator) == (
        "Génial, encore une souris 🙄",
        "positive",
        "negative",
        "alice",
    )
    assert await journal.archived_mention("demo", "s1") is not None


async def test_other_journals_see_actions_through_changes_since(settings, clock: ManualClock) -> None:
    a = await Journal.open(settings, clock=clock, operator="alice")
    b = await Journal.open(settings, clock=clock, operator="bob")
    try:
        seen = await b.last_event_id()
        inc = await a.open_incident("brioche", "sev2", "Storm")
        await a.acknowledge(inc.id)
        changes = await b.changes_since(seen)
        assert [(e.kind, e.operator) for e in changes] == [
            (EventKind.OPENED, "alice"),
            (EventKind.ACKNOWLEDGED, "alice"),
        ]
        await b.add_note(inc.id, "I'll take the press calls")
        (note,) = await a.changes_since(changes[-1].id)
        assert note.operator == "bob" and note.payload["text"] == "I'll take the press calls"
        assert await a.changes_since(note.id) == []
    finally:
        await a.close()
        await b.close()


async def test_a_holding_statement_ticks_its_step(journal: Journal) -> None:
    """Issue 12: post-mortems showed 0 of 4 done after a holding statement."""
    from tocsin.journal.cli import CHECKLIST_STEPS
    from tocsin.journal.model import PLAYBOOK_IDS

    assert CHECKLIST_STEPS == PLAYBOOK_IDS  # the CLI offers every step, and only those
    inc = await journal.open_incident("brioche", "sev2", "Storm")
    assert not any(c.done for c in inc.checklist)
    inc = await journal.log_response(inc.id, "private_reply", "dm", "Sorry, we are on it.")
    assert not any(c.done for c in inc.checklist)  # a private reply says nothing publicly
    inc = await journal.log_response(inc.id, "holding_statement", "x", "We are looking into it.")
    assert [(c.id, c.by) for c in inc.checklist if c.done] == [("hold", "holding_statement")]
