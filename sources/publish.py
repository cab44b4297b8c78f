"""Posting from the desk: one write client per platform, beside the code that reads it.

Each platform's write API is one or two HTTP calls, made here with the aiohttp the sources already use:

- **Mastodon**: ``POST /api/v1/statuses`` (``status``, ``visibility``, ``in_reply_to_id``) with the
  account's bearer token and an ``Idempotency-Key``. A status id is only valid on the instance that
  gave it, so a reply first finds the parent on the account's own instance:
  ``GET /api/v2/search?q=<its URI>&type=statuses&resolve=true``.
- **Bluesky**: ``com.atproto.server.createSession`` (handle and app password) gives the access token
  and the account's DID; a reply reads the parent's record (``com.atproto.repo.getRecord``) for its
  ``cid`` and the root of its thread; then ``com.atproto.repo.createRecord`` of an
  ``app.bsky.feed.post`` with ``reply: {root, parent}`` strong refs, under a record key chosen by us.
- **X**: ``POST /2/tweets`` (``text``, ``reply.in_reply_to_tweet_id``) with a user-context OAuth 2.0
  token.

The desk records its intent ("publishing", with a key) in the journal before calling ``publish`` and
the outcome after it; a retry passes the same key. What a crash between the send and the record does:

- Mastodon keeps an ``Idempotency-Key`` for an hour and answers a repeat with the status it already
  made: the retry records the one post, never a second.
- Bluesky: the key is the post's record key. A retry first asks for that record and, if it exists,
  reports it published without posting; ``createRecord`` under a key in use is refused anyway.
- X has no idempotency. A retry posts again, and X refuses an identical text as a duplicate (403):
  that is reported as ``duplicate`` (it most likely went out: check the account, record it by hand).

Errors are ``PublishError``: a short problem code the journal turns into words, the HTTP status, the
platform's own words (cut, with any credential removed) and how long to wait. No message, log line
or error ever holds a token, an app password or an access token.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import quote

import aiohttp

from tocsin.config.settings import PublishAccount
from tocsin.sources.model import format_time
from tocsin.sources.net import USER_AGENT, parse_retry_after, plain_reason

log = logging.getLogger(__name__)

SEND_TIMEOUT_S: Final = 20.0
"""One call that takes longer is given up (its outcome unknown when the request had left)."""
POST: Final = "app.bsky.feed.post"

# problem codes (the journal says them in words: journal/narrate.py ``publish_problem``)
AUTH, FORBIDDEN, REFUSED, RATE_LIMITED, SERVER = "auth", "forbidden", "refused", "rate_limited", "server"
NETWORK, UNKNOWN_OUTCOME, DUPLICATE, NOT_FOUND = "network", "unknown_outcome", "duplicate", "not_found"
ELSEWHERE = "elsewhere"
"""The post to answer is not on this platform (a demo post answered on Bluesky or X)."""


class PublishError(Exception):
    """Publishing failed; nothing is known to have gone out unless ``maybe_sent``."""

    def __init__(
        self,
        problem: str,
        *,
        status: int | None = None,
        detail: str = "",
        retry_after: float | None = None,
        maybe_sent: bool = False,
    ) -> None:
        self.problem = problem
        self.status = status
        self.detail = detail
        """The platform's own words (or the network's), one line, no credential."""
        self.retry_after = retry_after
        """Seconds the platform asked us to wait (``Retry-After`` or a rate-limit reset header)."""
        self.maybe_sent = maybe_sent
        """The request left and no answer came: the post may be up."""
        said = f"{problem}" + (f" (HTTP {status})" if status else "") + (f": {detail}" if detail else "")
        super().__init__(said)


@dataclass(frozen=True, slots=True)
class ReplyTarget:
    """The post being answered, as the desk saw it."""

    uid: str
    """The source's id of the post: a Mastodon status URI, a Bluesky ``at://`` URI, an X post id."""
    url: str | None = None
    handle: str = ""
    platform: str = ""
    """The type of the source that saw it (``mastodon``, ``bluesky``, ``x``, ``demo``…)."""


@dataclass(frozen=True, slots=True)
class Published:
    """A post that is up."""

    post_id: str
    url: str
    recovered: bool = False
    """Found already up on a retry (an earlier attempt went out before the desk could record it)."""


Http = Callable[[], aiohttp.ClientSession]


def http_session(timeout_s: float = SEND_TIMEOUT_S) -> aiohttp.ClientSession:
    """A client session for the write calls (made on the running loop; the caller closes it)."""
    return aiohttp.ClientSession(
        headers={"User-Agent": USER_AGENT},
        timeout=aiohttp.ClientTimeout(total=timeout_s),
        trust_env=True,
    )


class Publisher(ABC):
    """Posts on one platform as one account (``publish:``)."""

    platform: str = ""

    def __init__(self, account: PublishAccount, http: Http) -> None:
        self.account = account
        self._http = http
        self._secrets = tuple(s for s in (account.token, account.password) if s)

    def new_key(self, seed: str, now: datetime) -> str:
        """The key the first attempt chooses and every retry reuses (``seed`` names the draft)."""
        return "tocsin-" + hashlib.sha256(seed.encode()).hexdigest()[:32]

    @abstractmethod
    async def publish(self, text: str, reply: ReplyTarget | None, key: str, *, retry: bool) -> Published:
        """Post ``text`` (as a reply to ``reply`` when given). ``retry``: an earlier attempt with this
        key may have gone out. Raises ``PublishError``."""

    # --- plumbing ---------------------------------------------------------------------------------

    def redact(self, text: str) -> str:
        """``text`` with every credential of this account (and an access token in use) removed."""
        for secret in (*self._secrets, *self._extra_secrets()):
            if secret:
                text = text.replace(secret, "***")
        return text

    def _extra_secrets(self) -> tuple[str, ...]:
        return ()

    async def _call(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
        sends: bool = False,
    ) -> Any:
        """One HTTP call; the JSON answer, or ``PublishError`` in plain terms. ``sends``: this call
        creates the post (a timeout or a cut connection after it left leaves the outcome unknown)."""
        try:
            async with self._http().request(
                method, url, headers=dict(headers or {}), json=json_body, params=params
            ) as resp:
                if resp.status >= 400:
                    raise await self._failure(resp)
                try:
                    return await resp.json(content_type=None)
                except ValueError:
                    raise PublishError(
                        UNKNOWN_OUTCOME if sends else SERVER,
                        status=resp.status,
                        detail="the answer was not JSON",
                        maybe_sent=sends,
                    ) from None
        except PublishError:
            raise
        except (aiohttp.ClientConnectorError, aiohttp.InvalidURL) as exc:
            # never reached the server: nothing went out
            raise PublishError(NETWORK, detail=_network_words(exc)) from None
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            # the request may have left: only the platform knows whether the post is up
            raise PublishError(
                UNKNOWN_OUTCOME if sends else NETWORK, detail=_network_words(exc), maybe_sent=sends
            ) from None

    async def _failure(self, resp: aiohttp.ClientResponse) -> PublishError:
        status = resp.status
        words = self.redact(await _platform_words(resp))
        wait = _retry_after(resp.headers)
        if status == 401:
            return PublishError(AUTH, status=status, detail=words)
        if status == 403:
            return PublishError(FORBIDDEN, status=status, detail=words)
        if status == 404:
            return PublishError(NOT_FOUND, status=status, detail=words)
        if status == 429:
            return PublishError(RATE_LIMITED, status=status, detail=words, retry_after=wait)
        if status >= 500:
            return PublishError(SERVER, status=status, detail=words, retry_after=wait)
        return PublishError(REFUSED, status=status, detail=words)


async def _platform_words(resp: aiohttp.ClientResponse, limit: int = 4096) -> str:
    """The platform's own reason, one line: XRPC's ``message`` (its ``error`` is a code name), X's
    ``detail``, Mastodon's ``error``; else the start of the body."""
    try:
        async with asyncio.timeout(5):  # an error body that never ends must not hold the operator
            body = await resp.content.read(limit)
    except (TimeoutError, aiohttp.ClientError):
        return ""
    text = body.decode("utf-8", "replace").strip()
    try:
        obj = json.loads(text) if text.startswith("{") else None
    except ValueError:
        obj = None
    if isinstance(obj, Mapping):
        for key in ("message", "detail", "error_description", "error", "title"):
            value = obj.get(key)
            if isinstance(value, str) and value.strip():
                text = value
                break
    return " ".join(text.split())[:200]


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """``Retry-After``, else a rate-limit reset time (X: ``x-rate-limit-reset``, Bluesky:
    ``ratelimit-reset``, Mastodon: ``X-RateLimit-Reset``), as seconds from now."""
    now = datetime.now(UTC)
    wait = parse_retry_after(headers.get("Retry-After"), now)
    if wait is not None:
        return wait
    for name in ("x-rate-limit-reset", "ratelimit-reset"):
        value = headers.get(name)
        if value and value.strip().isdigit():
            return max(0.0, int(value.strip()) - now.timestamp())
    reset = headers.get("X-RateLimit-Reset")
    if reset:
        try:
            return max(0.0, (datetime.fromisoformat(reset.replace("Z", "+00:00")) - now).total_seconds())
        except ValueError:
            return None
    return None


def _network_words(exc: BaseException) -> str:
    """The network's trouble in words (never the URL the library may quote): English, marked for
    translation where it is shown."""
    return plain_reason(exc)


# --- Mastodon ---------------------------------------------------------------------------------------


class MastodonPublisher(Publisher):
    platform = "mastodon"

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.account.token or ''}"}

    async def publish(self, text: str, reply: ReplyTarget | None, key: str, *, retry: bool) -> Published:
        body: dict[str, Any] = {"status": text, "visibility": self.account.visibility}
        if reply is not None:
            body["in_reply_to_id"] = await self._find(reply)
        headers = {**self._auth(), "Idempotency-Key": key}
        status = await self._call(
            "POST", f"{self.account.url}/api/v1/statuses", headers=headers, json_body=body, sends=True
        )
        if not isinstance(status, Mapping) or not status.get("id"):
            raise PublishError(UNKNOWN_OUTCOME, detail="the instance answered without a status id")
        url = str(status.get("url") or status.get("uri") or "")
        return Published(str(status["id"]), url)

    async def _find(self, reply: ReplyTarget) -> str:
        """The parent's status id on the account's instance (fetched there if it never saw it)."""
        ref = reply.uid if reply.uid.startswith(("https://", "http://")) else (reply.url or "")
        if not ref:
            raise PublishError(ELSEWHERE, detail="the post to answer has no address")
        found = await self._call(
            "GET",
            f"{self.account.url}/api/v2/search",
            headers=self._auth(),
            params={"q": ref, "type": "statuses", "resolve": "true", "limit": "1"},
        )
        statuses = found.get("statuses") if isinstance(found, Mapping) else None
        if not statuses or not isinstance(statuses[0], Mapping) or not statuses[0].get("id"):
            raise PublishError(NOT_FOUND, detail="the instance does not find the post to answer")
        return str(statuses[0]["id"])


# --- Bluesky ----------------------------------------------------------------------------------------

_B32_SORTABLE = "234567abcdefghijklmnopqrstuvwxyz"


def tid(micros: int, clock_id: int) -> str:
    """An AT Protocol TID (the record key of a post): 53 bits of microseconds since the epoch and a
    10-bit clock id, in base32-sortable, 13 characters."""
    value = ((micros & ((1 << 53) - 1)) << 10) | (clock_id & 0x3FF)
    out = []
    for _ in range(13):
        out.append(_B32_SORTABLE[value & 31])
        value >>= 5
    return "".join(reversed(out))


def parse_at_uri(uri: str) -> tuple[str, str, str] | None:
    """``at://did/collection/rkey`` → (did, collection, rkey)."""
    if not uri.startswith("at://"):
        return None
    parts = uri[5:].split("/")
    if len(parts) != 3 or not all(parts):
        return None
    return parts[0], parts[1], parts[2]


class BlueskyPublisher(Publisher):
    platform = "bluesky"

    def __init__(self, account: PublishAccount, http: Http) -> None:
        super().__init__(account, http)
        self._session: tuple[str, str] | None = None  # (access token, did)

    def _extra_secrets(self) -> tuple[str, ...]:
        return (self._session[0],) if self._session else ()

    def new_key(self, seed: str, now: datetime) -> str:
        micros = int(now.timestamp() * 1_000_000)
        clock = int(hashlib.sha256(seed.encode()).hexdigest()[:4], 16)
        return tid(micros, clock)

    async def _login(self, fresh: bool = False) -> tuple[str, str]:
        if self._session is None or fresh:
            body = {"identifier": self.account.handle or "", "password": self.account.password or ""}
            got = await self._call(
                "POST", f"{self.account.url}/xrpc/com.atproto.server.createSession", json_body=body
            )
            if not isinstance(got, Mapping) or not got.get("accessJwt") or not got.get("did"):
                raise PublishError(AUTH, detail="the server gave no session")
            self._session = (str(got["accessJwt"]), str(got["did"]))
        return self._session

    async def _xrpc(self, method: str, name: str, **kw: Any) -> Any:
        """An authenticated call; a session the server no longer takes (expired, revoked) is renewed
        once (a refused call made nothing: trying again cannot post twice)."""
        url = f"{self.account.url}/xrpc/{name}"
        token, _ = await self._login()
        try:
            return await self._call(method, url, headers={"Authorization": f"Bearer {token}"}, **kw)
        except PublishError as exc:
            expired = exc.status in (400, 401) and "expired" in exc.detail.lower()
            if not (expired or exc.problem == AUTH):
                raise
        token, _ = await self._login(fresh=True)
        return await self._call(method, url, headers={"Authorization": f"Bearer {token}"}, **kw)

    async def _record(self, did: str, rkey: str) -> Mapping[str, Any] | None:
        """A post record (its ``uri``, ``cid`` and ``value``), or None when there is none."""
        params = {"repo": did, "collection": POST, "rkey": rkey}
        try:
            got = await self._xrpc("GET", "com.atproto.repo.getRecord", params=params)
        except PublishError as exc:
            if exc.problem == NOT_FOUND or (exc.status == 400 and "notfound" in exc.detail.lower()):
                return None
            raise
        return got if isinstance(got, Mapping) else None

    def _url(self, did: str, rkey: str) -> str:
        return f"https://bsky.app/profile/{self.account.handle or did}/post/{rkey}"

    async def publish(self, text: str, reply: ReplyTarget | None, key: str, *, retry: bool) -> Published:
        _, did = await self._login()
        if retry:
            mine = await self._record(did, key)
            if mine is not None:  # an earlier attempt went out before the desk could record it
                uri = str(mine.get("uri") or f"at://{did}/{POST}/{key}")
                return Published(uri, self._url(did, key), recovered=True)
        record: dict[str, Any] = {"$type": POST, "text": text, "createdAt": format_time(datetime.now(UTC))}
        if reply is not None:
            record["reply"] = await self._reply_refs(reply)
        body = {"repo": did, "collection": POST, "rkey": key, "record": record}
        got = await self._xrpc("POST", "com.atproto.repo.createRecord", json_body=body, sends=True)
        uri = str(got.get("uri") or "") if isinstance(got, Mapping) else ""
        parsed = parse_at_uri(uri)
        if parsed is None:
            raise PublishError(UNKNOWN_OUTCOME, detail="the server answered without the post's address")
        return Published(uri, self._url(parsed[0], parsed[2]))

    async def _reply_refs(self, reply: ReplyTarget) -> dict[str, Any]:
        """``{root, parent}`` strong refs: the parent's uri and cid (from its record), and the root of
        its thread (the parent's own root when it is itself a reply)."""
        parsed = parse_at_uri(reply.uid)
        if parsed is None or parsed[1] != POST:
            raise PublishError(ELSEWHERE, detail="the post to answer is not a Bluesky post")
        parent = await self._record(parsed[0], parsed[2])
        if parent is None or not parent.get("cid"):
            raise PublishError(NOT_FOUND, detail="the post to answer is gone")
        ref = {"uri": str(parent.get("uri") or reply.uid), "cid": str(parent["cid"])}
        value = parent.get("value")
        thread = value.get("reply") if isinstance(value, Mapping) else None
        root = thread.get("root") if isinstance(thread, Mapping) else None
        if isinstance(root, Mapping) and root.get("uri") and root.get("cid"):
            return {"root": {"uri": str(root["uri"]), "cid": str(root["cid"])}, "parent": ref}
        return {"root": ref, "parent": ref}


# --- X --------------------------------------------------------------------------------------------


class XPublisher(Publisher):
    platform = "x"

    async def publish(self, text: str, reply: ReplyTarget | None, key: str, *, retry: bool) -> Published:
        body: dict[str, Any] = {"text": text}
        if reply is not None:
            if not reply.uid.isdigit():
                raise PublishError(ELSEWHERE, detail="the post to answer is not an X post")
            body["reply"] = {"in_reply_to_tweet_id": reply.uid}
        headers = {"Authorization": f"Bearer {self.account.token or ''}"}
        try:
            got = await self._call(
                "POST", f"{self.account.url}/2/tweets", headers=headers, json_body=body, sends=True
            )
        except PublishError as exc:
            if exc.status == 403 and "duplicate" in exc.detail.lower():
                raise PublishError(DUPLICATE, status=403, detail=exc.detail) from None
            raise
        data = got.get("data") if isinstance(got, Mapping) else None
        if not isinstance(data, Mapping) or not data.get("id"):
            raise PublishError(UNKNOWN_OUTCOME, detail="X answered without the post's id")
        post = str(data["id"])
        who = quote(self.account.handle.lstrip("@")) if self.account.handle else "i/web"
        return Published(post, f"https://x.com/{who}/status/{post}")


PUBLISHERS: dict[str, type[Publisher]] = {
    "mastodon": MastodonPublisher,
    "bluesky": BlueskyPublisher,
    "x": XPublisher,
}


def build_publisher(account: PublishAccount, http: Http) -> Publisher:
    """The write client for ``account``."""
    return PUBLISHERS[account.platform](account, http)
