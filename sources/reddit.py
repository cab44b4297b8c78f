"""Reddit: searches and subreddit listings through the OAuth API, polled.

The app authenticates with the client-credentials grant (``POST {auth_url}/api/v1/access_token``, the
app's id and secret from the environment) and reads ``oauth.reddit.com`` with the bearer token and the
User-Agent Reddit requires (``<platform>:<app id>:<version> (by /u/<user>)``). The
``X-Ratelimit-Remaining``/``-Reset`` headers are obeyed before the budget runs out. Listings are read
newest first and paging stops at the first post already seen (by fullname).
"""

from __future__ import annotations

import json
from base64 import b64encode
from collections import deque
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote

import aiohttp

from tocsin.config.settings import RedditSourceSettings, Settings
from tocsin.sources.base import SourceState
from tocsin.sources.clock import Clock
from tocsin.sources.model import Author, Engagement, Mention, extract_hashtags
from tocsin.sources.net import (
    VERSION,
    AuthFailed,
    BoundedSet,
    Emit,
    PolledSource,
    keyword_queries,
    raise_for_status,
    topic_keywords,
    wire_count,
)

_MAX_PAGES = 5
_KEEP_NEWEST = 25  # fullnames per listing kept in the cursor: enough to find a stop point after deletions


def post_to_mention(post: Mapping[str, Any], *, source: str, received_at: datetime) -> Mention:
    """A Mention from a listing child's ``data`` (a ``t3`` link). Raises ValueError when unusable."""
    name = post.get("name")
    created = post.get("created_utc")
    if (
        not isinstance(name, str)
        or not name
        or not isinstance(created, (int, float))
        or isinstance(created, bool)
    ):
        raise ValueError("post without name or created_utc")
    title, body = post.get("title"), post.get("selftext")
    title = title if isinstance(title, str) else ""
    body = body if isinstance(body, str) else ""
    text = f"{title}\n\n{body}" if title and body else title or body
    permalink = post.get("permalink")
    author = post.get("author")
    extra: dict[str, Any] = {}
    for key in ("subreddit", "subreddit_subscribers"):
        if post.get(key) is not None:
            extra[key] = post[key]
    if isinstance(post.get("url"), str) and post["url"] and not post.get("is_self"):
        extra["link"] = post["url"]
    return Mention(
        uid=name,
        source=source,
        text=text,
        created_at=datetime.fromtimestamp(float(created), UTC),
        received_at=received_at,
        url=f"https://www.reddit.com{permalink}" if isinstance(permalink, str) and permalink else None,
        author=Author(handle=author if isinstance(author, str) else ""),
        hashtags=extract_hashtags(text),
        engagement=Engagement(
            replies=wire_count(post.get("num_comments")), likes=wire_count(post.get("score"))
        ),
        raw_ref=name,
        extra=extra,
    )


class RedditSource(PolledSource):
    """Searches and subreddit listings, one search per listing (the poll loop is ``PolledSource``'s)."""

    kind: ClassVar[str] = "reddit"
    auth_hint = "set client_id: ${REDDIT_CLIENT_ID} and client_secret: ${REDDIT_CLIENT_SECRET} (a Reddit app)"

    def __init__(
        self,
        source_id: str,
        clock: Clock,
        *,
        base_url: str = "https://oauth.reddit.com",
        auth_url: str = "https://www.reddit.com",
        client_id: str | None = None,
        client_secret: str | None = None,
        username: str | None = None,
        user_agent: str | None = None,
        queries: Iterable[str] = (),
        subreddits: Iterable[str] = (),
        interval: float = 60.0,
        limit: int = 100,
        cursor: str | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(source_id, clock, interval=interval, **kw)
        self.base_url = base_url.rstrip("/")
        self.auth_url = auth_url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        by = f"/u/{username}" if username else "tocsin"
        self._ua = user_agent or f"python:tocsin:{VERSION} (by {by})"
        self.limit = max(1, min(limit, 100))
        self.listings: tuple[str, ...] = (
            *(f"search:{q}" for q in dict.fromkeys(queries) if q.strip()),
            *(f"r/{s.strip().removeprefix('r/')}" for s in dict.fromkeys(subreddits) if s.strip()),
        )
        self._newest: dict[str, deque[str]] = {}
        # Per listing: where paging stops. (A post another search found first is no stop point here.)
        self._listing_seen: dict[str, BoundedSet[str]] = {}
        self.resume(cursor)
        self._token: str | None = None
        self._token_expires: datetime | None = None

    def user_agent(self) -> str:
        return self._ua

    def _restore(self, cursor: str) -> None:
        saved = json.loads(cursor)
        for key, names in saved.items():
            if key in self.listings and isinstance(names, list):
                newest = self._newest[key] = deque(
                    (n for n in names if isinstance(n, str)), maxlen=_KEEP_NEWEST
                )
                known = self._listing_seen[key] = BoundedSet(2_000)
                for n in newest:
                    known.add(n)
                    self._seen.add(n)

    @property
    def cursor(self) -> str | None:
        """JSON: per listing, the newest fullnames seen (newest first)."""
        return (
            json.dumps({k: list(v) for k, v in self._newest.items()}, sort_keys=True)
            if self._newest
            else None
        )

    def searches(self) -> tuple[str, ...]:
        return self.listings

    async def _run(self, session: aiohttp.ClientSession, emit: Emit) -> None:
        if not (self.client_id and self.client_secret):  # said in the log too: the desk's owner must act
            self.health.set_state(SourceState.FAILED, f"no app credentials: {self.auth_hint}")
            self.log.error("source %s: %s", self.id, self.health.last_error)
            return
        await super()._run(session, emit)

    def not_ready(self) -> str | None:
        return None if self.listings else "nothing to read: add topic keywords, queries: or subreddits:"

    async def _access_token(self, session: aiohttp.ClientSession) -> str:
        now = self.clock.now()
        if self._token and self._token_expires and now < self._token_expires:
            return self._token
        assert self.client_id is not None and self.client_secret is not None
        async with session.post(
            f"{self.auth_url}/api/v1/access_token",
            data={"grant_type": "client_credentials"},
            headers={
                "Authorization": "Basic "
                + b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
            },
        ) as resp:
            await raise_for_status(resp, "reddit token", now)
            body = await resp.json(content_type=None)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            reason = body.get("error") if isinstance(body, dict) else None
            raise AuthFailed(f"reddit token: refused ({reason or 'no access_token in the answer'})")
        expires_in = body.get("expires_in")
        ttl = (
            float(expires_in)
            if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool)
            else 3600
        )
        self._token = token
        self._token_expires = now + timedelta(seconds=max(60.0, ttl - 60.0))  # renew a minute early
        return token

    async def _get(self, session: aiohttp.ClientSession, path: str, params: dict[str, str]) -> Any:
        for attempt in (1, 2):
            token = await self._access_token(session)
            async with session.get(
                f"{self.base_url}{path}", params=params, headers={"Authorization": f"bearer {token}"}
            ) as resp:
                if resp.status == 401 and attempt == 1:
                    self._token = None  # revoked or expired early: one fresh token, then it is a real refusal
                    continue
                await raise_for_status(resp, f"reddit {path}", self.clock.now())
                try:
                    body = await resp.json(content_type=None)
                except ValueError:
                    body = None
                await self._respect_rate_limit(resp)
                return body
        raise AuthFailed(f"reddit {path}: refused")  # pragma: no cover - the loop returns or raises

    async def _respect_rate_limit(self, resp: aiohttp.ClientResponse) -> None:
        try:
            remaining = float(resp.headers.get("X-Ratelimit-Remaining", "inf"))
            reset = float(resp.headers.get("X-Ratelimit-Reset", "0"))
        except ValueError:
            return
        if remaining < 1 and reset > 0:
            self.log.info("source %s: rate limit reached, waiting %.0f s", self.id, reset)
            await self.pause(min(reset, self.max_retry_after))

    def _endpoint(self, key: str) -> tuple[str, dict[str, str]]:
        base = {"limit": str(self.limit), "raw_json": "1"}
        if key.startswith("search:"):
            return "/search", {**base, "q": key[7:], "sort": "new", "type": "link"}
        return f"/r/{quote(key[2:], safe='')}/new", base

    async def read_search(self, session: aiohttp.ClientSession, key: str, emit: Emit) -> None:
        path, params = self._endpoint(key)
        first_time = key not in self._newest
        known = self._listing_seen.setdefault(key, BoundedSet(2_000))
        fresh: list[Mention] = []
        after: str | None = None
        now = self.clock.now()
        for _ in range(1 if first_time else _MAX_PAGES):
            body = await self._get(session, path, {**params, **({"after": after} if after else {})})
            data = body.get("data") if isinstance(body, dict) else None
            children = data.get("children") if isinstance(data, dict) else None
            if not isinstance(children, list):
                self.health.bad_event(f"reddit {key}: not a listing")
                break
            reached_seen = False
            for child in children:
                post = child.get("data") if isinstance(child, dict) else None
                if not isinstance(post, dict):
                    self.health.bad_event(f"reddit {key}: a listing child without data")
                    continue
                name = post.get("name")
                if isinstance(name, str) and name in known:
                    reached_seen = True
                    break  # newest first: everything after it was read before
                try:
                    fresh.append(post_to_mention(post, source=self.id, received_at=now))
                except ValueError as exc:
                    self.health.bad_event(f"reddit {key}: {exc}")
            after = data.get("after") if isinstance(data, dict) else None
            if reached_seen or not isinstance(after, str) or not after:
                break
        newest = self._newest.setdefault(key, deque(maxlen=_KEEP_NEWEST))
        for m in reversed(fresh):  # oldest first
            newest.appendleft(m.uid)
            known.add(m.uid)
            await self.emit_new(m, emit)  # a post found by two searches goes out once


def build(
    source: RedditSourceSettings, clock: Clock, settings: Settings | None = None, *, cursor: str | None = None
) -> RedditSource:
    """The source for a ``type: reddit`` entry: ``queries:`` (else the topics' keywords), ``subreddits:``."""
    queries = source.queries or keyword_queries(topic_keywords(settings.topics) if settings else ())
    return RedditSource(
        source.id,
        clock,
        base_url=source.base_url,
        auth_url=source.auth_url,
        client_id=source.client_id,
        client_secret=source.client_secret,
        username=source.username,
        user_agent=source.user_agent,
        queries=queries,
        subreddits=source.subreddits,
        interval=source.interval.total_seconds(),
        cursor=cursor,
    )
