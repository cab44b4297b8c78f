"""Plumbing shared by the network sources: back-off with jitter, ``Retry-After``, a read watchdog,
an SSE parser, the User-Agent, auth-failure handling and the reconnect/poll loops.

Every wait goes through the desk clock (``clock.sleep``) so tests assert back-off timing with a
``ManualClock`` instead of sleeping. The read watchdog is the one real-time timer: it guards the
socket, not desk time.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import errno
import logging
import random
import re
from abc import abstractmethod
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Generic, TypeVar

import aiohttp

from tocsin.config import reasons as r
from tocsin.config.i18n import N_
from tocsin.config.settings import TopicSettings
from tocsin.config.text import fold
from tocsin.sources.base import Source, SourceState
from tocsin.sources.clock import Clock
from tocsin.sources.model import Mention, parse_time

try:
    from importlib.metadata import version as _dist_version

    VERSION = _dist_version("tocsin")
except Exception:  # running from a checkout without install metadata
    VERSION = "0.1.0"

USER_AGENT: Final = f"tocsin/{VERSION} (crisis desk; +https://github.com/tocsin-desk/tocsin)"
"""Informative User-Agent sent by every source (Reddit builds its own required form)."""

Emit = Callable[[Mention], Awaitable[None]]
"""How a source hands a mention to its consumer (awaits when the consumer is behind).

A mention may come again with the same uid: ``deleted=True`` when the platform deleted it, or with
``extra["update"]`` set to ``"edit"`` (the author edited it) or ``"author"`` (its author's profile
arrived later). Consumers should replace what they hold, not count it twice."""


# --- errors ------------------------------------------------------------------------------------


class SourceError(Exception):
    """A failure talking to the platform; the message is shown to the operator as is."""

    status: int | None = None
    """The HTTP status behind it, when there is one (``plain_reason`` says it)."""


class AuthFailed(SourceError):
    """401/403: the credentials were refused. Retrying at once would only hammer the service."""


class RetryLater(SourceError):
    """429/503 (or a rate-limit header): the server said when to come back."""

    def __init__(self, message: str, seconds: float | None) -> None:
        super().__init__(message)
        self.seconds = seconds


class HttpStatusError(SourceError):
    """Any other unexpected HTTP status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class Gone(SourceError):
    """410: the resource is gone for good; stop asking."""


class Stalled(SourceError):
    """The read watchdog fired: the connection is open but nothing came for too long."""


class ProtocolError(SourceError):
    """The server broke the wire format badly enough that the connection must be reopened."""


# --- back-off ----------------------------------------------------------------------------------


class Backoff:
    """Exponential (or linear) back-off with jitter, from ``initial`` up to ``maximum`` seconds.

    ``jitter`` spreads each delay over ``[d·(1−jitter), d]`` so that many desks restarted by the same
    outage do not reconnect in lockstep. ``rng`` is injected for deterministic tests.
    """

    def __init__(
        self,
        initial: float = 1.0,
        maximum: float = 300.0,
        *,
        factor: float = 2.0,
        step: float | None = None,
        jitter: float = 0.5,
        rng: random.Random | None = None,
    ) -> None:
        if initial < 0 or maximum < initial:
            raise ValueError("back-off needs 0 <= initial <= maximum")
        self.initial = initial
        self.maximum = maximum
        self.factor = factor
        self.step = step
        """When set, the delay grows linearly by ``step`` instead of geometrically."""
        self.jitter = min(max(jitter, 0.0), 1.0)
        self.rng = rng or random.Random()
        self.attempts = 0

    def peek(self) -> float:
        """The un-jittered delay the next failure would get."""
        if self.step is not None:
            base = self.initial + self.step * self.attempts
        else:
            base = self.initial * self.factor ** min(self.attempts, 64)
        return min(base, self.maximum)

    def next(self) -> float:
        """The delay before the next attempt (and count the failure)."""
        base = self.peek()
        self.attempts += 1
        if self.jitter:
            base *= 1.0 - self.jitter * self.rng.random()
        return base

    def reset(self) -> None:
        """A healthy connection: the next failure starts from ``initial`` again."""
        self.attempts = 0


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP-date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


async def raise_for_status(resp: aiohttp.ClientResponse, what: str, now: datetime) -> None:
    """Turn an error response into the matching SourceError, with a short excerpt of the server's reason."""
    status = resp.status
    if status < 400:
        return
    reason = await _error_excerpt(resp)
    detail = f"{what}: HTTP {status} {resp.reason or ''}".rstrip() + (f" — {reason}" if reason else "")
    error: SourceError
    if status in (401, 403):
        error = AuthFailed(detail)
    elif status == 410:
        error = Gone(detail)
    elif status in (429, 503):
        error = RetryLater(detail, parse_retry_after(resp.headers.get("Retry-After"), now))
    else:
        error = HttpStatusError(detail, status)
    error.status = status
    raise error


async def _error_excerpt(resp: aiohttp.ClientResponse, limit: int = 4096) -> str:
    """The server's own words (``error``/``message``/``detail``/``title`` or the body start), one line."""
    try:
        async with asyncio.timeout(5):  # an error body that never ends must not hang the reconnect loop
            body = await resp.content.read(limit)
    except (TimeoutError, aiohttp.ClientError):
        return ""
    text = body.decode("utf-8", "replace").strip()
    if text.startswith(("{", "[")):
        import json

        with contextlib.suppress(ValueError):
            obj = json.loads(text)
            found = _find_message(obj)
            if found:
                text = found
    return " ".join(text.split())[:200]


def _find_message(obj: Any) -> str | None:
    if isinstance(obj, list) and obj:
        return _find_message(obj[0])
    if isinstance(obj, dict):
        for key in ("error_description", "error", "message", "detail", "title", "errors"):
            v = obj.get(key)
            if isinstance(v, str) and v:
                return v
            if isinstance(v, (list, dict)):
                found = _find_message(v)
                if found:
                    return found
    return None


# --- reading with a watchdog ---------------------------------------------------------------------


class WatchedReader:
    """Reads an HTTP body chunk by chunk; raises ``Stalled`` when nothing arrives for ``watchdog`` s."""

    def __init__(self, resp: aiohttp.ClientResponse, watchdog: float) -> None:
        self._content = resp.content
        self.watchdog = watchdog

    async def read(self) -> bytes:
        """The next chunk; ``b""`` at the end of the stream."""
        try:
            async with asyncio.timeout(self.watchdog):
                return await self._content.readany()
        except TimeoutError:
            raise Stalled(f"no data for {self.watchdog:g} s (stalled connection)") from None


# --- Server-Sent Events --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SSEEvent:
    event: str
    data: str
    id: str | None = None


class SSEParser:
    """Incremental ``text/event-stream`` parser (WHATWG rules): feed bytes, get whole events.

    Comments (``:thump``) are counted, not returned: they are heartbeats. Lines may end in CRLF, LF or
    CR, split anywhere across chunks. A line longer than ``max_line`` raises ``ProtocolError``.
    """

    def __init__(self, max_line: int = 1 << 20) -> None:
        self._buf = b""
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None
        self.last_event_id: str | None = None
        self.retry_ms: int | None = None
        self.comments = 0
        self.max_line = max_line

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Parse ``chunk``; return the events it completed, in order."""
        buf = self._buf + chunk if self._buf else chunk
        if b"\r" in buf:
            pending_cr = buf.endswith(b"\r")  # may be the first half of a CRLF split across chunks
            if pending_cr:
                buf = buf[:-1]
            buf = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            if pending_cr:
                buf += b"\r"
        lines = buf.split(b"\n")
        rest = lines.pop()
        if len(rest) > self.max_line:
            self._buf = b""
            raise ProtocolError(f"event-stream line longer than {self.max_line} bytes")
        self._buf = rest
        events: list[SSEEvent] = []
        for raw in lines:
            if raw.endswith(b"\r"):  # a held-back CR followed by LF in this chunk
                raw = raw[:-1]
            self._line(raw, events)
        return events

    def _line(self, raw: bytes, events: list[SSEEvent]) -> None:
        if not raw:
            if self._data:
                events.append(SSEEvent(self._event or "message", "\n".join(self._data), self._id))
            self._event, self._data = "", []
            return
        if raw[0] == 0x3A:  # ':' comment
            self.comments += 1
            return
        line = raw.decode("utf-8", "replace")
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\x00" not in value:
                self._id = self.last_event_id = value
        elif name == "retry" and value.isdigit():
            self.retry_ms = int(value)


# --- small bounded memories ----------------------------------------------------------------------

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedSet(Generic[K]):
    """Remembers the last ``size`` keys seen (insertion order); ``add`` says whether a key is new."""

    def __init__(self, size: int = 50_000) -> None:
        self._keys: OrderedDict[K, None] = OrderedDict()
        self.size = size

    def add(self, key: K) -> bool:
        if key in self._keys:
            return False
        self._keys[key] = None
        if len(self._keys) > self.size:
            self._keys.popitem(last=False)
        return True

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)


class BoundedMap(Generic[K, V]):
    """A size-bounded mapping that forgets its oldest entries."""

    def __init__(self, size: int = 50_000) -> None:
        self._items: OrderedDict[K, V] = OrderedDict()
        self.size = size

    def __setitem__(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        if len(self._items) > self.size:
            self._items.popitem(last=False)

    def get(self, key: K) -> V | None:
        return self._items.get(key)

    def pop(self, key: K) -> V | None:
        return self._items.pop(key, None)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)


# --- the network source base ---------------------------------------------------------------------

_END: Final = object()


class NetSource(Source):
    """A source that talks to a remote service: one producer task feeds a bounded queue.

    Subclasses implement ``_run(session, emit)``, usually by handing a ``connect_once`` to
    ``keep_connected`` (streams) or a ``poll_once`` to ``keep_polling`` (polled APIs). The base
    handles prompt stop, back-off with jitter, ``Retry-After``, and auth failures: reported once,
    health ``failed``, retried ``auth_retries`` times with long waits, then given up.
    """

    auth_hint: str = "check the credentials in your config"
    """Said with every auth failure (e.g. which environment variable holds the token)."""

    def __init__(
        self,
        source_id: str,
        clock: Clock,
        *,
        rng: random.Random | None = None,
        backoff: Backoff | None = None,
        auth_retries: int = 3,
        auth_retry_delay: float = 300.0,
        max_retry_after: float = 3600.0,
        queue_size: int = 2000,
    ) -> None:
        super().__init__(source_id, clock)
        self.rng = rng or random.Random()
        self.backoff = backoff or Backoff(1.0, 300.0, rng=self.rng)
        self.auth_retries = auth_retries
        self.auth_retry_delay = auth_retry_delay
        self.max_retry_after = max_retry_after
        self._queue_size = queue_size
        self._queue: asyncio.Queue[object] | None = None
        self._producer: asyncio.Task[None] | None = None
        self._auth_failures: dict[str, int] = {}  # per credential scope (e.g. one Mastodon instance)
        self.log = logging.getLogger(f"tocsin.sources.{self.kind}")

    # -- the consumer side

    async def stream(self) -> AsyncIterator[Mention]:
        queue: asyncio.Queue[object] = asyncio.Queue(self._queue_size)
        self._queue = queue
        self._producer = asyncio.create_task(self._produce(queue), name=f"source:{self.id}")
        try:
            while not self.stopping:
                item = await queue.get()
                if item is _END:
                    break
                yield item  # type: ignore[misc]
        finally:
            await self._cancel_producer()

    async def _produce(self, queue: asyncio.Queue[object]) -> None:
        try:
            async with aiohttp.ClientSession(
                headers={"User-Agent": self.user_agent()},
                timeout=aiohttp.ClientTimeout(total=None, connect=30, sock_connect=15),
                trust_env=True,  # honour HTTP(S)_PROXY: desks often sit behind a corporate proxy
            ) as session:
                await self._run(session, queue.put)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug, not a network failure: say so and end this source
            self.log.exception("source %s crashed", self.id)
            self.health.set_state(
                SourceState.FAILED,
                f"internal error: {type(exc).__name__}: {exc}",
                reason="internal error (see the log)",
            )
        finally:
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(_END)

    async def _cancel_producer(self) -> None:
        task, self._producer = self._producer, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def stop(self) -> None:
        """End the stream promptly: the producer is cancelled, its connection closed."""
        await super().stop()
        if self._queue is not None:
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait(_END)
        await self._cancel_producer()

    def user_agent(self) -> str:
        return USER_AGENT

    @property
    def cursor(self) -> str | None:
        """Where to resume after a restart (persist it; give it back to ``resume``); None: nothing yet."""
        return None

    def resume(self, cursor: str | None) -> None:
        """Start from a cursor saved by an earlier run (call before iterating). A bad one is ignored."""
        if not cursor:
            return
        try:
            self._restore(cursor)
        except (ValueError, TypeError, AttributeError, KeyError):
            self.log.warning("source %s: unreadable resume cursor ignored", self.id)

    def _restore(self, cursor: str) -> None:
        """Read a cursor (raise ValueError when it is unreadable)."""

    @abstractmethod
    async def _run(self, session: aiohttp.ClientSession, emit: Emit) -> None:
        """Produce mentions with ``emit`` until stopped or given up."""

    # -- helpers for subclasses

    async def pause(self, seconds: float) -> None:
        """Wait ``seconds`` of desk time (the ManualClock records it); cancelled by ``stop()``."""
        if seconds > 0 and not self.stopping:
            await self.clock.sleep(seconds)

    def healthy(self, scope: str = "") -> None:
        """Call when a connection or poll worked: back-off and auth counters (of ``scope``) start again."""
        self.backoff.reset()
        if self._auth_failures.pop(scope, 0):
            self.log.info("source %s: credentials accepted again", self.id)
        if self.health.state is not SourceState.LIVE:
            self.health.set_state(SourceState.LIVE)

    def failure_delay(
        self, exc: BaseException, backoff: Backoff | None = None, scope: str = ""
    ) -> float | None:
        """How long to wait after ``exc`` before trying again; None means give up (health ``failed``).

        Auth failures are counted per ``scope`` (the credentials concerned): one refused token does not
        use up the retries of another."""
        backoff = backoff or self.backoff
        if isinstance(exc, AuthFailed):
            n = self._auth_failures[scope] = self._auth_failures.get(scope, 0) + 1
            reason = plain_reason(exc)
            if n == 1:
                msg = f"{exc} ({self.auth_hint})"
                self.log.error("source %s: %s", self.id, msg)
                self.health.set_state(SourceState.FAILED, msg, reason=reason)
            if n > self.auth_retries:
                msg = f"{exc} ({self.auth_hint}); gave up after {n} attempts"
                self.log.error("source %s: %s", self.id, msg)
                self.health.set_state(SourceState.FAILED, msg, reason=f"{reason}, gave up")
                return None
            return self.auth_retry_delay * 2 ** (n - 1)
        if isinstance(exc, Gone):
            self.health.set_state(SourceState.FAILED, str(exc), reason=plain_reason(exc))
            return None
        message = _describe(exc)
        if self.health.state is not SourceState.FAILED:
            self.health.set_state(SourceState.RECONNECTING, message, reason=plain_reason(exc))
        else:
            self.health.last_error = message
            self.health.reason = plain_reason(exc)
        self.log.warning("source %s: %s", self.id, message)
        delay = backoff.next()
        if isinstance(exc, RetryLater) and exc.seconds is not None:
            delay = min(exc.seconds, self.max_retry_after)
        return delay

    async def keep_connected(
        self,
        connect_once: Callable[[], Awaitable[None]],
        *,
        backoff: Callable[[BaseException], Backoff] | None = None,
        scope: str = "",
    ) -> None:
        """Run ``connect_once`` until stopped, reconnecting after every drop with back-off.

        ``connect_once`` returns when the server ends the stream and raises on failures; it should call
        ``healthy()`` once the stream is flowing.
        """
        while not self.stopping:
            try:
                await connect_once()
                exc: BaseException = SourceError("the server closed the stream")
            except asyncio.CancelledError:
                raise
            except Exception as e:
                exc = e
                _log_unexpected(self, e)
            if self.stopping:
                return
            delay = self.failure_delay(exc, backoff(exc) if backoff else None, scope)
            if delay is None:
                return
            await self.pause(delay)

    async def keep_polling(self, poll_once: Callable[[], Awaitable[float]]) -> None:
        """Call ``poll_once`` (which returns the seconds until the next poll) until stopped."""
        while not self.stopping:
            try:
                delay: float | None = await poll_once()
            except asyncio.CancelledError:
                raise
            except Exception as e:
                if self.stopping:
                    return
                _log_unexpected(self, e)
                delay = self.failure_delay(e)
            if delay is None:
                return
            await self.pause(delay)


class PolledSource(NetSource):
    """A source read by polling its searches in turn (Hacker News, Reddit): the one poll loop.

    Every ``interval`` seconds each of ``searches()`` is read by ``read_search``, then the source counts
    as healthy (back-off and auth counters start again); a failure anywhere waits as ``keep_polling``
    says and starts the round again. A post that two searches find goes out once (``emit_new``).

    What differs stays in each module: what a search is (an Algolia query, a subreddit listing), how a
    page is fetched and where paging stops, what the cursor holds, and ``not_ready``, why the source
    cannot start at all.
    """

    def __init__(self, source_id: str, clock: Clock, *, interval: float = 60.0, **kw: Any) -> None:
        super().__init__(source_id, clock, **kw)
        self.interval = interval
        self._seen: BoundedSet[str] = BoundedSet(50_000)

    @abstractmethod
    def searches(self) -> tuple[str, ...]:
        """What one round reads, in order (also the keys of the cursor)."""

    @abstractmethod
    async def read_search(self, session: aiohttp.ClientSession, search: str, emit: Emit) -> None:
        """Read one search and ``emit_new`` what it found, oldest first."""

    def not_ready(self) -> str | None:
        """Why polling cannot start (the source is then ``failed`` with these words), or None."""
        return None

    async def _run(self, session: aiohttp.ClientSession, emit: Emit) -> None:
        reason = self.not_ready()
        if reason is not None:
            self.health.set_state(SourceState.FAILED, reason)
            return
        await self.keep_polling(lambda: self._poll(session, emit))

    async def _poll(self, session: aiohttp.ClientSession, emit: Emit) -> float:
        for search in self.searches():
            await self.read_search(session, search, emit)
        self.healthy()
        return self.interval

    async def emit_new(self, mention: Mention, emit: Emit) -> None:
        """Send ``mention`` unless an earlier search (or an earlier run, through the cursor) did."""
        if self._seen.add(mention.uid):
            self.health.event()
            await emit(mention)


_EXPECTED = (SourceError, aiohttp.ClientError, OSError, asyncio.TimeoutError)


def _log_unexpected(source: NetSource, exc: BaseException) -> None:
    """Network trouble is routine; anything else is a bug worth a traceback (but not a dead desk)."""
    if not isinstance(exc, _EXPECTED):
        source.log.error("source %s: unexpected error, will retry", source.id, exc_info=exc)


def plain_reason(exc: BaseException) -> str:
    """Why a source cannot see, as an operator on call at 3 a.m. says it ("no network", "token refused",
    "server error 503"): never an exception's class name. The detail (the server's own words, the host)
    stays in ``last_error`` for the health pane. In English (the JSON Lines and the alerts' data keep it
    so): ``tocsin.config.reasons.shown`` puts it in the desk's language."""
    if isinstance(exc, AuthFailed):
        return N_("token refused") if exc.status in (None, 401) else N_("access refused (HTTP 403)")
    if isinstance(exc, Gone):
        return N_("gone for good (HTTP 410)")
    if isinstance(exc, RetryLater):
        return N_("rate limited (HTTP 429)") if exc.status == 429 else _http_reason(exc.status or 503)
    if isinstance(exc, HttpStatusError):
        return _http_reason(exc.status or 500)
    if isinstance(exc, Stalled):
        return N_("connected, but nothing comes (stalled)")
    if isinstance(exc, ProtocolError):
        return N_("garbled replies from the server")
    if isinstance(exc, SourceError):
        return str(exc)  # our own words already
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return N_("no network (name lookup failed)")
    if isinstance(exc, (aiohttp.ClientConnectorCertificateError, aiohttp.ClientSSLError)):
        return N_("secure connection refused (TLS certificate)")
    if isinstance(exc, aiohttp.ClientHttpProxyError | aiohttp.ClientProxyConnectionError):
        return N_("the proxy refused the connection")
    if isinstance(exc, aiohttp.ClientConnectorError):
        os_error = exc.os_error
        if isinstance(os_error, ConnectionRefusedError):
            return N_("connection refused (server down?)")
        if getattr(os_error, "errno", None) in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN):
            return N_("no network")
        return N_("cannot connect to the server")
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientConnectionResetError):
        return N_("the server hung up")
    if isinstance(exc, TimeoutError):  # asyncio.TimeoutError and aiohttp's timeouts
        return N_("timed out")
    if isinstance(exc, aiohttp.ClientPayloadError):
        return N_("reply cut off")
    if isinstance(exc, aiohttp.ClientResponseError):
        return _http_reason(exc.status)
    if isinstance(exc, aiohttp.ClientError | ConnectionError):
        return N_("network error")
    if isinstance(exc, FileNotFoundError):
        return N_("file not found")
    if isinstance(exc, PermissionError):
        return N_("permission denied")
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return N_("internal error (see the log)")


def _http_reason(status: int) -> str:
    return r.say(r.SOURCE_SERVER_ERROR if status >= 500 else r.SOURCE_REFUSED, status=status)


def _describe(exc: BaseException) -> str:
    """The detail for the health pane: the plain reason, then what the library said (host, port,
    system error), never a class name first."""
    if isinstance(exc, SourceError):
        return str(exc)
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    plain = plain_reason(exc)
    text = str(exc)
    return f"{plain}: {text}" if text and text != plain else plain


def wire_count(v: Any) -> int | None:
    """A platform count (followers, likes…): a non-negative int, else unknown (None)."""
    return v if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else None


def wire_time(v: Any) -> datetime | None:
    """A platform ISO-8601 timestamp as aware UTC, else unknown (None)."""
    if not isinstance(v, str):
        return None
    try:
        return parse_time(v)
    except ValueError:
        return None


def utc_from_timestamp(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


# --- what to follow, derived from the topics ------------------------------------------------------


def topic_keywords(topics: Iterable[TopicSettings]) -> tuple[str, ...]:
    """Every keyword of every topic, in order, without duplicates (case-insensitive)."""
    seen: dict[str, str] = {}
    for topic in topics:
        for kw in topic.keywords:
            kw = kw.strip()
            if kw:
                seen.setdefault(kw.casefold(), kw)
    return tuple(seen.values())


def keyword_hashtags(keywords: Iterable[str]) -> tuple[str, ...]:
    """The ``#tag`` keywords as lower-case tags without ``#``."""
    tags: dict[str, None] = {}
    for kw in keywords:
        kw = kw.strip()
        if kw.startswith("#") and len(kw) > 1 and " " not in kw:
            tags.setdefault(kw[1:].lower(), None)
    return tuple(tags)


def keyword_queries(keywords: Iterable[str]) -> tuple[str, ...]:
    """Search queries for full-text APIs: ``#tag`` and ``@handle`` become the bare word, deduplicated."""
    out: dict[str, str] = {}
    for kw in keywords:
        q = kw.strip().lstrip("#@").strip()
        if q:
            out.setdefault(fold(q, max_len=None), q)
    return tuple(out.values())


_TOKEN = re.compile(r"[^\W_]+")
_COMBINING = "[\u0300-\u036f]*"


def _accent_classes() -> dict[str, str]:
    """For each ASCII letter, the lower-case precomposed Latin letters that fold to it."""
    variants: dict[str, set[str]] = {}
    for cp in [*range(0xC0, 0x250), *range(0x1E00, 0x1F00)]:
        ch = chr(cp).lower()
        base = fold(ch, max_len=None)
        if len(base) == 1 and base.isascii() and base.isalpha() and ch != base:
            variants.setdefault(base, set()).add(ch)
    return {b: "".join(sorted(v)) for b, v in variants.items()}


_ACCENTS = _accent_classes()


class KeywordFilter:
    """Fast client-side keyword matching for firehoses (Bluesky, Mastodon public timelines).

    It is a *pre*-filter: it must never drop a post the pipeline's topic matcher would keep, and it may
    keep a few it drops. A keyword matches when every word of it occurs in the folded text (or tags).
    ``may_match_raw`` works on an undecoded frame so most events are rejected before ``json.loads``.
    """

    def __init__(self, keywords: Iterable[str]) -> None:
        terms: list[tuple[str, ...]] = []
        for kw in keywords:
            tokens = tuple(_TOKEN.findall(fold(kw, max_len=None)))
            if tokens and tokens not in terms:
                terms.append(tokens)
        self.terms = tuple(terms)
        # One necessary word per keyword (its longest); drop words that contain another one.
        needles = sorted({max(t, key=len) for t in terms}, key=len)
        kept: list[str] = []
        for n in needles:
            if not any(k in n for k in kept):
                kept.append(n)
        self.needles = tuple(kept)
        self._raw_re = re.compile("|".join(_accent_pattern(n) for n in kept)) if kept else None

    @property
    def empty(self) -> bool:
        return not self.terms

    def may_match_raw(self, raw_lower: str) -> bool:
        """Cheap test on a lower-cased raw frame: False means no keyword can be in it."""
        if self._raw_re is None:
            return True
        for n in self.needles:
            if n in raw_lower:
                return True
        if raw_lower.isascii():
            return "\\u" in raw_lower and _ESCAPED.search(raw_lower) is not None
        return self._raw_re.search(raw_lower) is not None or (
            "\\u" in raw_lower and _ESCAPED.search(raw_lower) is not None
        )

    def matches(self, text: str, tags: Iterable[str] = ()) -> bool:
        """Whether the post (decoded text and hashtags) may belong to a topic."""
        if not self.terms:
            return True
        hay = fold(text, max_len=None)
        tag_text = " ".join(tags)
        if tag_text:
            hay = f"{hay} {fold(tag_text, max_len=None)}"
        return any(all(tok in hay for tok in term) for term in self.terms)


# A JSON \\u escape of a non-ASCII character: the raw text may hide a keyword behind it.
_ESCAPED = re.compile(r"\\u(?!00[0-7])")


def _accent_pattern(word: str) -> str:
    parts = []
    for ch in word:
        cls = _ACCENTS.get(ch)
        parts.append(f"[{re.escape(ch)}{cls}]{_COMBINING}" if cls else re.escape(ch))
    return "".join(parts)
