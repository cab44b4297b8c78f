"""Bluesky through Jetstream: the whole post stream, filtered here on the topics' keywords.

Jetstream sends every new post of the network (hundreds of events per second in a surge), so the
decoder rejects most frames on the raw text before ``json.loads``; only candidates are parsed, matched
precisely and turned into Mentions. Resuming uses Jetstream's ``cursor`` (microseconds): the last event
processed minus a margin, with duplicates of the replayed margin dropped.

Jetstream carries no handle or follower counts. Authors are looked up with ``getProfiles`` (batches of
at most 25, cached with an expiry, rate-limited) in a separate task, so the stream never waits: a
mention first goes out with the author's DID only and is sent again, same uid, once the profile is in.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlencode

import aiohttp

from tocsin.config.settings import BlueskySourceSettings, Settings
from tocsin.sources.clock import Clock
from tocsin.sources.model import Author, Mention, extract_hashtags, normalise_hashtags
from tocsin.sources.net import (
    AuthFailed,
    Backoff,
    BoundedMap,
    BoundedSet,
    Emit,
    HttpStatusError,
    KeywordFilter,
    NetSource,
    RetryLater,
    SourceError,
    Stalled,
    parse_retry_after,
    raise_for_status,
    topic_keywords,
    wire_count,
    wire_time,
)

POST = "app.bsky.feed.post"
_TAG_FACET = "app.bsky.richtext.facet#tag"
_MAX_BATCH = 25  # getProfiles takes at most 25 actors


@dataclass(frozen=True, slots=True)
class Deleted:
    """A post was deleted (Jetstream ``delete`` operation)."""

    uid: str


@dataclass(frozen=True, slots=True)
class IdentityChanged:
    """An account changed handle: its cached profile is stale."""

    did: str


class JetstreamDecoder:
    """Turns Jetstream text frames into Mentions, Deleted or IdentityChanged; None for everything else.

    Pure and synchronous (no I/O): the fast path the benchmark measures. ``time_us`` is the cursor of
    the last frame seen; ``errors`` collects why malformed frames were skipped.
    """

    def __init__(
        self, source_id: str, clock: Clock, keywords: Iterable[str], dids: Iterable[str] = ()
    ) -> None:
        self.source_id = source_id
        self.clock = clock
        self.filter = KeywordFilter(keywords)
        self.dids = set(dids)
        """Accounts whose every post is kept (the brand's own, from ``@handle`` keywords)."""
        self.time_us: int | None = None
        self.watch_deletes = False
        """Set once a mention went out: only then can a delete concern us."""

    def decode(self, raw: str) -> Mention | Deleted | IdentityChanged | None:
        """Decode one frame. Raises ``ValueError`` for a malformed frame that could have been ours."""
        t = _int_field(raw, '"time_us"')
        if t is not None:
            self.time_us = t
        if not self.filter.may_match_raw(raw.lower()) and not (self.dids and _did_of(raw) in self.dids):
            if self.watch_deletes and '"delete"' in raw:
                return self._slow(raw, deletes_only=True)
            if '"identity"' in raw:
                return self._slow(raw, deletes_only=True)
            return None
        return self._slow(raw, deletes_only=False)

    def _slow(self, raw: str, *, deletes_only: bool) -> Mention | Deleted | IdentityChanged | None:
        try:
            event = json.loads(raw)
        except ValueError:
            raise ValueError("frame is not JSON") from None
        if not isinstance(event, dict):
            raise ValueError("frame is not a JSON object")
        did = event.get("did")
        if not isinstance(did, str) or not did.startswith("did:"):
            raise ValueError("event without a did")
        if isinstance(event.get("time_us"), int):
            self.time_us = event["time_us"]
        kind = event.get("kind")
        if kind == "identity":
            return IdentityChanged(did)
        if kind != "commit":
            return None  # account status and any kind a newer server adds
        commit = event.get("commit")
        if not isinstance(commit, dict):
            raise ValueError("commit event without a commit object")
        if commit.get("collection") != POST:
            return None
        rkey = commit.get("rkey")
        if not isinstance(rkey, str) or not rkey:
            raise ValueError("commit without rkey")
        uri = f"at://{did}/{POST}/{rkey}"
        op = commit.get("operation")
        if op == "delete":
            return Deleted(uri)
        if deletes_only or op not in ("create", "update"):
            return None
        record = commit.get("record")
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise ValueError(f"{uri}: post record without text")
        text: str = record["text"]
        tags = _record_tags(record)
        if did not in self.dids and not self.filter.matches(text, tags):
            return None
        return self._mention(did, rkey, uri, commit, record, text, tags)

    def _mention(
        self, did: str, rkey: str, uri: str, commit: Mapping[str, Any], record: Mapping[str, Any], text: str,
        tags: list[str],
    ) -> Mention:  # fmt: skip
        created = wire_time(record.get("createdAt"))
        if created is None and self.time_us is not None:
            created = datetime.fromtimestamp(self.time_us / 1e6, UTC)  # when the relay saw it: a real time
        now = self.clock.now()
        langs = record.get("langs")
        lang = (
            langs[0].split("-")[0].lower()
            if isinstance(langs, list) and langs and isinstance(langs[0], str)
            else None
        )
        reply = record.get("reply")
        parent = reply.get("parent") if isinstance(reply, dict) else None
        reply_to = (
            parent.get("uri") if isinstance(parent, dict) and isinstance(parent.get("uri"), str) else None
        )
        cid = commit.get("cid")
        return Mention(
            uid=uri,
            source=self.source_id,
            text=text,
            created_at=created or now,
            received_at=now,
            url=f"https://bsky.app/profile/{did}/post/{rkey}",
            author=Author(handle=did),
            lang=lang,
            hashtags=normalise_hashtags([*tags, *extract_hashtags(text)]),
            reply_to=reply_to,
            raw_ref=cid if isinstance(cid, str) else uri,
            extra={"did": did, "update": "edit"} if commit.get("operation") == "update" else {"did": did},
        )


def _value_start(raw: str, key: str) -> int:
    """Index just past ``key:`` (compact or spaced JSON); -1 when absent."""
    i = raw.find(key)
    if i < 0:
        return -1
    i += len(key)
    n = len(raw)
    while i < n and raw[i] in " :":
        i += 1
    return i


def _int_field(raw: str, key: str) -> int | None:
    """A top-level integer read without parsing the frame (Jetstream puts ``time_us`` up front)."""
    j = _value_start(raw, key)
    if j < 0:
        return None
    k = j
    while k < len(raw) and raw[k].isdigit():
        k += 1
    return int(raw[j:k]) if k > j else None


def _did_of(raw: str) -> str | None:
    j = _value_start(raw, '"did"')
    if j < 0 or j >= len(raw) or raw[j] != '"':
        return None
    k = raw.find('"', j + 1)
    return raw[j + 1 : k] if k > 0 else None


def _record_tags(record: Mapping[str, Any]) -> list[str]:
    tags = [t for t in record.get("tags") or () if isinstance(t, str)]
    for facet in record.get("facets") or ():
        if not isinstance(facet, dict):
            continue
        for feature in facet.get("features") or ():
            if (
                isinstance(feature, dict)
                and feature.get("$type") == _TAG_FACET
                and isinstance(feature.get("tag"), str)
            ):
                tags.append(feature["tag"])
    return tags


def profile_author(profile: Mapping[str, Any]) -> Author | None:
    """An Author from an ``app.bsky.actor.defs#profileViewDetailed``."""
    handle = profile.get("handle")
    if not isinstance(handle, str) or not handle:
        return None
    verification = profile.get("verification")
    verified = None
    if isinstance(verification, dict) and isinstance(verification.get("verifiedStatus"), str):
        verified = verification["verifiedStatus"] == "valid"
    name = profile.get("displayName")
    return Author(
        handle=handle,
        name=name if isinstance(name, str) and name else None,
        followers=wire_count(profile.get("followersCount")),
        following=wire_count(profile.get("followsCount")),
        posts=wire_count(profile.get("postsCount")),
        created_at=wire_time(profile.get("createdAt")),
        verified=verified,
    )


class ProfileHydrator:
    """Looks authors up in batches, off the stream's path, and re-sends their mentions filled in."""

    def __init__(
        self,
        source: BlueskySource,
        base_url: str,
        *,
        ttl: timedelta,
        requests_per_s: float,
        max_waiting: int = 5000,
    ) -> None:
        self.source = source
        self.base_url = base_url.rstrip("/")
        self.ttl = ttl
        self.min_interval = 1.0 / requests_per_s if requests_per_s > 0 else 0.0
        self.cache: BoundedMap[str, tuple[Author | None, datetime]] = BoundedMap(50_000)
        self._waiting: OrderedDict[str, list[Mention]] = OrderedDict()
        self._max_waiting = max_waiting
        self._attempts: dict[str, int] = {}
        self._wake = asyncio.Event()
        self.backoff = Backoff(2.0, 300.0, rng=source.rng)
        self.requests = 0

    def cached(self, did: str) -> tuple[bool, Author | None]:
        """(known, author): known and None means the profile could not be found."""
        hit = self.cache.get(did)
        if hit is None or hit[1] <= self.source.clock.now():
            return False, None
        return True, hit[0]

    def forget(self, did: str) -> None:
        self.cache.pop(did)

    def want(self, mention: Mention, did: str) -> None:
        """Queue a lookup; never waits."""
        waiting = self._waiting.get(did)
        if waiting is None:
            if len(self._waiting) >= self._max_waiting:
                self._waiting.popitem(last=False)  # the oldest stay without followers: better than stalling
            self._waiting[did] = [mention]
        elif len(waiting) < 50:
            waiting.append(mention)
        self._wake.set()

    async def run(self, session: aiohttp.ClientSession, emit: Emit) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._waiting:
                batch = list(self._waiting)[:_MAX_BATCH]
                delay = await self._fetch(session, batch, emit)
                await self.source.pause(max(delay, self.min_interval))

    async def _fetch(self, session: aiohttp.ClientSession, dids: list[str], emit: Emit) -> float:
        """One getProfiles call; returns how long to wait before the next."""
        query = urlencode([("actors", d) for d in dids])
        url = f"{self.base_url}/xrpc/app.bsky.actor.getProfiles?{query}"
        now = self.source.clock.now()
        self.requests += 1
        try:
            async with session.get(url, timeout=aiohttp.ClientTimeout(total=30)) as resp:
                await raise_for_status(resp, "getProfiles", now)
                body = await resp.json(content_type=None)
        except RetryLater as exc:
            self.source.log.warning("source %s: %s", self.source.id, exc)
            return exc.seconds if exc.seconds is not None else self.backoff.next()
        except (SourceError, aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
            self.source.log.warning("source %s: profile lookup failed: %s", self.source.id, exc)
            for did in dids:  # a few tries each, then those mentions stay without a profile
                self._attempts[did] = self._attempts.get(did, 0) + 1
                if self._attempts[did] >= 3 or isinstance(exc, (AuthFailed, HttpStatusError)):
                    self._give_up(did, now)
            return self.backoff.next()
        self.backoff.reset()
        profiles = body.get("profiles") if isinstance(body, dict) else None
        found: dict[str, Author] = {}
        for p in profiles if isinstance(profiles, list) else ():
            if isinstance(p, dict) and isinstance(p.get("did"), str):
                author = profile_author(p)
                if author is not None:
                    found[p["did"]] = author
        expires = now + self.ttl
        for did in dids:
            author = found.get(did)
            self.cache[did] = (author, expires)
            self._attempts.pop(did, None)
            waiting = self._waiting.pop(did, [])
            if author is None:
                continue  # deleted or suspended account: the mentions keep the DID
            for m in waiting:
                # The same mention again (same uid), now with its author: marked so consumers update it.
                await emit(replace(m, author=author, extra={**m.extra, "update": "author"}))
        return 0.0

    def _give_up(self, did: str, now: datetime) -> None:
        self._waiting.pop(did, None)
        self._attempts.pop(did, None)
        self.cache[did] = (None, now + min(self.ttl, timedelta(minutes=10)))


class BlueskySource(NetSource):
    kind: ClassVar[str] = "bluesky"

    def __init__(
        self,
        source_id: str,
        clock: Clock,
        *,
        endpoint: str = "wss://jetstream2.us-east.bsky.network/subscribe",
        appview_url: str = "https://public.api.bsky.app",
        keywords: Iterable[str] = (),
        hydrate: bool = True,
        profile_ttl: timedelta = timedelta(hours=6),
        profile_requests_per_s: float = 2.0,
        resume_margin: timedelta = timedelta(seconds=5),
        watchdog: float = 60.0,
        cursor: str | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(source_id, clock, **kw)
        self.endpoint = endpoint
        self.appview_url = appview_url.rstrip("/")
        self.keywords = tuple(keywords)
        self.decoder = JetstreamDecoder(source_id, clock, self.keywords)
        self.hydrator = (
            ProfileHydrator(self, appview_url, ttl=profile_ttl, requests_per_s=profile_requests_per_s)
            if hydrate
            else None
        )
        self.margin_us = int(resume_margin.total_seconds() * 1_000_000)
        self.watchdog = watchdog
        self._seen: BoundedSet[str] = BoundedSet(100_000)
        self._sent: BoundedMap[str, Mention] = BoundedMap(20_000)
        self.resume(cursor)

    def _restore(self, cursor: str) -> None:
        self.decoder.time_us = int(cursor)

    @property
    def cursor(self) -> str | None:
        """Jetstream ``time_us`` of the last event processed."""
        t = self.decoder.time_us
        return str(t) if t is not None else None

    def subscribe_url(self) -> str:
        params = [("wantedCollections", POST)]
        if self.decoder.time_us is not None:
            params.append(("cursor", str(max(0, self.decoder.time_us - self.margin_us))))
        sep = "&" if "?" in self.endpoint else "?"
        return f"{self.endpoint}{sep}{urlencode(params)}"

    async def _run(self, session: aiohttp.ClientSession, emit: Emit) -> None:
        await self._resolve_handles(session)
        hydrating = (
            asyncio.create_task(self.hydrator.run(session, emit), name=f"{self.id}:profiles")
            if self.hydrator
            else None
        )
        try:
            await self.keep_connected(lambda: self._connect_once(session, emit))
        finally:
            if hydrating is not None:
                hydrating.cancel()
                await asyncio.gather(hydrating, return_exceptions=True)

    async def _resolve_handles(self, session: aiohttp.ClientSession) -> None:
        """``@handle`` keywords: keep every post of those accounts (Jetstream only names the DID)."""
        for kw in self.keywords:
            if not kw.startswith("@") or len(kw) < 2:
                continue
            handle = kw[1:].lower()
            if "." not in handle:
                handle += ".bsky.social"
            url = (
                f"{self.appview_url}/xrpc/com.atproto.identity.resolveHandle?{urlencode({'handle': handle})}"
            )
            try:
                async with session.get(url, timeout=aiohttp.ClientTimeout(total=15)) as resp:
                    if resp.status != 200:
                        continue
                    body = await resp.json(content_type=None)
            except (aiohttp.ClientError, OSError, TimeoutError, ValueError):
                continue  # best effort: their posts that name the brand still match on text
            did = body.get("did") if isinstance(body, dict) else None
            if isinstance(did, str) and did.startswith("did:"):
                self.decoder.dids.add(did)

    async def _connect_once(self, session: aiohttp.ClientSession, emit: Emit) -> None:
        try:
            ws = await session.ws_connect(self.subscribe_url(), autoping=True, max_msg_size=4 << 20)
        except aiohttp.WSServerHandshakeError as exc:
            raise _handshake_error(exc, self.clock.now()) from None
        async with ws:
            first = True
            while True:
                try:
                    msg = await ws.receive(timeout=self.watchdog)
                except TimeoutError:
                    raise Stalled(f"no data for {self.watchdog:g} s (stalled connection)") from None
                if msg.type is aiohttp.WSMsgType.TEXT:
                    if first:
                        first = False
                        self.healthy()
                    await self._on_frame(msg.data, emit)
                elif msg.type is aiohttp.WSMsgType.BINARY:
                    self.health.bad_event("binary frame (compression was not asked for)")
                elif msg.type is aiohttp.WSMsgType.ERROR:
                    raise SourceError(f"websocket error: {ws.exception()}")
                elif msg.type in (
                    aiohttp.WSMsgType.CLOSE,
                    aiohttp.WSMsgType.CLOSING,
                    aiohttp.WSMsgType.CLOSED,
                ):
                    code = ws.close_code
                    raise SourceError(f"the server closed the stream (code {code})")

    async def _on_frame(self, raw: str, emit: Emit) -> None:
        try:
            item = self.decoder.decode(raw)
        except ValueError as exc:
            self.health.bad_event(str(exc))
            return
        if item is None:
            return
        if isinstance(item, Mention):
            # Keyed on the record's cid too: a replay (resume margin) repeats it, an edit changes it.
            if not self._seen.add(f"{item.uid} {item.raw_ref}"):
                return
            did = str(item.extra.get("did", ""))
            if self.hydrator is not None:
                known, author = self.hydrator.cached(did)
                if known and author is not None:
                    item = replace(item, author=author)
                elif not known:
                    self.hydrator.want(item, did)
            self._sent[item.uid] = item
            self.decoder.watch_deletes = True
            self.health.event()
            await emit(item)
        elif isinstance(item, Deleted):
            gone = self._sent.pop(item.uid)
            if gone is not None:
                self.health.event()
                extra = {k: v for k, v in gone.extra.items() if k != "update"}
                await emit(replace(gone, deleted=True, received_at=self.clock.now(), extra=extra))
        elif isinstance(item, IdentityChanged) and self.hydrator is not None:
            self.hydrator.forget(item.did)


def _handshake_error(exc: aiohttp.WSServerHandshakeError, now: datetime) -> SourceError:
    status = exc.status
    detail = f"jetstream: HTTP {status}, WebSocket upgrade refused"
    if status in (401, 403):
        return AuthFailed(detail)
    if status in (429, 503):
        headers: Mapping[str, str] = exc.headers or {}
        return RetryLater(detail, parse_retry_after(headers.get("Retry-After"), now))
    return HttpStatusError(detail, status)


def build(
    source: BlueskySourceSettings,
    clock: Clock,
    settings: Settings | None = None,
    *,
    cursor: str | None = None,
) -> BlueskySource:
    """The source for a ``type: bluesky`` entry: the topics' keywords (plus ``keywords:``) filter posts."""
    keywords = (*(topic_keywords(settings.topics) if settings else ()), *source.keywords)
    return BlueskySource(
        source.id,
        clock,
        endpoint=source.endpoint,
        appview_url=source.appview_url,
        keywords=keywords,
        hydrate=source.hydrate,
        profile_ttl=source.profile_ttl,
        profile_requests_per_s=source.profile_requests_per_s,
        resume_margin=source.resume_margin,
        watchdog=source.watchdog.total_seconds(),
        cursor=cursor,
    )
