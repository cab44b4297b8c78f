"""The journal's storage: one interface, two databases.

Everything above this module (incidents, the outbox, the archive, the queries) is written once against
``Store`` and ``Tx``, in SQL both databases accept; what cannot be written once is spelt out in
``journal/dialect.py``. ``Store.open(location)`` picks the backend:

- a file path: ``SqliteStore`` (journal/sqlite_store.py), the embedded journal of one machine (WAL, so
  desks on that machine read while one writes);
- a ``postgresql://`` (or ``postgres://``) URL: ``PostgresStore`` (journal/postgres_store.py), the
  journal of a team across machines, through asyncpg. Credentials come from the environment (libpq's
  ``PGPASSWORD``, ``PGUSER``, ``~/.pgpass``, or ``${VAR}`` in the config); the URL is only ever shown
  without its password (``redact_url``).

What every backend guarantees, and the code above relies on:

- ``write(fn)`` runs ``fn`` in one transaction **serialised with every other writer of the journal, in
  every process and on every machine**, and returns after the commit. So read-then-write code needs no
  locking of its own: the next incident id (``max(id) + 1``), the outbox's claim of due rows, dedupe keys,
  one decision per approval draft. SQLite does it with ``BEGIN IMMEDIATE``; PostgreSQL with a
  transaction-level advisory lock taken as the transaction's first statement (see PostgresStore).
- ``fn`` may run more than once (a busy journal, a dropped connection), so it must only touch the
  database. Any exception from it rolls everything back.
- ``read(fn)`` sees one consistent snapshot, and never waits for a writer.
- notifications (``Tx.notify``) reach listeners (``Store.listen``) only if their transaction commits.
- leadership (``Store.try_lead``/``lead``): at most one holder of a name at a time, released when its
  process dies, so another desk takes over without anyone cleaning up.
"""

from __future__ import annotations

import asyncio
import collections
import os
import socket
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tocsin.config.settings import is_database_url
from tocsin.journal.errors import JournalUnavailable

if TYPE_CHECKING:
    from tocsin.journal.dialect import Dialect

T = TypeVar("T")
Params = Sequence[Any] | Mapping[str, Any]

MigrationStep = Callable[["Tx"], Awaitable[None]]
"""A migration step written in Python, for data SQL cannot convert the same way on both databases; like
the statements around it, it runs inside the migration's transaction."""


async def _compact_archive(tx: Tx) -> None:
    """Migration 7's step: every archived mention into the compact archive (``journal/archive.py``)."""
    from tocsin.journal.archive import convert_archive_v7

    await convert_archive_v7(tx)


# Ordered migrations: (version, statements). Never edit a released one; append a new version.
MIGRATIONS: tuple[tuple[int, tuple[str | MigrationStep, ...]], ...] = (
    (
        1,
        (
            """CREATE TABLE events (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                incident_id INTEGER,
                at INTEGER NOT NULL,
                operator TEXT NOT NULL,
                kind TEXT NOT NULL,
                payload TEXT NOT NULL
            )""",
            "CREATE INDEX events_incident ON events(incident_id, id)",
            "CREATE INDEX events_kind ON events(kind, id)",
            "CREATE INDEX events_at ON events(at)",
            """CREATE TABLE incidents (
                id INTEGER PRIMARY KEY,
                topic TEXT NOT NULL,
                state TEXT NOT NULL,
                severity TEXT NOT NULL,
                opened_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                resolved_at INTEGER,
                last_event_id INTEGER NOT NULL,
                data TEXT NOT NULL
            )""",
            "CREATE INDEX incidents_state ON incidents(state, topic)",
            """CREATE TABLE mentions (
                source TEXT NOT NULL,
                uid TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                received_at INTEGER NOT NULL,
                topics TEXT NOT NULL,
                author TEXT NOT NULL,
                text TEXT NOT NULL,
                url TEXT,
                lang TEXT,
                hashtags TEXT,
                engagement TEXT,
                sentiment_label TEXT,
                sentiment_score REAL,
                sentiment_engine TEXT,
                scores TEXT,
                pinned INTEGER NOT NULL DEFAULT 0,
                PRIMARY KEY (source, uid)
            )""",
            "CREATE INDEX mentions_created ON mentions(created_at)",
            """CREATE TABLE volume (
                topic TEXT NOT NULL,
                minute INTEGER NOT NULL,
                count INTEGER NOT NULL,
                negative INTEGER NOT NULL DEFAULT 0,
                neutral INTEGER NOT NULL DEFAULT 0,
                positive INTEGER NOT NULL DEFAULT 0,
                PRIMARY KEY (topic, minute)
            ) WITHOUT ROWID""",
            """CREATE TABLE pins (
                incident_id INTEGER NOT NULL,
                source TEXT NOT NULL,
                uid TEXT NOT NULL,
                event_id INTEGER NOT NULL,
                PRIMARY KEY (incident_id, source, uid)
            ) WITHOUT ROWID""",
            """CREATE TABLE cursors (
                source_id TEXT PRIMARY KEY,
                value TEXT NOT NULL,
                updated_at INTEGER NOT NULL
            ) WITHOUT ROWID""",
        ),
    ),
    (
        2,
        (
            # revisions of archived mentions: when the desk learnt the post was deleted or edited
            # (ms), and the words first archived, kept on the first edit that changed them
            "ALTER TABLE mentions ADD COLUMN deleted_at INTEGER",
            "ALTER TABLE mentions ADD COLUMN edited_at INTEGER",
            "ALTER TABLE mentions ADD COLUMN original_text TEXT",
        ),
    ),
    (
        3,
        (
            # facts about the journal itself: ``clock`` is the kind of clock its desk runs on (wall or
            # simulated), so demo and replay time never mix with a real desk's timeline
            """CREATE TABLE journal_meta (
                key TEXT PRIMARY KEY,
                value TEXT NOT NULL
            ) WITHOUT ROWID""",
        ),
    ),
    (
        4,
        (
            # the outbox: every message to people away from the wall, written before it is attempted,
            # so a dead receiver or a killed desk loses nothing (see journal/outbox.py). Desk times
            # (created_at, due_at) follow the desk's clock; retry and lease times are real epoch ms.
            """CREATE TABLE outbox (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                output TEXT NOT NULL,
                recipient TEXT NOT NULL DEFAULT '',
                address TEXT NOT NULL DEFAULT '',
                incident_id INTEGER,
                created_at INTEGER NOT NULL,
                due_at INTEGER NOT NULL,
                retry_at INTEGER NOT NULL,
                state TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                claimed_by TEXT,
                claimed_until INTEGER,
                last_error TEXT,
                delivered_at INTEGER,
                groupable INTEGER NOT NULL DEFAULT 1,
                alerts TEXT NOT NULL
            )""",
            "CREATE INDEX outbox_state ON outbox(state, retry_at)",
            "CREATE INDEX outbox_channel ON outbox(output, recipient, id)",
            "CREATE INDEX outbox_incident ON outbox(incident_id, output)",
            # one message per incident and trigger (and step): the dedupe keys, whoever enqueued
            """CREATE TABLE outbox_keys (
                key TEXT PRIMARY KEY,
                outbox_id INTEGER NOT NULL
            ) WITHOUT ROWID""",
        ),
    ),
    (
        5,
        (
            # responses held for a second person's approval (team.approval): one row per draft, its
            # decision written in the same transaction as the event that makes it, so two desks can
            # never both approve one draft, and "what awaits approval" is one indexed query
            """CREATE TABLE drafts (
                event_id INTEGER PRIMARY KEY,
                incident_id INTEGER NOT NULL,
                author TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                state TEXT NOT NULL DEFAULT 'pending',
                decided_event_id INTEGER
            )""",
            "CREATE INDEX drafts_pending ON drafts(state, incident_id)",
        ),
    ),
    (
        6,
        (
            # attached desks (desk/attach.py) read the archive in the order it was written: every
            # archive write (a new mention, a revision, a deletion) gives the row the next ``seq``, from
            # the counter ``mentions_seq`` in journal_meta (never reused, even when pruning empties the
            # table); rows from before this version keep none. A reply needs the post's own reference.
            "ALTER TABLE mentions ADD COLUMN seq INTEGER",
            "ALTER TABLE mentions ADD COLUMN reply_to TEXT",
            "ALTER TABLE mentions ADD COLUMN raw_ref TEXT",
            "CREATE INDEX mentions_seq ON mentions(seq)",
            # the ingest desk's latest snapshot, in its JSON form, for attached desks: one row per
            # name (``ingest``), overwritten ~2 times a second; ``version`` goes up with each
            """CREATE TABLE snapshots (
                name TEXT PRIMARY KEY,
                version INTEGER NOT NULL,
                desk TEXT NOT NULL,
                written_at INTEGER NOT NULL,
                body TEXT NOT NULL
            ) WITHOUT ROWID""",
            # every desk on the journal and its heartbeat (real epoch ms): who watches, who ingests
            """CREATE TABLE desks (
                id TEXT PRIMARY KEY,
                operator TEXT NOT NULL,
                role TEXT NOT NULL,
                host TEXT NOT NULL,
                pid INTEGER NOT NULL,
                started_at INTEGER NOT NULL,
                seen_at INTEGER NOT NULL
            ) WITHOUT ROWID""",
        ),
    ),
    (
        7,
        (
            # the compact archive (journal/archive.py says why): a mention is one record compressed with
            # zstd and a dictionary trained on the journal's own mentions (``dict``: which one, 0 for
            # none), found by ``key``, a 64-bit hash of (source, uid) that rows may share (their records
            # tell them apart); what queries select on stays a column. ``pinned``: 1 pinned evidence, 2
            # kept past retention for an incident's window. Dictionaries are immutable and never reused.
            """CREATE TABLE mention_dicts (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                seq INTEGER NOT NULL,
                samples INTEGER NOT NULL,
                trained_at INTEGER NOT NULL,
                body BLOB NOT NULL
            )""",
            """CREATE TABLE archive_v7 (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                key INTEGER NOT NULL,
                created_at INTEGER NOT NULL,
                seq INTEGER,
                topics TEXT NOT NULL,
                pinned INTEGER NOT NULL DEFAULT 0,
                deleted_at INTEGER,
                edited_at INTEGER,
                dict INTEGER NOT NULL,
                body BLOB NOT NULL
            )""",
            _compact_archive,  # every row of schema 6's mentions, converted
            "DROP TABLE mentions",
            "ALTER TABLE archive_v7 RENAME TO mentions",
            "CREATE INDEX mentions_key ON mentions(key)",
            "CREATE INDEX mentions_created ON mentions(created_at)",
            "CREATE INDEX mentions_seq ON mentions(seq)",
        ),
    ),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]

EVENTS = "events"
"""Channel: events were appended (payload: the newest event id)."""
MENTIONS = "mentions"
"""Channel: mentions were archived (payload: how many in the batch)."""
SNAPSHOTS = "snapshots"
"""Channel: a desk wrote a snapshot of what it shows (for attached desks)."""
CHANNELS = (EVENTS, MENTIONS, SNAPSHOTS)


def to_ms(dt: datetime) -> int:
    """Aware datetime → integer milliseconds since the epoch (how times are stored)."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return round(dt.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def redact_url(url: str) -> str:
    """The URL as it may be shown or logged: no password, whether in the address or in the query."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, host = netloc.rsplit("@", 1)
            user = userinfo.split(":", 1)[0]
            netloc = f"{user}@{host}" if user else host
        secret = ("password", "sslpassword")
        query = urlencode(
            [(k, "***" if k.lower() in secret else v) for k, v in parse_qsl(parts.query)], safe="/*"
        )
        return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
    except ValueError:  # not even parseable: show its scheme only
        return url.split(":", 1)[0] + "://…"


def default_holder() -> str:
    """``host:pid``: who holds a lease, as another desk reads it (``Store.leader``)."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True, slots=True)
class Wake:
    """Something new may be in the journal on ``channel``: read it (from your own last position).

    A wake is a hint, never the data: readers always read what is new since what they last saw, so a
    wake that is coalesced, duplicated or lost (a reconnect) costs nothing but latency."""

    channel: str
    payload: str | None = None
    """What the writer said (the newest event id…), or None when the backend only knows that something
    may have changed (SQLite's poll of another process's commits, PostgreSQL after a reconnect)."""


class Tx(ABC):
    """The statements of one transaction (only valid inside ``Store.write``/``Store.read``).

    ``params`` are a sequence for ``?`` placeholders (``?1``, ``?2`` to use one value twice)."""

    dialect: Dialect

    def __init__(self, cache: dict[str, Any] | None = None) -> None:
        self._notes: dict[str, str] = {}
        self.cache: dict[str, Any] = {} if cache is None else cache
        """The store's ``cache``, shared by its transactions."""

    @abstractmethod
    async def execute(self, sql: str, params: Params = ()) -> None:
        """Run a statement (``INSERT … RETURNING id`` through ``scalar`` when the new id is needed)."""

    @abstractmethod
    async def changed(self, sql: str, params: Params = ()) -> int:
        """Run an UPDATE or DELETE; returns how many rows it changed."""

    @abstractmethod
    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    @abstractmethod
    async def fetchall(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]: ...

    async def fetchone(self, sql: str, params: Params = ()) -> tuple[Any, ...] | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def scalar(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return row[0] if row else None

    def notify(self, channel: str, payload: str = "") -> None:
        """Wake the journal's listeners on ``channel`` once this transaction commits (never if it rolls
        back). Several notifications on one channel in one transaction are sent as one, the last
        payload winning: a wake says "read", not what to read."""
        self._notes[channel] = payload

    def _take_notes(self) -> dict[str, str]:
        notes, self._notes = self._notes, {}
        return notes


class Listener(ABC):
    """Wakes for some channels of one journal: ``async with store.listen(EVENTS) as wakes: async for …``.

    Pending wakes are coalesced per channel (the newest payload kept), so a reader that falls behind
    holds one wake per channel, not one per transaction."""

    def __init__(self, channels: Sequence[str]) -> None:
        if not channels:
            raise ValueError("listen to at least one channel")
        self.channels = tuple(dict.fromkeys(channels))
        self._pending: collections.OrderedDict[str, Wake] = collections.OrderedDict()
        self._ready = asyncio.Event()

    def _push(self, wake: Wake) -> None:
        if wake.channel not in self.channels:
            return
        if wake.payload is None and wake.channel in self._pending:
            return  # keep the payload already waiting: it says more
        self._pending[wake.channel] = wake
        self._ready.set()

    def _push_all(self) -> None:
        """Something may have changed on every channel (a commit seen without its payload, a reconnect)."""
        for channel in self.channels:
            self._push(Wake(channel))

    async def get(self, within: float | None = None) -> Wake | None:
        """The next wake; None after ``within`` seconds without one."""
        while not self._pending:
            self._ready.clear()
            if within is None:
                await self._ready.wait()
            else:
                try:
                    await asyncio.wait_for(self._ready.wait(), within)
                except TimeoutError:
                    return None
        _, wake = self._pending.popitem(last=False)
        return wake

    def __aiter__(self) -> Listener:
        return self

    async def __anext__(self) -> Wake:
        wake = await self.get()
        assert wake is not None  # no timeout: get waits
        return wake

    @abstractmethod
    async def start(self) -> None:
        """Begin listening (``async with`` calls it)."""

    @abstractmethod
    async def close(self) -> None: ...

    async def __aenter__(self) -> Listener:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


class Lease(ABC):
    """Leadership of ``name`` on one journal, held until ``release`` or until its process dies.

    ``lost`` is set if leadership went away without a release (the PostgreSQL connection holding it
    dropped): the holder must stop what only the leader may do, and contend again with ``Store.lead``."""

    def __init__(self, name: str, holder: str) -> None:
        self.name = name
        self.holder = holder
        self.lost = asyncio.Event()
        self._released = False

    @property
    def held(self) -> bool:
        return not self._released and not self.lost.is_set()

    @abstractmethod
    async def release(self) -> None:
        """Give leadership up (another contender takes it at its next try)."""

    async def __aenter__(self) -> Lease:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.release()


def check_lease_name(name: str) -> str:
    """Lease names become file names and lock keys: short, plain words."""
    if not name or len(name) > 40 or not all(c.isalnum() or c in "-_." for c in name):
        raise ValueError(f"a lease name is 1 to 40 letters, digits, '-', '_' or '.': {name!r}")
    return name


class Store(ABC):
    """An open journal. Use ``Store.open``; close it (an open connection hangs process exit)."""

    dialect: Dialect
    path: Path | None
    """The journal's file (None for a database server)."""
    location: str
    """Where the journal is, as it may be shown: the file's path, or the URL without its password."""

    def __init__(self) -> None:
        self.retries = 0
        """How many times a busy (or unreachable) journal made us retry (for tests and the status line)."""
        self.cache: dict[str, Any] = {}
        """What this process keeps of the journal's immutable data between transactions (the archive's
        compression dictionaries: ``journal/archive_format.py``), reached from any ``Tx`` as ``tx.cache``."""

    @classmethod
    async def open(cls, location: str | Path, *, busy_timeout: float = 5.0, retry_for: float = 30.0) -> Store:
        """Open (creating if needed) and migrate the journal at ``location``: a file path, or a
        ``postgresql://`` URL. ``busy_timeout``: how long one attempt waits for another writer;
        ``retry_for``: how long a write keeps trying before ``JournalBusy`` (or, for a database server
        that cannot be reached, ``JournalUnavailable``)."""
        if cls is not Store:
            raise NotImplementedError(f"{cls.__name__} must define open")
        if is_database_url(location):
            from tocsin.journal.postgres_store import PostgresStore

            return await PostgresStore.open(location, busy_timeout=busy_timeout, retry_for=retry_for)
        from tocsin.journal.sqlite_store import SqliteStore

        return await SqliteStore.open(location, busy_timeout=busy_timeout, retry_for=retry_for)

    # --- transactions ----------------------------------------------------------------------------

    @abstractmethod
    async def write(self, fn: Callable[[Tx], Awaitable[T]], *, durable: bool = True) -> T:
        """Run ``fn`` in one write transaction, serialised with every writer of the journal, and commit;
        retried whole while the journal is busy. Returns after the commit.

        ``durable=False`` (bulk archive batches, cursors, volume minutes: things a source can replay)
        may trade the last transactions on a power cut or server crash for speed; never consistency."""

    @abstractmethod
    async def read(self, fn: Callable[[Tx], Awaitable[T]]) -> T:
        """Run ``fn`` in one read transaction (a consistent view of the journal)."""

    async def fetchall(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        """One query, its own read transaction."""

        async def q(tx: Tx) -> list[tuple[Any, ...]]:
            return await tx.fetchall(sql, params)

        return await self.read(q)

    async def scalar(self, sql: str, params: Params = ()) -> Any:
        rows = await self.fetchall(sql, params)
        return rows[0][0] if rows else None

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def vacuum_free_pages(self) -> None:
        """Give space freed by pruning back (a no-op where the database does it on its own)."""

    # --- schema ----------------------------------------------------------------------------------

    @abstractmethod
    async def _schema_version(self, tx: Tx) -> int:
        """The version of the schema the journal holds (0 for an empty one)."""

    @abstractmethod
    async def _set_schema_version(self, tx: Tx, version: int) -> None: ...

    async def schema_version(self) -> int:
        async def q(tx: Tx) -> int:
            return await self._schema_version(tx)

        return await self.read(q)

    async def _migrate(self) -> None:
        """Apply the migrations the journal lacks, in order, in one write transaction: two desks that
        open a new journal at once migrate it once (the second finds it done). ``MIGRATIONS`` are read
        when this runs, so a test can add some."""
        import tocsin.journal.store as this

        migrations, latest = this.MIGRATIONS, this.SCHEMA_VERSION

        async def step(tx: Tx) -> int:
            version = await self._schema_version(tx)
            if version > latest:
                raise JournalUnavailable(
                    f"the journal {self.location} was written by a newer tocsin (schema {version}, "
                    f"this one knows {latest}): upgrade tocsin"
                )
            for v, statements in migrations:
                if v > version:
                    for sql in statements:
                        if isinstance(sql, str):
                            await tx.execute(self.dialect.ddl(sql))
                        else:  # a step that converts data in Python (the same on both databases)
                            await sql(tx)
            if version != latest:
                await self._set_schema_version(tx, latest)
            return version

        before = await self.write(step)
        if 0 < before < latest:  # a migration that rewrote tables leaves their old pages free
            await self.vacuum_free_pages()

    # --- notifications ---------------------------------------------------------------------------

    @abstractmethod
    def listen(self, *channels: str) -> Listener:
        """Wakes for ``channels`` (``EVENTS``, ``MENTIONS``, ``SNAPSHOTS``…): ``async with`` it.

        PostgreSQL: LISTEN on a connection of its own, reconnected when it drops (each channel then
        wakes once, since notifications sent meanwhile are lost). SQLite: immediate wakes for this
        process's own writes, and a poll of the file's commit counter for other processes' (``poll``
        seconds apart)."""

    # --- leadership ------------------------------------------------------------------------------

    @abstractmethod
    async def try_lead(self, name: str, *, holder: str | None = None) -> Lease | None:
        """Take leadership of ``name`` (e.g. ``"ingest"``) if nobody holds it; None if someone does.
        ``holder`` says who (default ``host:pid``), for ``leader``. ``JournalUnavailable`` when the
        journal cannot answer (the server out of reach)."""

    @abstractmethod
    async def leader(self, name: str) -> str | None:
        """Who holds leadership of ``name`` now (their ``holder``), or None."""

    async def lead(self, name: str, *, holder: str | None = None, poll: float = 0.5) -> Lease:
        """Wait until leadership of ``name`` is ours: a second ingest desk waits here and takes over
        within ``poll`` seconds of the leader's death (its process gone, or its connection). A journal
        out of reach is waited for too: nobody can lead without it, and the desk says so elsewhere."""
        while True:
            try:
                lease = await self.try_lead(name, holder=holder)
            except JournalUnavailable:
                lease = None
            if lease is not None:
                return lease
            await asyncio.sleep(poll)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.location}>"
