"""Webhook push: an HTTP receiver for anything that can POST (n8n, Zapier, a scraper, a relay).

It accepts the public JSON mention object (ARCHITECTURE.md), one per request or a JSON array batch.
Signatures are required by default and checked on the raw body, in constant time, before any parsing:

- GitHub style: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>``;
- Standard Webhooks: ``webhook-id``, ``webhook-timestamp``, ``webhook-signature: v1,<base64 HMAC of
  "{id}.{timestamp}.{body}">`` with a ``whsec_<base64>`` secret, a timestamp tolerance on the desk clock
  and replays refused by id (a bounded memory of recent ids).

A GitHub-style request without ``X-GitHub-Delivery`` is keyed by the hash of its signed body, so the same
signed body sent again is a duplicate, never a second mention (GitHub's signature has no timestamp).

Answers are JSON: 202 ``{"accepted": n}``; 200 ``{"accepted": 0, "duplicate": true}`` for a replayed id
(so an honest sender retrying stops retrying); 400 bad JSON or mention (naming the problem: ``NaN``,
``Infinity``, huge numbers, deep nesting and absurd dates included), 401 bad or missing signature, 408 a
body slower than ``body_timeout``, 413 body too large, 415 not JSON, 503 while the desk shuts down. A
connection that has not sent its request head within ``header_timeout`` is closed.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, Final

from aiohttp import web

from tocsin.config.settings import Settings, WebhookSourceSettings
from tocsin.sources.base import Source, SourceState
from tocsin.sources.clock import Clock
from tocsin.sources.model import Mention, MentionFormatError
from tocsin.sources.net import BoundedSet

log = logging.getLogger("tocsin.sources.webhook")

_END: Final = object()
_JSON_TYPES: Final = ("application/json",)


# --- signatures ----------------------------------------------------------------------------------


def github_signature(secret: str | bytes, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value for ``body``."""
    key = secret.encode() if isinstance(secret, str) else secret
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def standard_webhooks_key(secret: str) -> bytes:
    """The HMAC key of a Standard Webhooks secret (``whsec_<base64>``; anything else is used as text)."""
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret[6:], validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("the whsec_ secret is not valid base64") from None
    return secret.encode()


def standard_webhooks_signature(key: bytes, msg_id: str, timestamp: str, body: bytes) -> str:
    """The ``webhook-signature`` value (``v1,<base64>``) for one message."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


class Rejected(Exception):
    """A request refused with an HTTP status and a message for the sender."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Verified:
    delivery_id: str | None
    """The sender's id for this delivery (replay/duplicate key), when it gives one."""


class SignatureVerifier:
    """Checks one request's signature headers against the raw body; remembers ids to refuse replays."""

    def __init__(self, secret: str, clock: Clock, tolerance: timedelta, replay_cache: int = 10_000) -> None:
        self._github_key = secret.encode()
        try:
            self._std_key: bytes | None = standard_webhooks_key(secret)
        except ValueError:
            self._std_key = None
        self._clock = clock
        self._tolerance = tolerance.total_seconds()
        self._seen: BoundedSet[str] = BoundedSet(replay_cache)

    def verify(self, headers: Mapping[str, str], body: bytes) -> Verified:
        """Raise ``Rejected(401, …)`` unless the request is signed with the shared secret."""
        if "webhook-signature" in headers or "webhook-id" in headers:
            return self._verify_standard(headers, body)
        given = headers.get("X-Hub-Signature-256")
        if given is not None:
            expected = github_signature(self._github_key, body)
            if not hmac.compare_digest(given.strip().encode(), expected.encode()):
                raise Rejected(401, "bad signature: X-Hub-Signature-256 does not match the body")
            # Without a delivery id, the signed body itself is the key: a GitHub-style signature has no
            # timestamp, so the same signed body could otherwise be replayed forever.
            delivery = headers.get("X-GitHub-Delivery") or "body:" + hashlib.sha256(body).hexdigest()
            return Verified(delivery)
        raise Rejected(
            401,
            "missing signature: send X-Hub-Signature-256, or webhook-id, webhook-timestamp and "
            "webhook-signature (Standard Webhooks)",
        )

    def _verify_standard(self, headers: Mapping[str, str], body: bytes) -> Verified:
        msg_id = headers.get("webhook-id", "")
        ts = headers.get("webhook-timestamp", "")
        sigs = headers.get("webhook-signature", "")
        if not (msg_id and ts and sigs):
            raise Rejected(
                401,
                "missing signature: Standard Webhooks needs webhook-id, webhook-timestamp "
                "and webhook-signature",
            )
        if self._std_key is None:
            raise Rejected(401, "bad signature: the desk's whsec_ secret is not valid base64")
        try:
            sent_at = int(ts)
        except ValueError:
            raise Rejected(401, "bad signature: webhook-timestamp is not a Unix time in seconds") from None
        skew = self._clock.now().timestamp() - sent_at
        if abs(skew) > self._tolerance:
            when = "old" if skew > 0 else "in the future"
            raise Rejected(
                401,
                f"bad signature: webhook-timestamp is {abs(skew):.0f} s {when} "
                f"(tolerance {self._tolerance:.0f} s)",
            )
        expected = standard_webhooks_signature(self._std_key, msg_id, ts, body).encode()
        # Several space-separated signatures may be sent while the sender rotates its secret.
        ok = False
        for candidate in sigs.split():
            if candidate.startswith("v1,") and hmac.compare_digest(candidate.encode(), expected):
                ok = True  # no early exit: the time taken does not depend on which one matched
        if not ok:
            raise Rejected(401, "bad signature: webhook-signature does not match the body")
        return Verified(msg_id)

    def seen(self, delivery_id: str | None) -> bool:
        """Whether this delivery was already accepted (a replay or a retry)."""
        return delivery_id is not None and delivery_id in self._seen

    def remember(self, delivery_id: str | None) -> None:
        if delivery_id is not None:
            self._seen.add(delivery_id)


# --- the body ------------------------------------------------------------------------------------


def parse_mentions(body: bytes, *, source: str, received_at: datetime) -> list[Mention]:
    """Mentions from a request body: one JSON mention object or an array of them.

    Raises ``Rejected(400, …)`` naming the problem (and the item number in a batch); nothing is taken
    from a batch with one bad item, so the sender can fix it and resend the whole.
    """
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Rejected(400, "bad JSON: the body is not UTF-8") from None
    try:
        obj = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise Rejected(400, f"bad JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise Rejected(400, "bad JSON: nested too deeply") from None
    except ValueError as exc:  # NaN, Infinity, an integer of thousands of digits
        raise Rejected(400, f"bad JSON: {exc}") from None
    if isinstance(obj, dict):
        return [_mention(obj, None, source, received_at)]
    if isinstance(obj, list):
        return [_mention(item, i, source, received_at) for i, item in enumerate(obj)]
    raise Rejected(400, f"bad mention: expected a JSON object or an array of them, got {type(obj).__name__}")


def _mention(obj: Any, index: int | None, source: str, received_at: datetime) -> Mention:
    where = f"item {index}: " if index is not None else ""
    if not isinstance(obj, dict):
        raise Rejected(400, f"bad mention: {where}expected a JSON object, got {type(obj).__name__}")
    try:
        uid = None if "uid" in obj else _content_uid(obj)
        return Mention.from_json(obj, source=source, received_at=received_at, default_uid=uid)
    except MentionFormatError as exc:
        raise Rejected(400, f"bad mention: {where}{exc}") from None
    except RecursionError:
        raise Rejected(400, f"bad mention: {where}nested too deeply") from None


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


# Strict JSON, as the jsonl reader: NaN and Infinity would otherwise slip into counts and timestamps.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _content_uid(obj: Mapping[str, Any]) -> str:
    """A uid for a mention sent without one: the same content resent gives the same uid."""
    canon = json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    # surrogatepass: a lone surrogate in the content still hashes (the text itself is cleaned later)
    return "sha256:" + hashlib.sha256(canon.encode("utf-8", "surrogatepass")).hexdigest()[:32]


# --- the receiver --------------------------------------------------------------------------------


class WebhookSource(Source):
    """An aiohttp receiver; iterate it to get what senders POST. ``ready`` is set once listening."""

    kind: ClassVar[str] = "webhook"

    def __init__(
        self,
        source_id: str,
        clock: Clock,
        *,
        host: str = "127.0.0.1",
        port: int = 8787,
        path: str = "/mentions",
        secret: str | None = None,
        require_signature: bool = True,
        max_body_bytes: int = 1_048_576,
        tolerance: timedelta = timedelta(minutes=5),
        replay_cache: int = 10_000,
        queue_size: int = 10_000,
        cursor: str | None = None,
        header_timeout: timedelta = timedelta(seconds=10),
        body_timeout: timedelta = timedelta(seconds=30),
    ) -> None:
        """``header_timeout``: a connection that has not sent a whole request head by then (or sits idle
        that long between requests) is closed; ``body_timeout``: a body not fully received by then is
        refused with 408. Both in real seconds: slow senders must not hold connections open."""
        super().__init__(source_id, clock)
        if require_signature and not secret:
            raise ValueError("webhook: a secret is required unless require_signature is false")
        self.host = host
        self.port = port
        """The port asked for; once ``ready``, the port actually bound (useful with 0)."""
        self.path = path if path.startswith("/") else "/" + path
        self.max_body_bytes = max_body_bytes
        self.header_timeout = header_timeout.total_seconds()
        self.body_timeout = body_timeout.total_seconds()
        self.verifier = SignatureVerifier(secret, clock, tolerance, replay_cache) if secret else None
        self.ready = asyncio.Event()
        self._queue: asyncio.Queue[object] = asyncio.Queue(queue_size)
        # Nothing to resume: senders retry what we did not acknowledge. Kept for the common interface.
        self._cursor = cursor

    @property
    def cursor(self) -> str | None:
        return self._cursor

    def resume(self, cursor: str | None) -> None:
        """Nothing to resume: senders retry what was not acknowledged."""

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{self.path}"

    def app(self) -> web.Application:
        """The aiohttp application (the body limit is enforced by the handler, with a JSON answer)."""
        app = web.Application(client_max_size=self.max_body_bytes + 1)
        app.router.add_post(self.path, self._handle)
        return app

    async def stream(self) -> AsyncIterator[Mention]:
        # aiohttp closes a connection that is idle when its keep-alive timer fires, and arms that timer
        # when the connection opens: a request head still trickling in (slowloris) counts as idle.
        runner = web.AppRunner(
            self.app(), access_log=None, handle_signals=False, keepalive_timeout=self.header_timeout
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            try:
                await site.start()
            except OSError as exc:
                msg = f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc}"
                log.error("source %s: %s", self.id, msg)
                self.health.set_state(SourceState.FAILED, msg)
                return
            for addr in runner.addresses:
                if isinstance(addr, tuple) and len(addr) >= 2:
                    self.port = int(addr[1])
                    break
            self.health.set_state(SourceState.LIVE)
            self.ready.set()
            log.info("source %s: listening on %s", self.id, self.url)
            while not self.stopping:
                item = await self._queue.get()
                if item is _END:
                    break
                yield item  # type: ignore[misc]
        finally:
            await runner.cleanup()

    async def stop(self) -> None:
        await super().stop()
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(_END)

    async def _handle(self, request: web.Request) -> web.Response:
        try:
            accepted, duplicate = await self._accept(request)
        except Rejected as exc:
            self.health.bad_event(f"request refused ({exc.status}): {exc}")
            return web.json_response({"error": str(exc)}, status=exc.status)
        if duplicate:
            return web.json_response({"accepted": 0, "duplicate": True}, status=200)
        return web.json_response({"accepted": accepted}, status=202)

    async def _accept(self, request: web.Request) -> tuple[int, bool]:
        if self.stopping:
            raise Rejected(503, "the desk is shutting down; retry later")
        if request.content_type not in _JSON_TYPES and not request.content_type.endswith("+json"):
            raise Rejected(
                415, f"expected Content-Type application/json, got {request.content_type or 'none'}"
            )
        body = await self._read_body(request)
        delivery: str | None = None
        if self.verifier is not None:
            verified = self.verifier.verify(request.headers, body)
            delivery = verified.delivery_id
            if self.verifier.seen(delivery):
                return 0, True
        mentions = parse_mentions(body, source=self.id, received_at=self.clock.now())
        if self.verifier is not None:
            self.verifier.remember(delivery)
        for m in mentions:
            await self._queue.put(m)  # waits when the desk is behind: the sender sees it as latency
        if mentions:
            self.health.event(len(mentions))
        return len(mentions), False

    async def _read_body(self, request: web.Request) -> bytes:
        limit = self.max_body_bytes
        too_large = Rejected(413, f"body too large: the limit is {limit} bytes")
        if request.content_length is not None and request.content_length > limit:
            raise too_large
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.body_timeout):
                while True:
                    chunk = await request.content.readany()
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > limit:
                        raise too_large
                    chunks.append(chunk)
        except TimeoutError:
            raise Rejected(
                408, f"body too slow: not received within {self.body_timeout:.0f} s ({size} bytes came)"
            ) from None
        return b"".join(chunks)


def build(
    source: WebhookSourceSettings,
    clock: Clock,
    settings: Settings | None = None,
    *,
    cursor: str | None = None,
) -> WebhookSource:
    """The source for a ``type: webhook`` config entry."""
    return WebhookSource(
        source.id,
        clock,
        host=source.host,
        port=source.port,
        path=source.path,
        secret=source.secret,
        require_signature=source.require_signature,
        max_body_bytes=source.max_body_bytes,
        tolerance=source.tolerance,
        replay_cache=source.replay_cache,
        cursor=cursor,
        header_timeout=source.header_timeout,
        body_timeout=source.body_timeout,
    )
