"""On-call figures: ``alert_delivery_ms_p95`` (a journal event to a local receiver holding the
message, through the outbox and the delivery worker) and ``alerts_per_demo_storm`` (messages one chat
output with the default noise control receives over the bundled demo storm: a handful, not hundreds)."""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tocsin.config.loader import load_default, with_demo_speed
from tocsin.config.settings import (
    AlertSettings,
    DeskSettings,
    Settings,
    TeamMember,
    TeamSettings,
    TopicSettings,
)
from tocsin.desk.desk import Desk
from tocsin.desk.oncall import OnCall
from tocsin.desk.session import JournalSession
from tocsin.journal.api import Journal
from tocsin.sources.clock import ManualClock


def _receivers() -> Any:
    """The tests' local receivers, loaded by path (bench runs without pytest's importlib mode)."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "desk" / "receivers.py"
    spec = importlib.util.spec_from_file_location("oncall_receivers", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


Receiver = _receivers().Receiver
T0 = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)


def team_settings(journal: Path, alerts: list[AlertSettings]) -> Settings:
    return Settings(
        desk=DeskSettings(operator="camille", journal=str(journal)),
        topics=(TopicSettings(id="brioche", keywords=("brioche",)),),
        team=TeamSettings(roster=(TeamMember("camille", "Camille Roux", "community-manager"),)),
        alerts=tuple(alerts),
    )


async def test_alert_delivery_ms_p95(tmp_path: Path, bench_record: Any) -> None:
    async with Receiver() as rx:
        hook = AlertSettings(type="webhook", id="hook", url=rx.url + "/hook", cooldown=timedelta(0))
        settings = team_settings(tmp_path / "j.sqlite", alerts=[hook])
        async with await Journal.open(settings, clock=ManualClock(T0)) as journal:
            oncall = OnCall(settings, journal)
            await oncall.start(background=True)
            took = []
            for i in range(60):
                inc = await journal.open_incident("brioche", "sev2", f"story {i}")
                events = await journal.changes_since(inc.last_event_id - 1)
                start = time.perf_counter()
                await oncall.on_events(events, {inc.id: inc}.get)
                while len(rx.got) < i + 1:  # noqa: ASYNC110 - a 1 ms look is finer than the figure
                    await asyncio.sleep(0.001)
                took.append((time.perf_counter() - start) * 1000)
            await oncall.stop()
    took.sort()
    p95 = took[int(len(took) * 0.95) - 1]
    bench_record("alert_delivery_ms_p95", p95)
    assert p95 < 500


async def test_alerts_per_demo_storm(tmp_path: Path, monkeypatch: Any, bench_record: Any) -> None:
    monkeypatch.setenv("TOCSIN_JOURNAL", str(tmp_path / "journal.sqlite"))
    async with Receiver() as rx:
        chat = AlertSettings(type="webhook", id="chat", url=rx.url + "/chat", format="slack")
        base = with_demo_speed(load_default(), 40)
        settings = replace(base, alerts=(chat,))
        desk = Desk(settings, inline_scoring=True)
        session = JournalSession(settings, desk)
        await session.start()
        await desk.start()
        levels: list[str] = []
        session.add_alert_listener(lambda a: levels.append(a.title))
        try:
            deadline = time.monotonic() + 40
            while time.monotonic() < deadline:
                await asyncio.sleep(0.2)
                if all(str(s.status().state) == "finished" for s in desk.sources):
                    break
            await asyncio.sleep(1.0)
        finally:
            await desk.stop()
            await session.stop()
    n = len([g for g in rx.got if g.path == "/chat"])
    print(f"\nbench: {len(levels)} level changes on the wall, {n} chat messages")
    bench_record("alerts_per_demo_storm", n)
    assert 1 <= n <= 10
