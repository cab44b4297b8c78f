"""A fake X API v2: stream rules (GET/POST add/delete) and the filtered stream (CRLF lines, blank
keep-alives, ``errors`` objects), with a per-connection plan of failures."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from .base import STALL, Fail, FakeServer, drop, stall_forever

DROP = object()


def tweet(
    tid: str,
    text: str,
    *,
    user: str = "lea_b",
    followers: int = 5300,
    tags: tuple[str, ...] = (),
    rule: str = "tocsin:brioche",
) -> dict[str, Any]:
    uid = f"u-{user}"
    return {
        "data": {
            "id": tid,
            "text": text,
            "author_id": uid,
            "created_at": "2026-11-21T09:58:00.000Z",
            "lang": "fr",
            "edit_history_tweet_ids": [tid],
            "public_metrics": {"retweet_count": 4, "reply_count": 2, "like_count": 9, "quote_count": 1},
            "entities": {"hashtags": [{"start": 0, "end": len(t) + 1, "tag": t} for t in tags]},
        },
        "includes": {
            "users": [
                {
                    "id": uid,
                    "username": user,
                    "name": user.title(),
                    "verified": False,
                    "created_at": "2019-05-01T08:00:00.000Z",
                    "public_metrics": {
                        "followers_count": followers,
                        "following_count": 310,
                        "tweet_count": 12000,
                        "listed_count": 3,
                    },
                }
            ]
        },
        "matching_rules": [{"id": "1599", "tag": rule}],
    }


class FakeX(FakeServer):
    def __init__(self, token: str = "AAAA-bearer", keepalive: float = 0.05) -> None:
        self.token = token
        self.keepalive = keepalive
        self.rules: list[dict[str, str]] = []
        self.rule_calls: list[dict[str, Any]] = []
        self.plan: list[Any] = []
        self.rules_plan: list[Fail] = []
        self.connects: list[dict[str, str]] = []
        self._open: list[asyncio.Queue[Any]] = []
        self._next_rule = 1000
        super().__init__()

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/2/tweets/search/stream/rules", self._get_rules)
        app.router.add_post("/2/tweets/search/stream/rules", self._post_rules)
        app.router.add_get("/2/tweets/search/stream", self._stream)

    def send(self, message: dict[str, Any] | bytes) -> None:
        line = message if isinstance(message, bytes) else json.dumps(message).encode() + b"\r\n"
        for q in self._open:
            q.put_nowait(line)

    def drop_all(self) -> None:
        for q in self._open:
            q.put_nowait(DROP)

    async def wait_live(self, n: int, within: float = 5.0) -> None:
        for _ in range(int(within / 0.005)):
            if len(self.connects) >= n and self._open:
                return
            await asyncio.sleep(0.005)
        raise AssertionError(f"expected {n} stream connections, saw {len(self.connects)}")

    def _refuse(self, request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response(
                {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"},
                status=401,
            )
        return None

    async def _get_rules(self, request: web.Request) -> web.Response:
        refused = self._refuse(request)
        if refused:
            return refused
        self.rule_calls.append({"get": True})
        if self.rules_plan:
            return self.rules_plan.pop(0).response()
        return web.json_response(
            {
                "data": self.rules,
                "meta": {"sent": "2026-11-21T10:00:00.000Z", "result_count": len(self.rules)},
            }
        )

    async def _post_rules(self, request: web.Request) -> web.Response:
        refused = self._refuse(request)
        if refused:
            return refused
        body = await request.json()
        self.rule_calls.append(body)
        if "delete" in body:
            ids = set(body["delete"]["ids"])
            self.rules = [r for r in self.rules if r["id"] not in ids]
            return web.json_response({"meta": {"summary": {"deleted": len(ids), "not_deleted": 0}}})
        created, errors = [], []
        for rule in body.get("add", []):
            if "(" in rule["value"] and rule["value"].count("(") != rule["value"].count(")"):
                errors.append({"value": rule["value"], "title": "UnprocessableEntity"})
                continue
            self._next_rule += 1
            created.append({**rule, "id": str(self._next_rule)})
        self.rules += created
        answer: dict[str, Any] = {
            "data": created,
            "meta": {"summary": {"created": len(created), "not_created": len(errors)}},
        }
        if errors:
            answer["errors"] = errors
        return web.json_response(answer, status=201)

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        refused = self._refuse(request)
        self.connects.append(dict(request.query))
        if refused:
            return refused
        plan = self.plan.pop(0) if self.plan else "live"
        if isinstance(plan, Fail):
            return plan.response()
        resp = web.StreamResponse(headers={"Content-Type": "application/json; charset=utf-8"})
        await resp.prepare(request)
        if plan == STALL:
            await stall_forever()
        await resp.write(b"\r\n")
        queue: asyncio.Queue[Any] = asyncio.Queue()
        self._open.append(queue)
        try:
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), self.keepalive)
                except TimeoutError:
                    await resp.write(b"\r\n")
                    continue
                if item is DROP:
                    drop(request)
                    break
                await resp.write(item)
        except (ConnectionResetError, RuntimeError):
            pass
        finally:
            self._open.remove(queue)
        return resp
