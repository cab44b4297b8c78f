"""Delivery that loses nothing and never blocks the desk: the outbox written before the attempt,
retries with back-off honouring Retry-After, a slow receiver, two desks on one journal, and a desk
killed with SIGKILL while messages wait (delivered after the restart, once)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import signal
import sys
import textwrap
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.desk._incident_kit import T0, team_settings
from tests.desk.receivers import Receiver
from tocsin.config.settings import AlertSettings, Settings
from tocsin.desk.oncall import OnCall
from tocsin.journal.api import Journal
from tocsin.journal.model import EventKind
from tocsin.sources.clock import ManualClock

ROOT = Path(__file__).resolve().parents[2]
SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


class RealTime:
    """An injected real clock (epoch seconds) the test moves by hand."""

    def __init__(self) -> None:
        self.t = 1_800_000_000.0

    def __call__(self) -> float:
        return self.t


def hook_settings(path: Path, url: str, **kw: Any) -> Settings:
    hook = AlertSettings(type="webhook", id="hook", url=url, format="json", secret=SECRET, **kw)
    return team_settings(path, alerts=[hook])


async def queue_incidents(journal: Journal, oncall: OnCall, n: int) -> list[int]:
    """Open ``n`` incidents and hand their events to ``oncall`` as a session's poll would."""
    ids = [(await journal.open_incident("brioche", "sev2", f"story {i}")).id for i in range(n)]
    events = await journal.changes_since(0)
    by_id = {i: await journal.incident(i) for i in ids}
    await oncall.on_events(events, by_id.get)
    return ids


async def test_written_before_the_attempt_then_delivered_once_after_503_and_429(tmp_path: Path) -> None:
    async with Receiver() as rx:
        settings = hook_settings(tmp_path / "j.sqlite", rx.url + "/hook")
        real = RealTime()
        async with await Journal.open(settings, clock=ManualClock(T0)) as journal:
            oncall = OnCall(settings, journal, real_time=real)
            await oncall.start(background=False)
            oncall.worker._rand = lambda: 1.0  # back-off at its full length
            await queue_incidents(journal, oncall, 1)
            [row] = await oncall.outbox.rows()
            assert (row.state, row.attempts) == ("pending", 0)  # in the journal before any attempt
            rx.plan = [503, 429]
            rx.retry_after = "30"
            assert await oncall.worker.run_once() == 1  # 503: back off 2 s
            assert await oncall.worker.run_once() == 0
            real.t += 2.1
            assert await oncall.worker.run_once() == 1  # 429, Retry-After: 30
            real.t += 29
            assert await oncall.worker.run_once() == 0  # the receiver asked for 30 s
            await oncall.refresh_status()
            assert oncall.describe() == "alerts: 1 waiting to retry (hook: HTTP 429)"
            real.t += 1.5
            assert await oncall.worker.run_once() == 1
            assert await oncall.worker.run_once() == 0
            await oncall.refresh_status()
            assert oncall.describe() is None
            [got] = rx.got
            msg_id, ts = got.headers["webhook-id"], got.headers["webhook-timestamp"]
            key = base64.b64decode(SECRET[6:])
            mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + got.body, hashlib.sha256).digest()
            assert got.headers["webhook-signature"] == "v1," + base64.b64encode(mac).decode()
            body = got.json
            assert body["id"] == msg_id and body["event"] == "new_incident" and body["incident"] == 1
            assert body["severity"] == "sev2" and body["key"] == "new_incident:1"
            assert "tocsin incident ack 1" in body["text"]
            notified = [e for e in await journal.events(1) if e.kind is EventKind.NOTIFIED]
            assert [(e.payload["output"], e.payload["attempts"]) for e in notified] == [("hook", 3)]
            await oncall.stop()
            assert SECRET not in (tmp_path / "j.sqlite").read_bytes().decode("latin-1")


async def test_a_permanent_refusal_is_given_up_shown_and_noted_on_the_incident(tmp_path: Path) -> None:
    async with Receiver() as rx:
        settings = hook_settings(tmp_path / "j.sqlite", rx.url + "/hook")
        async with await Journal.open(settings, clock=ManualClock(T0)) as journal:
            problems: list[str] = []
            oncall = OnCall(settings, journal, on_problem=problems.append)
            await oncall.start(background=False)
            await queue_incidents(journal, oncall, 1)
            rx.plan = [404]
            assert await oncall.worker.run_once() == 1
            await oncall.refresh_status()
            assert oncall.describe() == "alerts: 1 undeliverable (hook: HTTP 404)"
            assert problems == ["alert to hook given up: HTTP 404"]
            [failed] = [e for e in await journal.events(1) if e.kind is EventKind.NOTIFY_FAILED]
            assert failed.payload["error"] == "HTTP 404"
            await oncall.stop()


async def test_a_slow_receiver_never_holds_the_desk(tmp_path: Path) -> None:
    async with Receiver(slow_s=2.0) as rx:
        settings = hook_settings(tmp_path / "j.sqlite", rx.url + "/hook")
        real = RealTime()
        async with await Journal.open(settings, clock=ManualClock(T0)) as journal:
            oncall = OnCall(settings, journal, real_time=real)
            await oncall.start(background=False)
            oncall.worker.timeout_s = 0.3
            await queue_incidents(journal, oncall, 1)
            rx.plan = ["slow"]
            started = time.monotonic()
            assert await oncall.worker.run_once() == 1
            assert time.monotonic() - started < 1.5  # cut off at the timeout, kept for a retry
            assert oncall.worker.retried == 1 and not rx.got
            real.t += 10
            assert await oncall.worker.run_once() == 1
            assert len(rx.got) == 1
            await oncall.stop()


async def test_two_desks_on_one_journal_send_each_message_once(tmp_path: Path) -> None:
    async with Receiver() as rx:
        settings = hook_settings(tmp_path / "j.sqlite", rx.url + "/hook", cooldown=timedelta(0))
        other = replace(settings, desk=replace(settings.desk, operator="hugo"))
        a = await Journal.open(settings, clock=ManualClock(T0))
        b = await Journal.open(other, clock=ManualClock(T0))
        try:
            desk_a, desk_b = OnCall(settings, a), OnCall(other, b)
            await desk_a.start(background=True)
            await desk_b.start(background=True)
            ids = await queue_incidents(a, desk_a, 12)
            # the second desk sees the same events in its poll: deduped, not queued twice
            await desk_b.on_events(await b.changes_since(0), {i: await b.incident(i) for i in ids}.get)
            for _ in range(200):
                if len(rx.got) >= 12:
                    break
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.3)  # anything doubled would arrive now
            sent = [g.headers["webhook-id"] for g in rx.got]
            assert len(sent) == 12 and len(set(sent)) == 12
            assert sorted(g.json["incident"] for g in rx.got) == ids
            assert desk_a.worker.sent + desk_b.worker.sent == 12
            await desk_a.stop()
            await desk_b.stop()
        finally:
            await a.close()
            await b.close()


_DESK = textwrap.dedent(
    """
    import asyncio, base64, sys
    from datetime import UTC, datetime, timedelta
    from tocsin.config.settings import (
        AlertSettings, DeskSettings, Settings, TeamMember, TeamSettings, TopicSettings,
    )
    from tocsin.journal.api import Journal
    from tocsin.sources.clock import ManualClock
    from tocsin.desk.oncall import OnCall

    SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()

    async def main():
        hook = AlertSettings(type="webhook", id="hook", url=sys.argv[2], secret=SECRET, cooldown=timedelta(0))
        settings = Settings(
            desk=DeskSettings(operator="camille", journal=sys.argv[1]),
            topics=(TopicSettings(id="brioche", keywords=("brioche",)),),
            team=TeamSettings(roster=(TeamMember("camille", "Camille Roux", "community-manager"),)),
            alerts=(hook,),
        )
        journal = await Journal.open(settings, clock=ManualClock(datetime(2026, 11, 21, 9, 30, tzinfo=UTC)))
        oncall = OnCall(settings, journal, lease_s=600)
        await oncall.start(background=True)
        oncall.worker.poll_s = 0.05
        ids = [(await journal.open_incident("brioche", "sev2", f"story {i}")).id for i in range(5)]
        found = {i: await journal.incident(i) for i in ids}
        await oncall.on_events(await journal.changes_since(0), found.get)
        while True:  # every message refused at least once: the desk is mid-storm with a queue
            rows = await oncall.outbox.rows()
            if rows and all(r.attempts >= 1 for r in rows):
                break
            await asyncio.sleep(0.02)
        print("queued", flush=True)
        await asyncio.sleep(3600)

    asyncio.run(main())
    """
)


async def test_a_desk_killed_while_messages_wait_delivers_them_after_restart_once(tmp_path: Path) -> None:
    script = tmp_path / "desk.py"
    script.write_text(_DESK)
    async with Receiver() as rx:
        rx.up = False  # the chat server is down while the storm starts
        path = tmp_path / "j.sqlite"
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(script),
            str(path),
            rx.url + "/hook",
            stdout=asyncio.subprocess.PIPE,
            cwd=ROOT,
        )
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 15)
        assert line.strip() == b"queued"
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        assert not rx.got
        rx.up = True  # the server is back; the desk restarts
        settings = hook_settings(path, rx.url + "/hook", cooldown=timedelta(0))
        async with await Journal.open(settings, clock=ManualClock(T0)) as journal:
            oncall = OnCall(settings, journal)
            await oncall.start(background=False)  # releases the dead desk's claims, retries at once
            rows = await oncall.outbox.rows()
            assert len(rows) == 5 and all(r.state == "pending" and r.attempts >= 1 for r in rows)
            assert await oncall.worker.run_once() == 5
            assert await oncall.worker.run_once() == 0
            ids = [g.headers["webhook-id"] for g in rx.got]
            assert len(ids) == 5 and len(set(ids)) == 5
            assert sorted(g.json["incident"] for g in rx.got) == [1, 2, 3, 4, 5]  # every message, once
            notes = [e for i in range(1, 6) for e in await journal.events(i) if e.kind is EventKind.NOTIFIED]
            assert len(notes) == 5
            await oncall.stop()
