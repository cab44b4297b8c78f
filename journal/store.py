"""The journal file: one aiosqlite connection, WAL, busy retries, schema migrations.

Several tocsin processes on one machine share one journal. Every write runs in ``BEGIN IMMEDIATE``
(the write lock is taken up front, so two writers never deadlock on a lock upgrade), with SQLite's
``busy_timeout`` and, around it, our own retry of the whole transaction: "database is locked" never
reaches the operator, only ``JournalBusy`` after ``retry_for`` seconds of trying. Actions commit with
``synchronous=FULL``; bulk archive batches may ask for ``NORMAL`` (the WAL still keeps them safe from a
crash of the process, only a power cut can lose the last ones).

One connection serves the process and its operations are serialised by a lock: a coroutine's
transaction spans several awaits, and another coroutine must not slip a statement into it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
from tocsin.journal.errors import JournalBusy, JournalUnavailable

T = TypeVar("T")

_BUSY_CODES = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)

# Ordered migrations: (version, statements). Never edit a released one; append a new version.
MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
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
)
SCHEMA_VERSION = MIGRATIONS[-1][0]


def to_ms(dt: datetime) -> int:
    """Aware datetime → integer milliseconds since the epoch (how times are stored)."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return round(dt.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def is_busy(exc: BaseException) -> bool:
    """SQLITE_BUSY / SQLITE_LOCKED, whatever the extended code."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in _BUSY_CODES
    msg = str(exc).lower()
    return "locked" in msg or "busy" in msg


def prepare_path(path: str | Path) -> Path:
    """Create the journal's directory (0700) and file (0600) if they do not exist yet.

    SQLite gives the ``-wal`` and ``-shm`` files the database file's permissions, so creating the
    file ourselves, owner-only, keeps all three private. Returns the path, ``~`` expanded.
    """
    path = Path(path).expanduser()
    parent = path.parent
    if not parent.exists():
        parent.mkdir(parents=True, mode=0o700, exist_ok=True)
        os.chmod(parent, 0o700)  # mkdir's mode is filtered by the umask
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path
    os.close(fd)
    os.chmod(path, 0o600)
    return path


class Tx:
    """The statements of one transaction (only valid inside ``Store.write``/``Store.read``)."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> int:
        """Run a statement; returns the last inserted rowid."""
        cur = await self._conn.execute(sql, params)
        rowid = cur.lastrowid
        await cur.close()
        return int(rowid or 0)

    async def changed(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> int:
        """Run an UPDATE or DELETE; returns how many rows it changed."""
        cur = await self._conn.execute(sql, params)
        count = cur.rowcount
        await cur.close()
        return int(count)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        cur = await self._conn.executemany(sql, rows)
        await cur.close()

    async def fetchall(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
    ) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in await self._conn.execute_fetchall(sql, params)]

    async def fetchone(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
    ) -> tuple[Any, ...] | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def scalar(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return row[0] if row else None


INTEGRITY_CHECK_S = 2.0
"""How long (real seconds) opening a journal may spend checking it for damage."""


class Store:
    """An open journal file. Use ``Store.open``; close it (an open connection hangs process exit)."""

    def __init__(
        self,
        conn: aiosqlite.Connection,
        path: Path,
        *,
        retry_for: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._conn = conn
        self.path = path
        self._retry_for = retry_for
        self._monotonic = monotonic
        self._lock = asyncio.Lock()
        self._synchronous = "FULL"
        self._tx = Tx(conn)
        self.retries = 0
        """How many times a busy journal made us retry (for tests and the status line)."""

    @classmethod
    async def open(cls, path: str | Path, *, busy_timeout: float = 5.0, retry_for: float = 30.0) -> Store:
        """Open (creating if needed) and migrate the journal at ``path``."""
        try:
            path = prepare_path(path)
            conn = await aiosqlite.connect(path, isolation_level=None, timeout=busy_timeout)
        except (OSError, sqlite3.Error) as exc:
            raise JournalUnavailable(f"cannot open the journal {path}: {exc}") from None
        store = cls(conn, path, retry_for=retry_for)
        try:
            await store._setup(busy_timeout)
        except BaseException:
            await conn.close()
            raise
        return store

    async def _setup(self, busy_timeout: float) -> None:
        async def pragmas() -> None:
            await self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            # must precede the first table; a no-op on an existing journal
            await self._conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
            async with self._conn.execute("PRAGMA journal_mode = WAL") as cur:
                row = await cur.fetchone()
            if not row or str(row[0]).lower() != "wal":
                raise JournalUnavailable(f"the journal {self.path} cannot use write-ahead logging")
            await self._conn.execute("PRAGMA synchronous = FULL")

        try:
            await self._retrying(pragmas)
            await self._check_integrity()
            await self._migrate()
        except sqlite3.DatabaseError as exc:
            raise JournalUnavailable(f"the journal {self.path} is not readable: {exc}") from None

    async def _check_integrity(self) -> None:
        """``PRAGMA quick_check`` at open, cut off after ``INTEGRITY_CHECK_S``: damage in pages the
        desk has not read yet is otherwise found only when a post-mortem needs them. A journal too big
        to check in time is opened unchecked (a check that never ends is worse than none)."""
        deadline = self._monotonic() + INTEGRITY_CHECK_S
        interrupted = False

        def over_time() -> int:
            nonlocal interrupted
            interrupted = self._monotonic() > deadline
            return 1 if interrupted else 0

        await self._conn.set_progress_handler(over_time, 10_000)
        try:
            async with self._conn.execute("PRAGMA quick_check(5)") as cur:
                rows = [str(r[0]) for r in await cur.fetchall()]
        except sqlite3.OperationalError:
            if interrupted:
                return
            raise
        except sqlite3.DatabaseError as exc:
            rows = [str(exc)]
        finally:
            await self._conn.set_progress_handler(None, 0)
        if rows != ["ok"]:
            raise JournalUnavailable(
                f"the journal {self.path} is damaged ({'; '.join(rows)[:200]}): nothing was changed. "
                f"Keep a copy, then recover what is readable with "
                f"`sqlite3 {self.path} .recover | sqlite3 recovered.sqlite` and point desk.journal at "
                f"it, or move the file aside to start a new journal"
            )

    async def _migrate(self) -> None:
        async def step(tx: Tx) -> None:
            version = int(await tx.scalar("PRAGMA user_version"))
            if version > SCHEMA_VERSION:
                raise JournalUnavailable(
                    f"the journal {self.path} was written by a newer tocsin (schema {version}, "
                    f"this one knows {SCHEMA_VERSION}): upgrade tocsin"
                )
            for v, statements in MIGRATIONS:
                if v > version:
                    for sql in statements:
                        await tx.execute(sql)
            if version != SCHEMA_VERSION:
                await tx.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

        await self.write(step)

    async def close(self) -> None:
        async with self._lock:
            await self._conn.close()

    async def _retrying(self, attempt: Callable[[], Awaitable[T]]) -> T:
        start = self._monotonic()
        delay = 0.005
        while True:
            try:
                return await attempt()
            except sqlite3.DatabaseError as exc:
                if type(exc) is sqlite3.DatabaseError:  # "database disk image is malformed", "not a database"
                    raise JournalUnavailable(f"the journal {self.path} is not readable: {exc}") from exc
                if not isinstance(exc, sqlite3.OperationalError):
                    raise  # integrity or programming errors are bugs: keep the traceback
                if not is_busy(exc):
                    # disk full, read-only file, I/O error: the operator can act on these
                    raise JournalUnavailable(f"the journal {self.path} cannot be used: {exc}") from exc
                if self._monotonic() - start >= self._retry_for:
                    raise JournalBusy(self._monotonic() - start) from None
                self.retries += 1
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.25)

    async def write(self, fn: Callable[[Tx], Awaitable[T]], *, durable: bool = True) -> T:
        """Run ``fn`` in one write transaction and commit; retried whole while the journal is busy.

        Returns after the commit. ``fn`` may run more than once, so it must only touch the database.
        Any exception from ``fn`` rolls everything back.
        """
        async with self._lock:
            await self._set_synchronous("FULL" if durable else "NORMAL")

            async def attempt() -> T:
                try:  # BEGIN inside: a cancel while it is queued must still end the transaction
                    await self._conn.execute("BEGIN IMMEDIATE")
                    result = await fn(self._tx)
                    await self._conn.execute("COMMIT")
                except BaseException:
                    await self._rollback()
                    raise
                return result

            return await self._retrying(attempt)

    async def read(self, fn: Callable[[Tx], Awaitable[T]]) -> T:
        """Run ``fn`` in one read transaction (a consistent view of the journal)."""
        async with self._lock:

            async def attempt() -> T:
                try:
                    await self._conn.execute("BEGIN")
                    return await fn(self._tx)
                finally:
                    await self._rollback()

            return await self._retrying(attempt)

    async def fetchall(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
    ) -> list[tuple[Any, ...]]:
        """One query, its own read transaction."""

        async def q(tx: Tx) -> list[tuple[Any, ...]]:
            return await tx.fetchall(sql, params)

        return await self.read(q)

    async def scalar(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> Any:
        rows = await self.fetchall(sql, params)
        return rows[0][0] if rows else None

    async def _rollback(self) -> None:
        # Always sent, not only when ``in_transaction`` says so: the connection's thread runs statements
        # in order, and a BEGIN whose caller was cancelled may still be queued — checking from here could
        # see no transaction, leave it open once it runs, and fail every later write ("cannot start a
        # transaction within a transaction"). A ROLLBACK queued behind it always ends it. When there is
        # nothing to roll back (a cancelled COMMIT that ran anyway), the error must not hide the original.
        with contextlib.suppress(sqlite3.Error):
            await self._conn.execute("ROLLBACK")

    async def _set_synchronous(self, mode: str) -> None:
        if mode != self._synchronous:
            await self._conn.execute(f"PRAGMA synchronous = {mode}")
            self._synchronous = mode

    async def vacuum_free_pages(self) -> None:
        """Give pages freed by pruning back to the file system."""
        async with self._lock:
            await self._retrying(lambda: self._conn.execute_fetchall("PRAGMA incremental_vacuum"))
