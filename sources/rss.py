"""RSS and Atom feeds (news searches, Google Alerts), polled politely.

Each feed is fetched on its own schedule with a conditional GET (``If-None-Match``/``If-Modified-Since``
sent back exactly as received; 304 means nothing new) and the bytes are parsed by feedparser. A 301 or
308 moves the feed for good, 410 stops it, 429/503 wait as long as ``Retry-After`` says. Google Alerts'
redirect links are unwrapped and the HTML of titles and summaries is stripped.
"""

from __future__ import annotations

import asyncio
import calendar
import hashlib
import json
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import parse_qs, urljoin, urlsplit

import aiohttp
import feedparser

from tocsin.config.settings import RssSourceSettings, Settings
from tocsin.sources.base import SourceState
from tocsin.sources.clock import Clock
from tocsin.sources.html_text import html_to_text
from tocsin.sources.model import Author, Mention, extract_hashtags
from tocsin.sources.net import (
    Backoff,
    BoundedSet,
    Emit,
    Gone,
    NetSource,
    SourceError,
    raise_for_status,
)

_MAX_BODY = 10 << 20  # a feed larger than 10 MiB is not a feed
_MAX_REDIRECTS = 5
_KEEP_SEEN = 500  # entry ids remembered per feed (feeds list far fewer at once)
_ACCEPT = "application/atom+xml, application/rss+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"


def unwrap_google(link: str) -> str:
    """``https://www.google.com/url?…&url=<real>`` → ``<real>`` (Google Alerts wraps every link)."""
    parts = urlsplit(link)
    host = (parts.hostname or "").lower()
    if parts.path == "/url" and (host.startswith(("google.", "www.google.")) or ".google." in host):
        qs = parse_qs(parts.query)
        for key in ("url", "q"):
            target = qs.get(key, [""])[0]
            if target.startswith(("http://", "https://")):
                return target
    return link


def feed_label(url: str) -> str:
    """How a feed is named in messages and logs: its host and a short fingerprint, never the full URL
    (private feed URLs, such as Google Alerts', work like passwords)."""
    parts = urlsplit(url)
    first = parts.path.strip("/").split("/", 1)[0][:24]
    digest = hashlib.sha256(url.encode()).hexdigest()[:6]
    return f"{parts.hostname or '?'}/{first}…#{digest}" if first else f"{parts.hostname or '?'}#{digest}"


@dataclass
class _Feed:
    configured: str
    url: str
    interval: float
    backoff: Backoff
    etag: str | None = None
    modified: str | None = None
    seen: OrderedDict[str, None] = field(default_factory=OrderedDict)
    next_due: datetime | None = None
    gone: bool = False

    def remember(self, uid: str) -> bool:
        if uid in self.seen:
            return False
        self.seen[uid] = None
        while len(self.seen) > _KEEP_SEEN:
            self.seen.popitem(last=False)
        return True

    def to_json(self) -> dict[str, Any]:
        return {
            "etag": self.etag,
            "modified": self.modified,
            "seen": list(self.seen)[-_KEEP_SEEN:],
            "gone": self.gone,
        }


def entry_to_mention(
    entry: Mapping[str, Any], feed: Mapping[str, Any], *, source: str, received_at: datetime
) -> Mention | None:
    """A Mention from a feedparser entry; None when it has neither text nor link."""
    link = entry.get("link")
    link = unwrap_google(link) if isinstance(link, str) and link else None
    title = html_to_text(entry.get("title"))
    summary = ""
    content = entry.get("content")
    if isinstance(content, list) and content and isinstance(content[0], Mapping):
        summary = html_to_text(content[0].get("value"))
    if not summary:
        summary = html_to_text(entry.get("summary"))
    text = title if not summary or summary == title else f"{title}\n\n{summary}" if title else summary
    if not text and not link:
        return None
    uid = entry.get("id") or entry.get("guid") or link
    if not isinstance(uid, str) or not uid:
        uid = "sha256:" + hashlib.sha256(f"{title}\n{summary}".encode()).hexdigest()[:32]
    when = entry.get("published_parsed") or entry.get("updated_parsed")
    created = datetime.fromtimestamp(calendar.timegm(when), UTC) if when else received_at
    author_name = entry.get("author")
    author_name = html_to_text(author_name) if isinstance(author_name, str) else ""
    site = (urlsplit(link).hostname or "").removeprefix("www.") if link else ""
    # A news item's author is the outlet when the feed names no person (Google Alerts never does).
    author = Author(handle=author_name or site, name=author_name or None)
    lang = entry.get("language") or feed.get("language")
    lang = lang.split("-")[0].lower() if isinstance(lang, str) and lang else None
    return Mention(
        uid=uid,
        source=source,
        text=text or link or "",
        created_at=created,
        received_at=received_at,
        url=link,
        author=author,
        lang=lang,
        hashtags=extract_hashtags(text),
        raw_ref=uid,
        extra={"feed": html_to_text(feed.get("title"))} if feed.get("title") else {},
    )


def feed_key(url: str) -> str:
    """A feed's key in the saved cursor: a hash of its configured URL, which may be a secret."""
    return "sha256:" + hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()[:24]


class RssSource(NetSource):
    kind: ClassVar[str] = "rss"
    auth_hint = "the feed needs credentials tocsin does not send: use a public feed URL"

    def __init__(
        self,
        source_id: str,
        clock: Clock,
        *,
        feeds: Iterable[str],
        interval: float = 300.0,
        intervals: Mapping[str, float] | None = None,
        cursor: str | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(source_id, clock, **kw)
        intervals = intervals or {}
        self.feeds: list[_Feed] = []
        for url in dict.fromkeys(feeds):
            b = Backoff(max(self.backoff.initial, 30.0), 3600.0, jitter=self.backoff.jitter, rng=self.rng)
            self.feeds.append(_Feed(url, url, max(1.0, intervals.get(url, interval)), b))
        self._seen: BoundedSet[str] = BoundedSet(20_000)
        self.resume(cursor)

    def _restore(self, cursor: str) -> None:
        saved = json.loads(cursor).get("feeds", {})
        for f in self.feeds:
            # by the URL's hash; an older cursor was keyed by the URL itself (rewritten at the next save)
            s = saved.get(feed_key(f.configured)) or saved.get(f.configured)
            if not isinstance(s, dict):
                continue
            f.etag = s.get("etag") if isinstance(s.get("etag"), str) else None
            f.modified = s.get("modified") if isinstance(s.get("modified"), str) else None
            f.gone = s.get("gone") is True
            for uid in s.get("seen") or ():
                if isinstance(uid, str):
                    f.remember(uid)

    @property
    def cursor(self) -> str | None:
        """JSON: per configured feed (keyed by ``feed_key``, never by its URL), its validators and the
        entry ids already seen.

        No URL is kept: a feed URL can work like a password (Google Alerts), and the cursor lands in the
        journal on disk. A permanent redirect is therefore followed once more after a restart."""
        feeds = {feed_key(f.configured): f.to_json() for f in self.feeds}
        return json.dumps({"feeds": feeds}, sort_keys=True)

    async def _run(self, session: aiohttp.ClientSession, emit: Emit) -> None:
        while not self.stopping:
            active = [f for f in self.feeds if not f.gone]
            if not active:
                self.health.set_state(SourceState.FAILED, self.health.last_error or "no feed left to read")
                return
            now = self.clock.now()
            for feed in active:
                if feed.next_due is None or feed.next_due <= now:
                    await self._poll(session, feed, emit)
            pending = [f.next_due for f in self.feeds if not f.gone and f.next_due is not None]
            if pending:
                await self.pause((min(pending) - self.clock.now()).total_seconds())

    async def _poll(self, session: aiohttp.ClientSession, feed: _Feed, emit: Emit) -> None:
        try:
            delay = await self._fetch(session, feed, emit)
        except Gone as exc:
            feed.gone = True
            self.health.last_error = f"{exc}: feed dropped"
            self.log.warning("source %s: %s", self.id, self.health.last_error)
            return
        except (SourceError, aiohttp.ClientError, OSError, TimeoutError) as exc:
            wait = self.failure_delay(exc, feed.backoff, scope=feed.configured)
            if wait is None:
                feed.gone = True  # credentials refused again and again: stop asking
                return
            delay = max(wait, feed.interval)  # never more often than configured, even when failing
        feed.next_due = self.clock.now() + timedelta(seconds=delay)

    async def _fetch(self, session: aiohttp.ClientSession, feed: _Feed, emit: Emit) -> float:
        url, permanent = feed.url, True
        for _ in range(_MAX_REDIRECTS + 1):
            headers = {"Accept": _ACCEPT}
            if feed.etag:
                headers["If-None-Match"] = feed.etag
            if feed.modified:
                headers["If-Modified-Since"] = feed.modified
            async with session.get(
                url, headers=headers, allow_redirects=False, timeout=aiohttp.ClientTimeout(total=60)
            ) as resp:
                if resp.status in (301, 302, 303, 307, 308) and resp.headers.get("Location"):
                    target = urljoin(url, resp.headers["Location"])
                    permanent = permanent and resp.status in (301, 308)
                    if permanent and target != feed.url:
                        self.log.info(
                            "source %s: feed %s moved permanently to %s",
                            self.id,
                            feed_label(feed.url),
                            feed_label(target),
                        )
                        feed.url = target
                    url = target
                    continue
                if resp.status == 304:
                    self._success(feed)
                    return feed.interval
                await raise_for_status(resp, f"feed {feed_label(feed.url)}", self.clock.now())
                body = await resp.content.read(_MAX_BODY + 1)
                if len(body) > _MAX_BODY:
                    raise SourceError(f"feed {feed_label(feed.url)}: larger than {_MAX_BODY >> 20} MiB")
                response_headers = {k.lower(): v for k, v in resp.headers.items()}
            await self._consume(feed, body, response_headers, emit)
            return feed.interval
        raise SourceError(f"feed {feed_label(feed.url)}: more than {_MAX_REDIRECTS} redirects")

    async def _consume(self, feed: _Feed, body: bytes, headers: dict[str, str], emit: Emit) -> None:
        # feedparser is CPU work: keep it off the event loop the screen shares.
        parsed = await asyncio.to_thread(feedparser.parse, body, response_headers=headers)
        entries = parsed.get("entries") or []
        if parsed.get("bozo") and not entries:
            err = parsed.get("bozo_exception")
            self.health.bad_event(
                f"feed {feed_label(feed.url)}: not a feed ({type(err).__name__ if err else 'unreadable'})"
            )
            return
        feed.etag = headers.get("etag") or None
        feed.modified = headers.get("last-modified") or None
        self._success(feed)
        now = self.clock.now()
        mentions = []
        for entry in entries:
            m = entry_to_mention(entry, parsed.get("feed") or {}, source=self.id, received_at=now)
            if m is None:
                self.health.bad_event(f"feed {feed_label(feed.url)}: an entry without text or link")
                continue
            new_here = feed.remember(m.uid)
            if self._seen.add(m.uid) and new_here:  # the same story in two feeds goes out once
                mentions.append(m)
        for m in sorted(mentions, key=lambda m: m.created_at):  # oldest first, as they happened
            self.health.event()
            await emit(m)

    def _success(self, feed: _Feed) -> None:
        feed.backoff.reset()
        self.healthy(feed.configured)


def build(
    source: RssSourceSettings, clock: Clock, settings: Settings | None = None, *, cursor: str | None = None
) -> RssSource:
    """The source for a ``type: rss`` entry."""
    return RssSource(
        source.id,
        clock,
        feeds=source.feeds,
        interval=source.interval.total_seconds(),
        intervals={url: d.total_seconds() for url, d in source.intervals.items()},
        cursor=cursor,
    )
