"""The journal on a PostgreSQL server, through asyncpg: a team's journal across machines.

    desk:
      journal: postgresql://tocsin@db.example/crisis      # password: PGPASSWORD, ~/.pgpass or ${VAR}

Same schema, migrations and statements as the SQLite journal (``journal/dialect.py`` rewrites the
placeholders and the migrations' types). What SQLite gave for free is made explicit here:

- **one writer at a time** (SQLite's ``BEGIN IMMEDIATE``): every write transaction's first statement
  takes ``pg_advisory_xact_lock`` on a key of the journal (its schema), held until commit or rollback.
  Under READ COMMITTED every later statement of the transaction then sees every earlier writer's
  commit, so the read-then-write code above (``max(id) + 1`` for incident ids, the outbox's claim of due
  rows, dedupe keys, one decision per draft) is as safe across processes and machines as it is in one
  SQLite file, without a second copy of it. (``SELECT … FOR UPDATE SKIP LOCKED`` would let two claims
  run side by side; with claims a few milliseconds long and a handful of desks, one writer at a time
  costs nothing and keeps a single rule.) Waiting for the lock is bounded by ``lock_timeout`` (the
  store's ``busy_timeout``); past it the transaction is retried whole, until ``retry_for``, then
  ``JournalBusy`` — exactly as a busy SQLite file. Readers never wait: ``read`` is a REPEATABLE READ
  READ ONLY snapshot, and a single query runs on its own.
- **durability**: ``durable=False`` commits with ``synchronous_commit = off`` (the server may lose the
  last such transactions if it crashes, never consistency), like SQLite's ``synchronous = NORMAL``.
- **a dropped connection** (network, server restart, ``pg_terminate_backend``): the transaction is
  retried on a new connection until ``retry_for``. If the drop came during ``COMMIT``, the outcome is
  asked of the server (``txid_status`` of the transaction id taken with the lock), so an action is
  neither lost nor written twice; an old backend still holding that transaction open is terminated
  first. A server gone for longer than ``retry_for`` is ``JournalUnavailable``.
- **notifications**: ``Tx.notify`` becomes ``pg_notify`` inside the transaction (delivered on commit
  only); ``listen`` LISTENs on a connection of its own, pinged every few seconds and reconnected after
  a drop (each channel then wakes once: what was sent meanwhile is lost, the reader reads anyway).
- **leadership**: ``try_lead`` takes a session-level advisory lock on a connection of its own. The
  server releases it when that session ends, so a leader that dies (process killed, machine gone)
  hands over without anyone cleaning up. On that connection the server probes the client with TCP
  keepalives (10 s idle, then 3 probes 5 s apart: a vanished machine is let go within ~25 s), and the
  lease pings the server every 2 s (5 s timeout): a partitioned leader learns it lost (``Lease.lost``)
  before the server lets anyone else in.

Text: PostgreSQL's ``text`` cannot hold NUL, so a NUL in a value becomes U+FFFD, as a lone surrogate
does at the sources' boundary. The database must be UTF8.

Credentials never reach a message: errors name the journal by ``redact_url``, and any password that
a driver's message might echo is masked.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, unquote, urlsplit

import asyncpg
from asyncpg import exceptions as pgerr

from tocsin.journal.dialect import POSTGRES
from tocsin.journal.errors import JournalBusy, JournalUnavailable
from tocsin.journal.store import (
    Lease,
    Listener,
    Params,
    Store,
    Tx,
    Wake,
    check_lease_name,
    default_holder,
    redact_url,
)

T = TypeVar("T")

CONNECT_TIMEOUT_S = 10.0
HEARTBEAT_S = 2.0
"""How often a lease or a listener checks that its connection is alive (real seconds)."""
PING_TIMEOUT_S = 5.0
IDLE_IN_TRANSACTION_MS = 60_000
"""A desk frozen in the middle of a transaction (a laptop put to sleep) would hold the write lock for
everyone: the server ends such a session after this long."""
KEEPALIVE = {"tcp_keepalives_idle": "10", "tcp_keepalives_interval": "5", "tcp_keepalives_count": "3"}


class _Unreachable(Exception):
    """The server could not be reached to open a connection (refused, no route, the socket file gone,
    timed out): kept apart from an ``OSError`` that ``fn`` might raise, which is no reason to retry."""


class _Dropped(Exception):
    """The connection went away during a transaction (which the server then rolled back): retried whole
    on a new connection. Raised in place of whatever the driver said, which may be a mere
    "connection is closed" that only the connection it came from could explain."""


_BUSY = (
    pgerr.LockNotAvailableError,  # waited lock_timeout for another desk's write lock
    pgerr.SerializationError,
    pgerr.DeadlockDetectedError,
    pgerr.InvalidCachedStatementError,  # another desk migrated under our prepared statements: run again
)
_GONE = (
    pgerr.PostgresConnectionError,  # 08xxx, and asyncpg's "connection was closed in the middle of operation"
    pgerr.AdminShutdownError,
    pgerr.CrashShutdownError,
    pgerr.CannotConnectNowError,
    pgerr.TooManyConnectionsError,
    pgerr.IdleInTransactionSessionTimeoutError,
    pgerr.FatalPostgresError,  # a FATAL error ends the session
    # the driver's protocol state broken by a server that went away mid-exchange ("cannot switch to
    # state …; another operation is in progress"): the cure is a new connection
    pgerr.InternalClientError,
    ConnectionError,  # reset, aborted, broken pipe
    TimeoutError,
    _Unreachable,
    _Dropped,
)
_OPERATOR = (
    pgerr.InsufficientResourcesError,  # disk full, out of memory
    pgerr.InsufficientPrivilegeError,  # the role may not create or write the tables
    pgerr.ReadOnlySQLTransactionError,  # a standby, or default_transaction_read_only
    pgerr.InvalidAuthorizationSpecificationError,  # a password changed under a running desk
    pgerr.InvalidCatalogNameError,  # the database was dropped
)


def lock_key(*parts: str) -> int:
    """A stable, non-negative 63-bit advisory lock key for ``parts`` (namespaced "tocsin")."""
    digest = hashlib.blake2b("\x1f".join(("tocsin", *parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") & 0x7FFF_FFFF_FFFF_FFFF


def _clean(value: Any) -> Any:
    if type(value) is str and "\x00" in value:
        return value.replace("\x00", "\ufffd")
    return value


def _args(params: Params) -> tuple[Any, ...]:
    if isinstance(params, Mapping):
        raise TypeError("the PostgreSQL journal takes ? placeholders with a sequence of values")
    return tuple(_clean(v) for v in params)


def _count(status: str) -> int:
    """The row count of a command tag: ``UPDATE 3``, ``DELETE 0``, ``INSERT 0 1``."""
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _is_gone(exc: BaseException, conn: asyncpg.Connection | None) -> bool:
    if isinstance(exc, _GONE):
        return True
    # "connection is closed", "cannot perform operation: connection is closed"
    return isinstance(exc, pgerr.InterfaceError) and (conn is None or conn.is_closed())


class PgTx(Tx):
    dialect = POSTGRES

    def __init__(self, conn: asyncpg.Connection, cache: dict[str, Any] | None = None) -> None:
        super().__init__(cache)
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> None:
        await self._conn.execute(POSTGRES.sql(sql), *_args(params))

    async def changed(self, sql: str, params: Params = ()) -> int:
        return _count(await self._conn.execute(POSTGRES.sql(sql), *_args(params)))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        batch = [_args(r) for r in rows]
        if batch:
            await self._conn.executemany(POSTGRES.sql(sql), batch)

    async def fetchall(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in await self._conn.fetch(POSTGRES.sql(sql), *_args(params))]


class PostgresStore(Store):
    """A journal in a PostgreSQL schema (see the module docstring). Use ``Store.open(url)``."""

    dialect = POSTGRES

    def __init__(
        self,
        url: str,
        *,
        busy_timeout: float,
        retry_for: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._url = url
        self.path: Path | None = None
        self.location = redact_url(url)
        parts = urlsplit(url)
        self._query = {k for k, _ in parse_qsl(parts.query)}
        self._secrets = [s for s in (unquote(parts.password or ""), os.environ.get("PGPASSWORD", "")) if s]
        self._busy_timeout = busy_timeout
        self._retry_for = retry_for
        self._monotonic = monotonic
        self._lock = asyncio.Lock()
        self._conn: asyncpg.Connection | None = None
        self.schema = ""
        """The schema the journal lives in (the connection's ``current_schema()``)."""
        self._write_key = 0
        self.reconnects = 0
        """How many times the connection was opened again after a drop."""

    # --- connections -----------------------------------------------------------------------------

    def _say(self, exc: BaseException) -> str:
        """An exception's message with no password in it."""
        text = str(exc) or type(exc).__name__
        text = text.replace(self._url, self.location)
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _unreachable(self, exc: BaseException) -> JournalUnavailable:
        return JournalUnavailable(f"cannot reach the journal {self.location}: {self._say(exc)}")

    async def _connect(
        self, *, application_name: str | None = None, keepalive: bool = False
    ) -> asyncpg.Connection:
        settings = {
            "lock_timeout": f"{max(1, round(self._busy_timeout * 1000))}ms",
            "idle_in_transaction_session_timeout": str(IDLE_IN_TRANSACTION_MS),
        }
        if application_name is not None or "application_name" not in self._query:
            settings["application_name"] = (application_name or "tocsin")[:63]
        if keepalive:
            settings.update(KEEPALIVE)
        return await asyncpg.connect(
            self._url, timeout=CONNECT_TIMEOUT_S, server_settings=settings, statement_cache_size=256
        )

    async def _connection(self) -> asyncpg.Connection:
        conn = self._conn
        if conn is None or conn.is_closed():
            self._conn = None
            try:
                conn = await self._connect()
            except OSError as exc:
                raise _Unreachable(self._say(exc)) from None
            self._conn = conn
            self.reconnects += 1
        return conn

    def _discard(self, conn: asyncpg.Connection) -> None:
        """Throw a connection away: the server rolls back whatever it had open."""
        conn.terminate()
        if self._conn is conn:
            self._conn = None

    def _dropped(self, exc: BaseException, conn: asyncpg.Connection) -> _Dropped:
        """``conn`` went away under a transaction: thrown away, and said as ``_Dropped`` (retried)."""
        self._discard(conn)
        return _Dropped(self._say(exc))

    @classmethod
    async def open(
        cls, location: str | Path, *, busy_timeout: float = 5.0, retry_for: float = 30.0
    ) -> PostgresStore:
        """Connect, check the database and migrate the journal at the URL ``location``."""
        store = cls(str(location), busy_timeout=busy_timeout, retry_for=retry_for)
        try:
            conn = await store._connect()
        except Exception as exc:
            raise JournalUnavailable(f"cannot open the journal {store.location}: {store._say(exc)}") from None
        store._conn = conn
        try:
            encoding = str(await conn.fetchval("SHOW server_encoding"))
            if encoding.upper().replace("-", "") != "UTF8":
                raise JournalUnavailable(
                    f"the journal {store.location} is in a {encoding} database: tocsin needs UTF8 "
                    f"(CREATE DATABASE … ENCODING 'UTF8')"
                )
            schema = await conn.fetchval("SELECT current_schema()")
            if not schema:
                raise JournalUnavailable(
                    f"the journal {store.location} has no schema to live in: its search_path names none "
                    f"that exists (create one, or set search_path in the URL)"
                )
            store.schema = str(schema)
            store._write_key = lock_key(store.schema, "write")
            await store._migrate()
        except BaseException:
            await store.close()
            raise
        return store

    async def close(self) -> None:
        """Close the journal's connection (listeners and leases have their own: close, release them)."""
        async with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None and not conn.is_closed():
                try:
                    await conn.close(timeout=5)
                except Exception:
                    conn.terminate()

    # --- transactions ----------------------------------------------------------------------------

    async def _retrying(self, attempt: Callable[[], Awaitable[T]]) -> T:
        start = self._monotonic()
        delay = 0.005
        while True:
            try:
                return await attempt()
            except Exception as exc:
                elapsed = self._monotonic() - start
                if isinstance(exc, _BUSY):
                    if elapsed >= self._retry_for:
                        raise JournalBusy(elapsed) from None
                    cap = 0.25
                elif isinstance(exc, _GONE):
                    if elapsed >= self._retry_for:
                        raise self._unreachable(exc) from None
                    cap = 1.0
                elif isinstance(exc, pgerr.DataError) and isinstance(exc.__cause__, UnicodeEncodeError):
                    raise exc.__cause__ from None  # a lone surrogate: what SQLite says of it too
                elif isinstance(exc, _OPERATOR):
                    raise JournalUnavailable(
                        f"the journal {self.location} cannot be used: {self._say(exc)}"
                    ) from None
                else:
                    raise  # integrity or programming errors are bugs: keep the traceback
                self.retries += 1
                await asyncio.sleep(delay)
                delay = min(delay * 2, cap)

    async def write(self, fn: Callable[[Tx], Awaitable[T]], *, durable: bool = True) -> T:
        """One transaction holding the journal's write lock (see the module docstring)."""
        begin = "BEGIN ISOLATION LEVEL READ COMMITTED"
        if not durable:
            begin += "; SET LOCAL synchronous_commit = off"
        async with self._lock:

            async def attempt() -> T:
                conn = await self._connection()
                pid = conn.get_server_pid()
                tx = PgTx(conn, self.cache)
                xid: int | None = None
                committing = False
                try:  # BEGIN inside: a cancel while it is under way must still end the transaction
                    await conn.execute(begin)
                    # the lock first: every statement after it sees every earlier writer's commit
                    xid = await conn.fetchval(
                        "SELECT txid_current() FROM (SELECT pg_advisory_xact_lock($1)) AS write_lock",
                        self._write_key,
                    )
                    result = await fn(tx)
                    notes = tx._take_notes()
                    if notes:
                        await conn.execute(
                            "SELECT pg_notify(c, p) FROM unnest($1::text[], $2::text[]) AS n(c, p)",
                            [self._channel(c) for c in notes],
                            list(notes.values()),
                        )
                    committing = True
                    await conn.execute("COMMIT")
                    return result
                except BaseException as exc:
                    if isinstance(exc, Exception) and _is_gone(exc, conn):
                        dropped = self._dropped(exc, conn)
                        if committing and xid is not None and await self._committed(xid, pid):
                            return result
                        raise dropped from None  # rolled back: nothing was written, retried
                    await self._end(conn)
                    raise

            return await self._retrying(attempt)

    async def _committed(self, xid: int, pid: int) -> bool:
        """Whether transaction ``xid``, whose COMMIT was sent when the connection dropped, committed.

        Asked on a new connection. "in progress" means its old backend has not noticed the drop yet and
        may still be waiting for the COMMIT: it is terminated, which settles the question."""
        deadline = self._monotonic() + self._retry_for
        terminated = False
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await self._connection()
                status = await conn.fetchval("SELECT txid_status($1)", xid)
                if status == "in progress" and not terminated:
                    await conn.fetchval("SELECT pg_terminate_backend($1)", pid)
                    terminated = True
            except Exception as exc:
                if not _is_gone(exc, conn) or self._monotonic() > deadline:
                    raise JournalUnavailable(
                        f"the connection to the journal {self.location} dropped while committing, and "
                        f"whether the change was written cannot be known ({self._say(exc)}): check it "
                        f"before doing it again"
                    ) from None
                if conn is not None:
                    self._discard(conn)
                await asyncio.sleep(0.1)
                continue
            if status == "committed":
                return True
            if status == "aborted":
                return False
            if status is None:
                raise JournalUnavailable(
                    f"the connection to the journal {self.location} dropped while committing, and the "
                    f"server no longer knows whether the change was written: check it before doing it again"
                )
            await asyncio.sleep(0.02)

    async def _end(self, conn: asyncpg.Connection) -> None:
        """Roll back whatever the connection has open; a connection that cannot is thrown away."""
        if conn.is_closed():
            self._discard(conn)
            return
        try:
            await conn.execute("ROLLBACK")  # "no transaction in progress" is only a warning
        except asyncio.CancelledError:
            self._discard(conn)
            raise
        except Exception:
            self._discard(conn)

    async def read(self, fn: Callable[[Tx], Awaitable[T]]) -> T:
        async with self._lock:

            async def attempt() -> T:
                conn = await self._connection()
                try:
                    await conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    return await fn(PgTx(conn, self.cache))
                except Exception as exc:
                    if _is_gone(exc, conn):
                        raise self._dropped(exc, conn) from None
                    raise
                finally:
                    await self._end(conn)

            return await self._retrying(attempt)

    async def fetchall(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        """One query on its own: a single statement is its own consistent snapshot (one round trip)."""
        statement, args = POSTGRES.sql(sql), _args(params)
        async with self._lock:

            async def attempt() -> list[tuple[Any, ...]]:
                conn = await self._connection()
                try:
                    return [tuple(r) for r in await conn.fetch(statement, *args)]
                except Exception as exc:
                    if _is_gone(exc, conn):
                        raise self._dropped(exc, conn) from None
                    raise

            return await self._retrying(attempt)

    async def vacuum_free_pages(self) -> None:
        """Nothing to do: the server's autovacuum reuses the space pruning frees."""

    # --- schema ----------------------------------------------------------------------------------

    async def _schema_version(self, tx: Tx) -> int:
        await tx.execute("CREATE TABLE IF NOT EXISTS tocsin_schema (version INTEGER NOT NULL)")
        version = await tx.scalar("SELECT max(version) FROM tocsin_schema")
        return int(version or 0)

    async def _set_schema_version(self, tx: Tx, version: int) -> None:
        await tx.execute("DELETE FROM tocsin_schema")
        await tx.execute("INSERT INTO tocsin_schema (version) VALUES (?)", (version,))

    async def schema_version(self) -> int:
        """The journal's schema version (the table exists once the journal is open)."""
        return int(await self.scalar("SELECT max(version) FROM tocsin_schema") or 0)

    # --- notifications ---------------------------------------------------------------------------

    def _channel(self, name: str) -> str:
        """The server's channel for ``name`` on this journal: channels are per database, journals per
        schema, so the schema is in the name (hashed if the whole would pass PostgreSQL's 63 bytes)."""
        channel = f"tocsin.{self.schema}.{name}"
        if len(channel.encode()) > 63:
            channel = f"tocsin.{lock_key(self.schema):x}.{name}"[:63]
        return channel

    def listen(self, *channels: str, heartbeat: float = HEARTBEAT_S) -> PgListener:
        return PgListener(self, channels, heartbeat)

    # --- leadership ------------------------------------------------------------------------------

    def _lead_key(self, name: str) -> int:
        return lock_key(self.schema, "lead", check_lease_name(name))

    @staticmethod
    def _lead_label(name: str) -> str:
        return f"tocsin lead {name}: "

    async def try_lead(
        self, name: str, *, holder: str | None = None, heartbeat: float = HEARTBEAT_S
    ) -> PgLease | None:
        """``pg_try_advisory_lock`` on a connection of its own, kept open while the lease is held."""
        who = holder or default_holder()
        key = self._lead_key(name)
        try:
            conn = await self._connect(application_name=self._lead_label(name) + who, keepalive=True)
        except Exception as exc:
            raise self._unreachable(exc) from None
        try:
            got = await conn.fetchval("SELECT pg_try_advisory_lock($1)", key)
        except Exception as exc:
            conn.terminate()
            if _is_gone(exc, conn):  # no answer: neither "ours" nor "someone else's"
                raise self._unreachable(exc) from None
            raise
        except BaseException:
            conn.terminate()
            raise
        if not got:
            try:
                await conn.close(timeout=PING_TIMEOUT_S)
            except Exception:
                conn.terminate()
            return None
        return PgLease(name, who, conn, key, heartbeat)

    async def leader(self, name: str) -> str | None:
        """The holder named by the application_name of the session holding the lock."""
        key = self._lead_key(name)
        rows = await self.fetchall(
            "SELECT coalesce(a.application_name, '') FROM pg_locks l "
            "LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND l.classid::bigint = ? AND l.objid::bigint = ?",
            (key >> 32, key & 0xFFFF_FFFF),
        )
        if not rows:
            return None
        label = str(rows[0][0])
        prefix = self._lead_label(name)
        return label[len(prefix) :] if label.startswith(prefix) else "unknown"


class PgLease(Lease):
    """A session advisory lock held on its own connection; ``lost`` when that connection goes."""

    def __init__(self, name: str, holder: str, conn: asyncpg.Connection, key: int, heartbeat: float) -> None:
        super().__init__(name, holder)
        self._conn = conn
        self._key = key
        self._heartbeat = heartbeat
        conn.add_termination_listener(self._terminated)
        self._task: asyncio.Task[None] | None = asyncio.create_task(self._watch(), name=f"lease-{name}")

    def _terminated(self, conn: Any) -> None:
        if not self._released:
            self.lost.set()

    async def _watch(self) -> None:
        while not self.lost.is_set():
            await asyncio.sleep(self._heartbeat)
            try:
                await self._conn.fetchval("SELECT 1", timeout=PING_TIMEOUT_S)
            except Exception:
                if not self._released:
                    self.lost.set()
                self._conn.terminate()  # the server ends the session, and the lock with it
                return

    async def release(self) -> None:
        self._released = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if not self._conn.is_closed():
            try:
                await self._conn.fetchval("SELECT pg_advisory_unlock($1)", self._key, timeout=PING_TIMEOUT_S)
                await self._conn.close(timeout=PING_TIMEOUT_S)
            except Exception:
                self._conn.terminate()


class PgListener(Listener):
    """LISTEN on a connection of its own; pinged every ``heartbeat`` seconds, reconnected after a drop."""

    def __init__(self, store: PostgresStore, channels: Sequence[str], heartbeat: float) -> None:
        super().__init__(channels)
        self._store = store
        self._heartbeat = heartbeat
        self._names = {store._channel(c): c for c in self.channels}
        self._conn: asyncpg.Connection | None = None
        self._dropped = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.reconnects = 0

    async def start(self) -> None:
        try:
            await self._attach()
        except Exception as exc:
            raise JournalUnavailable(
                f"cannot listen to the journal {self._store.location}: {self._store._say(exc)}"
            ) from None
        self._task = asyncio.create_task(self._watch(), name="journal-listen")

    async def _attach(self) -> None:
        conn = await self._store._connect(application_name="tocsin listen", keepalive=True)
        try:
            for channel in self._names:
                await conn.add_listener(channel, self._notified)
        except BaseException:
            conn.terminate()
            raise
        conn.add_termination_listener(self._terminated)
        self._conn = conn

    def _notified(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        name = self._names.get(channel)
        if name is not None:
            self._push(Wake(name, payload))

    def _terminated(self, conn: Any) -> None:
        if conn is self._conn:
            self._dropped.set()

    async def _alive(self) -> bool:
        conn = self._conn
        if conn is None or conn.is_closed():
            return False
        try:
            await conn.fetchval("SELECT 1", timeout=PING_TIMEOUT_S)
        except Exception:
            return False
        return True

    async def _watch(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._dropped.wait(), self._heartbeat)
            if not self._dropped.is_set() and await self._alive():
                continue
            old, self._conn = self._conn, None
            if old is not None:
                old.terminate()
            self._dropped.clear()
            delay = 0.05
            while True:
                try:
                    await self._attach()
                    break
                except Exception:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 2.0)
            self.reconnects += 1
            self._push_all()  # notifications sent while we were away are lost: read anyway

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            try:
                await conn.close(timeout=PING_TIMEOUT_S)
            except Exception:
                conn.terminate()
