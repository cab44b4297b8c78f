"""A public response given although the troll guard advised against it keeps the guard's advice: on the
journal's event, through an approval, and in every post-mortem (in English and in French); a private
reply follows the advice and keeps nothing."""

from __future__ import annotations

import dataclasses
import json

from tocsin.config.i18n import speaking
from tocsin.config.settings import Settings
from tocsin.journal.api import Journal
from tocsin.journal.model import EventKind, TrollGuard
from tocsin.journal.reports import build_postmortem, render, to_text
from tocsin.sources.clock import ManualClock

GUARD = TrollGuard(
    "@brioche_truth_88",
    ("looks like a bot (0.91: account 3 days old; 140 posts in the last hour)",),
)


async def test_a_public_response_keeps_the_guard_and_the_post_mortem_says_so(
    settings: Settings, clock: ManualClock
) -> None:
    async with await Journal.open(settings, clock=clock) as journal:
        inc = await journal.open_incident("brioche", "sev2", "Boycott wave")
        await journal.respond(inc.id, "holding_statement", "x", "We hear you.", troll_guard=GUARD)
        await journal.respond(inc.id, "private_reply", "x", "Write to us in DM.", troll_guard=GUARD)
        logged = [e for e in await journal.events(inc.id) if e.kind is EventKind.RESPONSE_LOGGED]
        assert logged[0].payload["troll_guard"] == {
            "author": "@brioche_truth_88",
            "reasons": list(GUARD.reasons),
        }
        assert "troll_guard" not in logged[1].payload  # a private reply is what the guard advises

        pm = await build_postmortem(journal, inc.id)
        public, private = pm.record.responses
        assert public.troll_guard == GUARD and private.troll_guard is None
        said = (
            "answered despite the troll guard (@brioche_truth_88: looks like a bot (0.91: account 3 days old"
        )
        assert said in to_text(pm) and said in render(pm, "csv")
        assert "⚠ *answered despite the troll guard (@brioche\\_truth\\_88: looks like a bot" in render(
            pm, "md"
        )
        assert "answered despite the troll guard (@brioche_truth_88: looks like a bot" in render(pm, "html")
        exported = json.loads(render(pm, "json"))
        assert exported["responses"][0]["troll_guard"]["author"] == "@brioche_truth_88"
        assert exported["responses"][1]["troll_guard"] is None

        with speaking("fr"):
            french = to_text(pm)
        assert (
            "répondu malgré l'alerte anti-troll (@brioche_truth_88 : ressemble à un bot "
            "(0,91 : compte créé il y a 3 jours ; 140 posts sur une heure))"
        ) in french


async def test_a_draft_keeps_the_guard_through_its_approval(settings: Settings, clock: ManualClock) -> None:
    team = dataclasses.replace(settings.team, approval={"sev2": ("comms-lead",)})
    approving = dataclasses.replace(settings, team=team)
    async with await Journal.open(approving, clock=clock) as alice:
        inc = await alice.open_incident("brioche", "sev2", "Boycott wave")
        _, draft = await alice.respond(inc.id, "official_statement", "x", "Our statement.", troll_guard=GUARD)
        assert draft is not None
        approver = next(m.id for m in approving.team.roster if m.role == "comms-lead")
        bob = Journal(alice.store, alice.settings, clock=clock, operator=approver)
        await bob.approve(inc.id, draft)
        pm = await build_postmortem(alice, inc.id)
        assert pm.record.drafts[0].troll_guard == GUARD
        assert pm.record.responses[0].troll_guard == GUARD
        assert "answered despite the troll guard" in to_text(pm)
