"""The journal on PostgreSQL, what SQLite has no counterpart for: connections that drop (between writes,
during a COMMIT, for longer than the desk waits), the write lock held by another desk, LISTEN across a
reconnect, a leader whose connection goes, credentials that never show, and the server's own limits."""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from asyncpg.connection import Connection

from tests.pgserver import PASSWORD_ROLE, PgServer
from tocsin.journal.api import Journal
from tocsin.journal.errors import JournalBusy, JournalUnavailable
from tocsin.journal.postgres_store import PostgresStore, lock_key
from tocsin.journal.store import EVENTS, SCHEMA_VERSION, Store, redact_url
from tocsin.sources.clock import ManualClock

from .conftest import T0, mention, team_settings
from .test_team import next_wake

ROLE, SECRET = PASSWORD_ROLE


@pytest.fixture
def url(pg_server: PgServer) -> str:
    return pg_server.fresh_journal_url()


@pytest.fixture
async def journal(url: str) -> AsyncIterator[Journal]:
    j = await Journal.open(team_settings(url), clock=ManualClock(T0))
    try:
        yield j
    finally:
        await j.close()


async def notes_of(journal: Journal, incident_id: int) -> list[str]:
    return [n.text for n in (await journal.incident_record(incident_id)).notes]


# --- dropped connections ---------------------------------------------------------------------------


async def test_a_dropped_connection_is_reopened_by_the_next_write(
    journal: Journal, pg_server: PgServer
) -> None:
    inc = await journal.open_incident("brioche", "sev2", "Mould photo")
    assert pg_server.terminate_clients() >= 1  # as a server restart or a network cut would
    await journal.add_note(inc.id, "written after the drop")
    assert await notes_of(journal, inc.id) == ["written after the drop"]
    assert isinstance(journal.store, PostgresStore) and journal.store.reconnects == 1


async def test_drops_in_the_middle_of_a_stream_of_actions_lose_and_double_nothing(
    journal: Journal, pg_server: PgServer
) -> None:
    inc = await journal.open_incident("brioche", "sev1", "Storm")
    acknowledged: list[str] = []

    async def desk() -> None:
        for k in range(150):
            text = f"action {k}"
            await journal.add_note(inc.id, text)
            acknowledged.append(text)  # add_note returned: the desk told its operator it is saved

    writing = asyncio.create_task(desk())
    rng = random.Random(7)
    kills = 0
    while not writing.done():
        await asyncio.sleep(rng.uniform(0.005, 0.03))
        kills += pg_server.terminate_clients()
    await writing
    assert kills >= 3
    assert await notes_of(journal, inc.id) == acknowledged == [f"action {k}" for k in range(150)]


class LoseCommit:
    """Makes the next COMMIT on one connection lose its connection: ``after`` the server committed (the
    reply never came back), or ``before`` it could (the COMMIT never arrived)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, conn: Connection, when: str) -> None:
        real = Connection.execute
        self.fired = False

        async def execute(this: Connection, query: str, *args: Any, **kw: Any) -> str:
            if this is conn and query == "COMMIT" and not self.fired:
                self.fired = True
                if when == "after":
                    await real(this, query, *args, **kw)
                this.terminate()
                raise asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation")
            return await real(this, query, *args, **kw)

        monkeypatch.setattr(Connection, "execute", execute)


@pytest.mark.parametrize("when", ["after", "before"])
async def test_a_commit_whose_connection_drops_is_written_exactly_once(
    journal: Journal, monkeypatch: pytest.MonkeyPatch, when: str
) -> None:
    inc = await journal.open_incident("brioche", "sev2", "Mould photo")
    store = journal.store
    assert isinstance(store, PostgresStore) and store._conn is not None
    lose = LoseCommit(monkeypatch, store._conn, when)
    retries = store.retries
    await journal.add_note(inc.id, "the one note")
    assert lose.fired
    assert await notes_of(journal, inc.id) == ["the one note"]
    # committed: the server said so, nothing retried; not committed: retried once, on a new connection
    assert store.retries - retries == (0 if when == "after" else 1)


class Proxy:
    """A TCP relay to the server that the test can cut and restore: a network between desk and server."""

    def __init__(self, target_port: int) -> None:
        self.target = target_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for w in self._writers:
            w.transport.abort()
        self._writers.clear()
        await self._server.wait_closed()

    async def restore(self) -> None:
        await self.start()  # the same port


@pytest.fixture
async def proxy(pg_server: PgServer) -> AsyncIterator[Proxy]:
    relay = Proxy(pg_server.port)
    await relay.start()
    try:
        yield relay
    finally:
        with contextlib.suppress(Exception):
            await relay.cut()


@pytest.fixture
def tcp_journal_url(pg_server: PgServer, proxy: Proxy, monkeypatch: pytest.MonkeyPatch) -> str:
    """A journal through the relay, as the password role, its password from PGPASSWORD (not the URL)."""
    monkeypatch.setenv("PGPASSWORD", SECRET)
    schema = pg_server.new_schema(owner=ROLE)
    return f"postgresql://{ROLE}@127.0.0.1:{proxy.port}/tocsin?search_path={schema}"


async def test_a_network_cut_longer_than_the_desk_waits_is_said_then_the_journal_comes_back(
    tcp_journal_url: str, proxy: Proxy
) -> None:
    journal = await Journal.open(team_settings(tcp_journal_url), clock=ManualClock(T0), retry_for=0.5)
    try:
        inc = await journal.open_incident("brioche", "sev2", "Mould photo")
        await proxy.cut()
        with pytest.raises(JournalUnavailable) as info:
            await journal.add_note(inc.id, "lost in the cut")
        message = str(info.value)
        assert f"cannot reach the journal postgresql://{ROLE}@127.0.0.1:{proxy.port}/tocsin" in message
        assert SECRET not in message
        await proxy.restore()
        await journal.add_note(inc.id, "after the cut")
        assert await notes_of(journal, inc.id) == ["after the cut"]
    finally:
        await journal.close()


async def test_a_write_during_a_short_cut_waits_for_the_network(tcp_journal_url: str, proxy: Proxy) -> None:
    journal = await Journal.open(team_settings(tcp_journal_url), clock=ManualClock(T0), retry_for=10)
    try:
        inc = await journal.open_incident("brioche", "sev2", "Mould photo")
        await proxy.cut()
        writing = asyncio.create_task(journal.add_note(inc.id, "patient"))
        await asyncio.sleep(0.4)
        assert not writing.done()
        await proxy.restore()
        await asyncio.wait_for(writing, 10)
        assert await notes_of(journal, inc.id) == ["patient"]
    finally:
        await journal.close()


# --- the write lock --------------------------------------------------------------------------------


async def hold_write_lock(url: str, schema: str, seconds: float, started: asyncio.Event) -> None:
    """Another desk's long write transaction: the journal's write lock, held ``seconds``."""
    other = await asyncpg.connect(url)
    try:
        async with other.transaction():
            await other.execute("SELECT pg_advisory_xact_lock($1)", lock_key(schema, "write"))
            await other.execute("INSERT INTO cursors VALUES ('other-desk', 'x', 0)")
            started.set()
            await asyncio.sleep(seconds)
    finally:
        await other.close()


async def test_a_busy_journal_is_waited_for_not_reported(url: str) -> None:
    journal = await Journal.open(team_settings(url), clock=ManualClock(T0), busy_timeout=0.05)
    try:
        assert isinstance(journal.store, PostgresStore)
        started = asyncio.Event()
        holder = asyncio.create_task(hold_write_lock(url, journal.store.schema, 0.4, started))
        await started.wait()
        inc = await journal.open_incident("brioche", "sev2", "written once the other desk let go")
        await holder
        assert inc.id == 1 and journal.store.retries > 0
        assert await journal.get_cursor("other-desk") == "x"  # it waited for the other commit
    finally:
        await journal.close()


async def test_a_journal_held_too_long_says_busy_and_changes_nothing(url: str) -> None:
    journal = await Journal.open(team_settings(url), clock=ManualClock(T0), busy_timeout=0.02, retry_for=0.2)
    try:
        assert isinstance(journal.store, PostgresStore)
        started = asyncio.Event()
        holder = asyncio.create_task(hold_write_lock(url, journal.store.schema, 1.0, started))
        await started.wait()
        with pytest.raises(JournalBusy) as info:
            await journal.open_incident("brioche", "sev2", "Storm")
        assert "nothing changed" in str(info.value)
        await holder
        assert await journal.incidents() == []
    finally:
        await journal.close()


async def test_reads_never_wait_for_a_writer(url: str) -> None:
    journal = await Journal.open(team_settings(url), clock=ManualClock(T0))
    try:
        assert isinstance(journal.store, PostgresStore)
        await journal.open_incident("brioche", "sev2", "Mould photo")
        started = asyncio.Event()
        holder = asyncio.create_task(hold_write_lock(url, journal.store.schema, 1.0, started))
        await started.wait()
        reads = await asyncio.wait_for(asyncio.gather(journal.incidents(), journal.incident_record(1)), 0.5)
        assert len(reads[0]) == 1
        await holder
    finally:
        await journal.close()


# --- notifications and leadership across drops ------------------------------------------------------


async def test_a_listener_reconnects_after_a_drop_and_wakes_the_reader(url: str, pg_server: PgServer) -> None:
    journal = await Journal.open(team_settings(url), clock=ManualClock(T0))
    assert isinstance(journal.store, PostgresStore)
    try:
        async with journal.store.listen(EVENTS, heartbeat=0.1) as wakes:
            pg_server.terminate_clients()
            wake = await next_wake(wakes, EVENTS)
            assert wake.payload is None  # what was sent while it was away is lost: the reader reads anyway
            assert wakes.reconnects == 1
            inc = await journal.open_incident("brioche", "sev2", "after the drop")
            wake = await next_wake(wakes, EVENTS)
            assert wake.payload == str(inc.last_event_id)
    finally:
        await journal.close()


async def test_a_leader_whose_connection_drops_knows_it_and_another_desk_takes_over(
    url: str, pg_server: PgServer
) -> None:
    first = await Store.open(url)
    second = await Store.open(url)
    try:
        assert isinstance(first, PostgresStore)
        lease = await first.try_lead("ingest", holder="wall", heartbeat=0.1)
        assert lease is not None
        waiting = asyncio.create_task(second.lead("ingest", holder="laptop", poll=0.05))
        await asyncio.sleep(0.2)
        assert not waiting.done()
        pg_server.terminate_clients()  # the leader's connection among them
        await asyncio.wait_for(lease.lost.wait(), 3)
        assert not lease.held
        taken = await asyncio.wait_for(waiting, 5)
        assert taken.held and await first.leader("ingest") == "laptop"
        await lease.release()  # releasing a lost lease is harmless
        await taken.release()
    finally:
        await first.close()
        await second.close()


# --- credentials, the database, the server's limits -------------------------------------------------


def test_a_url_is_shown_without_its_password() -> None:
    assert (
        redact_url("postgresql://desk:hunter2@db.example:5432/crisis")
        == "postgresql://desk@db.example:5432/crisis"
    )
    assert (
        redact_url("postgres://:hunter2@db/crisis?sslmode=require") == "postgres://db/crisis?sslmode=require"
    )
    shown = redact_url("postgresql://desk@db/crisis?password=hunter2&application_name=wall")
    assert "hunter2" not in shown and "application_name=wall" in shown


async def test_a_wrong_password_is_refused_without_being_shown(pg_server: PgServer) -> None:
    url = pg_server.tcp_url(ROLE, password="not-the-Secret-42")
    with pytest.raises(JournalUnavailable) as info:
        await Journal.open(team_settings(url), clock=ManualClock(T0))
    message = str(info.value)
    assert message.startswith(
        f"cannot open the journal postgresql://{ROLE}@127.0.0.1:{pg_server.port}/tocsin"
    )
    assert "password" in message.lower() and "not-the-Secret-42" not in message
    assert info.value.__cause__ is None and info.value.__suppress_context__  # no driver traceback either


async def test_a_password_in_the_url_works_and_never_shows(pg_server: PgServer) -> None:
    schema = pg_server.new_schema(owner=ROLE)
    url = pg_server.tcp_url(ROLE, password=SECRET, search_path=schema)
    store = await Store.open(url)
    try:
        assert SECRET not in store.location and SECRET not in repr(store)
        assert store.location == f"postgresql://{ROLE}@127.0.0.1:{pg_server.port}/tocsin?search_path={schema}"
    finally:
        await store.close()


async def test_an_unreachable_server_is_a_clear_error(pg_server: PgServer) -> None:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: connections are refused
        with pytest.raises(
            JournalUnavailable, match=rf"cannot open the journal postgresql://desk@127.0.0.1:{port}/x"
        ):
            await Store.open(f"postgresql://desk:hunter2@127.0.0.1:{port}/x")


async def test_a_journal_from_a_newer_tocsin_is_refused(url: str, pg_server: PgServer) -> None:
    store = await Store.open(url)
    assert isinstance(store, PostgresStore)
    await store.close()
    pg_server.sql(f"UPDATE {store.schema}.tocsin_schema SET version = {SCHEMA_VERSION + 1}")
    with pytest.raises(JournalUnavailable, match="written by a newer tocsin"):
        await Store.open(url)


async def test_a_database_not_in_utf8_is_refused(pg_server: PgServer) -> None:
    pg_server.sql("CREATE DATABASE latin TEMPLATE template0 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'")
    try:
        with pytest.raises(JournalUnavailable, match="LATIN1 database: tocsin needs UTF8"):
            await Store.open(pg_server.url(database="latin"))
    finally:
        pg_server.sql("DROP DATABASE latin")


async def test_a_schema_that_does_not_exist_is_refused(pg_server: PgServer) -> None:
    with pytest.raises(JournalUnavailable, match="no schema to live in"):
        await Store.open(pg_server.url(search_path="nowhere"))


async def test_a_nul_in_a_post_is_kept(journal: Journal) -> None:
    """PostgreSQL's text cannot hold a NUL; the archive's record is bytes, so the post keeps it as written."""
    await journal.archive([mention("m1", "brioche\x00moisie")])
    got = await journal.archived_mention("demo", "m1")
    assert got is not None and got.mention.text == "brioche\x00moisie"


async def test_the_tables_have_postgresql_types_wide_enough(journal: Journal) -> None:
    """Millisecond times and the archive's keys need 64 bits (INTEGER is 32 in PostgreSQL); the
    archive's records are bytes."""
    rows = dict(
        await journal.store.fetchall(
            "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = current_schema()"
        )
    )
    assert rows["events.at"] == rows["mentions.created_at"] == rows["outbox.retry_at"] == "bigint"
    assert rows["mentions.key"] == "bigint" and rows["mentions.body"] == rows["mention_dicts.body"] == "bytea"
    ident = await journal.store.scalar(
        "SELECT is_identity FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = 'events' AND column_name = 'id'"
    )
    assert ident == "YES"
