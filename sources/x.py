"""X (Twitter) API v2 filtered stream with an app-only bearer token.

The stream rules are derived from the topics (one rule per topic, tagged ``tocsin:<topic id>``) and
synced at start: rules this desk made earlier and no longer wants are deleted, other rules are left
alone. The stream is one JSON object per CRLF-terminated line with blank keep-alive lines at least
every 20 s: a watchdog reconnects when even those stop. Reconnects follow X's documented back-off:
linear from 250 ms to 16 s for network errors, exponential from 5 s to 320 s for HTTP errors, and
exponential from one minute for 429.

The filtered stream cannot replay what was posted while the desk was disconnected, so on every reconnect
(and at start from a saved cursor) the source catches up through recent search: the stream is opened
first and left buffering, each rule is searched with ``since_id`` = the newest tweet seen, page after
page, the tweets found go out oldest first, and only then is the stream read; tweet ids deduplicate the
overlap. Recent search keeps 7 days: an older gap is recovered from the window's start and the loss is
said in health. A refused or failed catch-up never holds the stream: it is retried once the rate limit
resets (or after the documented back-off) while the stream runs, and health says it is incomplete.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import aiohttp

from tocsin.config.settings import Settings, TopicSettings, XSourceSettings
from tocsin.sources.base import SourceState
from tocsin.sources.clock import Clock
from tocsin.sources.model import Author, Engagement, Mention, normalise_hashtags, parse_time
from tocsin.sources.net import (
    AuthFailed,
    Backoff,
    BoundedSet,
    Emit,
    Gone,
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

RECENT_WINDOW = timedelta(days=7)
"""How far back recent search reaches."""
TWITTER_EPOCH_MS = 1288834974657
_WINDOW_MARGIN = timedelta(minutes=2)  # X refuses a start a hair beyond 7 days: ask a little less
_START_MARGIN = timedelta(seconds=30)  # no tweet seen yet: the gap starts a little before the last keep-alive
_MAX_CATCHUP_ATTEMPTS = 5  # failed catch-up runs in a row (none fetching a page) before giving a gap up
_MAX_GAPS = 20
_SEARCH_TIMEOUT = 30.0  # real seconds for one search request: a hung answer must not hold the stream


class RateLimited(RetryLater):
    """429: X wants its own, longer back-off (from one minute)."""


def tweet_time(tweet_id: str) -> datetime | None:
    """When a tweet was posted, read from its snowflake id; None for ids that carry no time."""
    if not tweet_id.isdigit():
        return None
    n = int(tweet_id)
    if n < 1 << 32:  # ids from before snowflakes (2010) are plain counters
        return None
    return datetime.fromtimestamp(((n >> 22) + TWITTER_EPOCH_MS) / 1000, UTC)


def _id_key(tweet_id: str) -> tuple[int, str]:
    """Tweet ids are numeric strings that grow with time: compare by length, then lexically."""
    return (len(tweet_id), tweet_id)


def _x_time(dt: datetime) -> str:
    """The ``start_time`` form X accepts (whole seconds, UTC, ``Z``)."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _say_time(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass
class _RuleProgress:
    """How far the catch-up of one rule went inside one gap."""

    query: str
    started: bool = False
    """A page was read: ``until_id`` is then where the next run resumes (search pages go newest first)."""
    until_id: str | None = None
    pages: int = 0


@dataclass
class _Gap:
    """Tweets missed while disconnected: after ``since_id`` (or from ``start_time`` when no tweet had been
    seen yet), up to the first tweet the reopened stream delivered (``until_id``, unknown until then)."""

    since_id: str | None
    start_time: datetime | None
    rules: dict[str, _RuleProgress] | None = None
    """Tag → progress, decided at the first run; a rule leaves once all its pages were read."""
    until_id: str | None = None
    lost_said: bool = False

    def begins(self) -> datetime | None:
        return tweet_time(self.since_id) if self.since_id else self.start_time


@dataclass
class _Found:
    data: dict[str, Any]
    user: dict[str, Any] | None
    tags: list[str] = field(default_factory=list)


class _RateSpent(RateLimited):
    """The last answer said no request is left before the reset: waiting beats a certain 429."""


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
        catch_up: bool = True,
        catch_up_pages: int = 10,
        catch_up_page_size: int = 100,
        **kw: Any,
    ) -> None:
        super().__init__(source_id, clock, **kw)
        self.base_url = base_url.rstrip("/")
        self.bearer_token = bearer_token
        self.rules = list(rules)
        self.sync_rules = sync_rules
        self.watchdog = watchdog
        self.catch_up = catch_up
        """Recover what was posted while disconnected through recent search (costs API credits)."""
        self.catch_up_pages = max(1, catch_up_pages)
        """Most search pages read per rule and gap; beyond, the oldest tweets of the gap are skipped."""
        self.catch_up_page_size = min(max(catch_up_page_size, 10), 100)  # X takes 10..100
        jitter, rng = self.backoff.jitter, self.rng
        self.network_backoff = Backoff(0.25, 16.0, step=0.25, jitter=jitter, rng=rng)
        self.http_backoff = Backoff(5.0, 320.0, jitter=jitter, rng=rng)
        self.rate_backoff = Backoff(60.0, 960.0, jitter=jitter, rng=rng)
        # The same schedules for retrying a catch-up, apart: a healthy stream resets its own.
        self._catch_up_backoffs = {
            "network": Backoff(0.25, 16.0, step=0.25, jitter=jitter, rng=rng),
            "http": Backoff(5.0, 320.0, jitter=jitter, rng=rng),
            "rate": Backoff(60.0, 960.0, jitter=jitter, rng=rng),
        }
        self._synced = False
        self._seen: BoundedSet[str] = BoundedSet(50_000)
        # The filtered stream cannot resume (no replay below Enterprise): the newest id seen bounds the
        # gap that recent search fills after a reconnect.
        self._newest: str | None = None
        self._live_at: datetime | None = None  # the last byte (keep-alives included) from a live stream
        self._gaps: list[_Gap] = []
        self._queries: list[tuple[str, str]] | None = None  # (tag, rule value) searched in a catch-up
        self._retry_at: datetime | None = None  # a deferred catch-up runs again from then
        self._failures = 0
        self._refused: str | None = None  # search is not allowed to this token: catch-up is off
        self._pending_note: str | None = None  # "incomplete, retrying": cleared when the retry succeeds
        self._lost_note: str | None = None  # tweets missing for good, since the last complete catch-up
        self.catch_up_note: str | None = None
        """What the last catch-up could not do (pending, or tweets lost), or None when it had no trouble."""
        self.recovered = 0
        """Tweets that reached the desk through catch-up."""
        self.resume(cursor)

    def _restore(self, cursor: str) -> None:
        if not cursor.isdigit():
            raise ValueError("not a tweet id")
        self._newest = cursor
        if self.catch_up:
            self._gaps = [_Gap(since_id=cursor, start_time=None)]

    @property
    def cursor(self) -> str | None:
        """The newest tweet id received (a restart catches up from it)."""
        return self._newest

    @property
    def catch_up_pending(self) -> bool:
        """Whether some gap still waits for recent search (deferred after an error or a rate limit)."""
        return bool(self._gaps)

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
        went_live = False
        try:
            async with session.get(
                f"{self.base_url}/2/tweets/search/stream", params=STREAM_PARAMS, headers=self._headers()
            ) as resp:
                await self._check(resp, "filtered stream")
                # The stream is open and buffering: fill the gap behind it first, then read it.
                if self._catch_up_due():
                    await self._catch_up(session, emit)
                reader = WatchedReader(resp, self.watchdog)
                buf = b""
                while True:
                    chunk = await reader.read()
                    if not chunk:
                        return
                    self._live_at = self.clock.now()
                    if not went_live:
                        went_live = True
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
                    if self._gaps and self._catch_up_due():  # a deferred catch-up whose wait is over
                        await self._catch_up(session, emit)
        finally:
            if went_live and not self.stopping:  # a stop is caught up from the saved cursor at the next start
                self._open_gap()

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
        for gap in self._gaps:
            if gap.until_id is None:  # the reopened stream's first tweet: the gap ends below it
                gap.until_id = mention.uid
        await self._accept(mention, emit)

    async def _accept(self, mention: Mention, emit: Emit) -> bool:
        """Emit a tweet not seen before (from the stream or a catch-up); False for a repeat."""
        if not self._seen.add(mention.uid):
            return False
        if self._newest is None or _id_key(mention.uid) > _id_key(self._newest):
            self._newest = mention.uid
        self.health.event()
        await emit(mention)
        return True

    # -- catch-up through recent search

    def _open_gap(self) -> None:
        """A live stream ended: what is posted from now until it is back must be searched for."""
        if not self.catch_up or self._refused:
            return
        if self._gaps:
            last = self._gaps[-1]
            if last.until_id is None and not any(r.started for r in (last.rules or {}).values()):
                return  # nothing came since that gap opened and none of it was read: it covers this one
        if len(self._gaps) >= _MAX_GAPS:
            dropped = self._gaps.pop(0)
            self._note(
                f"catch-up: too many gaps waiting; tweets posted around {self._gap_words(dropped)} "
                "are missing",
                pending=False,
            )
        since = self._newest
        start = None if since else (self._live_at or self.clock.now()) - _START_MARGIN
        self._gaps.append(_Gap(since_id=since, start_time=start))

    def _catch_up_due(self) -> bool:
        if not self.catch_up or not self._gaps or self._refused:
            return False
        return self._retry_at is None or self.clock.now() >= self._retry_at

    async def _catch_up(self, session: aiohttp.ClientSession, emit: Emit) -> None:
        """Fill the waiting gaps, oldest first; on trouble, emit what was found and retry later."""
        losses: list[str] = []
        progress = False
        while self._gaps:
            gap = self._gaps[0]
            found: dict[str, _Found] = {}
            try:
                progress |= await self._search_gap(session, gap, found, losses)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                await self._emit_found(found, emit)
                self._say_losses(losses)
                self._defer(exc, gap, progress or bool(found))
                return
            await self._emit_found(found, emit)
            self._gaps.pop(0)
        self._retry_at = None
        self._failures = 0
        for b in self._catch_up_backoffs.values():
            b.reset()
        self._say_losses(losses)
        if self._pending_note is not None:
            self.log.info("source %s: catch-up complete", self.id)
            if self.health.last_error == self._pending_note:
                # It was only late: what stays true is what was lost for good, if anything.
                self.health.last_error = self._lost_note
        self.catch_up_note = self._lost_note
        self._pending_note = self._lost_note = None

    async def _search_queries(self, session: aiohttp.ClientSession) -> list[tuple[str, str]]:
        """(tag, value) of the rules to search: the synced ones, else whatever rules the stream has."""
        if self._queries is None:
            if self.sync_rules:
                self._queries = [(r["tag"], r["value"]) for r in self.rules]
            else:
                async with session.get(
                    f"{self.base_url}/2/tweets/search/stream/rules", headers=self._headers()
                ) as resp:
                    await self._check(resp, "stream rules")
                    body = await resp.json(content_type=None)
                rules = body.get("data") if isinstance(body, dict) else None
                self._queries = [
                    (str(r.get("tag") or r.get("id") or r["value"]), r["value"])
                    for r in rules or ()
                    if isinstance(r, dict) and isinstance(r.get("value"), str)
                ]
        return self._queries

    async def _search_gap(
        self, session: aiohttp.ClientSession, gap: _Gap, found: dict[str, _Found], losses: list[str]
    ) -> bool:
        """Read every rule's pages for ``gap`` into ``found``; True when a page was read."""
        if gap.rules is None:
            gap.rules = {tag: _RuleProgress(value) for tag, value in await self._search_queries(session)}
        floor = self.clock.now() - RECENT_WINDOW + _WINDOW_MARGIN
        begins = gap.begins()
        bound: dict[str, str]
        if begins is not None and begins < floor:
            # Beyond what recent search keeps: take what it still has, and say what is lost for good.
            bound = {"start_time": _x_time(floor)}
            if not gap.lost_said:
                gap.lost_said = True
                losses.append(
                    f"catch-up: disconnected since {_say_time(begins)}, longer than the 7 days recent "
                    f"search keeps; tweets from {_say_time(begins)} to {_say_time(floor)} are missing"
                )
        elif gap.since_id is not None:
            bound = {"since_id": gap.since_id}
        else:
            assert gap.start_time is not None
            bound = {"start_time": _x_time(gap.start_time)}
        read = False
        for tag, rule in list(gap.rules.items()):
            until = rule.until_id if rule.started else gap.until_id
            token: str | None = None
            while True:
                if rule.pages >= self.catch_up_pages:
                    losses.append(
                        f"catch-up: over {rule.pages * self.catch_up_page_size} tweets for {tag} in the gap "
                        f"({self._gap_words(gap)}); the oldest of them are missing"
                    )
                    break
                params = {
                    "query": rule.query,
                    **bound,
                    "max_results": str(self.catch_up_page_size),
                    **STREAM_PARAMS,
                }
                if until is not None:
                    params["until_id"] = until
                if token is not None:
                    params["next_token"] = token
                try:
                    body, spent, reset_in = await self._search_page(session, params)
                except HttpStatusError as exc:
                    if exc.status is None or exc.status >= 500:
                        raise
                    # X refused this query (too long for the plan, an operator search does not take):
                    # retrying cannot help, the other rules can still be caught up.
                    losses.append(f"catch-up: recent search refused {tag}: {exc}")
                    break
                read = True
                rule.pages += 1
                ids = self._collect(body, tag, found)
                if ids:
                    rule.started = True
                    rule.until_id = min(ids, key=_id_key)
                meta = body.get("meta")
                token = meta.get("next_token") if isinstance(meta, dict) else None
                if not isinstance(token, str) or not token:
                    break
                if spent:
                    raise _RateSpent("recent search: no request left before the rate-limit reset", reset_in)
            del gap.rules[tag]
        return read

    async def _search_page(
        self, session: aiohttp.ClientSession, params: dict[str, str]
    ) -> tuple[dict[str, Any], bool, float | None]:
        """One recent search answer, whether the rate limit is spent, and the seconds to its reset."""
        async with (
            asyncio.timeout(_SEARCH_TIMEOUT),
            session.get(
                f"{self.base_url}/2/tweets/search/recent", params=params, headers=self._headers()
            ) as resp,
        ):
            await self._check(resp, "recent search")
            try:
                body = await resp.json(content_type=None)
            except ValueError:
                raise ProtocolError("recent search: the answer is not JSON") from None
            remaining = resp.headers.get("x-rate-limit-remaining", "")
            reset = resp.headers.get("x-rate-limit-reset", "")
        if not isinstance(body, dict):
            raise ProtocolError("recent search: the answer is not a JSON object")
        reset_in = max(0.0, int(reset) - self.clock.now().timestamp()) if reset.strip().isdigit() else None
        return body, remaining.strip() == "0", reset_in

    def _collect(self, body: dict[str, Any], tag: str, found: dict[str, _Found]) -> list[str]:
        """Keep a page's tweets (with their authors) in ``found``; return their ids."""
        includes = body.get("includes")
        listed = includes.get("users") if isinstance(includes, dict) else None
        users = {u.get("id"): u for u in listed if isinstance(u, dict)} if isinstance(listed, list) else {}
        ids: list[str] = []
        page = body.get("data")
        for data in page if isinstance(page, list) else ():
            tid = data.get("id") if isinstance(data, dict) else None
            if not isinstance(tid, str) or not tid.isdigit():
                self.health.bad_event("recent search: tweet without id")
                continue
            ids.append(tid)
            entry = found.get(tid)
            if entry is None:
                entry = found[tid] = _Found(data, users.get(data.get("author_id")))
            if tag not in entry.tags:
                entry.tags.append(tag)
        return ids

    async def _emit_found(self, found: dict[str, _Found], emit: Emit) -> None:
        """Send the tweets found, oldest first, as stream messages would have brought them."""
        now = self.clock.now()
        for tid in sorted(found, key=_id_key):
            entry = found[tid]
            message = {
                "data": entry.data,
                "includes": {"users": [entry.user] if entry.user else []},
                "matching_rules": [{"tag": t} for t in entry.tags],
            }
            try:
                mention = tweet_to_mention(message, source=self.id, received_at=now)
            except ValueError as exc:
                self.health.bad_event(f"recent search: {exc}")
                continue
            mention = replace(mention, extra={**mention.extra, "catch_up": True})
            if await self._accept(mention, emit):
                self.recovered += 1

    def _defer(self, exc: BaseException, gap: _Gap, progress: bool) -> None:
        """A catch-up failed: say so, and retry once the rate limit resets or after the back-off."""
        self._failures = 0 if progress else self._failures + 1
        what = str(exc) if isinstance(exc, SourceError) else f"{type(exc).__name__}: {exc}".rstrip(": ")
        if isinstance(exc, AuthFailed):
            # The token streams but may not search (plan, app settings): asking again will not help.
            self._refused = what
            self._gaps.clear()
            self._retry_at = None
            self._note(
                f"catch-up unavailable ({what}); tweets posted while disconnected are missing", pending=False
            )
            return
        if isinstance(exc, Gone) or self._failures >= _MAX_CATCHUP_ATTEMPTS:
            self._gaps.pop(0)
            self._failures = 0
            self._retry_at = None
            self._note(
                f"catch-up gave up ({what}); tweets posted around {self._gap_words(gap)} are missing",
                pending=False,
            )
            return
        if isinstance(exc, RetryLater) and exc.seconds is not None:
            delay = exc.seconds
        elif isinstance(exc, RateLimited):
            delay = self._catch_up_backoffs["rate"].next()
        elif isinstance(exc, (HttpStatusError, RetryLater)):
            delay = self._catch_up_backoffs["http"].next()
        else:
            delay = self._catch_up_backoffs["network"].next()
        self._retry_at = self.clock.now() + timedelta(seconds=min(delay, self.max_retry_after))
        self._note(
            f"catch-up incomplete ({what}); tweets posted around {self._gap_words(gap)} may be missing, "
            f"retrying after {self._retry_at.astimezone(UTC).strftime('%H:%M:%S')} UTC",
            pending=True,
        )

    def _say_losses(self, losses: list[str]) -> None:
        """Log every loss of a run; health keeps the last one."""
        for message in losses[:-1]:
            self.log.warning("source %s: %s", self.id, message)
        if losses:
            self._note(losses[-1], pending=False)

    def _gap_words(self, gap: _Gap) -> str:
        begins = gap.begins()
        ends = tweet_time(gap.until_id) if gap.until_id else None
        if begins is None:
            return "the disconnection" if ends is None else f"the disconnection before {_say_time(ends)}"
        return f"{_say_time(begins)} – {_say_time(ends)}" if ends else f"{_say_time(begins)} and after"

    def _note(self, message: str, *, pending: bool) -> None:
        """Tell the operator (health's last error) what the catch-up could not do."""
        self.catch_up_note = message
        if pending:
            self._pending_note = message
        else:
            self._pending_note, self._lost_note = None, message
        self.health.last_error = message
        self.log.warning("source %s: %s", self.id, message)


def build(
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
        catch_up=source.catch_up,
    )
