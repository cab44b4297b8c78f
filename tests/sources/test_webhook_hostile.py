"""The webhook against hostile senders (issue 10, item 5): bad bodies get a 4xx naming the problem, never
a 500 and a traceback; slow heads and bodies are cut off; a GitHub-style request without a delivery id
cannot be replayed. The body parser is fuzzed: any bytes give mentions or a 400, never anything else."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin.sources.clock import ManualClock
from tocsin.sources.webhook import Rejected, WebhookSource, github_signature, parse_mentions

from .test_webhook import GH_SECRET, NOW, Running, _gh

HOSTILE: list[tuple[str, bytes, int]] = [
    ("NaN", b'{"text": "x", "author": {"handle": "a", "followers": NaN}}', 400),
    ("Infinity", b'{"text": "x", "engagement": {"likes": Infinity}}', 400),
    ("-Infinity in a date", b'{"text": "x", "created_at": -Infinity}', 400),
    ("a float too big", b'{"text": "x", "author": {"handle": "a", "followers": 1e400}}', 400),
    ("5000 digits", b'{"text": "x", "engagement": {"likes": ' + b"9" * 5000 + b"}}", 400),
    ("100k-deep nesting", b"[" * 100_000 + b"]" * 100_000, 400),
    ("deep nesting in a mention", b'{"text": "x", "extra": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", 400),
    ("year 9999", b'{"text": "x", "created_at": "9999-12-31T23:59:59Z"}', 400),
    ("year 1", b'{"text": "x", "created_at": "0001-01-01T00:00:00Z"}', 400),
    ("Unix time past 9999", b'{"text": "x", "created_at": 1e20}', 400),
    ("invalid UTF-8", b'{"text": "\xff\xfe"}', 400),
    ("lone surrogates: cleaned, kept", b'{"text": "a\\ud800b", "author": {"handle": "h\\udfff"}}', 202),
]


@pytest.fixture
async def hook() -> AsyncIterator[tuple[Running, aiohttp.ClientSession]]:
    source = WebhookSource(
        "hook",
        ManualClock(NOW),
        port=0,
        secret=GH_SECRET,
        max_body_bytes=1 << 20,
        header_timeout=timedelta(seconds=0.5),
        body_timeout=timedelta(seconds=0.5),
    )
    run = Running(source)
    await run.start()
    async with aiohttp.ClientSession() as session:
        yield run, session
    await source.stop()
    assert run.task is not None
    await asyncio.wait_for(run.task, 5)


@pytest.mark.parametrize(("case", "body", "status"), HOSTILE, ids=[c for c, _, _ in HOSTILE])
async def test_hostile_bodies_get_a_4xx_not_a_500(
    hook, case: str, body: bytes, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    run, session = hook
    with caplog.at_level(logging.ERROR):
        async with session.post(run.source.url, data=body, headers=_gh(body)) as resp:
            assert resp.status == status, await resp.text()
            answer = await resp.json()
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    if status == 202:
        await run.wait_for(1)
        assert (run.got[0].text, run.got[0].author.handle) == ("a\ufffdb", "h\ufffd")
    else:
        assert answer["error"].startswith("bad ")


async def test_a_github_style_request_without_delivery_id_cannot_be_replayed(hook) -> None:
    run, session = hook
    body = json.dumps({"uid": "p1", "text": "maison brioche"}).encode()
    answers = []
    for _ in range(3):
        async with session.post(run.source.url, data=body, headers=_gh(body)) as resp:
            answers.append((resp.status, await resp.json()))
    assert answers[0] == (202, {"accepted": 1})
    assert answers[1:] == [(200, {"accepted": 0, "duplicate": True})] * 2
    other = json.dumps({"uid": "p2", "text": "maison brioche"}).encode()
    async with session.post(run.source.url, data=other, headers=_gh(other)) as resp:
        assert resp.status == 202
    await run.wait_for(2)
    assert [m.uid for m in run.got] == ["p1", "p2"]


async def test_a_slow_request_head_is_cut_off(hook) -> None:
    """Reproduced: a slowloris connection was held 60 s before any check. Now the head has 0.5 s."""
    run, _ = hook
    reader, writer = await asyncio.open_connection(run.source.host, run.source.port)
    started = time.monotonic()
    writer.write(b"POST /mentions HTTP/1.1\r\nHost: x\r\n")
    try:
        for _ in range(20):  # one header line every 0.2 s, never the blank line
            await asyncio.sleep(0.2)
            if reader.at_eof():
                break
            writer.write(b"X-Slow: 1\r\n")
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    await asyncio.wait_for(reader.read(), 2)  # the server closed the connection
    assert time.monotonic() - started < 2.5
    writer.close()


async def test_a_slow_body_is_refused_with_408(hook) -> None:
    run, _ = hook
    body = json.dumps({"text": "maison brioche"}).encode()
    reader, writer = await asyncio.open_connection(run.source.host, run.source.port)
    head = (
        f"POST /mentions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"X-Hub-Signature-256: {github_signature(GH_SECRET, body)}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    writer.write(head.encode() + body[:5])
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(4096), 3)  # the rest never comes
    assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
    assert b"body too slow" in answer
    writer.close()
    assert run.got == []


# --- fuzzing the body parser -------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(st.characters(codec=None, categories=None), max_size=20),
)
json_docs = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(["text", "uid", "author",
        "created_at", "engagement", "hashtags", "likes", "handle", "followers", "x"]), inner, max_size=5),
    max_leaves=12,
)  # fmt: skip


def _encode(doc: object) -> bytes:
    return json.dumps(doc, ensure_ascii=True).encode()  # \ud800 travels as an escape, as senders send it


@given(st.one_of(json_docs.map(_encode), st.binary(max_size=200)))
def test_fuzz_any_body_gives_mentions_or_a_400(body: bytes) -> None:
    try:
        mentions = parse_mentions(body, source="hook", received_at=NOW)
    except Rejected as exc:
        assert exc.status == 400
        return
    for m in mentions:
        m.text.encode("utf-8")
        m.author.handle.encode("utf-8")


@given(st.lists(st.text(st.characters(codec=None, categories=None), max_size=30), min_size=1, max_size=8))
def test_fuzz_every_valid_mention_of_a_batch_arrives_once(texts: list[str]) -> None:
    items = [{"uid": f"u{i}", "text": t, "created_at": "2026-11-21T09:00:00Z"} for i, t in enumerate(texts)]
    mentions = parse_mentions(_encode(items), source="hook", received_at=NOW)
    assert [m.uid for m in mentions] == [f"u{i}" for i in range(len(texts))]
