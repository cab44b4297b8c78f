"""The journal in an SQLite file: one aiosqlite connection, WAL, busy retries, integrity check at open.

Several tocsin processes on one machine share one journal. Every write runs in ``BEGIN IMMEDIATE``
(the write lock is taken up front, so two writers never deadlock on a lock upgrade), with SQLite's
``busy_timeout`` and, around it, our own retry of the whole transaction: "database is locked" never
reaches the operator, only ``JournalBusy`` after ``retry_for`` seconds of trying. Actions commit with
``synchronous=FULL``; bulk archive batches may ask for ``NORMAL`` (the WAL still keeps them safe from a
crash of the process, only a power cut can lose the last ones).

One connection serves the process and its operations are serialised by a lock: a coroutine's
transaction spans several awaits, and another coroutine must not slip a statement into it.

Notifications: SQLite has no LISTEN. A listener is woken at once by its own store's commits (with
their payloads), and sees other processes' commits by polling ``PRAGMA data_version`` on a connection of
its own (a counter SQLite bumps whenever another connection commits: one cheap read, no table touched).

Leadership: an exclusive ``flock`` on a file beside the journal (``journal.sqlite-lead-NAME``). The
kernel releases it when the process dies, however it dies, so takeover needs no heartbeat and no expiry
to tune; the holder's name is written in the file for ``leader``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sqlite3
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from tocsin.journal.dialect import SQLITE
from tocsin.journal.errors import JournalBusy, JournalUnavailable
from tocsin.journal.store import Lease, Listener, Params, Store, Tx, Wake, check_lease_name, default_holder

T = TypeVar("T")

_BUSY_CODES = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)

INTEGRITY_CHECK_S = 2.0
"""How long (real seconds) opening a journal may spend checking it for damage."""

POLL_S = 0.1
"""How often a listener looks for other processes' commits (real seconds)."""


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


class SqliteTx(Tx):
    dialect = SQLITE

    def __init__(self, conn: aiosqlite.Connection, cache: dict[str, Any] | None = None) -> None:
        super().__init__(cache)
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> None:
        cur = await self._conn.execute(sql, params)
        await cur.close()

    async def changed(self, sql: str, params: Params = ()) -> int:
        cur = await self._conn.execute(sql, params)
        count = cur.rowcount
        await cur.close()
        return int(count)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        cur = await self._conn.executemany(sql, rows)
        await cur.close()

    async def fetchall(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in await self._conn.execute_fetchall(sql, params)]


class SqliteStore(Store):
    """An open journal file (see the module docstring)."""

    dialect = SQLITE

    def __init__(
        self,
        conn: aiosqlite.Connection,
        path: Path,
        *,
        retry_for: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._conn = conn
        self.path: Path = path
        self.location = str(path)
        self._retry_for = retry_for
        self._monotonic = monotonic
        self._lock = asyncio.Lock()
        self._synchronous = "FULL"
        self._tx = SqliteTx(conn, self.cache)
        self._listeners: weakref.WeakSet[SqliteListener] = weakref.WeakSet()

    @classmethod
    async def open(
        cls, location: str | Path, *, busy_timeout: float = 5.0, retry_for: float = 30.0
    ) -> SqliteStore:
        """Open (creating if needed), check and migrate the journal file at ``location``."""
        path = Path(location)
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
            await self._conn.set_progress_handler(None, 0)  # type: ignore[arg-type]  # None removes it
        if rows != ["ok"]:
            raise JournalUnavailable(
                f"the journal {self.path} is damaged ({'; '.join(rows)[:200]}): nothing was changed. "
                f"Keep a copy, then recover what is readable with "
                f"`sqlite3 {self.path} .recover | sqlite3 recovered.sqlite` and point desk.journal at "
                f"it, or move the file aside to start a new journal"
            )

    async def _schema_version(self, tx: Tx) -> int:
        return int(await tx.scalar("PRAGMA user_version"))

    async def _set_schema_version(self, tx: Tx, version: int) -> None:
        await tx.execute(f"PRAGMA user_version = {int(version)}")

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
        """``BEGIN IMMEDIATE`` … ``COMMIT`` (see ``Store.write``); ``durable`` picks ``synchronous``
        FULL or NORMAL for this commit."""
        async with self._lock:
            await self._set_synchronous("FULL" if durable else "NORMAL")
            notes: dict[str, str] = {}

            async def attempt() -> T:
                nonlocal notes
                self._tx._take_notes()  # a retried attempt starts with none
                try:  # BEGIN inside: a cancel while it is queued must still end the transaction
                    await self._conn.execute("BEGIN IMMEDIATE")
                    result = await fn(self._tx)
                    await self._conn.execute("COMMIT")
                except BaseException:
                    await self._rollback()
                    raise
                notes = self._tx._take_notes()
                return result

            result = await self._retrying(attempt)
        for channel, payload in notes.items():
            for listener in list(self._listeners):
                listener._push(Wake(channel, payload))
        return result

    async def read(self, fn: Callable[[Tx], Awaitable[T]]) -> T:
        async with self._lock:

            async def attempt() -> T:
                try:
                    await self._conn.execute("BEGIN")
                    return await fn(self._tx)
                finally:
                    await self._rollback()

            return await self._retrying(attempt)

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
            # as a script: stepped to the end (a statement through execute frees one page per call)
            await self._retrying(lambda: self._conn.executescript("PRAGMA incremental_vacuum;"))

    # --- notifications ---------------------------------------------------------------------------

    def listen(self, *channels: str, poll: float = POLL_S) -> SqliteListener:
        return SqliteListener(self, channels, poll)

    # --- leadership ------------------------------------------------------------------------------

    def _lead_file(self, name: str) -> Path:
        return self.path.with_name(f"{self.path.name}-lead-{check_lease_name(name)}")

    async def try_lead(self, name: str, *, holder: str | None = None) -> SqliteLease | None:
        """An exclusive, non-blocking ``flock`` on the lease file (see the module docstring)."""
        who = holder or default_holder()
        path = self._lead_file(name)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise JournalUnavailable(f"cannot open the lease file {path}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, who.encode("utf-8", "replace"), 0)
        return SqliteLease(name, who, fd)

    async def leader(self, name: str) -> str | None:
        """The holder written in the lease file, if its lock is held (a shared lock cannot be had)."""
        try:
            fd = os.open(self._lead_file(name), os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return os.pread(fd, 256, 0).decode("utf-8", "replace") or "unknown"
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)


class SqliteLease(Lease):
    """An exclusive flock held on an open file descriptor: closing it (or dying) releases it."""

    def __init__(self, name: str, holder: str, fd: int) -> None:
        super().__init__(name, holder)
        self._fd: int | None = fd

    async def release(self) -> None:
        self._released = True
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            os.close(fd)  # closing the last descriptor releases the lock


class SqliteListener(Listener):
    """Immediate wakes from its store's own commits; other processes' commits by polling
    ``PRAGMA data_version`` on a connection of its own."""

    def __init__(self, store: SqliteStore, channels: Sequence[str], poll: float) -> None:
        super().__init__(channels)
        self._store = store
        self._poll = poll
        self._conn: aiosqlite.Connection | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._conn = await aiosqlite.connect(self._store.path, isolation_level=None)
        version = await self._data_version()
        self._store._listeners.add(self)
        self._task = asyncio.create_task(self._watch(version), name="journal-listen")

    async def _data_version(self) -> int:
        assert self._conn is not None
        rows = await self._conn.execute_fetchall("PRAGMA data_version")
        return int(next(iter(rows))[0])

    async def _watch(self, version: int) -> None:
        while True:
            await asyncio.sleep(self._poll)
            try:
                now = await self._data_version()
            except sqlite3.Error:
                continue  # busy for a moment: the next poll will see it
            if now != version:
                version = now
                self._push_all()

    async def close(self) -> None:
        self._store._listeners.discard(self)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._conn is not None:
            await self._conn.close()
            self._conn = None
