"""Headless mode with the journal: ``--emit incidents`` lines, SLA alerts, and no journal for a plain pipe."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from tests.desk._incident_kit import T0, minutes, team_settings
from tocsin.config.settings import AlertSettings
from tocsin.desk.desk import Desk
from tocsin.desk.headless import run_headless, wants_journal
from tocsin.journal.api import Journal
from tocsin.sources.base import Source, SourceState
from tocsin.sources.clock import ManualClock
from tocsin.sources.model import Mention, SentimentScore


class Neutral:
    """A sentiment scorer that calls everything neutral."""

    engine = "fake"
    note: str | None = None

    async def start(self) -> None:
        pass

    async def score(self, texts: list[str], langs: list[str | None]) -> list[SentimentScore]:
        return [SentimentScore("neutral", 0.5, "fake") for _ in texts]

    async def close(self) -> None:
        pass


class Quiet(Source):
    """A live source with nothing to say: the desk runs until the duration ends."""

    kind = "quiet"

    async def stream(self) -> AsyncIterator[Mention]:
        self.health.set_state(SourceState.LIVE)
        await self._stopping.wait()
        return
        yield  # an async generator


def desk_for(settings: Any, clock: ManualClock) -> Desk:
    return Desk(settings, clock=clock, sources=[Quiet("quiet", clock)], sentiment=Neutral())  # type: ignore[arg-type]


def lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


async def test_emit_incidents_writes_the_open_ones_and_each_change(tmp_path: Path) -> None:
    settings = team_settings(tmp_path / "journal.sqlite")
    clock = ManualClock(T0)
    async with await Journal.open(settings, clock=ManualClock(T0 - minutes(45))) as journal:
        overdue = await journal.open_incident("brioche", "sev2", "mould photo")
        done = await journal.open_incident("brioche", "sev3", "old story")
        await journal.resolve(done.id)
    out = io.StringIO()
    await run_headless(
        settings, duration=0.8, emit=("incidents", "alerts"), out=out, desk=desk_for(settings, clock)
    )
    objs = lines(out)
    incidents = [o for o in objs if o["type"] == "incident"]
    assert incidents[0]["id"] == overdue.id and incidents[0]["state"] == "open"  # where things stood
    assert all(o["id"] != done.id for o in incidents)  # resolved ones are history, not news
    assert incidents[-1]["breaches"].keys() == {"ack", "first_response"}  # the desk recorded them
    alerts = [o for o in objs if o["type"] == "alert"]
    # the ack breach, the first response's, and the ladder's first step (one step per ack timeout from
    # now: a desk that starts late does not page the whole ladder at once)
    assert sorted(a["event"] for a in alerts) == ["ack_timeout", "ack_timeout", "sla_breach"]
    assert [a.get("step") for a in alerts if a["event"] == "ack_timeout"].count(1) == 1
    assert all(a["incident"] == overdue.id and a["at"] == "2026-11-21T09:30:00Z" for a in alerts)
    async with await Journal.open(settings, clock=clock) as journal:
        breaches = [e for e in await journal.events(overdue.id) if str(e.kind) == "sla_breached"]
    assert len(breaches) == 2


async def test_a_plain_pipe_leaves_the_journal_alone(tmp_path: Path) -> None:
    settings = team_settings(tmp_path / "journal.sqlite")
    assert not wants_journal(settings, ("snapshots", "mentions", "alerts"))
    assert wants_journal(settings, ("snapshots", "incidents"))
    hooked = replace(settings, alerts=(AlertSettings(type="webhook", url="http://127.0.0.1:9/x"),))
    assert wants_journal(hooked, ("snapshots",))
    out = io.StringIO()
    await run_headless(
        settings, duration=0.2, emit=("snapshots",), out=out, desk=desk_for(settings, ManualClock(T0))
    )
    assert not (tmp_path / "journal.sqlite").exists()
    assert {o["type"] for o in lines(out)} == {"snapshot"}


async def test_a_journal_that_cannot_open_does_not_stop_headless(tmp_path: Path, capsys: Any) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    settings = team_settings(blocker / "journal.sqlite")
    out = io.StringIO()
    desk = desk_for(settings, ManualClock(T0))
    await run_headless(settings, duration=0.2, emit=("snapshots", "incidents"), out=out, desk=desk)
    assert "no incident journal" in capsys.readouterr().err
    assert [o["type"] for o in lines(out)][-1] == "snapshot"
