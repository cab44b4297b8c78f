"""Headless mode: JSON Lines out, snapshot pacing, stop conditions, a reader that goes away."""

from __future__ import annotations

import io
from datetime import timedelta

from tests.fakes import T0, FakeSentiment, ListSource, mention, settings_with
from tocsin.config.settings import InfluenceSettings, ScoringSettings
from tocsin.desk.desk import Desk
from tocsin.desk.headless import JsonLinesWriter, run_headless
from tocsin.sources.clock import ManualClock

from .headless_schema import check_mention, check_snapshot, parse_lines


def desk_with(*sources_mentions, hold_open: bool = False) -> Desk:
    clock = ManualClock(T0 + timedelta(minutes=10))
    sources = [ListSource(f"s{i}", clock, ms, hold_open=hold_open) for i, ms in enumerate(sources_mentions)]
    return Desk(settings_with(), clock=clock, sources=sources, sentiment=FakeSentiment())


def some_mentions(n: int, prefix: str = "m"):
    hostile = "Maison Brioche \x1b]0;pwned\x07 scandale \u202e #BriocheGate 😡"
    return [
        mention(
            hostile if i % 3 == 0 else f"maison brioche {i}",
            uid=f"{prefix}{i}",
            at=T0 + timedelta(seconds=20 * i),
            handle=f"user{i % 5}",
            lang="fr",
        )
        for i in range(n)
    ]


async def test_headless_writes_every_mention_then_a_final_snapshot():
    out = io.StringIO()
    desk = desk_with(some_mentions(25), some_mentions(5, "x"))
    await run_headless(desk.settings, duration=10, emit=("snapshots", "mentions"), out=out, desk=desk)
    objs = parse_lines(out.getvalue())
    mentions = [o for o in objs if o["type"] == "mention"]
    snaps = [o for o in objs if o["type"] == "snapshot"]
    assert len(mentions) == 30
    for o in mentions:
        check_mention(o)
    assert objs[-1]["type"] == "snapshot"
    assert len(snaps) == 1  # the run took well under a second: only the final one
    check_snapshot(snaps[-1], {"brioche"}, {"s0", "s1"})
    assert snaps[-1]["topics"]["brioche"]["mentions"] == 30
    assert snaps[-1]["sources"]["s0"]["state"] == "finished"
    hostile = next(o for o in mentions if "scandale" in o["text"])
    assert "\x1b" in hostile["text"]  # kept intact in the data, escaped in the line
    assert "\\u001b" in out.getvalue() and "\x1b" not in out.getvalue()


async def test_headless_snapshots_only_by_default_and_stops_at_duration():
    out = io.StringIO()
    desk = desk_with(some_mentions(5), hold_open=True)  # never finishes on its own
    await run_headless(desk.settings, duration=1.3, emit=("snapshots",), out=out, desk=desk)
    objs = parse_lines(out.getvalue())
    assert [o["type"] for o in objs] == ["snapshot", "snapshot"]  # one after a second, one final
    assert objs[-1]["topics"]["brioche"]["mentions"] == 5
    assert objs[-1]["sources"]["s0"]["state"] == "stopped"


async def test_headless_alert_lines_on_level_change():
    # a journalist on the watchlist joins the conversation: worth watching, whatever the volume
    out = io.StringIO()
    clock = ManualClock(T0 + timedelta(minutes=10))
    watch = InfluenceSettings(watchlist=("claire_fabre",), roles={"claire_fabre": "journalist"})
    settings = settings_with(scoring=ScoringSettings(influence=watch))
    posts = [
        mention("maison brioche, je note", uid="q", at=T0 + timedelta(minutes=2), handle="someone"),
        mention("Maison Brioche : on enquête", uid="j", at=T0 + timedelta(minutes=9), handle="Claire_Fabre"),
    ]
    desk = Desk(settings, clock=clock, sources=[ListSource("s0", clock, posts)], sentiment=FakeSentiment())
    await run_headless(settings, duration=10, emit=("alerts",), out=out, desk=desk)
    objs = parse_lines(out.getvalue())
    assert len(objs) == 1  # one change, told once
    (alert,) = objs
    assert alert["type"] == "alert" and alert["event"] == "level_change"
    assert (alert["topic"], alert["name"]) == ("brioche", "Maison Brioche")
    assert (alert["from"], alert["to"]) == ("calm", "watch")
    assert alert["reasons"] == ["1 journalist"]
    assert alert["at"] == alert["since"] == "2026-11-21T10:10:00Z"


class ClosedPipe(io.StringIO):
    def write(self, s):
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self):
        raise BrokenPipeError(32, "Broken pipe")


async def test_a_reader_that_goes_away_ends_the_run_quietly():
    desk = desk_with(some_mentions(50), hold_open=True)
    emit = ("snapshots", "mentions")
    await run_headless(desk.settings, duration=30, emit=emit, out=ClosedPipe(), desk=desk)
    assert desk.snapshot().sources["s0"].state == "stopped"


def test_writer_goes_quiet_after_a_broken_pipe():
    w = JsonLinesWriter(ClosedPipe())
    w.write([{"type": "snapshot"}])
    assert w.closed
    w.write([{"type": "snapshot"}])
    w.flush()


def test_every_failed_source_is_said_once_on_stderr(capsys) -> None:
    from types import SimpleNamespace

    from tocsin.desk.headless import _say_failed_sources
    from tocsin.sources.base import SourceState

    def failed(source_id: str, why: str) -> SimpleNamespace:
        status = SimpleNamespace(id=source_id, state=SourceState.FAILED, last_error=why)
        return SimpleNamespace(status=lambda: status)

    desk = SimpleNamespace(sources=[failed("replay", "no such file"), failed("hook", "port in use")])
    said: set[str] = set()
    _say_failed_sources(desk, said)  # type: ignore[arg-type]
    _say_failed_sources(desk, said)  # type: ignore[arg-type]
    err = capsys.readouterr().err.splitlines()
    assert err == ["tocsin: source replay failed: no such file", "tocsin: source hook failed: port in use"]
    assert said == {"replay", "hook"}
