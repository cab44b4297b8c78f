"""One ingest desk, many attached screens, on SQLite and on PostgreSQL: an ingest desk (a real ``Desk``)
and attached desks share the feed, the figures and the actions through the journal; the ingest desk
killed (attached desks say so, a standby takes over from the saved cursors, nothing acknowledged is
lost); a PostgreSQL connection dropped under them; two ingest desks started at once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.fake_desk import FakeDesk
from tests.pgserver import PgServer, serve
from tocsin.desk.attach import FALLBACK_S, AttachedDesk, FollowedClock
from tocsin.desk.desk import Desk
from tocsin.desk.ingest import IngestDesk
from tocsin.desk.session import JournalSession
from tocsin.journal.api import Journal
from tocsin.journal.desks import INGEST
from tocsin.journal.store import Store
from tocsin.sources.clock import Clock

from ._attach_kit import Attached, Ingest, post, team, until

INGEST_SCRIPT = Path(__file__).with_name("_ingest_desk.py")


@pytest.fixture(scope="module")
def pg_server() -> Iterator[PgServer]:
    yield from serve()


@pytest.fixture(params=["sqlite", "postgresql"])
def journal_location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A journal nobody has used: a file, or a new schema on the module's PostgreSQL server."""
    if request.param == "postgresql":
        server: PgServer = request.getfixturevalue("pg_server")
        return server.fresh_journal_url()
    return str(tmp_path / "journal.sqlite")


@pytest.fixture
def postgres_location(pg_server: PgServer) -> str:
    return pg_server.fresh_journal_url()


async def test_attached_desks_show_the_ingest_desks_feed_figures_and_each_others_actions(
    journal_location: str,
) -> None:
    settings = team(journal_location)
    ingest = Ingest(settings)
    await ingest.start()
    bob, chloe = Attached(settings, "bob"), Attached(settings, "chloe")
    await bob.start()
    await chloe.start()
    try:
        assert ingest.desk.role == "ingest" and bob.desk.sources == () and chloe.session.role == "attached"
        ingest.put(*(post(i) for i in range(1, 21)))
        for desk in (bob, chloe):
            await until(lambda d=desk: len(d.feed_uids()) == 20, what="the feed on an attached desk")
            await until(
                lambda d=desk: (
                    (t := d.desk.snapshot().topics.get("brioche")) is not None and t.mentions == 20
                ),
                what="the ingest desk's figures on an attached desk",
            )
        assert bob.feed_uids() == [f"c{i}" for i in range(1, 21)]  # in the order the ingest desk archived
        shown = bob.desk.feed_since(0)[0]
        assert shown.sentiment.label == "negative" and shown.topics == ("brioche",)
        topic = bob.desk.snapshot().topics["brioche"]
        assert topic.sentiment["negative"] == 1.0 and sum(topic.volume) == 20  # the sparkline came too

        # bob opens and acknowledges; chloe's wall shows it within a second
        assert bob.session.journal is not None
        inc = await bob.session.open_incident("brioche", "sev2", "Mould photo")
        await bob.session.journal.acknowledge(inc.id)
        took = await until(
            lambda: any(i.id == inc.id and i.acknowledged_by == "bob" for i in chloe.session.incidents),
            within=1.0,
            what="bob's acknowledgement on chloe's desk",
        )
        assert took < 1.0
        await until(lambda: any(i.id == inc.id for i in ingest.session.incidents), within=1.0)

        # every desk knows who it is and who else is there
        for desk in (ingest, bob, chloe):
            await desk.session.presence()
        assert ingest.session.team is not None and ingest.session.team.attached == 2
        seen = bob.session.team
        assert seen is not None and seen.ingest_alive and seen.ingest is not None
        assert seen.ingest.operator == "alice" and {d.operator for d in seen.others} == {"chloe"}
        # the attached desks neither archived nor counted anything themselves
        assert bob.session.archiver is not None and bob.session.archiver.written == 0
        journal = ingest.session.journal
        assert journal is not None and await journal.archived_count() == 20
    finally:
        for desk in (chloe, bob, ingest):
            await desk.stop()


async def test_an_attached_desk_reads_on_wakes_and_otherwise_once_a_second(journal_location: str) -> None:
    """No ingest desk, nothing written: the journal is read once a second, not busy-polled; a write
    wakes it at once."""
    journal = await Journal.open(team(journal_location))
    desk = AttachedDesk(team(journal_location, "bob"))
    await desk.use_journal(journal, "bob:1")
    await desk.start()
    try:
        before = desk.reads
        await asyncio.sleep(2.5 * FALLBACK_S)
        assert desk.reads - before <= 4  # ~1 Hz, never faster than ~4 Hz with nothing to wake it
        await journal.archive([post(1)])
        took = await until(lambda: desk.feed_since(0) != [], within=1.0, what="a wake on the archive")
        assert took < 0.5
    finally:
        await desk.stop()
        await journal.close()


def spawn_ingest(location: str, operator: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(INGEST_SCRIPT), location, operator],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


async def read_line(proc: subprocess.Popen[str], within: float = 30.0) -> str:
    assert proc.stdout is not None
    line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), within)
    if not line:
        raise AssertionError(f"the ingest desk process ended: {proc.stderr.read() if proc.stderr else ''}")
    return line.strip()


@pytest.mark.slow
async def test_a_killed_ingest_desk_is_said_then_taken_over_from_its_cursors_and_nothing_acked_is_lost(
    journal_location: str,
) -> None:
    await (await Store.open(journal_location)).close()  # created and migrated before the desks race
    first = spawn_ingest(journal_location, "alice")
    second: subprocess.Popen[str] | None = None
    bob = Attached(team(journal_location), "bob")
    try:
        assert await read_line(first) == "role ingest"
        second = spawn_ingest(journal_location, "dan")
        assert await read_line(second) == "role standby"
        await bob.start()
        await until(lambda: len(bob.feed_uids()) >= 30, within=10, what="the first desk's posts")
        assert bob.session.journal is not None
        inc = await bob.session.open_incident("brioche", "sev1", "Storm")
        await bob.session.journal.acknowledge(inc.id)
        await bob.session.presence()
        assert bob.session.team is not None and bob.session.team.ingest_alive
        assert bob.session.team.ingest is not None and bob.session.team.ingest.operator == "alice"
        await asyncio.sleep(1.0)  # a cursor saved (every 0.5 s in the script)

        first.send_signal(signal.SIGKILL)
        first.wait(10)
        # the standby takes over from the cursor the killed desk saved, and goes on feeding
        line = await read_line(second)
        assert line.startswith("role ingest from ")
        resumed = int(line.rsplit(" ", 1)[1])
        assert resumed >= 30
        last_before = max(int(u.lstrip("c")) for u in bob.feed_uids())
        await until(
            lambda: max(int(u.lstrip("c")) for u in bob.feed_uids()) > last_before + 10,
            within=10,
            what="the new ingest desk's posts on the attached desk",
        )

        async def ingest_is(operator: str) -> bool:
            await bob.session.presence()
            team_view = bob.session.team
            return (
                team_view is not None
                and team_view.ingest_alive
                and team_view.ingest is not None
                and team_view.ingest.operator == operator
            )

        assert await ingest_is("dan")
        journal = bob.session.journal
        acked = await journal.incident(inc.id)
        assert acked.acknowledged_by == "bob"  # nothing acknowledged was lost

        # and when no ingest desk is left, the attached desk says so, and since when
        second.send_signal(signal.SIGKILL)
        second.wait(10)
        # the database lets a dead desk's lease go once it sees the connection closed: a moment, not at once
        await until(
            lambda: bob.session.team is not None and not bob.session.team.ingest_alive,
            within=5,
            what="the attached desk saying no ingest desk is left",
        )
        gone = bob.session.team
        assert gone is not None and gone.gone_since is not None
        for _ in range(100):
            if await journal.store.leader(INGEST) is None:
                break
            await asyncio.sleep(0.05)
        assert await journal.store.leader(INGEST) is None
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(10)
        await bob.stop()


async def test_the_killed_desk_is_said_within_a_heartbeat(journal_location: str) -> None:
    """An attached desk's own loop (not a test's call) notices the ingest desk is gone."""
    await (await Store.open(journal_location)).close()
    proc = spawn_ingest(journal_location, "alice")
    bob = Attached(team(journal_location), "bob")
    try:
        assert await read_line(proc) == "role ingest"
        await bob.start()
        await until(lambda: bob.session.team is not None and bob.session.team.ingest_alive, within=5)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        took = await until(
            lambda: bob.session.team is not None and not bob.session.team.ingest_alive,
            within=5,
            what="the attached desk saying the ingest desk is gone",
        )
        assert took <= 3.0  # a heartbeat (2 s) and a look
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        await bob.stop()


async def test_two_ingest_desks_started_at_once_one_leads_the_other_stands_by(journal_location: str) -> None:
    await (await Store.open(journal_location)).close()
    settings = team(journal_location)
    one, two = Ingest(settings), Ingest(settings)
    await asyncio.gather(one.session.start(), two.session.start())
    await asyncio.gather(one.desk.start(), two.desk.start())
    stopped: list[Ingest] = []
    try:
        roles = sorted([one.desk.role, two.desk.role])
        assert roles == ["ingest", "standby"]
        leader, standby = (one, two) if one.desk.role == "ingest" else (two, one)
        assert standby.sources == [] and standby.desk.sources == ()  # no source opened while standing by
        leader.put(*(post(i) for i in range(1, 11)))
        await until(lambda: len(standby.desk.feed_since(0)) == 10, what="the leader's posts on the standby")
        await asyncio.sleep(0.3)
        assert standby.session.archiver is not None and standby.session.archiver.written == 0
        await standby.session.presence()
        assert standby.session.team is not None and standby.session.team.role == "standby"
        assert leader.session.journal is not None
        await leader.session.save_cursors()

        # the leader leaves; the standby takes over where it stopped, and the wall's feed goes on
        shown = standby.desk.feed_since(0)[-1].seq
        await leader.stop()
        stopped.append(leader)
        await until(lambda: standby.desk.takeovers == 1, within=3, what="the standby taking over")
        assert standby.desk.role == "ingest" and standby.sources[-1].resumed_from == 10
        standby.put(post(11))
        await until(lambda: any(m.mention.uid == "c11" for m in standby.desk.feed_since(shown)), within=3)
        assert all(m.seq > shown for m in standby.desk.feed_since(shown))
        journal = standby.session.journal
        assert journal is not None
        await until(lambda: standby.session.archiver is not None and standby.session.archiver.written == 1)
        assert await journal.archived_count() == 11
    finally:
        for desk in (one, two):
            if desk not in stopped:
                await desk.stop()


async def test_a_dropped_postgresql_connection_under_an_attached_desk_is_survived(
    postgres_location: str, pg_server: PgServer
) -> None:
    settings = team(postgres_location)
    ingest = Ingest(settings)
    await ingest.start()
    bob = Attached(settings, "bob")
    await bob.start()
    try:
        ingest.put(*(post(i) for i in range(1, 6)))
        await until(lambda: len(bob.feed_uids()) == 5)
        assert pg_server.terminate_clients() > 0  # every connection: the desks', the listeners', the lease's
        ingest.put(*(post(i) for i in range(6, 11)))
        await until(lambda: len(bob.feed_uids()) == 10, within=15, what="posts after the drop")
        assert ingest.desk.role == "ingest" and ingest.desk.takeovers == 0  # the lease was taken back
        journal = ingest.session.journal
        assert journal is not None and await journal.store.leader(INGEST) == ingest.session.desk_id
        await bob.session.presence()
        assert bob.session.team is not None and bob.session.team.ingest_alive
        assert bob.session.journal is not None
        inc = await bob.session.open_incident("brioche", "sev3", "After the cut")
        await until(lambda: any(i.id == inc.id for i in ingest.session.incidents), within=2)
    finally:
        await bob.stop()
        await ingest.stop()


def test_an_attached_desks_clock_follows_the_ingest_desks_even_back_to_a_demos_time() -> None:
    real = [datetime(2026, 12, 4, 17, 30, tzinfo=UTC)]
    clock = FollowedClock(wall=lambda: real[0])
    assert clock.now() == real[0]  # real time until the ingest desk's first snapshot
    demo = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    clock.follow(demo, 10.0, written_at=real[0] - timedelta(seconds=1))
    assert clock.now() == demo + timedelta(seconds=10) and clock.speed == 10.0
    real[0] += timedelta(seconds=2)
    assert clock.now() == demo + timedelta(seconds=30)
    clock.follow(demo, 10.0, written_at=real[0])  # a late snapshot: the clock does not go back
    assert clock.now() == demo + timedelta(seconds=30)
    clock.follow(demo, 10.0, written_at=real[0], new_desk=True)  # another demo took over: its time
    assert clock.now() == demo


async def test_a_takeover_that_fails_is_said_and_lets_another_desk_try(journal_location: str) -> None:
    await (await Store.open(journal_location)).close()
    settings = team(journal_location)
    leader = Ingest(settings)
    await leader.start()

    def broken(clock: Clock) -> Desk:
        raise ValueError("source 'feed': no such file")

    standby = IngestDesk(settings, make_desk=broken, lead_poll=0.05, retry_takeover=30)
    session = JournalSession(settings, standby)
    await session.start()
    await standby.start()
    try:
        assert standby.role == "standby"
        await leader.stop()
        await until(lambda: standby.problem is not None, within=3, what="the failed takeover said")
        assert standby.problem is not None and "no such file" in standby.problem
        assert standby.role == "standby" and not standby.ingesting and standby.takeovers == 0
        assert session.journal is not None
        assert await session.journal.store.leader(INGEST) is None  # free for a desk that can ingest
    finally:
        await standby.stop()
        await session.stop()


async def test_a_headless_desk_waits_for_the_lease_saying_who_holds_it(journal_location: str) -> None:
    """``tocsin run --headless`` with a journal: a plain ``Desk``'s session takes the lease first."""
    settings = team(journal_location)
    first = JournalSession(settings, FakeDesk(settings), standby=True, background=False)
    second = JournalSession(settings, FakeDesk(settings), standby=True, background=False)
    await first.start()
    await second.start()
    try:
        assert not first.ingesting and first.role == "standby"  # writes nothing before the lease
        await first.lead_ingest()
        assert first.ingesting and first.role == "ingest"
        said: list[str] = []
        waiting = asyncio.create_task(second.lead_ingest(said.append))
        await until(lambda: said, what="the standby saying who ingests")
        assert said == [first.desk_id] and second.role == "standby" and not waiting.done()
        await first.stop()
        await asyncio.wait_for(waiting, 5)
        assert second.ingesting and second.role == "ingest"
    finally:
        await first.stop()
        await second.stop()
