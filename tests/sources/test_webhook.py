"""The webhook receiver: signatures (GitHub style and Standard Webhooks), replays, limits, clear 4xx."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from tocsin.config.settings import WebhookSourceSettings
from tocsin.sources.base import SourceState
from tocsin.sources.clock import ManualClock
from tocsin.sources.model import Mention
from tocsin.sources.webhook import (
    SignatureVerifier,
    WebhookSource,
    build,
    github_signature,
    standard_webhooks_signature,
)

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
GH_SECRET = "It's a Secret to Everybody"
STD_KEY = b"tocsin-test-key-0123456789abcdef"
STD_SECRET = "whsec_" + base64.b64encode(STD_KEY).decode()


def test_github_test_vector_from_the_protocols_page() -> None:
    assert (
        github_signature(GH_SECRET, b"Hello, World!")
        == "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    )


def test_standard_webhooks_signature_matches_the_reference_vector() -> None:
    # The example from the Standard Webhooks specification's reference implementations.
    key = base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    body = b'{"test": 2432232314}'
    sig = standard_webhooks_signature(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", body)
    assert sig == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_verifier_accepts_github_vector_and_refuses_tampering() -> None:
    v = SignatureVerifier(GH_SECRET, ManualClock(NOW), timedelta(minutes=5))
    ok = {"X-Hub-Signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"}
    v.verify(ok, b"Hello, World!")
    with pytest.raises(Exception, match="does not match"):
        v.verify(ok, b"Hello, World?")


class Running:
    def __init__(self, source: WebhookSource) -> None:
        self.source = source
        self.got: list[Mention] = []
        self.task: asyncio.Task[None] | None = None

    async def _consume(self) -> None:
        async for m in self.source:
            self.got.append(m)

    async def start(self) -> None:
        self.task = asyncio.create_task(self._consume())
        await asyncio.wait_for(self.source.ready.wait(), 5)

    async def wait_for(self, n: int) -> None:
        for _ in range(500):
            if len(self.got) >= n:
                return
            await asyncio.sleep(0.005)
        raise AssertionError(f"expected {n} mentions, got {len(self.got)}")


@pytest.fixture
async def desk(clock: ManualClock) -> AsyncIterator[tuple[Running, aiohttp.ClientSession]]:
    source = WebhookSource("hook", clock, port=0, secret=GH_SECRET, max_body_bytes=4096)
    run = Running(source)
    await run.start()
    async with aiohttp.ClientSession() as session:
        yield run, session
    await source.stop()
    assert run.task is not None
    await asyncio.wait_for(run.task, 5)


def _gh(body: bytes, secret: str = GH_SECRET) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Hub-Signature-256": github_signature(secret, body)}


async def test_signed_mention_is_accepted_and_yielded(desk, clock) -> None:
    run, session = desk
    body = json.dumps(
        {"uid": "n8n-1", "text": "La #BriocheGate continue", "author": {"handle": "lea", "followers": 120},
         "created_at": "2026-11-21T09:59:00Z", "url": "https://example.org/p/1"}
    ).encode()  # fmt: skip
    async with session.post(run.source.url, data=body, headers=_gh(body)) as resp:
        assert resp.status == 202
        assert await resp.json() == {"accepted": 1}
    await run.wait_for(1)
    m = run.got[0]
    assert (m.uid, m.source, m.text, m.author.handle, m.author.followers) == (
        "n8n-1", "hook", "La #BriocheGate continue", "lea", 120)  # fmt: skip
    assert m.hashtags == ("briochegate",)
    assert m.created_at == datetime(2026, 11, 21, 9, 59, tzinfo=UTC)
    assert m.received_at == NOW
    assert run.source.status().state is SourceState.LIVE


async def test_batch_array_and_content_uid(desk) -> None:
    run, session = desk
    items = [{"text": "one"}, {"text": "two", "uid": 7}]
    body = json.dumps(items).encode()
    async with session.post(run.source.url, data=body, headers=_gh(body)) as resp:
        assert resp.status == 202 and (await resp.json())["accepted"] == 2
    await run.wait_for(2)
    assert [m.text for m in run.got] == ["one", "two"]
    assert run.got[0].uid.startswith("sha256:") and run.got[1].uid == "7"
    # The same content resent without a uid gets the same uid (dedupe downstream works).
    body2 = json.dumps([{"text": "one"}]).encode()
    async with session.post(run.source.url, data=body2, headers=_gh(body2)) as resp:
        assert resp.status == 202
    await run.wait_for(3)
    assert run.got[2].uid == run.got[0].uid


@pytest.mark.parametrize(
    ("headers", "fragment"),
    [
        ({}, "missing signature"),
        ({"X-Hub-Signature-256": "sha256=" + "0" * 64}, "does not match"),
        ({"X-Hub-Signature-256": "garbage"}, "does not match"),
    ],
)
async def test_missing_or_bad_signature_is_401(desk, headers, fragment) -> None:
    run, session = desk
    body = b'{"text": "forged"}'
    async with session.post(
        run.source.url, data=body, headers={"Content-Type": "application/json", **headers}
    ) as resp:
        assert resp.status == 401
        assert fragment in (await resp.json())["error"]
    assert run.got == []
    assert run.source.status().malformed == 1


async def test_signature_with_the_wrong_secret_is_401(desk) -> None:
    run, session = desk
    body = b'{"text": "x"}'
    async with session.post(run.source.url, data=body, headers=_gh(body, "another secret")) as resp:
        assert resp.status == 401


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b'{"text": "unterminated', "bad JSON: Unterminated string"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b'"just a string"', "expected a JSON object or an array"),
        (b'{"author": "x"}', "text: required"),
        (b'[{"text": "fine"}, 3]', "item 1: expected a JSON object"),
        (b'[{"text": "fine"}, {"text": "x", "created_at": "yesterday"}]', "item 1: created_at"),
    ],
)
async def test_bad_json_is_400_naming_the_problem(desk, body, fragment) -> None:
    run, session = desk
    async with session.post(run.source.url, data=body, headers=_gh(body)) as resp:
        assert resp.status == 400
        assert fragment in (await resp.json())["error"]
    await asyncio.sleep(0.01)
    assert run.got == []  # a batch with one bad item is refused whole


async def test_oversized_body_is_413(desk) -> None:
    run, session = desk
    body = json.dumps({"text": "x" * 5000}).encode()
    async with session.post(run.source.url, data=body, headers=_gh(body)) as resp:
        assert resp.status == 413
        assert "4096" in (await resp.json())["error"]


async def test_oversized_chunked_body_is_413(desk) -> None:
    run, session = desk

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"x" * 1000

    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": "sha256=00"}
    async with session.post(run.source.url, data=chunks(), headers=headers) as resp:
        assert resp.status == 413


async def test_wrong_content_type_is_415(desk) -> None:
    run, session = desk
    body = b'{"text": "x"}'
    headers = {**_gh(body), "Content-Type": "text/plain"}
    async with session.post(run.source.url, data=body, headers=headers) as resp:
        assert resp.status == 415
        assert "application/json" in (await resp.json())["error"]


def _std_headers(body: bytes, msg_id: str, ts: int, key: bytes = STD_KEY) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": "v1,bm90IGl0 " + standard_webhooks_signature(key, msg_id, str(ts), body),
    }


@pytest.fixture
async def std_desk(clock: ManualClock) -> AsyncIterator[tuple[Running, aiohttp.ClientSession]]:
    source = build(WebhookSourceSettings(type="webhook", id="std", port=0, secret=STD_SECRET), clock)
    run = Running(source)
    await run.start()
    async with aiohttp.ClientSession() as session:
        yield run, session
    await source.stop()
    await asyncio.wait_for(run.task, 5)  # type: ignore[arg-type]


async def test_standard_webhooks_accepts_and_refuses_replays(std_desk, clock) -> None:
    run, session = std_desk
    body = b'{"uid": "z-1", "text": "Maison Brioche encore"}'
    ts = int(clock.now().timestamp()) - 30
    headers = _std_headers(body, "msg_1", ts)
    async with session.post(run.source.url, data=body, headers=headers) as resp:
        assert resp.status == 202
    async with session.post(run.source.url, data=body, headers=headers) as resp:  # the very same request
        assert resp.status == 200
        assert await resp.json() == {"accepted": 0, "duplicate": True}
    await asyncio.sleep(0.02)
    assert [m.uid for m in run.got] == ["z-1"]


async def test_standard_webhooks_timestamp_tolerance_on_the_desk_clock(std_desk, clock) -> None:
    run, session = std_desk
    body = b'{"text": "late"}'
    old = int(clock.now().timestamp()) - 301
    async with session.post(run.source.url, data=body, headers=_std_headers(body, "msg_old", old)) as resp:
        assert resp.status == 401
        assert "old" in (await resp.json())["error"]
    future = int(clock.now().timestamp()) + 400
    async with session.post(run.source.url, data=body, headers=_std_headers(body, "msg_f", future)) as resp:
        assert resp.status == 401
    # The desk clock, not the machine's, decides: move it and an old timestamp becomes fresh.
    clock.advance(-300)
    async with session.post(run.source.url, data=body, headers=_std_headers(body, "msg_old", old)) as resp:
        assert resp.status == 202


async def test_standard_webhooks_bad_signature_and_missing_parts(std_desk, clock) -> None:
    run, session = std_desk
    body = b'{"text": "x"}'
    ts = int(clock.now().timestamp())
    bad = _std_headers(body, "msg_2", ts, key=b"other key")
    async with session.post(run.source.url, data=body, headers=bad) as resp:
        assert resp.status == 401
    partial = {"Content-Type": "application/json", "webhook-id": "msg_3"}
    async with session.post(run.source.url, data=body, headers=partial) as resp:
        assert resp.status == 401
        assert "webhook-timestamp" in (await resp.json())["error"]
    # A refused delivery id is not remembered: the genuine one still goes through.
    async with session.post(run.source.url, data=body, headers=_std_headers(body, "msg_2", ts)) as resp:
        assert resp.status == 202


async def test_unsigned_mode_when_explicitly_allowed(clock) -> None:
    source = WebhookSource("open", clock, port=0, require_signature=False)
    run = Running(source)
    await run.start()
    async with aiohttp.ClientSession() as session:
        async with session.post(source.url, json={"text": "hi"}) as resp:
            assert resp.status == 202
    await run.wait_for(1)
    await source.stop()
    await asyncio.wait_for(run.task, 5)  # type: ignore[arg-type]


def test_a_secret_is_required_by_default(clock) -> None:
    with pytest.raises(ValueError, match="secret"):
        WebhookSource("hook", clock)
    with pytest.raises(ValueError, match="secret"):
        WebhookSourceSettings(type="webhook", id="hook")


async def test_port_in_use_fails_clearly(clock) -> None:
    first = WebhookSource("a", clock, port=0, require_signature=False)
    run = Running(first)
    await run.start()
    second = WebhookSource("b", clock, port=first.port, require_signature=False)
    got = [m async for m in second]
    assert got == []
    status = second.status()
    assert status.state is SourceState.FAILED and "cannot listen" in (status.last_error or "")
    await first.stop()
    await asyncio.wait_for(run.task, 5)  # type: ignore[arg-type]


async def test_stop_ends_the_stream_promptly(clock) -> None:
    source = WebhookSource("hook", clock, port=0, secret=GH_SECRET)
    run = Running(source)
    await run.start()
    await source.stop()
    await asyncio.wait_for(run.task, 1)  # type: ignore[arg-type]
    assert source.status().state is SourceState.STOPPED
