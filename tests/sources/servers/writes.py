"""Fake write APIs: what each platform answers when the desk posts.

- ``FakeMastodonWrites``: ``POST /api/v1/statuses`` (bearer token, ``Idempotency-Key`` honoured as
  Mastodon does: a repeat returns the status the first request made, 422 on a text over 500
  characters, 404 on an unknown ``in_reply_to_id``) and ``GET /api/v2/search`` (``resolve=true`` needs
  a user token; a remote post is found by its URI or URL).
- ``FakePds``: ``com.atproto.server.createSession`` (401 ``AuthenticationRequired`` on a wrong
  password), ``com.atproto.repo.getRecord`` (400 ``RecordNotFound``), ``com.atproto.repo.createRecord``
  (400 ``ExpiredToken`` once the session expires, ``InvalidRequest`` on a text over 300 graphemes or a
  record key in use; 429 ``RateLimitExceeded`` with ``ratelimit-*`` headers).
- ``FakeXWrites``: ``POST /2/tweets`` (201 ``{"data": {"id", "text", "edit_history_tweet_ids"}}``; 401
  problem objects; 403 on duplicate content; 429 with ``x-rate-limit-reset``).

Each has a ``plan`` of scripted answers for its next write requests: a ``Fail`` (status, body,
headers), ``DROP`` (cut the connection before doing anything) or ``DROP_AFTER`` (make the post, then
cut the connection: the client never hears it went out). Every request is kept in ``seen`` as
``(method, path, headers, json body)`` so tests can look for a leaked credential.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from typing import Any

from aiohttp import web

from .base import Fail, FakeServer, drop

DROP, DROP_AFTER = "drop", "drop_after"
Plan = Fail | str


class WriteServer(FakeServer):
    """What the three share: the plan, the request log, and the bearer check."""

    def __init__(self) -> None:
        self.plan: list[Plan] = []
        self.seen: list[tuple[str, str, dict[str, str], Any]] = []
        super().__init__()

    async def _log(self, request: web.Request) -> Any:
        body: Any = None
        if request.can_read_body:
            raw = await request.read()
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        self.seen.append((request.method, request.path_qs, dict(request.headers), body))
        return body

    def _next(self) -> Plan | None:
        return self.plan.pop(0) if self.plan else None

    @staticmethod
    def bearer(request: web.Request) -> str | None:
        auth = request.headers.get("Authorization", "")
        return auth[7:] if auth.startswith("Bearer ") else None

    def transcript(self) -> str:
        """Everything the server received, as text (to look for a credential in it)."""
        return json.dumps(self.seen, default=str)


# --- Mastodon ---------------------------------------------------------------------------------------


class FakeMastodonWrites(WriteServer):
    def __init__(self, token: str = "masto-secret-token", host: str = "brand.social.example") -> None:
        self.token = token
        self.host = host
        self.statuses: dict[str, dict[str, Any]] = {}
        """Statuses this instance knows, by id (posts made here and remote ones it fetched)."""
        self.remote: dict[str, dict[str, Any]] = {}
        """Posts elsewhere this instance can fetch when asked to resolve their URI or URL."""
        self.posted: list[dict[str, Any]] = []
        self.keys: dict[str, str] = {}
        self._ids = itertools.count(113_400_000_000_000_001)
        super().__init__()

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/api/v1/statuses", self._post)
        app.router.add_get("/api/v2/search", self._search)

    def add_remote(self, uri: str, url: str, acct: str = "julie_goute_tout@elsewhere.example") -> None:
        self.remote[uri] = {"uri": uri, "url": url, "acct": acct}

    def _unauthorized(self) -> web.Response:
        return web.json_response({"error": "The access token is invalid"}, status=401)

    async def _search(self, request: web.Request) -> web.Response:
        await self._log(request)
        q = request.query.get("q", "")
        resolve = request.query.get("resolve") == "true"
        if resolve and self.bearer(request) != self.token:
            return self._unauthorized()
        statuses = [s for s in self.statuses.values() if q in (s["uri"], s["url"])]
        if not statuses and resolve:
            found = next((r for r in self.remote.values() if q in (r["uri"], r["url"])), None)
            if found is not None:
                sid = str(next(self._ids))
                self.statuses[sid] = self._status(
                    sid, "(remote)", uri=found["uri"], url=found["url"], acct=found["acct"]
                )
                statuses = [self.statuses[sid]]
        return web.json_response({"accounts": [], "statuses": statuses[:1], "hashtags": []})

    def _status(self, sid: str, text: str, **kw: Any) -> dict[str, Any]:
        acct = kw.get("acct", "maisonbrioche")
        return {
            "id": sid,
            "created_at": "2026-11-21T09:45:00.000Z",
            "in_reply_to_id": kw.get("in_reply_to_id"),
            "visibility": kw.get("visibility", "public"),
            "uri": kw.get("uri", f"https://{self.host}/users/{acct}/statuses/{sid}"),
            "url": kw.get("url", f"https://{self.host}/@{acct}/{sid}"),
            "content": f"<p>{text}</p>",
            "account": {"id": "1", "username": acct, "acct": acct},
        }

    async def _post(self, request: web.Request) -> web.StreamResponse:
        body = await self._log(request)
        step = self._next()
        if isinstance(step, Fail):
            return step.response()
        if step == DROP:
            drop(request)
            return web.Response()
        if self.bearer(request) != self.token:
            return self._unauthorized()
        key = request.headers.get("Idempotency-Key")
        if key and key in self.keys:  # Mastodon answers a repeat with the status it made
            return web.json_response(self.statuses[self.keys[key]])
        text = str((body or {}).get("status") or "")
        if not text.strip():
            return web.json_response({"error": "Validation failed: Text can't be blank"}, status=422)
        if len(text) > 500:
            return web.json_response(
                {"error": "Validation failed: Text character limit of 500 exceeded"}, status=422
            )
        parent = (body or {}).get("in_reply_to_id")
        if parent is not None and str(parent) not in self.statuses:
            return web.json_response({"error": "Record not found"}, status=404)
        sid = str(next(self._ids))
        status = self._status(sid, text, in_reply_to_id=parent, visibility=(body or {}).get("visibility"))
        self.statuses[sid] = status
        self.posted.append({**status, "text": text})
        if key:
            self.keys[key] = sid
        if step == DROP_AFTER:
            drop(request)
            return web.Response()
        return web.json_response(status)


# --- Bluesky ----------------------------------------------------------------------------------------


def cid_of(record: Any) -> str:
    return "bafyrei" + hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:52]


class FakePds(WriteServer):
    def __init__(
        self,
        handle: str = "maisonbrioche.example",
        password: str = "app-pass-1234-abcd",
        did: str = "did:plc:brand",
    ) -> None:
        self.handle, self.password, self.did = handle, password, did
        self.records: dict[str, dict[str, Any]] = {}
        """Records by ``at://`` URI: ``{"uri", "cid", "value"}``."""
        self.sessions: list[str] = []
        self.expired: set[str] = set()
        self.posted: list[dict[str, Any]] = []
        self._n = itertools.count(1)
        super().__init__()

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/xrpc/com.atproto.server.createSession", self._session)
        app.router.add_get("/xrpc/com.atproto.repo.getRecord", self._get)
        app.router.add_post("/xrpc/com.atproto.repo.createRecord", self._create)

    def add_post(self, did: str, rkey: str, text: str, reply: dict[str, Any] | None = None) -> str:
        """A post already on the network; returns its URI."""
        uri = f"at://{did}/app.bsky.feed.post/{rkey}"
        value: dict[str, Any] = {
            "$type": "app.bsky.feed.post",
            "text": text,
            "createdAt": "2026-11-21T09:31:00.000Z",
        }
        if reply:
            value["reply"] = reply
        self.records[uri] = {"uri": uri, "cid": cid_of(value), "value": value}
        return uri

    @staticmethod
    def _error(status: int, error: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
        return web.json_response({"error": error, "message": message}, status=status, headers=headers)

    async def _session(self, request: web.Request) -> web.Response:
        body = await self._log(request) or {}
        if body.get("identifier") not in (self.handle, self.did) or body.get("password") != self.password:
            return self._error(401, "AuthenticationRequired", "Invalid identifier or password")
        token = f"jwt-{next(self._n)}-{hashlib.sha256(self.password.encode()).hexdigest()[:12]}"
        self.sessions.append(token)
        return web.json_response(
            {
                "accessJwt": token,
                "refreshJwt": token + "-refresh",
                "handle": self.handle,
                "did": self.did,
                "active": True,
            }
        )

    def _auth(self, request: web.Request) -> web.Response | None:
        token = self.bearer(request)
        if token is None or token not in self.sessions:
            return self._error(401, "AuthenticationRequired", "Authentication Required")
        if token in self.expired:
            return self._error(400, "ExpiredToken", "Token has expired")
        return None

    async def _get(self, request: web.Request) -> web.Response:
        await self._log(request)
        q = request.query
        uri = f"at://{q.get('repo')}/{q.get('collection')}/{q.get('rkey')}"
        found = self.records.get(uri)
        if found is None:
            return self._error(400, "RecordNotFound", f"Could not locate record: {uri}")
        return web.json_response(found)

    async def _create(self, request: web.Request) -> web.StreamResponse:
        body = await self._log(request) or {}
        step = self._next()
        if isinstance(step, Fail):
            return step.response()
        if step == DROP:
            drop(request)
            return web.Response()
        refused = self._auth(request)
        if refused is not None:
            return refused
        if body.get("repo") != self.did:
            return self._error(400, "InvalidRequest", "Input/repo must be the session's DID")
        record = body.get("record") or {}
        if len(str(record.get("text", ""))) > 300:
            return self._error(
                400,
                "InvalidRequest",
                "Invalid app.bsky.feed.post record: Record/text must not be longer than 300 graphemes",
            )
        uri = f"at://{self.did}/{body.get('collection')}/{body.get('rkey')}"
        if uri in self.records:
            return self._error(400, "InvalidRequest", "Record already exists")
        cid = cid_of(record)
        self.records[uri] = {"uri": uri, "cid": cid, "value": record}
        self.posted.append({"uri": uri, "cid": cid, "record": record})
        if step == DROP_AFTER:
            drop(request)
            return web.Response()
        return web.json_response(
            {
                "uri": uri,
                "cid": cid,
                "commit": {"cid": "bafyreicommit", "rev": "3lrev"},
                "validationStatus": "valid",
            }
        )


# --- X --------------------------------------------------------------------------------------------


def x_problem(status: int, title: str, detail: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(
        {"title": title, "type": "about:blank", "status": status, "detail": detail},
        status=status,
        headers=headers,
    )


class FakeXWrites(WriteServer):
    def __init__(self, token: str = "x-user-token-secret") -> None:
        self.token = token
        self.tweets: dict[str, str] = {"1859000000000000001": "the post being answered"}
        self.posted: list[dict[str, Any]] = []
        self._ids = itertools.count(1859100000000000001)
        super().__init__()

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/2/tweets", self._post)

    async def _post(self, request: web.Request) -> web.StreamResponse:
        body = await self._log(request) or {}
        step = self._next()
        if isinstance(step, Fail):
            return step.response()
        if step == DROP:
            drop(request)
            return web.Response()
        if self.bearer(request) != self.token:
            return x_problem(401, "Unauthorized", "Unauthorized")
        text = str(body.get("text", ""))
        if text in self.tweets.values():
            return x_problem(
                403, "Forbidden", "You are not allowed to create a Tweet with duplicate content."
            )
        reply = body.get("reply") or {}
        parent = reply.get("in_reply_to_tweet_id")
        if parent is not None and parent not in self.tweets:
            return web.json_response(
                {
                    "errors": [
                        {"parameters": {"reply.in_reply_to_tweet_id": [parent]}, "message": "not found"}
                    ],
                    "title": "Invalid Request",
                    "detail": "One or more parameters to your request was invalid.",
                    "type": "https://api.twitter.com/2/problems/invalid-request",
                },
                status=400,
            )
        tid = str(next(self._ids))
        self.tweets[tid] = text
        self.posted.append({"id": tid, "text": text, "reply": reply or None})
        if step == DROP_AFTER:
            drop(request)
            return web.Response()
        return web.json_response(
            {"data": {"id": tid, "text": text, "edit_history_tweet_ids": [tid]}}, status=201
        )
