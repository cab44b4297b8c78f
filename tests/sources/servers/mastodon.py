"""A fake Mastodon instance: instance info, tag/public timelines with ``min_id`` paging, and SSE streams.

Streams speak the real framing: ``:)`` first, ``:thump`` heartbeats, ``event:``/``data:`` events with
single-line JSON, ``delete`` with the bare id. ``stream_plan`` scripts what each new stream connection
gets (a ``Fail``, ``STALL``, or ``"live"``, the default).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from .base import STALL, Fail, FakeServer, drop, stall_forever

DROP, CLOSE = object(), object()
HOST = "social.example"


def make_status(
    sid: str, html: str, *, tags: tuple[str, ...] = (), acct: str = "lea", **extra: Any
) -> dict[str, Any]:
    """A Status object as Mastodon 4.3 sends it (with one field a newer server might add)."""
    return {
        "id": sid,
        "created_at": "2026-11-21T09:30:00.000Z",
        "uri": f"https://{HOST}/users/{acct}/statuses/{sid}",
        "url": f"https://{HOST}/@{acct}/{sid}",
        "content": html,
        "spoiler_text": "",
        "language": "fr",
        "replies_count": 1,
        "reblogs_count": 2,
        "favourites_count": 3,
        "edited_at": None,
        "in_reply_to_id": None,
        "reblog": None,
        "tags": [{"name": t, "url": f"https://{HOST}/tags/{t}"} for t in tags],
        "account": {
            "id": "1",
            "username": acct,
            "acct": acct,
            "display_name": acct.title(),
            "followers_count": 1200,
            "following_count": 300,
            "statuses_count": 5000,
            "created_at": "2022-01-01T00:00:00.000Z",
            "bot": False,
        },
        "unknown_future_field": {"ignored": True},
        **extra,
    }


class FakeMastodon(FakeServer):
    def __init__(self, token: str | None = "user-token", heartbeat: float = 0.05) -> None:
        self.token = token
        self.heartbeat = heartbeat
        self.timelines: dict[str, list[dict[str, Any]]] = {}
        self.stream_plan: list[Any] = []
        self.timeline_plan: list[Fail] = []
        self.stream_requests: list[dict[str, str]] = []
        self.timeline_requests: list[dict[str, str]] = []
        self.announce_streaming: str | None = None
        self._open: list[tuple[str, asyncio.Queue[Any]]] = []
        self._next_id = 113_000_000_000_000_000
        self.rate_limit_reset: str | None = None
        super().__init__()

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/api/v2/instance", self._instance)
        app.router.add_get("/api/v1/streaming/health", self._health)
        app.router.add_get("/api/v1/streaming/{stream:.+}", self._stream)
        app.router.add_get("/api/v1/timelines/tag/{tag}", self._tag_timeline)
        app.router.add_get("/api/v1/timelines/public", self._public_timeline)

    # -- content

    def status(
        self, html: str, *, tags: tuple[str, ...] = (), acct: str = "lea", **extra: Any
    ) -> dict[str, Any]:
        """A new status with the next (time-sortable) id."""
        self._next_id += 1
        return make_status(str(self._next_id), html, tags=tags, acct=acct, **extra)

    def post(self, key: str, status: dict[str, Any], *, live: bool = True) -> dict[str, Any]:
        """Publish a status on a timeline (``tag:x`` or ``public``…) and, if live, on open streams."""
        self.timelines.setdefault(key, []).append(status)
        if live:
            self.push(key, f"event: update\ndata: {json.dumps(status)}\n\n".encode())
        return status

    def push(self, key: str, item: Any) -> None:
        for k, q in self._open:
            if k == key:
                q.put_nowait(item)

    def drop_streams(self) -> None:
        for _, q in self._open:
            q.put_nowait(DROP)

    async def wait_streams(self, n: int, within: float = 5.0) -> None:
        """Wait until ``n`` stream connections have been opened in total and are live."""
        for _ in range(int(within / 0.005)):
            if len(self.stream_requests) >= n and len(self._open) >= 1:
                return
            await asyncio.sleep(0.005)
        raise AssertionError(f"expected {n} stream connections, saw {len(self.stream_requests)}")

    # -- handlers

    def _authorised(self, request: web.Request) -> web.Response | None:
        if self.token is None:
            return None
        header = request.headers.get("Authorization", "")
        given = header[7:] if header.startswith("Bearer ") else request.query.get("access_token")
        if not given:
            return web.json_response({"error": "Missing access token"}, status=401)
        if given != self.token:
            return web.json_response({"error": "Error: Invalid access token"}, status=401)
        return None

    async def _instance(self, request: web.Request) -> web.Response:
        streaming = self.announce_streaming or self.url.replace("http://", "ws://")
        return web.json_response(
            {"domain": HOST, "version": "4.3.0", "configuration": {"urls": {"streaming": streaming}}}
        )

    async def _health(self, request: web.Request) -> web.Response:
        return web.Response(text="OK")

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        refused = self._authorised(request)
        if refused is not None:
            self.stream_requests.append({"refused": "401"})
            return refused
        stream = request.match_info["stream"]
        self.stream_requests.append({"stream": stream, **request.query})
        plan = self.stream_plan.pop(0) if self.stream_plan else "live"
        if isinstance(plan, Fail):
            return plan.response()
        key = f"tag:{request.query['tag']}" if stream.startswith("hashtag") else stream
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
        await resp.prepare(request)
        await resp.write(b":)\n")
        if plan == STALL:
            await stall_forever()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        entry = (key, queue)
        self._open.append(entry)
        try:
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), self.heartbeat)
                except TimeoutError:
                    await resp.write(b":thump\n")
                    continue
                if item is DROP:
                    drop(request)
                    break
                if item is CLOSE:
                    break
                await resp.write(item)
        except (ConnectionResetError, RuntimeError):
            pass
        finally:
            self._open.remove(entry)
        return resp

    async def _tag_timeline(self, request: web.Request) -> web.Response:
        return self._timeline(request, f"tag:{request.match_info['tag']}")

    async def _public_timeline(self, request: web.Request) -> web.Response:
        key = (
            "public/local"
            if request.query.get("local")
            else "public/remote"
            if request.query.get("remote")
            else "public"
        )
        return self._timeline(request, key)

    def _timeline(self, request: web.Request, key: str) -> web.Response:
        refused = self._authorised(request)
        if refused is not None:
            return refused
        self.timeline_requests.append({"key": key, **request.query})
        if self.timeline_plan:
            return self.timeline_plan.pop(0).response()
        limit = int(request.query.get("limit", "20"))
        statuses = sorted(self.timelines.get(key, []), key=lambda s: int(s["id"]))
        min_id = request.query.get("min_id")
        if min_id is not None:
            page = [s for s in statuses if int(s["id"]) > int(min_id)][:limit]
        else:
            page = statuses[-limit:]
        page = list(reversed(page))  # Mastodon answers newest first
        headers = {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "299"}
        if self.rate_limit_reset:
            headers.update({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": self.rate_limit_reset})
        if page:
            base = f"{self.url}{request.path}"
            headers["Link"] = (
                f'<{base}?max_id={page[-1]["id"]}>; rel="next", <{base}?min_id={page[0]["id"]}>; rel="prev"'
            )
        return web.json_response(page, headers=headers)
