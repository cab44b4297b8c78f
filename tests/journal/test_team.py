"""What a team's desks rely on, on both backends: wakes on new journal data, one ingest leader at a time
with takeover when it dies, and concurrent writers that never share an incident id or an outbox row."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from tocsin.journal.api import Journal
from tocsin.journal.outbox import Envelope, Outbox
from tocsin.journal.store import EVENTS, MENTIONS, SNAPSHOTS, Store, Tx, Wake
from tocsin.sources.clock import ManualClock

from .conftest import T0, mention, team_settings

LEADER = Path(__file__).with_name("_leader.py")


async def next_wake(wakes, channel: str, within: float = 3.0) -> Wake:
    """The next wake on ``channel`` (others are skipped); fails after ``within`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while (left := deadline - loop.time()) > 0:
        wake = await wakes.get(left)
        if wake is not None and wake.channel == channel:
            return wake
    raise AssertionError(f"no wake on {channel} within {within} s")


# --- wakes -----------------------------------------------------------------------------------------


async def test_a_reader_wakes_on_another_desks_action_and_archive(journal_location: str) -> None:
    settings = team_settings(journal_location)
    ingest = await Journal.open(settings, clock=ManualClock(T0), operator="ingest")
    screen = await Journal.open(settings, clock=ManualClock(T0), operator="bob")
    try:
        async with screen.store.listen(EVENTS, MENTIONS) as wakes:
            assert await wakes.get(0.3) is None  # nothing happened: no wake
            inc = await ingest.open_incident("brioche", "sev2", "Mould photo")
            wake = await next_wake(wakes, EVENTS)
            # a payload names the newest event; a poll (SQLite, another process) only says "read"
            assert wake.payload in (None, str(inc.last_event_id))
            assert [e.id for e in await screen.changes_since(0)] == [inc.last_event_id]
            await ingest.archive([mention("m1"), mention("m2")])
            await next_wake(wakes, MENTIONS)
            assert await screen.archived_count() == 2
    finally:
        await ingest.close()
        await screen.close()


async def test_own_writes_wake_with_their_payload_and_a_rollback_wakes_nobody(journal_location: str) -> None:
    store = await Store.open(journal_location)
    try:
        async with store.listen(SNAPSHOTS) as wakes:

            async def refused(tx: Tx) -> None:
                tx.notify(SNAPSHOTS, "never")
                await tx.execute("INSERT INTO cursors VALUES ('a', 'x', 0)")
                raise ValueError("changed my mind")

            with pytest.raises(ValueError):
                await store.write(refused)

            async def snapshot(tx: Tx) -> None:
                await tx.execute("INSERT INTO cursors VALUES ('b', 'y', 0)")
                tx.notify(SNAPSHOTS, "1")
                tx.notify(SNAPSHOTS, "2")  # one wake per transaction and channel, the last payload

            await store.write(snapshot)
            wake = await next_wake(wakes, SNAPSHOTS)
            assert wake.payload == "2"
            assert await wakes.get(0.3) in (None, Wake(SNAPSHOTS))  # at most SQLite's poll seeing it too
    finally:
        await store.close()


# --- leadership ------------------------------------------------------------------------------------


async def test_one_leader_at_a_time_and_the_next_takes_over_on_release(journal_location: str) -> None:
    first = await Store.open(journal_location)
    second = await Store.open(journal_location)
    try:
        assert await first.leader("ingest") is None
        lease = await first.try_lead("ingest", holder="wall:1")
        assert lease is not None and lease.held
        assert await second.try_lead("ingest", holder="laptop:2") is None
        assert await first.try_lead("ingest", holder="wall:1") is None  # not twice in one process either
        assert await second.leader("ingest") == "wall:1"
        other = await second.try_lead("archive")  # another name is another lease
        assert other is not None
        await other.release()

        waiting = asyncio.create_task(second.lead("ingest", holder="laptop:2", poll=0.05))
        await asyncio.sleep(0.2)
        assert not waiting.done()
        await lease.release()
        assert not lease.held
        taken = await asyncio.wait_for(waiting, 3)
        assert taken.held and await first.leader("ingest") == "laptop:2"
        await taken.release()
        assert await first.leader("ingest") is None
    finally:
        await first.close()
        await second.close()


def spawn_leader(location: str, holder: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(LEADER), location, holder],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


async def read_line(proc: subprocess.Popen[str], within: float = 20.0) -> str:
    assert proc.stdout is not None
    line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), within)
    assert line, f"the leader process died: {proc.stderr.read() if proc.stderr else ''}"
    return line.strip()


@pytest.mark.slow
async def test_a_killed_leader_is_taken_over_by_the_desk_waiting(journal_location: str) -> None:
    """Two ingest desks started at once: one leads, the other waits; SIGKILL the leader (no chance to
    release anything) and the waiting one leads."""
    await (await Store.open(journal_location)).close()  # created and migrated before the race
    procs = [spawn_leader(journal_location, name) for name in ("desk-a", "desk-b")]
    try:
        readers = [asyncio.create_task(read_line(p)) for p in procs]
        done, pending = await asyncio.wait(readers, timeout=30, return_when=asyncio.FIRST_COMPLETED)
        assert len(done) == 1, "one desk leads, the other waits"
        winner_line = done.pop().result()
        assert winner_line in ("leading desk-a", "leading desk-b")
        winner = 0 if winner_line.endswith("desk-a") else 1
        loser = 1 - winner
        await asyncio.sleep(0.3)
        assert all(not t.done() for t in pending)  # the other one is still waiting
        store = await Store.open(journal_location)
        try:
            assert await store.leader("ingest") == ("desk-a", "desk-b")[winner]
            os.kill(procs[winner].pid, signal.SIGKILL)
            taken = await asyncio.wait_for(asyncio.gather(*pending), 10)
            assert taken == [f"leading {('desk-a', 'desk-b')[loser]}"]
            assert await store.leader("ingest") == ("desk-a", "desk-b")[loser]
        finally:
            await store.close()
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.communicate(timeout=10)


# --- concurrent writers ----------------------------------------------------------------------------


async def test_concurrent_desks_never_share_an_incident_id(journal_location: str) -> None:
    settings = team_settings(journal_location)
    desks = [await Journal.open(settings, clock=ManualClock(T0), operator=f"op{i}") for i in range(4)]
    try:

        async def open_some(j: Journal) -> list[int]:
            return [(await j.open_incident("brioche", "sev3", f"{j.operator} {k}")).id for k in range(10)]

        ids = [i for batch in await asyncio.gather(*(open_some(j) for j in desks)) for i in batch]
        assert sorted(ids) == list(range(1, 41))
        stored = await desks[0].incidents()
        assert [i.id for i in stored] == list(range(1, 41))
        assert len({(i.id, i.title) for i in stored}) == 40
    finally:
        for j in desks:
            await j.close()


async def test_concurrent_delivery_workers_never_claim_one_row_twice(journal_location: str) -> None:
    stores = [await Store.open(journal_location) for _ in range(3)]
    try:
        outbox = Outbox(stores[0])
        envelopes = [Envelope("slack", {"event": "new_incident", "n": n}, keys=(f"k{n}",)) for n in range(60)]
        assert len(await outbox.enqueue(envelopes, T0, 0)) == 60
        assert await outbox.enqueue(envelopes[:5], T0, 0) == []  # the dedupe keys hold

        async def work(store: Store, name: str) -> list[int]:
            mine: list[int] = []
            box = Outbox(store)
            while rows := await box.claim(name, T0 + timedelta(minutes=1), 1, lease_ms=60_000, limit=4):
                mine += [r.id for r in rows]
                await asyncio.sleep(0.01)  # sending them: the others claim meanwhile
                for row in rows:
                    await box.delivered(row, name, 2, T0 + timedelta(minutes=1))
            return mine

        claimed = await asyncio.gather(*(work(s, f"w{i}") for i, s in enumerate(stores)))
        every = [rid for ids in claimed for rid in ids]
        assert sorted(every) == sorted({r.id for r in await outbox.rows()}) and len(every) == 60
        assert {r.state for r in await outbox.rows()} == {"delivered"}
        assert sum(1 for ids in claimed if ids) >= 2  # they really ran side by side
    finally:
        for s in stores:
            await s.close()


async def test_two_desks_opening_a_new_journal_at_once_migrate_it_once(journal_location: str) -> None:
    stores = await asyncio.gather(*(Store.open(journal_location) for _ in range(3)))
    try:
        assert {await s.schema_version() for s in stores} == {(await stores[0].schema_version())}
        await stores[1].write(lambda tx: tx.execute("INSERT INTO cursors VALUES ('a', 'x', 0)"))
        assert await stores[2].scalar("SELECT count(*) FROM cursors") == 1
    finally:
        for s in stores:
            await s.close()
