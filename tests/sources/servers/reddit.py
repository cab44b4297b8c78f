"""A fake Reddit: the client-credentials token endpoint and OAuth listings with rate-limit headers."""

from __future__ import annotations

import base64
from typing import Any

from aiohttp import web

from .base import Fail, FakeServer


def link(n: int, title: str, created: float, *, sub: str = "france", selftext: str = "") -> dict[str, Any]:
    return {
        "kind": "t3",
        "data": {
            "id": f"p{n}",
            "name": f"t3_p{n}",
            "author": f"user{n}",
            "title": title,
            "selftext": selftext,
            "permalink": f"/r/{sub}/comments/p{n}/slug/",
            "url": f"https://www.reddit.com/r/{sub}/comments/p{n}/",
            "created_utc": created,
            "score": 10 + n,
            "num_comments": n,
            "subreddit": sub,
            "subreddit_subscribers": 2_500_000,
            "is_self": True,
            "over_18": False,
        },
    }


class FakeReddit(FakeServer):
    def __init__(self, client_id: str = "app-id", secret: str = "app-secret") -> None:
        self.client_id, self.secret = client_id, secret
        self.posts: dict[str, list[dict[str, Any]]] = {}  # listing key -> children, newest first
        self.tokens_issued: list[str] = []
        self.valid_tokens: set[str] = set()
        self.plan: list[Fail] = []
        self.token_plan: list[Fail] = []
        self.listing_requests: list[dict[str, str]] = []
        self.remaining = 600.0
        self.reset = 420
        super().__init__()

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/api/v1/access_token", self._token)
        app.router.add_get("/search", self._search)
        app.router.add_get("/r/{sub}/new", self._new)

    def add(self, key: str, child: dict[str, Any]) -> None:
        self.posts.setdefault(key, []).insert(0, child)

    def revoke_all(self) -> None:
        self.valid_tokens.clear()

    async def _token(self, request: web.Request) -> web.Response:
        if self.token_plan:
            return self.token_plan.pop(0).response()
        auth = request.headers.get("Authorization", "")
        expected = "Basic " + base64.b64encode(f"{self.client_id}:{self.secret}".encode()).decode()
        form = await request.post()
        if auth != expected:
            return web.json_response({"message": "Unauthorized", "error": 401}, status=401)
        if form.get("grant_type") != "client_credentials":
            return web.json_response({"error": "unsupported_grant_type"})
        token = f"tok{len(self.tokens_issued)}"
        self.tokens_issued.append(token)
        self.valid_tokens.add(token)
        return web.json_response(
            {"access_token": token, "token_type": "bearer", "expires_in": 86400, "scope": "*"}
        )

    async def _search(self, request: web.Request) -> web.Response:
        return self._listing(request, f"search:{request.query.get('q', '')}")

    async def _new(self, request: web.Request) -> web.Response:
        return self._listing(request, f"r/{request.match_info['sub']}")

    def _listing(self, request: web.Request, key: str) -> web.Response:
        self.listing_requests.append(
            {"key": key, "ua": request.headers.get("User-Agent", ""), **request.query}
        )
        token = request.headers.get("Authorization", "").removeprefix("bearer ")
        if token not in self.valid_tokens:
            return web.json_response({"message": "Unauthorized", "error": 401}, status=401)
        if self.plan:
            return self.plan.pop(0).response()
        limit = int(request.query.get("limit", "25"))
        children = self.posts.get(key, [])
        start = 0
        after = request.query.get("after")
        if after:
            names = [c["data"]["name"] for c in children]
            start = names.index(after) + 1 if after in names else len(children)
        page = children[start : start + limit]
        next_after = page[-1]["data"]["name"] if start + limit < len(children) and page else None
        self.remaining -= 1
        headers = {
            "X-Ratelimit-Used": str(600 - int(self.remaining)),
            "X-Ratelimit-Remaining": f"{self.remaining:.1f}",
            "X-Ratelimit-Reset": str(self.reset),
        }
        body = {
            "kind": "Listing",
            "data": {"after": next_after, "before": None, "dist": len(page), "children": page},
        }
        return web.json_response(body, headers=headers)
