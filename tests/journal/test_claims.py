"""Rumour vs verified: an incident's claims, each rumour, verified or false with its evidence; every
change an event; the post-mortem and the CLI show them; bad input changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tocsin.config.settings import Settings
from tocsin.journal.api import Journal
from tocsin.journal.errors import AlreadyDone, EmptyField, InvalidValue
from tocsin.journal.fold import fold
from tocsin.journal.model import EventKind
from tocsin.journal.reports import build_postmortem, render, to_text
from tocsin.sources.clock import ManualClock

from .test_cli import env, run  # noqa: F401  (env is a fixture)


async def test_a_rumour_verified_then_a_claim_shown_false(settings: Settings, clock: ManualClock) -> None:
    async with await Journal.open(settings, clock=clock) as j:
        inc = await j.open_incident("brioche", "sev2", "Mouse photo")
        inc, mouse = await j.add_claim(inc.id, "A mouse was found in a brioche in Lyon")
        inc, recall = await j.add_claim(inc.id, "All shops are closing", status="rumour")
        assert inc.claims == {str(mouse): "rumour", str(recall): "rumour"}
        with pytest.raises(EmptyField, match="needs the evidence"):
            await j.set_claim(inc.id, mouse, "verified")
        with pytest.raises(InvalidValue, match="claim status"):
            await j.set_claim(inc.id, mouse, "confirmed", evidence="x")
        with pytest.raises(InvalidValue):
            await j.set_claim(inc.id, 999, "false", evidence="x")
        clock.advance(600)
        await j.set_claim(inc.id, mouse, "verified", evidence="Shop manager confirmed by phone")
        done = await j.set_claim(inc.id, recall, "false", evidence="Ops: every shop open")
        with pytest.raises(AlreadyDone):
            await j.set_claim(inc.id, recall, "false", evidence="again")
        assert done.claims == {str(mouse): "verified", str(recall): "false"}
        events = await j.events(inc.id)
        assert [e.kind for e in events].count(EventKind.CLAIM_CHANGED) == 2
        assert fold(events)[inc.id] == done

        pm = await build_postmortem(j, inc.id)
        text = to_text(pm)
        assert "VERIFIED: A mouse was found in a brioche in Lyon — rumour" in text
        assert "verified 2026-11-21 10:10 CET by alice (Shop manager confirmed by phone)" in text
        assert "FALSE: All shops are closing" in text
        [first, second] = json.loads(render(pm, "json"))["claims"]
        assert first["status"] == "verified" and len(first["history"]) == 2
        assert second["history"][-1]["evidence"] == "Ops: every shop open"
        assert "## Claims (2)" in render(pm, "md") and "<h2>Claims (2)</h2>" in render(pm, "html")


def test_claims_from_the_shell(env: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    run(capsys, "incident", "open", "--topic", "brioche", "--severity", "sev2", "--title", "Mouse photo")
    code, out, _ = run(capsys, "incident", "claim", "1", "A mouse in a brioche")
    assert code == 0 and out.startswith("#1 claim 2 recorded as rumour by alice")
    code, _, err = run(capsys, "incident", "claim-status", "1", "2", "verified")
    assert code == 2 and "needs the evidence" in err
    code, out, _ = run(capsys, "incident", "claim-status", "1", "2", "false", "--evidence", "Lab report")
    assert code == 0 and "claim 2 now false" in out
    assert "FALSE: A mouse in a brioche" in run(capsys, "journal", "show", "1")[1]
