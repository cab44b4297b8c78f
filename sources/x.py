"""X (Twitter) API v2 filtered stream with an app-only bearer token.

The stream rules are derived from the topics (one rule per topic, tagged ``tocsin:<topic id>``) and
synced at start: rules this desk made earlier and no longer wants are deleted, other rules are left
alone. The stream is one JSON object per CRLF-terminated line with blank keep-alive lines at least
every 20 s: a watchdog reconnects when even those stop. Reconnects follow X's documented back-off:
linear from 250 ms to 16 s for network errors, exponential from 5 s to 320 s for HTTP errors, and
exponential from one minute for 429.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

import aiohttp
from tocsin.config.settings import Settings, TopicSettings, XSourceSettings
from tocsin.sources.base import SourceState
from tocsin.sources.clock import Clock
from tocsin.sources.model import Author, Engagement, Mention, normalise_hashtags, parse_time
from tocsin.sources.net import (
    Backoff,
    BoundedSet,
    Emit,
    HttpStatusError,
    NetSource,
    ProtocolError,
    RetryLater,
    SourceError,
    WatchedReader,
    parse_retry_after,
    raise_for_status,
    wire_count,
)

STREAM_PARAMS = {
    "tweet.fields": "created_at,lang,public_metrics,entities,author_id",
    "expansions": "author_id",
    "user.fields": "username,name,public_metrics,created_at,verified",
}
TAG_PREFIX = "tocsin:"
MAX_RULE_LENGTH = 512
_NO_LANGUAGE = {"und", "qme", "qht", "qam", "qct", "qst", "zxx", "art"}
_MAX_LINE = 1 << 20


class RateLimited(RetryLater):
    """429: X wants its own, longer back-off (from one minute)."""


def _rule_term(keyword: str) -> str | None:
    kw = keyword.strip().replace('"', "").rstrip("*").strip()  # X rules have no wildcards
    if not kw:
        return None
    if kw[0] == "#" and " " not in kw:
        return kw
    if kw[0] == "@" and " " not in kw:
        return f"({kw} OR from:{kw[1:]})"  # mentions of the brand and the brand's own posts
    return f'"{kw}"' if " " in kw else kw


def build_rules(topics: Sequence[TopicSettings], extra: Iterable[str] = ()) -> list[dict[str, str]]:
    """Stream rules for the topics: keywords OR-ed, exclusions negated; split when longer than X allows."""
    rules: list[dict[str, str]] = []
    for topic in topics:
        terms = [t for t in dict.fromkeys(_rule_term(k) for k in topic.keywords) if t]
        if not terms:
            continue
        negations = " ".join(
            f"-{t}" for t in (_rule_term(x) for x in topic.exclude) if t and not t.startswith("(")
        )
        chunks: list[list[str]] = [[]]
        for term in terms:
            candidate = [*chunks[-1], term]
            if chunks[-1] and len(_rule_value(candidate, negations)) > MAX_RULE_LENGTH:
                chunks.append([term])
            else:
                chunks[-1] = candidate
        for i, chunk in enumerate(chunks):
            tag = f"{TAG_PREFIX}{topic.id}" + (f"#{i + 1}" if len(chunks) > 1 else "")
            rules.append({"value": _rule_value(chunk, negations), "tag": tag})
    for i, value in enumerate(extra):
        if value.strip():
            rules.append({"value": value.strip(), "tag": f"{TAG_PREFIX}extra#{i + 1}"})
    return rules


def _rule_value(terms: list[str], negations: str) -> str:
    core = terms[0] if len(terms) == 1 else "(" + " OR ".join(terms) + ")"
    return f"{core} {negations}".strip()


def tweet_to_mention(message: Mapping[str, Any], *, source: str, received_at: datetime) -> Mention:
    """A Mention from a filtered-stream message (``data`` + ``includes.users``). Raises ValueError."""
    data = message.get("data")
    if not isinstance(data, dict):
        raise ValueError("message without data")
    tid, text = data.get("id"), data.get("text")
    if not isinstance(tid, str) or not tid or not isinstance(text, str):
        raise ValueError("tweet without id or text")
    try:
        created = parse_time(str(data["created_at"]))
    except (KeyError, ValueError):
        created = (
            received_at  # created_at was asked for; if it is missing, when we got it is the truth we have
        )
    author_id = data.get("author_id")
    users = (message.get("includes") or {}).get("users") or []
    user = next((u for u in users if isinstance(u, dict) and u.get("id") == author_id), None)
    author = Author(handle="")
    if user is not None:
        pm = user.get("public_metrics") or {}
        user_created = None
        if isinstance(user.get("created_at"), str):
            try:
                user_created = parse_time(user["created_at"])
            except ValueError:
                user_created = None
        author = Author(
            handle=str(user.get("username") or ""),
            name=user.get("name") if isinstance(user.get("name"), str) else None,
            followers=wire_count(pm.get("followers_count")),
            following=wire_count(pm.get("following_count")),
            posts=wire_count(pm.get("tweet_count")),
            created_at=user_created,
            verified=user.get("verified") if isinstance(user.get("verified"), bool) else None,
        )
    metrics = data.get("public_metrics") or {}
    tags = [h.get("tag") for h in ((data.get("entities") or {}).get("hashtags") or []) if isinstance(h, dict)]
    lang = data.get("lang")
    url = (
        f"https://x.com/{author.handle}/status/{tid}"
        if author.handle
        else f"https://x.com/i/web/status/{tid}"
    )
    rules = [r.get("tag") for r in message.get("matching_rules") or [] if isinstance(r, dict)]
    extra: dict[str, Any] = {"rules": [r for r in rules if isinstance(r, str)]}
    if isinstance(author_id, str):
        extra["author_id"] = author_id
    return Mention(
        uid=tid,
        source=source,
        text=text,
        created_at=created,
        received_at=received_at,
        url=url,
        author=author,
        lang=lang if isinstance(lang, str) and lang and lang not in _NO_LANGUAGE else None,
        hashtags=normalise_hashtags([t for t in tags if isinstance(t, str)]),
        engagement=Engagement(
            replies=wire_count(metrics.get("reply_count")),
            reposts=wire_count(metrics.get("retweet_count")),
            likes=wire_count(metrics.get("like_count")),
        ),
        raw_ref=tid,
        extra=extra,
    )



class XSource(NetSource):
    kind: ClassVar[str] = "x"
    auth_hint = "set bearer_token: ${X_BEARER_TOKEN} to an app bearer token with filtered-stream access"

    def __init__(
        self,
        source_id: str,
        clock: Clock,
        *,
        base_url: str = "https://api.x.com",
        bearer_token: str | None = None,
        rules: Sequence[dict[str, str]] = (),
        sync_rules: bool = True,
        watchdog: float = 30.0,
        cursor: str | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(source_id, clock, **kw)
        self.base_url = base_url.rstrip("/")
        self.bearer_token = bearer_token
        self.rules = list(rules)
        self.sync_rules = sync_rules
        self.watchdog = watchdog
        jitter, rng = self.backoff.jitter, self.rng
        self.network_backoff = Backoff(0.25, 16.0, step=0.25, jitter=jitter, rng=rng)
        self.http_backoff = Backoff(5.0, 320.0, jitter=jitter, rng=rng)
        self.rate_backoff = Backoff(60.0, 960.0, jitter=jitter, rng=rng)
        self._synced = False
        self._seen: BoundedSet[str] = BoundedSet(50_000)
        # The filtered stream cannot resume (no replay below Enterprise): the newest id is only recorded.
        self._newest: str | None = None
        self.resume(cursor)

    def _restore(self, cursor: str) -> None:
        if not cursor.isdigit():
            raise ValueError("not a tweet id")
        self._newest = cursor

    @property
    def cursor(self) -> str | None:
        """The newest tweet id received."""
        return self._newest

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.bearer_token}"}

    def _backoff_for(self, exc: BaseException) -> Backoff:
        if isinstance(exc, RateLimited):
            return self.rate_backoff
        if isinstance(exc, (HttpStatusError, RetryLater)):  # 503 included: an HTTP error for X's rules
            return self.http_backoff
        return self.network_backoff

    async def _run(self, session: aiohttp.ClientSession, emit: Emit) -> None:
        if not self.bearer_token:
            self.health.set_state(SourceState.FAILED, f"no bearer token: {self.auth_hint}")
            self.log.error("source %s: %s", self.id, self.health.last_error)
            return
        if self.sync_rules and not self.rules:
            self.health.set_state(SourceState.FAILED, "no stream rules: add keywords to a topic, or rules:")
            return
        await self.keep_connected(lambda: self._connect_once(session, emit), backoff=self._backoff_for)

    async def _sync_rules(self, session: aiohttp.ClientSession) -> None:
        url = f"{self.base_url}/2/tweets/search/stream/rules"
        async with session.get(url, headers=self._headers()) as resp:
            await self._check(resp, "stream rules")
            body = await resp.json(content_type=None)
        current = (
            [r for r in (body.get("data") or []) if isinstance(r, dict)] if isinstance(body, dict) else []
        )
        wanted = {(r["value"], r["tag"]) for r in self.rules}
        ours = [r for r in current if str(r.get("tag", "")).startswith(TAG_PREFIX)]
        stale = [r["id"] for r in ours if (r.get("value"), r.get("tag")) not in wanted and "id" in r]
        present = {(r.get("value"), r.get("tag")) for r in ours}
        missing = [r for r in self.rules if (r["value"], r["tag"]) not in present]
        if stale:
            async with session.post(url, json={"delete": {"ids": stale}}, headers=self._headers()) as resp:
                await self._check(resp, "stream rules")
        if missing:
            async with session.post(url, json={"add": missing}, headers=self._headers()) as resp:
                await self._check(resp, "stream rules")
                answer = await resp.json(content_type=None)
            problems = (
                [e for e in (answer.get("errors") or []) if isinstance(e, dict)]
                if isinstance(answer, dict)
                else []
            )
            if problems:
                first = problems[0]
                what = f"{first.get('title', '')} {first.get('value', '')}".strip()
                msg = f"{len(problems)} stream rule(s) refused: {what}"
                self.health.last_error = msg
                self.log.warning("source %s: %s", self.id, msg)
        self._synced = True

    async def _check(self, resp: aiohttp.ClientResponse, what: str) -> None:
        if resp.status == 429:
            reset = resp.headers.get("x-rate-limit-reset")
            now = self.clock.now()
            wait = parse_retry_after(resp.headers.get("Retry-After"), now)
            if wait is None and reset and reset.isdigit():
                wait = max(0.0, int(reset) - now.timestamp())
            raise RateLimited(f"{what}: HTTP 429 Too Many Requests", wait)
        await raise_for_status(resp, what, self.clock.now())

    async def _connect_once(self, session: aiohttp.ClientSession, emit: Emit) -> None:
        if self.sync_rules and not self._synced:
            await self._sync_rules(session)
        async with session.get(
            f"{self.base_url}/2/tweets/search/stream", params=STREAM_PARAMS, headers=self._headers()
        ) as resp:
            await self._check(resp, "filtered stream")
            reader = WatchedReader(resp, self.watchdog)
            buf = b""
            first = True
            while True:
                chunk = await reader.read()
                if not chunk:
                    return
                if first:
                    first = False
                    for b in (self.network_backoff, self.http_backoff, self.rate_backoff):
                        b.reset()
                    self.healthy()
                buf += chunk
                if b"\n" not in buf:
                    if len(buf) > _MAX_LINE:
                        raise ProtocolError("stream line longer than 1 MiB")
                    continue
                *lines, buf = buf.split(b"\n")
                for line in lines:
                    line = line.strip()
                    if line:  # blank lines are keep-alives
                        await self._on_line(line, emit)

    async def _on_line(self, line: bytes, emit: Emit) -> None:
        try:
            message = json.loads(line)
        except ValueError:
            self.health.bad_event("stream line is not JSON")
            return
        if not isinstance(message, dict):
            self.health.bad_event("stream line is not a JSON object")
            return
        if "data" not in message:
            errors = message.get("errors")
            if isinstance(errors, list) and errors:
                first = errors[0] if isinstance(errors[0], dict) else {}
                title = first.get("title") or first.get("message") or "error"
                detail = first.get("detail") or first.get("disconnect_type") or ""
                raise SourceError(f"the stream reported {title}: {detail}".rstrip(": "))
            return
        try:
            mention = tweet_to_mention(message, source=self.id, received_at=self.clock.now())
        except ValueError as exc:
            self.health.bad_event(str(exc))
            return
        if not self._seen.add(mention.uid):
            return
        if self._newest is None or (len(mention.uid), mention.uid) > (len(self._newest), self._newest):
            self._newest = mention.uid
        self.health.event()
        await emit(mention)


def build_x(
    source: XSourceSettings, clock: Clock, settings: Settings | None = None, *, cursor: str | None = None
) -> XSource:
    """The source for a ``type: x`` entry: one rule per topic plus ``rules:``."""
    return XSource(
        source.id,
        clock,
        base_url=source.base_url,
        bearer_token=source.bearer_token,
        rules=build_rules(settings.topics if settings else (), source.rules),
        sync_rules=source.sync_rules,
        watchdog=source.watchdog.total_seconds(),
        cursor=cursor,
    )
