"""A fake X API v2: stream rules (GET/POST add/delete), the filtered stream (CRLF lines, blank
keep-alives, ``errors`` objects) with a per-connection plan of failures, and recent search over what the
server has published (newest first, ``since_id``/``until_id`` exclusive, ``next_token`` pages, the 7-day
window, ``x-rate-limit-*`` headers and 429s)."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from .base import STALL, Fail, FakeServer, drop, stall_forever

DROP = object()
TWITTER_EPOCH_MS = 1288834974657
RECENT_WINDOW = timedelta(days=7)


def snowflake(when: datetime, seq: int = 0) -> str:
    """A realistic tweet id for a tweet created at ``when`` (``seq`` orders tweets of one millisecond)."""
    ms = int(when.timestamp() * 1000) - TWITTER_EPOCH_MS
    return str((ms << 22) | (seq & 0x3FFFFF))


def _snowflake_time(tid: str) -> datetime | None:
    n = int(tid)
    if n < 1 << 32:  # a small test id or a pre-2010 one: no time inside
        return None
    return datetime.fromtimestamp(((n >> 22) + TWITTER_EPOCH_MS) / 1000, UTC)


def _x_time(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _parse_x_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _invalid(parameter: str, value: str, message: str) -> web.Response:
    return web.json_response(
        {
            "errors": [{"parameters": {parameter: [value]}, "message": message}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request",
        },
        status=400,
    )


def tweet(
    tid: str,
    text: str,
    *,
    user: str = "lea_b",
    followers: int = 5300,
    tags: tuple[str, ...] = (),
    rule: str = "tocsin:brioche",
    rules: tuple[str, ...] = (),
    created: datetime | None = None,
) -> dict[str, Any]:
    """A stream message for one tweet (``rules``: every tag it matches, else ``rule``)."""
    uid = f"u-{user}"
    return {
        "data": {
            "id": tid,
            "text": text,
            "author_id": uid,
            "created_at": _x_time(created) if created else "2026-11-21T09:58:00.000Z",
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
        "matching_rules": [{"id": "1599", "tag": tag} for tag in (rules or (rule,))],
    }


class FakeX(FakeServer):
    def __init__(
        self,
        token: str = "AAAA-bearer",
        keepalive: float = 0.05,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.token = token
        self.keepalive = keepalive
        self.now = now or (lambda: datetime.now(UTC))
        """The server's time: the 7-day search window and the rate-limit reset are counted from it."""
        self.rules: list[dict[str, str]] = []
        self.rule_calls: list[dict[str, Any]] = []
        self.plan: list[Any] = []
        self.rules_plan: list[Fail] = []
        self.connects: list[dict[str, str]] = []
        self.published: list[dict[str, Any]] = []
        """Every tweet published (stream message form): what recent search looks through."""
        self.searches: list[dict[str, str]] = []
        """The query parameters of every recent search request, in order."""
        self.search_plan: list[Fail] = []
        """Scripted answers for the next search requests (before the rate limit is counted)."""
        self.search_limit: int | None = None
        """Requests allowed per 15-minute window (None: unlimited, no rate-limit headers)."""
        self.on_search: Callable[[dict[str, str]], None] | None = None
        """Called with each search request's parameters before it is answered."""
        self._search_used = 0
        self._search_window: datetime | None = None
        self._open: list[asyncio.Queue[Any]] = []
        self._gate = asyncio.Event()
        self._gate.set()
        self._next_rule = 1000
        super().__init__()

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/2/tweets/search/stream/rules", self._get_rules)
        app.router.add_post("/2/tweets/search/stream/rules", self._post_rules)
        app.router.add_get("/2/tweets/search/stream", self._stream)
        app.router.add_get("/2/tweets/search/recent", self._search)

    def send(self, message: dict[str, Any] | bytes) -> None:
        """Write one line to every open stream (not kept for search: see ``publish``)."""
        line = message if isinstance(message, bytes) else json.dumps(message).encode() + b"\r\n"
        for q in self._open:
            q.put_nowait(line)

    def publish(self, message: dict[str, Any]) -> None:
        """A tweet is posted: it goes to the open streams (if any) and stays findable by search."""
        self.published.append(message)
        self.send(message)

    def hold(self) -> None:
        """New stream connections wait (after being counted) until ``release``: a reconnect held back."""
        self._gate.clear()

    def release(self) -> None:
        self._gate.set()

    async def wait_connects(self, n: int, within: float = 5.0) -> None:
        """Wait until ``n`` stream connections were attempted (open or not)."""
        for _ in range(int(within / 0.005)):
            if len(self.connects) >= n:
                return
            await asyncio.sleep(0.005)
        raise AssertionError(f"expected {n} stream connection attempts, saw {len(self.connects)}")

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
        await self._gate.wait()
        plan = self.plan.pop(0) if self.plan else "live"
        if isinstance(plan, Fail):
            return plan.response()
        resp = web.StreamResponse(headers={"Content-Type": "application/json; charset=utf-8"})
        queue: asyncio.Queue[Any] = asyncio.Queue()
        if plan != STALL:
            # Open before the client can see the headers: what is published from then on reaches it.
            self._open.append(queue)
        try:
            await resp.prepare(request)
            if plan == STALL:
                await stall_forever()
            await resp.write(b"\r\n")
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
            if queue in self._open:
                self._open.remove(queue)
        return resp

    # -- recent search

    def _rate_headers(self) -> dict[str, str]:
        if self.search_limit is None:
            return {}
        assert self._search_window is not None
        reset = self._search_window + timedelta(minutes=15)
        return {
            "x-rate-limit-limit": str(self.search_limit),
            "x-rate-limit-remaining": str(max(0, self.search_limit - self._search_used)),
            "x-rate-limit-reset": str(int(reset.timestamp())),
        }

    def _matches(self, message: dict[str, Any], query: str) -> bool:
        """The fake does not parse X's query language: a query is a synced rule, and a tweet matches
        it when the stream tagged the tweet with that rule."""
        tags = {r.get("tag") for r in message.get("matching_rules") or ()}
        return any(r["value"] == query and r["tag"] in tags for r in self.rules)

    async def _search(self, request: web.Request) -> web.Response:
        refused = self._refuse(request)
        if refused:
            return refused
        q = dict(request.query)
        self.searches.append(q)
        if self.on_search is not None:
            self.on_search(q)
        if self.search_plan:
            return self.search_plan.pop(0).response()
        now = self.now()
        if self.search_limit is not None:
            if self._search_window is None or now >= self._search_window + timedelta(minutes=15):
                self._search_window, self._search_used = now, 0
            if self._search_used >= self.search_limit:
                return web.json_response(
                    {"title": "Too Many Requests", "detail": "Too Many Requests", "status": 429},
                    status=429,
                    headers=self._rate_headers(),
                )
            self._search_used += 1
        query = q.get("query", "")
        if not query:
            return _invalid("query", "", "The `query` query parameter can not be empty")
        if len(query) > 512:
            return _invalid("query", query, f"Query length exceeds 512 characters: {len(query)}")
        oldest_allowed = now - RECENT_WINDOW
        since, until = q.get("since_id"), q.get("until_id")
        for name, value in (("since_id", since), ("until_id", until)):
            if value is not None and not value.isdigit():
                return _invalid(name, value, f"The `{name}` query parameter value [{value}] is not valid")
        if since is not None:
            when = _snowflake_time(since)
            if when is not None and when < oldest_allowed:
                return _invalid(
                    "since_id",
                    since,
                    f"Invalid 'since_id':'{since}'. 'since_id' must be a tweet id created after "
                    f"{_x_time(oldest_allowed)}.",
                )
        start = _parse_x_time(q["start_time"]) if "start_time" in q else None
        if start is not None and start < oldest_allowed:
            return _invalid(
                "start_time",
                q["start_time"],
                f"Invalid 'start_time':'{q['start_time']}'. 'start_time' must be on or after "
                f"{_x_time(oldest_allowed)}",
            )
        size = int(q.get("max_results", "10"))
        if not 10 <= size <= 100:
            return _invalid(
                "max_results", str(size), "The `max_results` query parameter value is not between 10 and 100"
            )
        offset = 0
        if "next_token" in q:
            try:
                offset = int(base64.urlsafe_b64decode(q["next_token"].encode()).decode().removeprefix("p"))
            except ValueError:
                return _invalid(
                    "next_token", q["next_token"], "The `next_token` query parameter is not valid"
                )
        found = []
        for message in self.published:
            data = message["data"]
            tid, created = int(data["id"]), _parse_x_time(data["created_at"])
            if created < oldest_allowed or not self._matches(message, query):
                continue
            if since is not None and tid <= int(since):
                continue
            if until is not None and tid >= int(until):
                continue
            if start is not None and created < start:
                continue
            found.append(message)
        found.sort(key=lambda m: int(m["data"]["id"]), reverse=True)
        page = found[offset : offset + size]
        body: dict[str, Any] = {"meta": {"result_count": len(page)}}
        if page:
            users: dict[str, Any] = {}
            for m in page:
                for u in m["includes"]["users"]:
                    users.setdefault(u["id"], u)
            body["data"] = [m["data"] for m in page]
            body["includes"] = {"users": list(users.values())}
            body["meta"].update(newest_id=page[0]["data"]["id"], oldest_id=page[-1]["data"]["id"])
        if offset + size < len(found):
            body["meta"]["next_token"] = base64.urlsafe_b64encode(f"p{offset + size}".encode()).decode()
        return web.json_response(body, headers=self._rate_headers())
