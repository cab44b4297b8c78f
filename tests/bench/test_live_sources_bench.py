"""Live network sources: how fast the wire formats are turned into mentions (``make bench``).

- ``jetstream_events_per_s``: ``JetstreamDecoder.decode`` (raw prefilter, ``json.loads`` of candidates,
  precise match, Mention) over a synthetic Jetstream post stream on one core: ~600-byte frames, a
  third non-ASCII (Japanese, Portuguese, French), deletes and identity events, 2 % matching the
  Maison Brioche topic (a storm);
- ``sse_events_per_s``: Mastodon ``update`` events through ``SSEParser`` (16 KiB chunks), ``json.loads``
  and ``status_to_mention`` (HTML to text) on one core;
- ``sse_stream_events_per_s``: the same end to end, a local fake instance streaming over HTTP to a
  ``MastodonSource`` (server and client share the machine);
- ``webhook_requests_per_s``: signed POSTs (Standard Webhooks, HMAC on the raw body, timestamp and
  replay checks, one mention each) answered by a ``WebhookSource`` on 127.0.0.1, 8 concurrent
  keep-alive clients in the same process (so the figure also pays for the client).

Each figure is the best of three runs (the machine is shared; the best run is the least disturbed).
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from tocsin.sources.bluesky import JetstreamDecoder
from tocsin.sources.clock import ManualClock, WallClock
from tocsin.sources.mastodon import MastodonSource, status_to_mention
from tocsin.sources.model import Mention
from tocsin.sources.net import Backoff, SSEParser
from tocsin.sources.webhook import WebhookSource, standard_webhooks_signature

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sources"))
from servers.mastodon import FakeMastodon, make_status

KEYWORDS = (
    "maison brioche",
    "maisonbrioche",
    "#maisonbrioche",
    "#briochegate",
    "@maisonbrioche",
    "brioche gate",
)
WORDS = {
    "en": "the a and today news weather just love hate this that coffee bread morning night new".split(),
    "ja": "今日 は とても 良い 天気 です ね 明日 また 会い ましょう ニュース パン コーヒー".split(),
    "pt": "hoje não está muito bom café pão manhã notícia ótimo péssimo amanhã também".split(),
    "fr": "aujourd'hui très bien café pain matin nouvelle génial nul demain aussi boulangerie".split(),
}


def best_rate(run: Callable[[], int], repeat: int = 3) -> float:
    best = 0.0
    for _ in range(repeat):
        t = time.perf_counter()
        n = run()
        best = max(best, n / (time.perf_counter() - t))
    return best


def jetstream_frames(n: int, seed: int = 5) -> list[str]:
    rng = random.Random(seed)
    frames = []
    t = 1_779_719_000_000_000
    for i in range(n):
        t += rng.randint(1_000, 60_000)
        did = f"did:plc:{rng.getrandbits(120):030x}"[:32]
        roll = rng.random()
        if roll < 0.02:
            frames.append(
                json.dumps(
                    {
                        "did": did,
                        "time_us": t,
                        "kind": "identity",
                        "identity": {"did": did, "handle": "x.bsky.social", "seq": i},
                    },
                    separators=(",", ":"),
                )
            )
            continue
        rkey = f"3m{rng.getrandbits(60):013x}"
        if roll < 0.07:
            frames.append(
                json.dumps(
                    {
                        "did": did,
                        "time_us": t,
                        "kind": "commit",
                        "commit": {
                            "rev": "3mmoojp4cd2",
                            "operation": "delete",
                            "collection": "app.bsky.feed.post",
                            "rkey": rkey,
                        },
                    },
                    separators=(",", ":"),
                )
            )
            continue
        lang = rng.choices(["en", "ja", "pt", "fr"], weights=[66, 16, 10, 8])[0]
        sep = "" if lang == "ja" else " "
        text = sep.join(rng.choice(WORDS[lang]) for _ in range(rng.randint(6, 40)))
        if rng.random() < 0.02:
            text += rng.choice([" Maison Brioche", " #BriocheGate", " @maisonbrioche.bsky.social"])
        record = {
            "$type": "app.bsky.feed.post",
            "createdAt": "2026-05-25T14:23:28.757Z",
            "langs": [lang],
            "text": text,
        }
        if rng.random() < 0.3:
            parent = f"at://{did}/app.bsky.feed.post/3abc{i}"
            record["reply"] = {
                "parent": {"cid": "bafyreib" + "x" * 51, "uri": parent},
                "root": {"cid": "bafyreib" + "y" * 51, "uri": parent},
            }
        if rng.random() < 0.2:
            record["facets"] = [
                {
                    "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com/a"}],
                    "index": {"byteEnd": 20, "byteStart": 0},
                }
            ]
        commit = {
            "rev": "3mmoojp4cd223",
            "operation": "create",
            "collection": "app.bsky.feed.post",
            "rkey": rkey,
            "record": record,
            "cid": "bafyreib" + "z" * 51,
        }
        frames.append(
            json.dumps(
                {"did": did, "time_us": t, "kind": "commit", "commit": commit},
                separators=(",", ":"),
                ensure_ascii=False,
            )
        )
    return frames


def test_jetstream_decode_rate(bench_record) -> None:
    frames = jetstream_frames(60_000)
    decoder = JetstreamDecoder("sky", ManualClock(), KEYWORDS)
    decoder.watch_deletes = True

    def run() -> int:
        hits = 0
        for f in frames:
            if isinstance(decoder.decode(f), Mention):
                hits += 1
        assert 600 < hits < 1600
        return len(frames)

    rate = best_rate(run)
    bench_record("jetstream_events_per_s", rate)
    assert rate > 0


def sse_wire(n: int) -> bytes:
    rng = random.Random(9)
    parts = [b":)\n"]
    for i in range(n):
        words = " ".join(rng.choice(WORDS["fr"]) for _ in range(rng.randint(5, 40)))
        html = (
            f'<p>{words} <a href="https://social.example/tags/BriocheGate" class="mention hashtag" rel="tag">'
            f"#<span>BriocheGate</span></a> &amp; co</p><p>{words[:40]}</p>"
        )
        status = make_status(
            str(113_000_000_000_000_000 + i), html, tags=("briochegate",), acct=f"user{i % 500}"
        )
        parts.append(b"event: update\ndata: " + json.dumps(status).encode() + b"\n\n")
        if i % 50 == 0:
            parts.append(b":thump\n")
    return b"".join(parts)


def test_sse_parse_rate(bench_record) -> None:
    n = 20_000
    wire = sse_wire(n)
    now = datetime.now(UTC)

    def run() -> int:
        parser = SSEParser()
        count = 0
        for i in range(0, len(wire), 16384):
            for ev in parser.feed(wire[i : i + 16384]):
                if ev.event == "update":
                    status_to_mention(json.loads(ev.data), source="m", received_at=now, host="social.example")
                    count += 1
        assert count == n
        return count

    rate = best_rate(run)
    bench_record("sse_events_per_s", rate)


async def _sse_stream(n: int) -> float:
    async with FakeMastodon(heartbeat=15.0) as server:
        source = MastodonSource(
            "m",
            WallClock(),
            base_url=server.url,
            token="user-token",
            hashtags=["briochegate"],
            backfill=0,
            backoff=Backoff(1, 2, jitter=0),
        )
        got = 0
        done = asyncio.Event()

        async def consume() -> None:
            nonlocal got
            async for _ in source:
                got += 1
                if got == n:
                    done.set()

        task = asyncio.create_task(consume())
        await server.wait_streams(1)
        await asyncio.sleep(0.05)  # the catch-up request is answered before the burst
        statuses = [server.status("<p>Maison Brioche <b>encore</b> &amp; toujours</p>") for _ in range(n)]
        t = time.perf_counter()
        for st in statuses:
            server.post("tag:briochegate", st)
        await asyncio.wait_for(done.wait(), 60)
        elapsed = time.perf_counter() - t
        await source.stop()
        await task
        return n / elapsed


def test_sse_stream_rate(bench_record) -> None:
    rate = max(asyncio.run(_sse_stream(5_000)) for _ in range(3))
    bench_record("sse_stream_events_per_s", rate)


async def _webhook(n: int, concurrency: int = 8) -> float:
    key = b"bench-key-0123456789abcdef"
    source = WebhookSource("hook", WallClock(), port=0, secret="whsec_" + base64.b64encode(key).decode())
    received = 0

    async def consume() -> None:
        nonlocal received
        async for _ in source:
            received += 1

    task = asyncio.create_task(consume())
    await asyncio.wait_for(source.ready.wait(), 5)
    bodies = [
        json.dumps({"uid": f"n{i}", "text": f"Maison Brioche #{i}", "author": {"handle": f"u{i}"}}).encode()
        for i in range(n)
    ]
    ts = str(int(time.time()))

    async def client(worker: int, session: aiohttp.ClientSession) -> None:
        for i in range(worker, n, concurrency):
            msg_id = f"msg_{i}"
            headers = {
                "Content-Type": "application/json",
                "webhook-id": msg_id,
                "webhook-timestamp": ts,
                "webhook-signature": standard_webhooks_signature(key, msg_id, ts, bodies[i]),
            }
            async with session.post(source.url, data=bodies[i], headers=headers) as resp:
                assert resp.status == 202, await resp.text()
                await resp.read()

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        t = time.perf_counter()
        await asyncio.gather(*(client(w, session) for w in range(concurrency)))
        elapsed = time.perf_counter() - t
    await source.stop()
    await task
    assert received == n
    return n / elapsed


def test_webhook_request_rate(bench_record) -> None:
    rate = max(asyncio.run(_webhook(3_000)) for _ in range(3))
    bench_record("webhook_requests_per_s", rate)
