"""The write clients against local servers speaking each platform's write API: posts and replies, the
errors each platform really sends (401, 403, 422, 429 with its wait, 5xx, a cut connection), and a
retry after a crash between the send and the record never posting twice where the platform allows it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import pytest
from servers.base import Fail
from servers.writes import DROP, DROP_AFTER, FakeMastodonWrites, FakePds, FakeXWrites

from tocsin.config.settings import PublishAccount
from tocsin.sources.publish import (
    AUTH,
    DUPLICATE,
    ELSEWHERE,
    NETWORK,
    RATE_LIMITED,
    REFUSED,
    SERVER,
    UNKNOWN_OUTCOME,
    BlueskyPublisher,
    MastodonPublisher,
    PublishError,
    ReplyTarget,
    XPublisher,
    tid,
)

NOW = datetime(2026, 11, 21, 9, 45, tzinfo=UTC)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        yield session


def mastodon(
    server: FakeMastodonWrites, http: aiohttp.ClientSession, token: str | None = None
) -> MastodonPublisher:
    account = PublishAccount("mastodon", id="brand", base_url=server.url, token=token or server.token)
    return MastodonPublisher(account, lambda: http)


def bluesky(server: FakePds, http: aiohttp.ClientSession, password: str | None = None) -> BlueskyPublisher:
    account = PublishAccount(
        "bluesky", base_url=server.url, handle=server.handle, password=password or server.password
    )
    return BlueskyPublisher(account, lambda: http)


def xpub(server: FakeXWrites, http: aiohttp.ClientSession, token: str | None = None) -> XPublisher:
    account = PublishAccount("x", base_url=server.url, handle="maisonbrioche", token=token or server.token)
    return XPublisher(account, lambda: http)


async def failure(coro: object) -> PublishError:
    with pytest.raises(PublishError) as caught:
        await coro  # type: ignore[misc]
    return caught.value


# --- Mastodon ---------------------------------------------------------------------------------------


async def test_mastodon_posts_with_its_token_and_an_idempotency_key(http: aiohttp.ClientSession) -> None:
    async with FakeMastodonWrites() as server:
        pub = mastodon(server, http)
        post = await pub.publish("Nous enquêtons.", None, "tocsin-key-1", retry=False)
        assert post.url == f"https://{server.host}/@maisonbrioche/{post.post_id}"
        method, path, headers, body = server.seen[-1]
        assert (method, path) == ("POST", "/api/v1/statuses")
        assert headers["Authorization"] == f"Bearer {server.token}"
        assert headers["Idempotency-Key"] == "tocsin-key-1"
        assert body == {"status": "Nous enquêtons.", "visibility": "public"}


async def test_mastodon_reply_finds_the_parent_on_the_account_instance(http: aiohttp.ClientSession) -> None:
    async with FakeMastodonWrites() as server:
        uri = "https://elsewhere.example/users/julie/statuses/42"
        server.add_remote(uri, "https://elsewhere.example/@julie/42")
        reply = ReplyTarget(
            uid=uri, url="https://elsewhere.example/@julie/42", handle="julie@elsewhere.example"
        )
        post = await mastodon(server, http).publish("@julie Merci.", reply, "k", retry=False)
        local_parent = next(s["id"] for s in server.statuses.values() if s["uri"] == uri)
        assert server.posted[-1]["in_reply_to_id"] == local_parent
        assert post.post_id == server.posted[-1]["id"]
        search = next(p for m, p, _, _ in server.seen if p.startswith("/api/v2/search"))
        assert "resolve=true" in search and "type=statuses" in search


async def test_mastodon_reply_to_a_post_the_instance_cannot_find(http: aiohttp.ClientSession) -> None:
    async with FakeMastodonWrites() as server:
        reply = ReplyTarget(uid="https://gone.example/users/x/statuses/1", url=None)
        err = await failure(mastodon(server, http).publish("Merci.", reply, "k", retry=False))
        assert err.problem == "not_found" and not server.posted


async def test_mastodon_retry_after_a_lost_answer_posts_once(http: aiohttp.ClientSession) -> None:
    async with FakeMastodonWrites() as server:
        pub = mastodon(server, http)
        server.plan = [DROP_AFTER]
        err = await failure(pub.publish("Nous enquêtons.", None, "tocsin-same", retry=False))
        assert err.problem == UNKNOWN_OUTCOME and err.maybe_sent
        assert len(server.posted) == 1  # it did go out
        again = await pub.publish("Nous enquêtons.", None, "tocsin-same", retry=True)
        assert again.post_id == server.posted[0]["id"] and len(server.posted) == 1


@pytest.mark.parametrize(
    ("answer", "problem", "status"),
    [
        (Fail(401, {"error": "The access token is invalid"}), AUTH, 401),
        (Fail(422, {"error": "Validation failed: Text character limit of 500 exceeded"}), REFUSED, 422),
        (Fail(429, {"error": "Too many requests"}, {"Retry-After": "120"}), RATE_LIMITED, 429),
        (Fail(503, "<html>Service Unavailable</html>"), SERVER, 503),
    ],
)
async def test_mastodon_errors_in_plain_terms(
    http: aiohttp.ClientSession, answer: Fail, problem: str, status: int
) -> None:
    async with FakeMastodonWrites() as server:
        server.plan = [answer]
        err = await failure(mastodon(server, http).publish("x", None, "k", retry=False))
        assert (err.problem, err.status, err.maybe_sent) == (problem, status, False)
        if status == 422:
            assert err.detail == "Validation failed: Text character limit of 500 exceeded"
        if status == 429:
            assert err.retry_after == pytest.approx(120)


async def test_mastodon_real_refusals(http: aiohttp.ClientSession) -> None:
    async with FakeMastodonWrites() as server:
        err = await failure(mastodon(server, http, token="revoked").publish("x", None, "k", retry=False))
        assert err.problem == AUTH and "revoked" not in str(err)
        err = await failure(mastodon(server, http).publish("é" * 501, None, "k", retry=False))
        assert err.problem == REFUSED and "500" in err.detail


async def test_a_token_echoed_by_the_server_never_reaches_the_error(http: aiohttp.ClientSession) -> None:
    async with FakeMastodonWrites() as server:
        server.plan = [Fail(400, {"error": f"bad request for Bearer {server.token}"})]
        err = await failure(mastodon(server, http).publish("x", None, "k", retry=False))
        assert server.token not in str(err) and server.token not in err.detail and "***" in err.detail


async def test_network_down_and_connection_cut(http: aiohttp.ClientSession) -> None:
    async with FakeMastodonWrites() as server:
        url = server.url
        server.plan = [DROP]
        err = await failure(mastodon(server, http).publish("x", None, "k", retry=False))
        assert err.problem == UNKNOWN_OUTCOME and err.maybe_sent  # the request left: only the server knows
    account = PublishAccount("mastodon", base_url=url, token="t")  # the server is gone: refused at once
    err = await failure(MastodonPublisher(account, lambda: http).publish("x", None, "k", retry=False))
    assert err.problem == NETWORK and not err.maybe_sent and err.detail.startswith("connection refused")


# --- Bluesky ----------------------------------------------------------------------------------------


def test_tids_are_13_sortable_characters() -> None:
    a, b = tid(1_700_000_000_000_000, 5), tid(1_700_000_000_000_001, 5)
    assert len(a) == 13 and a < b and set(a) <= set("234567abcdefghijklmnopqrstuvwxyz")
    assert a[0] in "234567abcdefghij"  # the top bit is 0


async def test_bluesky_post_with_a_session_and_our_record_key(http: aiohttp.ClientSession) -> None:
    async with FakePds() as server:
        pub = bluesky(server, http)
        key = pub.new_key("journal:3:5", NOW)
        post = await pub.publish("Nous enquêtons.", None, key, retry=False)
        assert post.url == f"https://bsky.app/profile/{server.handle}/post/{key}"
        assert post.post_id == f"at://{server.did}/app.bsky.feed.post/{key}"
        created = server.posted[-1]["record"]
        assert created["$type"] == "app.bsky.feed.post" and created["text"] == "Nous enquêtons."
        assert "reply" not in created
        body = next(s[3] for s in server.seen if s[1].endswith("createSession"))
        assert body == {"identifier": server.handle, "password": server.password}


async def test_bluesky_reply_carries_root_and_parent_strong_refs(http: aiohttp.ClientSession) -> None:
    async with FakePds() as server:
        root = server.add_post("did:plc:julie", "3lroot", "La vidéo…")
        root_ref = {"uri": root, "cid": server.records[root]["cid"]}
        parent = server.add_post(
            "did:plc:lea", "3lparent", "C'est honteux", reply={"root": root_ref, "parent": root_ref}
        )
        reply = ReplyTarget(uid=parent, url="https://bsky.app/profile/did:plc:lea/post/3lparent")
        await bluesky(server, http).publish("Nous enquêtons.", reply, tid(1, 1), retry=False)
        made = server.posted[-1]["record"]["reply"]
        assert made == {"root": root_ref, "parent": {"uri": parent, "cid": server.records[parent]["cid"]}}
        # a top-level post is its own root
        await bluesky(server, http).publish("Merci.", ReplyTarget(uid=root), tid(2, 1), retry=False)
        assert server.posted[-1]["record"]["reply"] == {"root": root_ref, "parent": root_ref}


async def test_bluesky_errors(http: aiohttp.ClientSession) -> None:
    async with FakePds() as server:
        err = await failure(
            bluesky(server, http, password="wrong").publish("x", None, tid(1, 1), retry=False)
        )
        assert err.problem == AUTH and err.status == 401 and "Invalid identifier or password" in err.detail
        assert "wrong" not in str(err)
        err = await failure(bluesky(server, http).publish("é" * 301, None, tid(2, 1), retry=False))
        assert err.problem == REFUSED and "300 graphemes" in err.detail
        reset = int(time.time()) + 300
        headers = {"ratelimit-limit": "5000", "ratelimit-remaining": "0", "ratelimit-reset": str(reset)}
        server.plan = [Fail(429, {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}, headers)]
        err = await failure(bluesky(server, http).publish("x", None, tid(3, 1), retry=False))
        assert err.problem == RATE_LIMITED and 290 < (err.retry_after or 0) <= 300
        err = await failure(
            bluesky(server, http).publish("x", ReplyTarget(uid="demo-42"), tid(4, 1), retry=False)
        )
        assert err.problem == ELSEWHERE
        assert not server.posted


async def test_bluesky_renews_an_expired_session_once(http: aiohttp.ClientSession) -> None:
    async with FakePds() as server:
        pub = bluesky(server, http)
        await pub.publish("one", None, tid(1, 1), retry=False)
        server.expired.add(server.sessions[-1])
        await pub.publish("two", None, tid(2, 1), retry=False)
        assert [p["record"]["text"] for p in server.posted] == ["one", "two"] and len(server.sessions) == 2


async def test_bluesky_retry_finds_the_post_that_went_out(http: aiohttp.ClientSession) -> None:
    async with FakePds() as server:
        pub = bluesky(server, http)
        key = pub.new_key("j:1:2", NOW)
        server.plan = [DROP_AFTER]
        err = await failure(pub.publish("Nous enquêtons.", None, key, retry=False))
        assert err.problem == UNKNOWN_OUTCOME and err.maybe_sent
        again = await pub.publish("Nous enquêtons.", None, key, retry=True)
        assert again.recovered and again.url.endswith(f"/post/{key}") and len(server.posted) == 1


# --- X --------------------------------------------------------------------------------------------


async def test_x_posts_and_replies(http: aiohttp.ClientSession) -> None:
    async with FakeXWrites() as server:
        pub = xpub(server, http)
        post = await pub.publish("Nous enquêtons.", None, "k", retry=False)
        assert post.url == f"https://x.com/maisonbrioche/status/{post.post_id}"
        reply = ReplyTarget(uid="1859000000000000001")
        await pub.publish("Merci de votre message.", reply, "k2", retry=False)
        assert server.posted[-1]["reply"] == {"in_reply_to_tweet_id": "1859000000000000001"}
        _, _, headers, _ = server.seen[-1]
        assert headers["Authorization"] == f"Bearer {server.token}"


async def test_x_errors(http: aiohttp.ClientSession) -> None:
    async with FakeXWrites() as server:
        err = await failure(xpub(server, http, token="expired").publish("x", None, "k", retry=False))
        assert (err.problem, err.status) == (AUTH, 401)
        await xpub(server, http).publish("Nous enquêtons.", None, "k", retry=False)
        err = await failure(xpub(server, http).publish("Nous enquêtons.", None, "k", retry=False))
        assert err.problem == DUPLICATE and "duplicate content" in err.detail
        reset = int(time.time()) + 900
        server.plan = [
            Fail(429, {"title": "Too Many Requests", "status": 429}, {"x-rate-limit-reset": str(reset)})
        ]
        err = await failure(xpub(server, http).publish("y", None, "k", retry=False))
        assert err.problem == RATE_LIMITED and 890 < (err.retry_after or 0) <= 900
        server.plan = [Fail(500, {"title": "Internal Server Error", "status": 500})]
        err = await failure(xpub(server, http).publish("y", None, "k", retry=False))
        assert (err.problem, err.status) == (SERVER, 500)
        err = await failure(
            xpub(server, http).publish("y", ReplyTarget(uid="at://not/x/post"), "k", retry=False)
        )
        assert err.problem == ELSEWHERE


async def test_x_has_no_idempotency_a_lost_answer_then_a_duplicate(http: aiohttp.ClientSession) -> None:
    """What the docstring promises for X: after a lost answer the retry is refused as a duplicate (the
    post is up), and nothing is posted twice."""
    async with FakeXWrites() as server:
        pub = xpub(server, http)
        server.plan = [DROP_AFTER]
        err = await failure(pub.publish("Nous enquêtons.", None, "k", retry=False))
        assert err.problem == UNKNOWN_OUTCOME and err.maybe_sent
        err = await failure(pub.publish("Nous enquêtons.", None, "k", retry=True))
        assert err.problem == DUPLICATE and len(server.posted) == 1
