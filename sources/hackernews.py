"""Hacker News through Algolia's ``search_by_date``, polled with a ``created_at_i`` cursor per query.

Each poll asks for what was posted since the newest item seen (``created_at_i>=``, so items sharing
that second are not lost; they are deduplicated by ``objectID``), pages through the answer, and sends
the new stories and comments oldest first.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import aiohttp

from tocsin.config.settings import HackerNewsSourceSettings, Settings
from tocsin.sources.clock import Clock
from tocsin.sources.html_text import html_to_text
from tocsin.sources.model import Author, Engagement, Mention, extract_hashtags
from tocsin.sources.net import (
    Emit,
    PolledSource,
    keyword_queries,
    raise_for_status,
    topic_keywords,
    wire_count,
)

ITEM_URL = "https://news.ycombinator.com/item?id={}"
_MAX_PAGES = 10


def hit_to_mention(hit: Mapping[str, Any], *, source: str, received_at: datetime) -> Mention:
    """A Mention from an Algolia HN hit (a story or a comment). Raises ValueError when it is not one."""
    oid = hit.get("objectID")
    ts = hit.get("created_at_i")
    if not isinstance(oid, str) or not oid or not isinstance(ts, int) or isinstance(ts, bool):
        raise ValueError("hit without objectID or created_at_i")
    title = hit.get("title") if isinstance(hit.get("title"), str) else ""
    comment = html_to_text(hit.get("comment_text")) if isinstance(hit.get("comment_text"), str) else ""
    story = html_to_text(hit.get("story_text")) if isinstance(hit.get("story_text"), str) else ""
    body = comment or story
    text = f"{title}\n\n{body}" if title and body else title or body
    author = hit.get("author")
    parent = hit.get("parent_id")
    story_title = hit.get("story_title")
    extra: dict[str, Any] = {}
    if isinstance(hit.get("url"), str) and hit["url"]:
        extra["link"] = hit["url"]
    if isinstance(story_title, str) and story_title and not title:
        extra["story_title"] = story_title
    return Mention(
        uid=oid,
        source=source,
        text=text,
        created_at=datetime.fromtimestamp(ts, UTC),
        received_at=received_at,
        url=ITEM_URL.format(oid),
        author=Author(handle=author) if isinstance(author, str) and author else Author(handle=""),
        hashtags=extract_hashtags(text),
        engagement=Engagement(
            replies=wire_count(hit.get("num_comments")),
            likes=wire_count(hit.get("points")),
        ),
        reply_to=str(parent) if isinstance(parent, (int, str)) and not isinstance(parent, bool) else None,
        raw_ref=oid,
        extra=extra,
    )


class HackerNewsSource(PolledSource):
    """Algolia's ``search_by_date``, one search per query (the poll loop is ``PolledSource``'s)."""

    kind: ClassVar[str] = "hackernews"

    def __init__(
        self,
        source_id: str,
        clock: Clock,
        *,
        base_url: str = "https://hn.algolia.com/api/v1",
        queries: Iterable[str] = (),
        tags: str = "(story,comment)",
        interval: float = 60.0,
        lookback: float = 3600.0,
        hits_per_page: int = 100,
        cursor: str | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(source_id, clock, interval=interval, **kw)
        self.base_url = base_url.rstrip("/")
        self.queries = tuple(dict.fromkeys(q for q in queries if q.strip()))
        self.tags = tags
        self.lookback = lookback
        self.hits_per_page = max(1, min(hits_per_page, 1000))
        self._since: dict[str, int] = {}
        self.resume(cursor)

    def _restore(self, cursor: str) -> None:
        saved = json.loads(cursor)
        self._since = {q: v for q, v in saved.items() if q in self.queries and isinstance(v, int)}

    @property
    def cursor(self) -> str | None:
        """JSON: per query, the ``created_at_i`` of the newest item seen."""
        return json.dumps(self._since, sort_keys=True) if self._since else None

    def searches(self) -> tuple[str, ...]:
        return self.queries

    def not_ready(self) -> str | None:
        return None if self.queries else "nothing to search: add keywords to a topic, or queries:"

    async def read_search(self, session: aiohttp.ClientSession, query: str, emit: Emit) -> None:
        since = self._since.get(query)
        if since is None:
            since = int(self.clock.now().timestamp() - self.lookback)
        hits: list[dict[str, Any]] = []
        for page in range(_MAX_PAGES):
            params = {
                "query": query,
                "tags": self.tags,
                "numericFilters": f"created_at_i>={since}",
                "hitsPerPage": str(self.hits_per_page),
                "page": str(page),
            }
            async with session.get(f"{self.base_url}/search_by_date", params=params) as resp:
                await raise_for_status(resp, f"search {query!r}", self.clock.now())
                try:
                    body = await resp.json(content_type=None)
                except ValueError:
                    self.health.bad_event(f"search {query!r}: the answer is not JSON")
                    return
            page_hits = body.get("hits") if isinstance(body, dict) else None
            if not isinstance(page_hits, list):
                self.health.bad_event(f"search {query!r}: no hits list in the answer")
                return
            hits += [h for h in page_hits if isinstance(h, dict)]
            pages = body.get("nbPages")
            if not page_hits or not isinstance(pages, int) or page + 1 >= pages:
                break
        now = self.clock.now()
        mentions: list[Mention] = []
        newest = since
        for hit in hits:
            try:
                m = hit_to_mention(hit, source=self.id, received_at=now)
            except ValueError as exc:
                self.health.bad_event(f"search {query!r}: {exc}")
                continue
            newest = max(newest, int(m.created_at.timestamp()))
            mentions.append(m)
        for m in sorted(mentions, key=lambda m: (m.created_at, m.uid)):
            await self.emit_new(m, emit)
        self._since[query] = newest


def build(
    source: HackerNewsSourceSettings,
    clock: Clock,
    settings: Settings | None = None,
    *,
    cursor: str | None = None,
) -> HackerNewsSource:
    """The source for a ``type: hackernews`` entry: ``queries:``, else the topics' keywords."""
    queries = source.queries or keyword_queries(topic_keywords(settings.topics) if settings else ())
    return HackerNewsSource(
        source.id,
        clock,
        base_url=source.base_url,
        queries=queries,
        tags=source.tags,
        interval=source.interval.total_seconds(),
        lookback=source.lookback.total_seconds(),
        cursor=cursor,
    )
