"""Local receivers for the on-call outputs: a webhook/chat endpoint, ntfy, PagerDuty Events v2 and
Opsgenie, each answering like the real service (status codes, bodies), with a scripted plan of
failures (down, slow, 5xx, 429 with Retry-After) and a record of every request."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass
class Got:
    path: str
    headers: dict[str, str]
    body: bytes
    query: dict[str, str] = field(default_factory=dict)

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """``plan``: answers used in order, then ``ok``: an int status (with ``retry_after``), ``"slow"``
    (answers after ``slow_s``), ``"down"`` (503 with no body). ``up = False``: every request 503."""

    def __init__(self, slow_s: float = 5.0) -> None:
        self.app = web.Application()
        self.app.router.add_route("*", "/{tail:.*}", self.handle)
        self.server = TestServer(self.app, host="127.0.0.1", port=0)
        self.got: list[Got] = []
        self.plan: list[Any] = []
        self.up = True
        self.slow_s = slow_s
        self.retry_after: str | None = None

    async def start(self) -> Receiver:
        await self.server.start_server()
        return self

    async def close(self) -> None:
        await self.server.close()

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        step = self.plan.pop(0) if self.plan else ("ok" if self.up else 503)
        if step == "slow":
            await asyncio.sleep(self.slow_s)
            step = "ok"
        if step != "ok":
            headers = {"Retry-After": self.retry_after} if self.retry_after and step == 429 else {}
            return web.json_response({"status": "error"}, status=int(step), headers=headers)
        self.got.append(Got(request.path, dict(request.headers), body, dict(request.query)))
        return self.answer(request)

    def answer(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path.endswith("/v2/enqueue"):  # PagerDuty Events API v2
            return web.json_response(
                {"status": "success", "message": "Event processed", "dedup_key": "x"}, status=202
            )
        if "/v2/alerts" in path:  # Opsgenie
            return web.json_response(
                {"result": "Request will be processed", "took": 0.01, "requestId": "r1"}, status=202
            )
        return web.json_response({"id": "ok"}, status=200)

    async def __aenter__(self) -> Receiver:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
