"""Mastodon: hashtag (and optionally public) streams over Server-Sent Events, with no gaps.

On every (re)connect the stream is opened first, then the timeline is read forward from the newest
status seen (``min_id``) until empty, and only then are the stream's buffered events processed: a
disconnect leaves no gap, and the overlap is removed by deduplicating on the status ``uri``.

One source follows one instance (configure one source per instance); several hashtags and timelines
run as parallel streams sharing the deduplication. Needs a user token (Mastodon ≥ 4.2).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

import aiohttp
from tocsin.config.settings import MastodonSourceSettings, Settings
from tocsin.sources.base import SourceState
from tocsin.sources.clock import Clock
from tocsin.sources.html_text import html_to_text
from tocsin.sources.model import Author, Engagement, Mention, normalise_hashtags, parse_time
from tocsin.sources.net import (
    Backoff,
    BoundedMap,
    BoundedSet,
    Emit,
    KeywordFilter,
    NetSource,
    SSEParser,
    WatchedReader,
    keyword_hashtags,
    raise_for_status,
    topic_keywords,
)

PUBLIC_TIMELINES = ("public", "public/local", "public/remote")
_PAGE_LIMIT = 40
_MAX_CATCHUP_PAGES = 50  # 2,000 statuses per stream per reconnect: beyond that, say there is a gap


class MastodonFormatError(ValueError):
    """A status object missing what every status has."""


def status_to_mention(status: Mapping[str, Any], *, source: str, received_at: datetime, host: str) -> Mention:
    """A Mention from a Mastodon Status (a boost stands for the boosted status)."""
    inner = status.get("reblog")
    if isinstance(inner, Mapping):
        status = inner
    uri = status.get("uri")
    if not isinstance(uri, str) or not uri:
        raise MastodonFormatError("status without uri")
    try:
        created = parse_time(str(status["created_at"]))
    except (KeyError, ValueError):
        raise MastodonFormatError(f"status {uri}: bad created_at") from None
    text = html_to_text(status.get("content"))
    spoiler = status.get("spoiler_text")
    if isinstance(spoiler, str) and spoiler.strip():
        text = f"{spoiler.strip()}\n\n{text}" if text else spoiler.strip()  # the content warning is content
    tags = [
        t["name"]
        for t in status.get("tags") or ()
        if isinstance(t, Mapping) and isinstance(t.get("name"), str)
    ]
    acc = status.get("account") or {}
    acct = str(acc.get("acct") or acc.get("username") or "")
    if acct and "@" not in acct:
        acct = f"{acct}@{host}"  # local accounts are written without the instance: make handles global
    author = Author(
        handle=acct,
        name=_str(acc.get("display_name")) or None,
        followers=_count(acc.get("followers_count")),
        following=_count(acc.get("following_count")),
        posts=_count(acc.get("statuses_count")),
        created_at=_time(acc.get("created_at")),
        verified=None,  # Mastodon has no identity verification (profile link checks are not that)
        bot=acc.get("bot") if isinstance(acc.get("bot"), bool) else None,
    )
    return Mention(
        uid=uri,
        source=source,
        text=text,
        created_at=created,
        received_at=received_at,
        url=_str(status.get("url")) or uri,
        author=author,
        lang=_str(status.get("language")),
        hashtags=normalise_hashtags(tags),
        engagement=Engagement(
            replies=_count(status.get("replies_count")),
            reposts=_count(status.get("reblogs_count")),
            likes=_count(status.get("favourites_count")),
        ),
        reply_to=_str(status.get("in_reply_to_id")),
        raw_ref=_str(status.get("id")),
    )


def _str(v: Any) -> str | None:
    return v if isinstance(v, str) and v else None


def _count(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else None


def _time(v: Any) -> datetime | None:
    if not isinstance(v, str):
        return None
    try:
        return parse_time(v)
    except ValueError:
        return None


def _id_key(status_id: str) -> tuple[int, str]:
    """Mastodon ids are time-sortable numeric strings: compare by length, then lexically."""
    return (len(status_id), status_id)


class MastodonSource(NetSource):
    kind: ClassVar[str] = "mastodon"
    auth_hint = "set token: ${MASTODON_TOKEN} to a user access token of this instance"

    def __init__(
        self,
        source_id: str,
        clock: Clock,
        *,
        base_url: str = "https://mastodon.social",
        token: str | None = None,
        hashtags: Iterable[str] = (),
        timelines: Iterable[str] = (),
        keywords: Iterable[str] = (),
        local_only: bool = False,
        streaming_url: str | None = None,
        backfill: int = _PAGE_LIMIT,
        watchdog: float = 60.0,
        cursor: str | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(source_id, clock, **kw)
        self.base_url = base_url.rstrip("/")
        self.host = urlsplit(self.base_url).hostname or self.base_url
        self.token = token
        self.local_only = local_only
        self.streaming_url = streaming_url.rstrip("/") if streaming_url else None
        self.backfill = max(0, min(backfill, _PAGE_LIMIT))
        self.watchdog = watchdog
        self.filter = KeywordFilter(keywords)
        tags = dict.fromkeys(t.strip().lstrip("#").lower() for t in hashtags if t.strip().lstrip("#"))
        self.streams: tuple[str, ...] = (
            *(f"hashtag:{t}" for t in tags),
            *(t for t in dict.fromkeys(timelines) if t in PUBLIC_TIMELINES),
        )
        self._newest: dict[str, str] = {}
        self._seen: BoundedSet[str] = BoundedSet(50_000)
        self._by_id: BoundedMap[str, Mention] = BoundedMap(20_000)
        self.resume(cursor)

    def _restore(self, cursor: str) -> None:
        saved = json.loads(cursor)
        if not isinstance(saved, dict):
            raise ValueError("not an object")
        self._newest = {k: v for k, v in saved.items() if isinstance(v, str) and k in self.streams}

    @property
    def cursor(self) -> str | None:
        """JSON: the newest status id seen per stream (``hashtag:tag`` or a timeline name)."""
        return json.dumps(self._newest, sort_keys=True) if self._newest else None

    # -- running

    async def _run(self, session: aiohttp.ClientSession, emit: Emit) -> None:
        if not self.streams:
            self.health.set_state(
                SourceState.FAILED, "nothing to follow: add #hashtag keywords to a topic, or hashtags:"
            )
            return
        streaming = await self._streaming_base(session)
        await asyncio.gather(*(self._follow(session, streaming, key, emit) for key in self.streams))

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def _streaming_base(self, session: aiohttp.ClientSession) -> str:
        """Where the streaming API lives: configured, else announced by the instance, else the instance."""
        if self.streaming_url:
            return self.streaming_url
        try:
            async with session.get(f"{self.base_url}/api/v2/instance", headers=self._headers()) as resp:
                if resp.status == 200:
                    info = await resp.json(content_type=None)
                    url = (((info or {}).get("configuration") or {}).get("urls") or {}).get("streaming")
                    if isinstance(url, str) and url:
                        return _http_base(url)
            async with session.get(f"{self.base_url}/api/v1/streaming", allow_redirects=False) as resp:
                location = resp.headers.get("Location")
                if resp.status in (301, 302, 303, 307, 308) and location:
                    parts = urlsplit(location)
                    if parts.scheme and parts.netloc:
                        return f"{parts.scheme}://{parts.netloc}"
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError, AttributeError) as exc:
            self.log.info("source %s: streaming host discovery failed (%s); using the instance", self.id, exc)
        return self.base_url

    async def _follow(self, session: aiohttp.ClientSession, streaming: str, key: str, emit: Emit) -> None:
        backoff = Backoff(
            self.backoff.initial, self.backoff.maximum, jitter=self.backoff.jitter, rng=self.rng
        )

        async def connect_once() -> None:
            await self._connect_once(session, streaming, key, emit, backoff)

        await self.keep_connected(connect_once, backoff=lambda _exc: backoff)

    async def _connect_once(
        self, session: aiohttp.ClientSession, streaming: str, key: str, emit: Emit, backoff: Backoff
    ) -> None:
        path, params = self._stream_endpoint(key)
        async with session.get(
            f"{streaming}/api/v1/streaming/{path}",
            params=params,
            headers={**self._headers(), "Accept": "text/event-stream"},
        ) as resp:
            await raise_for_status(resp, f"{key} stream", self.clock.now())
            # The stream is open and buffering: now fill the gap since the last status seen.
            await self._catch_up(session, key, emit)
            backoff.reset()
            self.healthy()
            reader = WatchedReader(resp, self.watchdog)
            parser = SSEParser()
            while True:
                chunk = await reader.read()
                if not chunk:
                    return  # the server ended the stream
                for event in parser.feed(chunk):
                    await self._on_event(key, event.event, event.data, emit)

    def _stream_endpoint(self, key: str) -> tuple[str, dict[str, str]]:
        if key.startswith("hashtag:"):
            return ("hashtag/local" if self.local_only else "hashtag"), {"tag": key[8:]}
        return key, {}

    def _timeline_endpoint(self, key: str) -> tuple[str, dict[str, str]]:
        if key.startswith("hashtag:"):
            params = {"local": "true"} if self.local_only else {}
            return f"/api/v1/timelines/tag/{quote(key[8:], safe='')}", params
        if key == "public/local":
            return "/api/v1/timelines/public", {"local": "true"}
        if key == "public/remote":
            return "/api/v1/timelines/public", {"remote": "true"}
        return "/api/v1/timelines/public", {}

    async def _catch_up(self, session: aiohttp.ClientSession, key: str, emit: Emit) -> None:
        """Read the timeline forward from the newest status seen (``min_id``) until it is empty."""
        path, base_params = self._timeline_endpoint(key)
        newest = self._newest.get(key)
        if newest is None:
            # First start ever: a little recent context (or just the position, when backfill is 0).
            statuses = await self._timeline(
                session, key, path, {**base_params, "limit": str(self.backfill or 1)}
            )
            if statuses:
                self._advance(key, statuses)
            if self.backfill:
                for st in reversed(statuses):
                    await self._on_status(key, st, emit, edited=False)
            return
        for _ in range(_MAX_CATCHUP_PAGES):
            params = {**base_params, "min_id": newest, "limit": str(_PAGE_LIMIT)}
            statuses = await self._timeline(session, key, path, params)
            if not statuses:
                return
            # A min_id page holds the statuses just after min_id, newest first: replay oldest first.
            for st in sorted(statuses, key=lambda s: _id_key(str(s.get("id", "")))):
                await self._on_status(key, st, emit, edited=False)
            self._advance(key, statuses)
            if self._newest.get(key) == newest:
                return  # no progress (a server ignoring min_id): do not loop
            newest = self._newest[key]
        missed = _MAX_CATCHUP_PAGES * _PAGE_LIMIT
        self.health.last_error = (
            f"{key}: over {missed} statuses to catch up; the newest of the gap are skipped"
        )
        self.log.warning("source %s: %s", self.id, self.health.last_error)

    async def _timeline(
        self, session: aiohttp.ClientSession, key: str, path: str, params: dict[str, str]
    ) -> list[dict[str, Any]]:
        async with session.get(f"{self.base_url}{path}", params=params, headers=self._headers()) as resp:
            await raise_for_status(resp, f"{key} catch-up", self.clock.now())
            try:
                body = await resp.json(content_type=None)
            except ValueError:
                self.health.bad_event(f"{key} catch-up: the timeline is not JSON")
                return []
            await self._respect_rate_limit(resp)
        if not isinstance(body, list):
            self.health.bad_event(f"{key} catch-up: expected a list of statuses")
            return []
        return [st for st in body if isinstance(st, dict)]

    async def _respect_rate_limit(self, resp: aiohttp.ClientResponse) -> None:
        """300 requests / 5 min: when the budget is spent, wait for the reset the server announced."""
        remaining = resp.headers.get("X-RateLimit-Remaining")
        if remaining is None or not remaining.strip().isdigit() or int(remaining) > 0:
            return
        reset = _time(resp.headers.get("X-RateLimit-Reset"))
        wait = (reset - self.clock.now()).total_seconds() if reset else 60.0
        if wait > 0:
            await self.pause(min(wait, self.max_retry_after))

    def _advance(self, key: str, statuses: list[dict[str, Any]]) -> None:
        ids = [str(st["id"]) for st in statuses if isinstance(st.get("id"), (str, int))]
        if not ids:
            return
        top = max(ids, key=_id_key)
        current = self._newest.get(key)
        if current is None or _id_key(top) > _id_key(current):
            self._newest[key] = top

    async def _on_event(self, key: str, name: str, data: str, emit: Emit) -> None:
        if name in ("update", "status.update"):
            try:
                status = json.loads(data)
            except ValueError:
                self.health.bad_event(f"{key}: {name} event is not JSON")
                return
            if not isinstance(status, dict):
                self.health.bad_event(f"{key}: {name} event is not a status object")
                return
            await self._on_status(key, status, emit, edited=name == "status.update")
            if name == "update":
                self._advance(key, [status])
        elif name == "delete":
            gone = self._by_id.pop(data.strip())
            if gone is not None:
                self.health.event()
                await emit(
                    replace(gone, deleted=True, received_at=self.clock.now(), extra=_without_update(gone))
                )
        # Other events (notification, filters_changed, announcement…) are not mentions.

    async def _on_status(self, key: str, status: dict[str, Any], emit: Emit, *, edited: bool) -> None:
        try:
            mention = status_to_mention(status, source=self.id, received_at=self.clock.now(), host=self.host)
        except MastodonFormatError as exc:
            self.health.bad_event(f"{key}: {exc}")
            return
        if not key.startswith("hashtag:") and not self.filter.matches(mention.text, mention.hashtags):
            return  # a whole public timeline: keep only what a topic may be about
        first_time = self._seen.add(mention.uid)
        if not first_time and not edited:
            return  # already seen through another stream, or in the catch-up overlap
        if edited and not first_time:
            mention = replace(mention, extra={**mention.extra, "update": "edit"})  # same uid: a new version
        if mention.raw_ref:
            self._by_id[mention.raw_ref] = mention
        self.health.event()
        await emit(mention)


def _without_update(m: Mention) -> dict[str, Any]:
    return {k: v for k, v in m.extra.items() if k != "update"}


def _http_base(streaming_url: str) -> str:
    """``wss://streaming.example`` → ``https://streaming.example`` (SSE is plain HTTP)."""
    parts = urlsplit(streaming_url)
    scheme = {"wss": "https", "ws": "http"}.get(parts.scheme, parts.scheme or "https")
    return f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def build_mastodon(
    source: MastodonSourceSettings,
    clock: Clock,
    settings: Settings | None = None,
    *,
    cursor: str | None = None,
) -> MastodonSource:
    """The source for a ``type: mastodon`` entry: the topics' ``#tags`` plus ``hashtags:`` are streamed."""
    keywords = topic_keywords(settings.topics) if settings else ()
    return MastodonSource(
        source.id,
        clock,
        base_url=source.base_url,
        token=source.token,
        hashtags=(*keyword_hashtags(keywords), *source.hashtags),
        timelines=source.timelines,
        keywords=keywords,
        local_only=source.local_only,
        streaming_url=source.streaming_url,
        backfill=source.backfill,
        watchdog=source.watchdog.total_seconds(),
        cursor=cursor,
    )
