"""What every fake server shares: an in-process aiohttp server on 127.0.0.1:0 and a failure plan."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass
class Fail:
    """One scripted failure answer: a status, headers, and a body (JSON when a dict)."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> web.Response:
        if isinstance(self.body, (dict, list)):
            return web.json_response(self.body, status=self.status, headers=self.headers)
        return web.Response(status=self.status, text=self.body or "", headers=self.headers)


STALL = "stall"
"""Plan entry: accept the connection, send the stream's opening bytes, then nothing, ever."""


class FakeServer:
    """Subclasses add routes in ``routes(app)``; ``url`` is ready after ``start()``."""

    def __init__(self) -> None:
        self.app = web.Application()
        self.routes(self.app)
        self.server = TestServer(self.app, host="127.0.0.1", port=0)
        self.requests: list[web.Request] = []
        self._tasks: set[asyncio.Task[Any]] = set()

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def start(self) -> FakeServer:
        await self.server.start_server()
        return self

    async def close(self) -> None:
        await self.server.close()

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    async def __aenter__(self) -> FakeServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def stall_forever() -> None:
    """Hold a connection open without sending anything (the client's watchdog must notice)."""
    await asyncio.sleep(3600)


def drop(request: web.Request) -> None:
    """Cut the TCP connection abruptly (no final chunk, no close frame)."""
    if request.transport is not None:
        request.transport.close()


class Collector:
    """Runs a source in a task and keeps what it yields."""

    def __init__(self, source: Any) -> None:
        self.source = source
        self.got: list[Any] = []
        self.task: asyncio.Task[None] | None = None

    async def _consume(self) -> None:
        async for m in self.source:
            self.got.append(m)

    def start(self) -> Collector:
        self.task = asyncio.create_task(self._consume())
        return self

    async def wait_for(self, n: int, within: float = 5.0) -> list[Any]:
        for _ in range(int(within / 0.005)):
            if len(self.got) >= n:
                return self.got
            if self.task is not None and self.task.done():
                self.task.result()
                break
            await asyncio.sleep(0.005)
        raise AssertionError(f"expected {n} mentions, got {len(self.got)}: {[m.uid for m in self.got]}")

    async def until(self, predicate: Any, within: float = 5.0) -> None:
        for _ in range(int(within / 0.005)):
            if predicate():
                return
            await asyncio.sleep(0.005)
        raise AssertionError("condition not met in time")

    async def ended(self, within: float = 5.0) -> None:
        """Wait for the source to end on its own (gave up, or finished)."""
        assert self.task is not None
        await asyncio.wait_for(self.task, within)

    async def stop(self, within: float = 2.0) -> None:
        await self.source.stop()
        assert self.task is not None
        await asyncio.wait_for(self.task, within)
