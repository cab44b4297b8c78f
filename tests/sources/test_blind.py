"""The blind state, source by source and for the whole desk: a source that cannot see says since when
and why in plain words, and a desk whose every source still meant to deliver cannot see is blind,
whatever its levels say. Driven by a ManualClock."""

from __future__ import annotations

import errno
import socket
from datetime import timedelta

import aiohttp
import pytest
from aiohttp.client_reqrep import ConnectionKey

from tocsin.scoring.snapshot import Snapshot, blindness
from tocsin.sources.base import SourceHealth, SourceState, SourceStatus
from tocsin.sources.clock import ManualClock
from tocsin.sources.net import AuthFailed, HttpStatusError, RetryLater, Stalled, plain_reason


def _key() -> ConnectionKey:
    return ConnectionKey("127.0.0.1", 5, False, True, None, None, None)


def test_a_source_cut_off_before_it_ever_delivered_is_blind_at_once() -> None:
    clock = ManualClock()
    health = SourceHealth(clock)
    started = clock.now()
    clock.advance(1)
    assert health.blind() is None  # connecting for a second is not blindness
    health.set_state(
        SourceState.RECONNECTING, "connection refused (server down?): …", reason="connection refused"
    )
    assert health.blind() == (started + timedelta(seconds=1), "connection refused")
    status = health.status("masto", "mastodon")
    assert status.blind_reason == "connection refused"
    assert status.to_json()["blind_reason"] == "connection refused"


def test_a_stream_that_drops_and_comes_back_within_seconds_is_not_blindness() -> None:
    clock = ManualClock()
    health = SourceHealth(clock)
    health.set_state(SourceState.LIVE)
    health.event()
    clock.advance(5)
    health.set_state(SourceState.RECONNECTING, "the server closed the stream", reason="the server hung up")
    clock.advance(20)
    assert health.blind() is None
    clock.advance(11)  # past blind_after (30 s)
    since, why = health.blind() or (None, None)
    assert why == "the server hung up" and since == clock.now() - timedelta(seconds=31)
    health.event()  # back: the first event makes it live again
    assert health.state is SourceState.LIVE and health.blind() is None


def test_a_connection_that_hangs_is_blind_once_the_connect_timeout_has_gone_by() -> None:
    clock = ManualClock()
    health = SourceHealth(clock)
    clock.advance(30)
    assert health.blind() is None
    clock.advance(5)
    assert health.blind() == (clock.now() - timedelta(seconds=35), "no answer for 35 s")


def test_failed_and_silent_sources_are_blind_finished_and_stopped_ones_are_not() -> None:
    clock = ManualClock()
    failed = SourceHealth(clock)
    failed.set_state(
        SourceState.FAILED, "feed x: HTTP 401 Unauthorized (check FEED_TOKEN)", reason="token refused"
    )
    assert failed.blind() == (clock.now(), "token refused")
    silent = SourceHealth(clock)
    silent.set_state(SourceState.LIVE)
    for _ in range(20):
        clock.advance(10)
        silent.event()
    last = clock.now()
    clock.advance(600)
    assert silent.blind() == (last, "silent 10 min (usually every 10 s)")
    for state in (SourceState.FINISHED, SourceState.STOPPED):
        failed.set_state(state)
        assert failed.blind() is None


@pytest.mark.parametrize(
    ("exc", "words"),
    [
        (
            aiohttp.ClientConnectorError(_key(), ConnectionRefusedError(errno.ECONNREFUSED, "refused")),
            "connection refused (server down?)",
        ),
        (
            aiohttp.ClientConnectorDNSError(
                _key(), socket.gaierror(-3, "Temporary failure in name resolution")
            ),
            "no network (name lookup failed)",
        ),
        (
            aiohttp.ClientConnectorError(_key(), OSError(errno.ENETUNREACH, "Network is unreachable")),
            "no network",
        ),
        (AuthFailed("stream: HTTP 401 Unauthorized — The access token is invalid"), "token refused"),
        (RetryLater("stream: HTTP 503 Service Unavailable", None), "server error 503"),
        (HttpStatusError("search: HTTP 502 Bad Gateway", 502), "server error 502"),
        (Stalled("nothing for 60 s"), "connected, but nothing comes (stalled)"),
        (TimeoutError(), "timed out"),
        (aiohttp.ServerDisconnectedError(), "the server hung up"),
    ],
)
def test_failures_are_said_in_plain_words(exc: BaseException, words: str) -> None:
    assert plain_reason(exc) == words
    assert "Error" not in plain_reason(exc)


async def test_an_http_error_keeps_its_status_for_the_plain_words() -> None:
    from aiohttp import web
    from aiohttp.test_utils import TestServer

    from tocsin.sources.net import raise_for_status

    async def refuse(_request: web.Request) -> web.Response:
        return web.json_response({"error": "The access token is invalid"}, status=401)

    async def busy(_request: web.Request) -> web.Response:
        return web.Response(status=503, text="down for maintenance")

    app = web.Application()
    app.router.add_get("/refuse", refuse)
    app.router.add_get("/busy", busy)
    server = TestServer(app)
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            words = []
            for path in ("/refuse", "/busy"):
                async with session.get(server.make_url(path)) as resp:
                    with pytest.raises(Exception) as caught:
                        await raise_for_status(resp, "stream", ManualClock().now())
                words.append(plain_reason(caught.value))
    finally:
        await server.close()
    assert words == ["token refused", "server error 503"]


def _status(sid: str, state: SourceState, *, blind: str | None, clock: ManualClock) -> SourceStatus:
    return SourceStatus(
        id=sid,
        kind="test",
        state=state,
        rate_per_min=0.0,
        events=0,
        malformed=0,
        reconnects=0,
        last_event_at=None,
        last_error=None,
        blind_since=clock.now() if blind else None,
        blind_reason=blind,
    )


def test_the_desk_is_blind_only_when_every_source_meant_to_deliver_cannot_see() -> None:
    clock = ManualClock()
    masto = _status("masto", SourceState.RECONNECTING, blind="no network", clock=clock)
    clock.advance(60)
    rss = _status("rss", SourceState.FAILED, blind="token refused", clock=clock)
    live = _status("demo", SourceState.LIVE, blind=None, clock=clock)
    done = _status("file", SourceState.FINISHED, blind=None, clock=clock)
    assert blindness({"masto": masto, "demo": live}) is None  # one source still sees
    assert blindness({"file": done}) is None  # everything played out: "finished", not blind
    blind = blindness({"masto": masto, "rss": rss, "file": done})
    assert blind is not None
    assert blind.since == rss.blind_since  # when the last seeing source stopped
    assert blind.why() == "masto: no network · rss: token refused"
    snap = Snapshot(at=clock.now(), seq=0, topics={}, sources={"masto": masto, "rss": rss}, engine="lexicon")
    assert snap.blind == blind
    assert snap.to_json()["blind"]["sources"]["rss"]["reason"] == "token refused"
    assert (
        Snapshot(at=clock.now(), seq=0, topics={}, sources={"demo": live}, engine="x").to_json()["blind"]
        is None
    )
