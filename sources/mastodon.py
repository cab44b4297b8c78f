"""Mastodon: hashtag (and optionally public) streams over Server-Sent Events, with no gaps.

On every (re)connect the stream is opened first, then the timeline is read forward from the newest
status seen (``min_id``) until empty, and only then are the stream's buffered events processed: a
disconnect leaves no gap, and the overlap is removed by deduplicating on the status ``uri``.

One source follows one or several instances (``base_url`` plus ``instances``, each with its own user
token: Mastodon ≥ 4.2 wants one for every stream); every hashtag and timeline of every instance runs as
a parallel stream, and all share the deduplication by ``uri``, so a status federated to two of them, or
carrying two followed hashtags, goes out once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
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
    wire_count,
    wire_time,
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
        followers=wire_count(acc.get("followers_count")),
        following=wire_count(acc.get("following_count")),
        posts=wire_count(acc.get("statuses_count")),
        created_at=wire_time(acc.get("created_at")),
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
            replies=wire_count(status.get("replies_count")),
            reposts=wire_count(status.get("reblogs_count")),
            likes=wire_count(status.get("favourites_count")),
        ),
        reply_to=_str(status.get("in_reply_to_id")),
        raw_ref=_str(status.get("id")),
    )


def _str(v: Any) -> str | None:
    return v if isinstance(v, str) and v else None


def _id_key(status_id: str) -> tuple[int, str]:
    """Mastodon ids are time-sortable numeric strings: compare by length, then lexically."""
    return (len(status_id), status_id)


@dataclass
class _Instance:
    """One Mastodon server followed by the source, with its own token and streaming host."""

    base_url: str
    token: str | None
    streaming_url: str | None = None

    @property
    def netloc(self) -> str:
        return urlsplit(self.base_url).netloc or self.base_url

    @property
    def hostname(self) -> str:
        return urlsplit(self.base_url).hostname or self.base_url

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


class MastodonSource(NetSource):
    kind: ClassVar[str] = "mastodon"
    auth_hint = "set token: ${MASTODON_TOKEN} to a user access token of the instance"

    def __init__(
        self,
        source_id: str,
        clock: Clock,
        *,
        base_url: str = "https://mastodon.social",
        token: str | None = None,
        instances: Mapping[str, str | None] | None = None,
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
        main = _Instance(base_url.rstrip("/"), token, streaming_url.rstrip("/") if streaming_url else None)
        self.instances: list[_Instance] = [main]
        for url, tok in (instances or {}).items():
            if url.rstrip("/") not in {i.base_url for i in self.instances}:
                self.instances.append(_Instance(url.rstrip("/"), tok))
        self.local_only = local_only
        self.backfill = max(0, min(backfill, _PAGE_LIMIT))
        self.watchdog = watchdog
        self.filter = KeywordFilter(keywords)
        tags = dict.fromkeys(t.strip().lstrip("#").lower() for t in hashtags if t.strip().lstrip("#"))
        self.streams: tuple[str, ...] = (
            *(f"hashtag:{t}" for t in tags),
            *(t for t in dict.fromkeys(timelines) if t in PUBLIC_TIMELINES),
        )
        # Per "instance|stream": the newest status id seen there (ids are per instance).
        self._newest: dict[str, str] = {}
        # By uri: the same status reaches several hashtags and, federated, several instances.
        self._seen: BoundedSet[str] = BoundedSet(50_000)
        self._uid_of: BoundedMap[str, str] = BoundedMap(50_000)  # "instance|local id" → uri
        self._sent: BoundedMap[str, Mention] = BoundedMap(20_000)  # uri → the version last sent
        self.resume(cursor)

    def _restore(self, cursor: str) -> None:
        saved = json.loads(cursor)
        if not isinstance(saved, dict):
            raise ValueError("not an object")
        known = {_ckey(i, k) for i in self.instances for k in self.streams}
        self._newest = {k: v for k, v in saved.items() if isinstance(v, str) and k in known}

    @property
    def cursor(self) -> str | None:
        """JSON: the newest status id seen per ``instance|stream`` (stream: ``hashtag:tag`` or a timeline)."""
        return json.dumps(self._newest, sort_keys=True) if self._newest else None

    # -- running

    async def _run(self, session: aiohttp.ClientSession, emit: Emit) -> None:
        if not self.streams:
            self.health.set_state(
                SourceState.FAILED, "nothing to follow: add #hashtag keywords to a topic, or hashtags:"
            )
            return
        follows = []
        for inst in self.instances:
            streaming = await self._streaming_base(session, inst)
            follows += [self._follow(session, inst, streaming, key, emit) for key in self.streams]
        await asyncio.gather(*follows)

    def _label(self, inst: _Instance, key: str) -> str:
        return f"{inst.hostname} {key}" if len(self.instances) > 1 else key

    async def _streaming_base(self, session: aiohttp.ClientSession, inst: _Instance) -> str:
        """Where the streaming API lives: configured, else announced by the instance, else the instance."""
        if inst.streaming_url:
            return inst.streaming_url
        try:
            async with session.get(f"{inst.base_url}/api/v2/instance", headers=inst.headers()) as resp:
                if resp.status == 200:
                    info = await resp.json(content_type=None)
                    url = (((info or {}).get("configuration") or {}).get("urls") or {}).get("streaming")
                    if isinstance(url, str) and url:
                        return _http_base(url)
            async with session.get(f"{inst.base_url}/api/v1/streaming", allow_redirects=False) as resp:
                location = resp.headers.get("Location")
                if resp.status in (301, 302, 303, 307, 308) and location:
                    parts = urlsplit(location)
                    if parts.scheme and parts.netloc:
                        return f"{parts.scheme}://{parts.netloc}"
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError, AttributeError) as exc:
            self.log.info("source %s: streaming host discovery failed (%s); using the instance", self.id, exc)
        return inst.base_url

    async def _follow(
        self, session: aiohttp.ClientSession, inst: _Instance, streaming: str, key: str, emit: Emit
    ) -> None:
        backoff = Backoff(
            self.backoff.initial, self.backoff.maximum, jitter=self.backoff.jitter, rng=self.rng
        )

        async def connect_once() -> None:
            await self._connect_once(session, inst, streaming, key, emit, backoff)

        await self.keep_connected(connect_once, backoff=lambda _exc: backoff, scope=inst.netloc)

    async def _connect_once(
        self,
        session: aiohttp.ClientSession,
        inst: _Instance,
        streaming: str,
        key: str,
        emit: Emit,
        backoff: Backoff,
    ) -> None:
        path, params = self._stream_endpoint(key)
        async with session.get(
            f"{streaming}/api/v1/streaming/{path}",
            params=params,
            headers={**inst.headers(), "Accept": "text/event-stream"},
        ) as resp:
            await raise_for_status(resp, f"{self._label(inst, key)} stream", self.clock.now())
            # The stream is open and buffering: now fill the gap since the last status seen.
            await self._catch_up(session, inst, key, emit)
            backoff.reset()
            self.healthy(inst.netloc)
            reader = WatchedReader(resp, self.watchdog)
            parser = SSEParser()
            while True:
                chunk = await reader.read()
                if not chunk:
                    return  # the server ended the stream
                for event in parser.feed(chunk):
                    await self._on_event(inst, key, event.event, event.data, emit)

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

    async def _catch_up(self, session: aiohttp.ClientSession, inst: _Instance, key: str, emit: Emit) -> None:
        """Read the timeline forward from the newest status seen (``min_id``) until it is empty."""
        path, base_params = self._timeline_endpoint(key)
        ck = _ckey(inst, key)
        newest = self._newest.get(ck)
        if newest is None:
            # First start ever: a little recent context (or just the position, when backfill is 0).
            statuses = await self._timeline(
                session, inst, key, path, {**base_params, "limit": str(self.backfill or 1)}
            )
            if statuses:
                self._advance(ck, statuses)
            if self.backfill:
                for st in reversed(statuses):
                    await self._on_status(inst, key, st, emit, edited=False)
            return
        for _ in range(_MAX_CATCHUP_PAGES):
            params = {**base_params, "min_id": newest, "limit": str(_PAGE_LIMIT)}
            statuses = await self._timeline(session, inst, key, path, params)
            if not statuses:
                return
            # A min_id page holds the statuses just after min_id, newest first: replay oldest first.
            for st in sorted(statuses, key=lambda s: _id_key(str(s.get("id", "")))):
                await self._on_status(inst, key, st, emit, edited=False)
            self._advance(ck, statuses)
            if self._newest.get(ck) == newest:
                return  # no progress (a server ignoring min_id): do not loop
            newest = self._newest[ck]
        missed = _MAX_CATCHUP_PAGES * _PAGE_LIMIT
        self.health.last_error = (
            f"{self._label(inst, key)}: over {missed} statuses to catch up; the newest of the gap are skipped"
        )
        self.log.warning("source %s: %s", self.id, self.health.last_error)

    async def _timeline(
        self, session: aiohttp.ClientSession, inst: _Instance, key: str, path: str, params: dict[str, str]
    ) -> list[dict[str, Any]]:
        what = f"{self._label(inst, key)} catch-up"
        async with session.get(f"{inst.base_url}{path}", params=params, headers=inst.headers()) as resp:
            await raise_for_status(resp, what, self.clock.now())
            try:
                body = await resp.json(content_type=None)
            except ValueError:
                self.health.bad_event(f"{what}: the timeline is not JSON")
                return []
            await self._respect_rate_limit(resp)
        if not isinstance(body, list):
            self.health.bad_event(f"{what}: expected a list of statuses")
            return []
        return [st for st in body if isinstance(st, dict)]

    async def _respect_rate_limit(self, resp: aiohttp.ClientResponse) -> None:
        """300 requests / 5 min: when the budget is spent, wait for the reset the server announced."""
        remaining = resp.headers.get("X-RateLimit-Remaining")
        if remaining is None or not remaining.strip().isdigit() or int(remaining) > 0:
            return
        reset = wire_time(resp.headers.get("X-RateLimit-Reset"))
        wait = (reset - self.clock.now()).total_seconds() if reset else 60.0
        if wait > 0:
            await self.pause(min(wait, self.max_retry_after))

    def _advance(self, ck: str, statuses: list[dict[str, Any]]) -> None:
        ids = [str(st["id"]) for st in statuses if isinstance(st.get("id"), (str, int))]
        if not ids:
            return
        top = max(ids, key=_id_key)
        current = self._newest.get(ck)
        if current is None or _id_key(top) > _id_key(current):
            self._newest[ck] = top

    async def _on_event(self, inst: _Instance, key: str, name: str, data: str, emit: Emit) -> None:
        label = self._label(inst, key)
        if name in ("update", "status.update"):
            try:
                status = json.loads(data)
            except ValueError:
                self.health.bad_event(f"{label}: {name} event is not JSON")
                return
            if not isinstance(status, dict):
                self.health.bad_event(f"{label}: {name} event is not a status object")
                return
            await self._on_status(inst, key, status, emit, edited=name == "status.update")
            if name == "update":
                self._advance(_ckey(inst, key), [status])
        elif name == "delete":
            uid = self._uid_of.pop(f"{inst.netloc}|{data.strip()}")
            gone = self._sent.pop(uid) if uid is not None else None
            if gone is not None:
                self.health.event()
                await emit(
                    replace(gone, deleted=True, received_at=self.clock.now(), extra=_without_update(gone))
                )
        # Other events (notification, filters_changed, announcement…) are not mentions.

    async def _on_status(
        self, inst: _Instance, key: str, status: dict[str, Any], emit: Emit, *, edited: bool
    ) -> None:
        try:
            mention = status_to_mention(
                status, source=self.id, received_at=self.clock.now(), host=inst.hostname
            )
        except MastodonFormatError as exc:
            self.health.bad_event(f"{self._label(inst, key)}: {exc}")
            return
        if not key.startswith("hashtag:") and not self.filter.matches(mention.text, mention.hashtags):
            return  # a whole public timeline: keep only what a topic may be about
        local_id = status.get("id")
        if isinstance(local_id, (str, int)):  # a delete names the status by this instance's own id
            self._uid_of[f"{inst.netloc}|{local_id}"] = mention.uid
        first_time = self._seen.add(mention.uid)
        if not first_time and not edited:
            return  # already seen through another stream or instance, or in the catch-up overlap
        if edited and not first_time:
            mention = replace(mention, extra={**mention.extra, "update": "edit"})  # same uid: a new version
        self._sent[mention.uid] = mention
        self.health.event()
        await emit(mention)


def _ckey(inst: _Instance, key: str) -> str:
    return f"{inst.netloc}|{key}"


def _without_update(m: Mention) -> dict[str, Any]:
    return {k: v for k, v in m.extra.items() if k != "update"}


def _http_base(streaming_url: str) -> str:
    """``wss://streaming.example`` → ``https://streaming.example`` (SSE is plain HTTP)."""
    parts = urlsplit(streaming_url)
    scheme = {"wss": "https", "ws": "http"}.get(parts.scheme, parts.scheme or "https")
    return f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def build(
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
        instances=source.instances,
        hashtags=(*keyword_hashtags(keywords), *source.hashtags),
        timelines=source.timelines,
        keywords=keywords,
        local_only=source.local_only,
        streaming_url=source.streaming_url,
        backfill=source.backfill,
        watchdog=source.watchdog.total_seconds(),
        cursor=cursor,
    )
