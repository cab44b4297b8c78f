"""A fake Jetstream (WebSocket ``/subscribe``) plus the Bluesky AppView calls the adapter makes.

Like the real one it keeps a log of events and replays from ``cursor`` (microseconds) on connect, then
sends live events; it filters on ``wantedCollections``, pings, and can fail, stall or drop per plan.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import WSMsgType, web

from .base import STALL, Fail, FakeServer, drop, stall_forever

DROP = object()
T0 = 1_779_719_000_000_000  # 2026-05-25T14:23:20Z in microseconds
CREATED = "2026-05-25T14:23:28.757Z"


def post_event(
    did: str, rkey: str, text: str, time_us: int, *, tags: tuple[str, ...] = (), op: str = "create",
    langs: tuple[str, ...] = ("fr",), reply_to: str | None = None, created_at: str = CREATED,
) -> dict[str, Any]:  # fmt: skip
    record: dict[str, Any] = {
        "$type": "app.bsky.feed.post",
        "createdAt": created_at,
        "langs": list(langs),
        "text": text,
    }
    if tags:
        record["facets"] = [
            {
                "index": {"byteStart": 0, "byteEnd": 1},
                "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": t}],
            }
            for t in tags
        ]
    if reply_to:
        record["reply"] = {
            "root": {"uri": reply_to, "cid": "bafyroot"},
            "parent": {"uri": reply_to, "cid": "bafyp"},
        }
    commit: dict[str, Any] = {
        "rev": "3mmoojp4cd2",
        "operation": op,
        "collection": "app.bsky.feed.post",
        "rkey": rkey,
    }
    if op != "delete":
        commit.update(record=record, cid=f"bafy{rkey}")
    return {"did": did, "time_us": time_us, "kind": "commit", "commit": commit}


class FakeJetstream(FakeServer):
    def __init__(self, ping_every: float | None = None) -> None:
        self.log: list[tuple[int, str, str]] = []  # (time_us, collection, frame)
        self.plan: list[Any] = []
        self.connects: list[dict[str, Any]] = []
        self.profiles: dict[str, dict[str, Any]] = {}
        self.handles: dict[str, str] = {}
        self.profile_plan: list[Any] = []
        self.profile_requests: list[list[str]] = []
        self.ping_every = ping_every
        self._open: list[asyncio.Queue[Any]] = []
        self._clock = T0
        super().__init__()

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/subscribe", self._subscribe)
        app.router.add_get("/xrpc/app.bsky.actor.getProfiles", self._get_profiles)
        app.router.add_get("/xrpc/com.atproto.identity.resolveHandle", self._resolve_handle)

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/subscribe"

    def next_time(self) -> int:
        self._clock += 1_000_000  # one event per second
        return self._clock

    def publish(
        self, event: dict[str, Any] | str, *, live: bool = True, collection: str | None = None
    ) -> Any:
        """Append to the log (replayable by cursor) and send to open connections."""
        frame = (
            event if isinstance(event, str) else json.dumps(event, separators=(",", ":"), ensure_ascii=False)
        )
        time_us = event["time_us"] if isinstance(event, dict) else self._clock
        coll = collection or (
            event.get("commit", {}).get("collection", "") if isinstance(event, dict) else "app.bsky.feed.post"
        )
        self.log.append((time_us, coll, frame))
        if live:
            for q in self._open:
                q.put_nowait((coll, frame))
        return event

    def post(self, did: str, rkey: str, text: str, *, live: bool = True, **kw: Any) -> dict[str, Any]:
        return self.publish(post_event(did, rkey, text, self.next_time(), **kw), live=live)

    def drop_all(self) -> None:
        for q in self._open:
            q.put_nowait(DROP)

    async def wait_connects(self, n: int, within: float = 5.0) -> None:
        for _ in range(int(within / 0.005)):
            if len(self.connects) >= n and (self._open or isinstance(self.connects[-1].get("plan"), Fail)):
                return
            await asyncio.sleep(0.005)
        raise AssertionError(f"expected {n} connections, saw {len(self.connects)}")

    async def _subscribe(self, request: web.Request) -> web.StreamResponse:
        plan = self.plan.pop(0) if self.plan else "live"
        wanted = request.query.getall("wantedCollections", [])
        cursor = request.query.get("cursor")
        self.connects.append({"wanted": wanted, "cursor": int(cursor) if cursor else None, "plan": plan})
        if isinstance(plan, Fail):
            return plan.response()
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        if plan == STALL:
            await stall_forever()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        if cursor:
            for t, coll, frame in self.log:
                if t >= int(cursor):
                    queue.put_nowait((coll, frame))
        self._open.append(queue)
        reader = asyncio.create_task(self._drain(ws))
        try:
            while True:
                try:
                    item = (
                        await asyncio.wait_for(queue.get(), self.ping_every)
                        if self.ping_every
                        else await queue.get()
                    )
                except TimeoutError:
                    await ws.ping()
                    continue
                if item is DROP:
                    drop(request)
                    break
                coll, frame = item
                if wanted and coll and coll not in wanted:
                    continue
                await ws.send_str(frame)
        except (ConnectionResetError, RuntimeError):
            pass
        finally:
            self._open.remove(queue)
            reader.cancel()
        return ws

    async def _drain(self, ws: web.WebSocketResponse) -> None:
        async for msg in ws:
            if msg.type is WSMsgType.CLOSE:
                break

    async def _get_profiles(self, request: web.Request) -> web.Response:
        actors = request.query.getall("actors", [])
        self.profile_requests.append(actors)
        if self.profile_plan:
            step = self.profile_plan.pop(0)
            if step == STALL:
                await stall_forever()
            return step.response()
        if len(actors) > 25:
            return web.json_response({"error": "InvalidRequest", "message": "actors: at most 25"}, status=400)
        return web.json_response({"profiles": [self.profiles[a] for a in actors if a in self.profiles]})

    async def _resolve_handle(self, request: web.Request) -> web.Response:
        did = self.handles.get(request.query.get("handle", ""))
        if did is None:
            return web.json_response(
                {"error": "InvalidRequest", "message": "Unable to resolve handle"}, status=400
            )
        return web.json_response({"did": did})


def profile(did: str, handle: str, followers: int = 4200) -> dict[str, Any]:
    return {
        "did": did,
        "handle": handle,
        "displayName": handle.split(".")[0].title(),
        "followersCount": followers,
        "followsCount": 180,
        "postsCount": 950,
        "createdAt": "2023-04-01T10:00:00.000Z",
        "indexedAt": "2026-05-01T00:00:00.000Z",
        "labels": [],
        "verification": {"verifications": [], "verifiedStatus": "none", "trustedVerifierStatus": "none"},
    }
