"""A fake feed host: RSS 2.0 and Google Alerts-style Atom with ETag/Last-Modified, 304, redirects,
410, 429 + Retry-After, 5xx and broken XML, per path, scripted by ``plan[path]``."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .base import Fail, FakeServer

LAST_MODIFIED = "Sat, 21 Nov 2026 09:00:00 GMT"


def rss(items: list[dict[str, str]], *, title: str = "Actu boulangerie", lang: str = "fr-FR") -> str:
    body = "".join(
        f"<item><title>{i['title']}</title><link>{i['link']}</link><guid>{i['guid']}</guid>"
        f"<description>{i.get('description', '')}</description><pubDate>{i['date']}</pubDate>"
        + (f"<author>{i['author']}</author>" if "author" in i else "")
        + "</item>"
        for i in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>https://news.example/</link><language>{lang}</language>{body}</channel></rss>"
    )


def google_alert(entries: list[dict[str, str]]) -> str:
    body = "".join(
        f"<entry><id>tag:google.com,2013:googlealerts/feed:{e['id']}</id>"
        f'<title type="html">{e["title"]}</title>'
        f'<link href="https://www.google.com/url?rct=j&amp;sa=t&amp;url={e["url"]}&amp;ct=ga&amp;cd=CAIyGg&amp;usg=AOv"/>'
        f"<published>{e['published']}</published><updated>{e['published']}</updated>"
        f'<content type="html">{e["content"]}</content><author><name></name></author></entry>'
        for e in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<id>tag:google.com,2005:reader/user/00000/state/com.google/alerts/1</id>"
        "<title>Google Alert - maison brioche</title>"
        '<link href="https://www.google.com/alerts/feeds/0/1" rel="self"/>'
        f"<updated>2026-11-21T09:00:00Z</updated>{body}</feed>"
    )


class FakeFeeds(FakeServer):
    def __init__(self) -> None:
        self.docs: dict[str, tuple[str, str]] = {}  # path -> (content type, body)
        self.plan: dict[str, list[Any]] = {}
        self.redirects: dict[str, tuple[int, str]] = {}
        self.requests_log: list[tuple[str, dict[str, str]]] = []
        self.etag_version = 1
        super().__init__()

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/{path:.*}", self._serve)

    def set(self, path: str, body: str, content_type: str = "application/rss+xml") -> None:
        self.docs[path] = (content_type, body)
        self.etag_version += 1

    def hits(self, path: str) -> list[dict[str, str]]:
        return [h for p, h in self.requests_log if p == path]

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["path"]
        self.requests_log.append((path, dict(request.headers)))
        steps = self.plan.get(path)
        if steps:
            step = steps.pop(0)
            if isinstance(step, Fail):
                return step.response()
        if path in self.redirects:
            status, target = self.redirects[path]
            return web.Response(status=status, headers={"Location": target})
        if path not in self.docs:
            return web.Response(status=404, text="no such feed")
        ctype, body = self.docs[path]
        etag = f'W/"v{self.etag_version}"'
        if request.headers.get("If-None-Match") == etag or (
            request.headers.get("If-Modified-Since") == LAST_MODIFIED
            and "If-None-Match" not in request.headers
        ):
            return web.Response(status=304, headers={"ETag": etag})
        resp = web.Response(
            body=body.encode(), headers={"ETag": etag, "Last-Modified": LAST_MODIFIED, "Content-Type": ctype}
        )
        resp.enable_compression()
        return resp
