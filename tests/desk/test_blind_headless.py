"""Headless, with live sources that cannot connect (a local port bound but not listening: the
connection is refused, and nothing leaves the machine): the snapshots say the desk is blind, which
sources, since when and why in plain words, long before the sources' own connect timeout; the level
alone would have said "calm"."""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator

import pytest

from tests.fakes import FakeSentiment, settings_with
from tocsin.config.settings import MastodonSourceSettings, RssSourceSettings
from tocsin.desk.desk import Desk
from tocsin.desk.headless import run_headless

from .headless_schema import check_snapshot, parse_lines

CONNECT_TIMEOUT_S = 15.0
"""The network sources' own connect timeout (``sock_connect`` in ``NetSource``): blind well before."""


@pytest.fixture
def dead_port() -> Iterator[int]:
    """A port bound to nobody listening: every connection to it is refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


async def test_unreachable_sources_make_a_blind_desk_not_a_calm_one(
    dead_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    base = f"http://127.0.0.1:{dead_port}"
    settings = settings_with(
        sources=(
            MastodonSourceSettings(
                type="mastodon", id="masto", base_url=base, token="t", hashtags=("brioche",)
            ),
            RssSourceSettings(type="rss", id="news", feeds=(f"{base}/feed.xml",)),
        )
    )
    desk = Desk(settings, sentiment=FakeSentiment())
    out = io.StringIO()
    ok = await run_headless(settings, duration=2.5, emit=("snapshots", "alerts"), out=out, desk=desk)
    assert ok  # reconnecting is not a failed source: the run itself went fine
    lines = parse_lines(out.getvalue())
    snaps = [o for o in lines if o["type"] == "snapshot"]
    check_snapshot(snaps[0], {"brioche"}, {"masto", "news"})
    first = snaps[0]  # after one second of the run: far inside the connect timeout
    assert first["topics"]["brioche"]["level"] == "calm"  # the judge saw nothing, of course…
    blind = first["blind"]  # …and the desk says it cannot see
    assert blind is not None and blind["last_mention_at"] is None
    assert set(blind["sources"]) == {"masto", "news"}
    for source in blind["sources"].values():
        assert source["reason"] == "connection refused (server down?)"
    assert "Error" not in out.getvalue()  # no exception class names anywhere
    (alert,) = [o for o in lines if o["type"] == "alert"]
    assert alert["event"] == "blind" and set(alert["sources"]) == {"masto", "news"}
    assert "the desk is blind" in capsys.readouterr().err
