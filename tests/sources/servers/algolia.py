"""A fake HN Algolia API: ``/api/v1/search_by_date`` with query, tags, numericFilters and paging."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from .base import Fail, FakeServer

T0 = 1_795_770_000  # 2026-11-27T...: any fixed Unix time


def story(oid: int, title: str, at: int, **kw: Any) -> dict[str, Any]:
    return {
        "objectID": str(oid),
        "created_at_i": at,
        "created_at": "2026-11-21T09:00:00.000Z",
        "author": "pg",
        "title": title,
        "url": f"https://blog.example/{oid}",
        "story_text": None,
        "comment_text": None,
        "points": 42,
        "num_comments": 7,
        "_tags": ["story", "author_pg", f"story_{oid}"],
        "_highlightResult": {"title": {"value": title}},
        **kw,
    }


def comment(oid: int, html: str, at: int, parent: int, **kw: Any) -> dict[str, Any]:
    return {
        "objectID": str(oid),
        "created_at_i": at,
        "author": "dang",
        "title": None,
        "url": None,
        "comment_text": html,
        "story_id": parent,
        "parent_id": parent,
        "story_title": "Ask HN: bakeries",
        "points": None,
        "num_comments": None,
        "_tags": ["comment"],
        **kw,
    }


class FakeAlgolia(FakeServer):
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.plan: list[Fail] = []
        self.queries: list[dict[str, str]] = []
        super().__init__()

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/api/v1/search_by_date", self._search)

    async def _search(self, request: web.Request) -> web.Response:
        q = dict(request.query)
        self.queries.append(q)
        if self.plan:
            return self.plan.pop(0).response()
        words = q.get("query", "").lower().split()
        since = 0
        m = re.fullmatch(r"created_at_i(>=|>)(\d+)", q.get("numericFilters", ""))
        if m:
            since = int(m.group(2)) + (1 if m.group(1) == ">" else 0)
        per_page = int(q.get("hitsPerPage", "20"))
        page = int(q.get("page", "0"))

        def text(i: dict[str, Any]) -> str:
            return " ".join(str(i.get(k) or "") for k in ("title", "comment_text", "story_text")).lower()

        found = [i for i in self.items if i["created_at_i"] >= since and all(w in text(i) for w in words)]
        found.sort(key=lambda i: i["created_at_i"], reverse=True)  # search_by_date: newest first
        pages = max(1, -(-len(found) // per_page))
        hits = found[page * per_page : (page + 1) * per_page]
        return web.json_response(
            {
                "hits": hits,
                "nbHits": len(found),
                "page": page,
                "nbPages": pages,
                "hitsPerPage": per_page,
                "processingTimeMS": 1,
                "query": q.get("query", ""),
            }
        )
