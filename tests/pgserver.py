"""A throwaway PostgreSQL server for the tests and benchmarks that run the journal on PostgreSQL.

    server = PgServer.start()            # initdb + pg_ctl start: a private cluster in a temp folder
    # or, as a fixture (skipped where PostgreSQL is not installed):
    @pytest.fixture(scope="session")
    def pg_server() -> Iterator[PgServer]:
        yield from serve()
    url = server.fresh_journal_url()     # a new, empty schema of its own: one journal per test
    server.sql("SELECT 1")               # admin statements from synchronous code
    server.stop()

The cluster listens on a unix socket in its temp folder and on 127.0.0.1 at a free port (for the
password test: local connections are trusted, TCP ones need a SCRAM password). It never touches the
machine's own PostgreSQL, if any.

Root cannot run ``initdb`` (PostgreSQL refuses, for good reason), and CI runs as root: then the server
runs as the ``postgres`` system user (``runuser``), in a folder handed to that user. Anyone else runs it
as themselves.

Isolation is per schema, not per database: ``CREATE SCHEMA`` costs a millisecond where ``CREATE
DATABASE`` costs a checkpoint, and a journal lives wherever its connection's ``search_path`` points
(the URL's ``search_path`` query parameter, which asyncpg passes to the server). The journal namespaces
its advisory locks and notification channels by schema, so two tests' journals never meet.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

T = TypeVar("T")

SUPERUSER = "tocsin"
DATABASE = "tocsin"
PASSWORD_ROLE = ("desk", "brioche-s3cret")
"""A role that logs in over TCP with a password (from ``PGPASSWORD``): never written into a URL."""


def find_binaries() -> Path | None:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``: the PATH first, then Debian's layout."""
    names = ("initdb", "pg_ctl", "postgres")
    found = [shutil.which(n) for n in names]
    if all(found):
        return Path(found[0]).resolve().parent if found[0] else None
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if all((candidate / n).exists() for n in names):
            return candidate
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(*, durable: bool = False) -> Iterator[PgServer]:
    """A throwaway server for a fixture to yield (``yield from serve()``), stopped and removed after;
    the test is skipped where PostgreSQL's server binaries are not installed."""
    import pytest

    if find_binaries() is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl, postgres) are not installed")
    server = PgServer.start(durable=durable)
    try:
        yield server
    finally:
        server.stop()


class PgServer:
    """One running throwaway cluster (see the module docstring). Use ``start``; ``stop`` removes it all."""

    def __init__(self, root: Path, bin_dir: Path, port: int, run_as: str | None) -> None:
        self.root = root
        self.data = root / "data"
        self.socket_dir = root
        self.port = port
        self._bin = bin_dir
        self._run_as = run_as
        self._schemas = itertools.count(1)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="pg-admin", daemon=True)
        self._thread.start()
        self._admin: Any = None

    # --- lifecycle -------------------------------------------------------------------------------

    @classmethod
    def start(cls, *, durable: bool = False) -> PgServer:
        """initdb and start a cluster. ``durable``: keep ``fsync`` on, as a user's server has it (the
        benchmarks); the tests turn it off, a crash of the test server costing nothing."""
        bin_dir = find_binaries()
        if bin_dir is None:
            raise FileNotFoundError("PostgreSQL server binaries (initdb, pg_ctl, postgres) are not installed")
        run_as = "postgres" if os.geteuid() == 0 else None
        root = Path(tempfile.mkdtemp(prefix="tocsin-pg-"))
        if run_as is not None:
            user = pwd.getpwnam(run_as)
            os.chown(root, user.pw_uid, user.pw_gid)
        last: Exception | None = None
        for _ in range(3):  # the free port may be taken between the probe and the bind
            server = cls(root, bin_dir, _free_port(), run_as)
            try:
                server._initdb()
                server._start(durable)
                server._prepare()
                return server
            except (subprocess.CalledProcessError, OSError) as exc:
                last = exc
                server._stop_quietly()
                server._loop.call_soon_threadsafe(server._loop.stop)
                shutil.rmtree(server.data, ignore_errors=True)
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"could not start a throwaway PostgreSQL server: {last}")

    def _command(self, *args: str) -> list[str]:
        cmd = [str(self._bin / args[0]), *args[1:]]
        return ["runuser", "-u", self._run_as, "--", *cmd] if self._run_as else cmd

    def _run(self, *args: str) -> None:
        subprocess.run(self._command(*args), check=True, capture_output=True, text=True, cwd=self.root)

    def _initdb(self) -> None:
        if (self.data / "PG_VERSION").exists():
            return
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            SUPERUSER,
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )

    def _start(self, durable: bool) -> None:
        options = [
            f"-p {self.port}",
            f"-k {self.socket_dir}",
            "-c listen_addresses=127.0.0.1",
            "-c max_connections=200",
            "-c shared_buffers=64MB",
            "-c log_min_messages=warning",
        ]
        if not durable:
            options += ["-c fsync=off", "-c full_page_writes=off", "-c synchronous_commit=off"]
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-t", "60",
            "-o", " ".join(options), "start",
        )  # fmt: skip

    def _prepare(self) -> None:
        async def prepare() -> None:
            import asyncpg

            first = await asyncpg.connect(host=str(self.socket_dir), port=self.port, user=SUPERUSER,
                                          database="postgres")  # fmt: skip
            try:
                await first.execute(f"CREATE DATABASE {DATABASE}")
                role, password = PASSWORD_ROLE
                await first.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
            finally:
                await first.close()
            self._admin = await asyncpg.connect(self.url())
            await self._admin.execute(f"GRANT ALL ON DATABASE {DATABASE} TO {role}")

        self.run(prepare)

    def stop(self) -> None:
        """Stop the server (immediately: nothing in it is worth a clean shutdown) and remove its files."""
        if self._admin is not None:
            with contextlib.suppress(Exception):
                self.run(self._admin.close)
        self._stop_quietly()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        shutil.rmtree(self.root, ignore_errors=True)

    def _stop_quietly(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, OSError):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    # --- use -------------------------------------------------------------------------------------

    def url(self, *, database: str = DATABASE, **settings: str) -> str:
        """A URL over the unix socket as the superuser; ``settings`` become query parameters (asyncpg
        passes unknown ones to the server, e.g. ``search_path``)."""
        query = "&".join(
            f"{k}={quote(str(v), safe='')}"
            for k, v in {"host": str(self.socket_dir), "port": str(self.port), **settings}.items()
        )
        return f"postgresql://{SUPERUSER}@/{database}?{query}"

    def tcp_url(self, user: str, *, password: str | None = None, **settings: str) -> str:
        """A URL over TCP (scram-sha-256 authentication); ``password`` only to test that it is hidden."""
        secret = f":{quote(password, safe='')}" if password is not None else ""
        query = "&".join(f"{k}={quote(v, safe='')}" for k, v in settings.items())
        url = f"postgresql://{user}{secret}@127.0.0.1:{self.port}/{DATABASE}"
        return f"{url}?{query}" if query else url

    def new_schema(self, owner: str | None = None) -> str:
        """A new empty schema (``owner`` may create tables in it)."""
        name = f"t{os.getpid()}_{next(self._schemas)}"
        grant = f" AUTHORIZATION {owner}" if owner else ""
        self.sql(f"CREATE SCHEMA {name}{grant}")
        return name

    def fresh_journal_url(self) -> str:
        """The URL of a journal nobody has used: a new schema on the unix socket."""
        return self.url(search_path=self.new_schema())

    def run(self, fn: Callable[[], Awaitable[T]], timeout: float = 60) -> T:
        """Run a coroutine function on the admin thread's event loop (from synchronous code)."""

        async def call() -> T:
            return await fn()

        return asyncio.run_coroutine_threadsafe(call(), self._loop).result(timeout)

    def sql(self, statement: str, *args: Any) -> list[tuple[Any, ...]]:
        """One statement on the admin connection (autocommit); its rows as tuples."""

        async def go() -> list[tuple[Any, ...]]:
            return [tuple(r) for r in await self._admin.fetch(statement, *args)]

        return self.run(go)

    def terminate_clients(self) -> int:
        """Kill every server process serving a client of the journal database but the admin's, as a
        network drop or a server restart would; returns how many (tests run one at a time, so these are
        the current test's connections)."""
        rows = self.sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
            DATABASE,
        )
        return sum(1 for (ok,) in rows if ok)

    @contextlib.contextmanager
    def environment(self, **env: str) -> Iterator[None]:
        """Set environment variables for the duration (libpq's PGPASSWORD, PGUSER…)."""
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            yield
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
