"""From settings to a clock and sources: one clock per desk, the demo and the clock agree on the story."""

from __future__ import annotations

import json
import sys
import types
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tocsin.config import settings as S
from tocsin.sources.base import Source
from tocsin.sources.clock import Clock, ManualClock, SimulatedClock, WallClock
from tocsin.sources.demo import DemoSource
from tocsin.sources.jsonl import JsonlSource
from tocsin.sources.registry import build_clock, build_sources, first_timestamp, source_module

NOW = datetime(2026, 11, 21, 14, 5, tzinfo=UTC)
STORM = datetime(2026, 11, 21, 8, 30, tzinfo=UTC)  # 09:30 in Paris that day


def desk(*sources: S.SourceSettings) -> S.Settings:
    return S.Settings(sources=sources)


def write_jsonl(path: Path, times: list[str]) -> Path:
    lines = (json.dumps({"text": f"post {i}", "created_at": t}) + "\n" for i, t in enumerate(times))
    path.write_text("".join(lines))
    return path


def test_live_or_no_sources_run_on_the_wall_clock(tmp_path: Path) -> None:
    assert isinstance(build_clock(desk()), WallClock)
    live = desk(
        S.MastodonSourceSettings(type="mastodon", id="social"),
        S.JsonlSourceSettings(type="jsonl", id="feed", path=str(tmp_path / "a.jsonl")),  # no speed: live
    )
    assert isinstance(build_clock(live), WallClock)


def test_demo_clock_starts_at_the_backfill_and_runs_at_the_scenario_pace() -> None:
    for speed, expected in ((1.0, 42.0), (10.0, 420.0)):
        clock = build_clock(desk(S.DemoSourceSettings(type="demo", id="demo", speed=speed)), now=NOW)
        assert isinstance(clock, SimulatedClock)
        assert clock.speed == pytest.approx(expected)
        assert STORM - timedelta(days=7) <= clock.now() < STORM - timedelta(days=7) + timedelta(minutes=1)


def test_demo_source_and_clock_agree_on_the_storm() -> None:
    settings = desk(S.DemoSourceSettings(type="demo", id="demo", backfill_days=3))
    clock = build_clock(settings, now=NOW)
    [source] = build_sources(settings, clock)
    assert isinstance(source, DemoSource)
    assert source.timeline.storm_start == STORM
    assert source.timeline.backfill_start == STORM - timedelta(days=3)
    assert source.phases[0] == ("backfill", STORM - timedelta(days=3))


def test_demo_storm_follows_the_clock_across_dates() -> None:
    # a clock handed in by the caller marks the backfill start: the storm is on the Paris date 7 days
    # later, at 09:30 local. 22:30 UTC on 30 June + 7 days is already 8 July in Paris (summer time).
    clock = ManualClock(datetime(2026, 6, 30, 22, 30, tzinfo=UTC))
    [source] = build_sources(desk(S.DemoSourceSettings(type="demo", id="demo")), clock)
    assert isinstance(source, DemoSource)
    assert source.timeline.storm_start == datetime(2026, 7, 8, 7, 30, tzinfo=UTC)  # 09:30 CEST


def test_jsonl_replay_clock_starts_at_the_earliest_first_timestamp(tmp_path: Path) -> None:
    times = ["2025-03-02T10:00:00Z", "2025-03-02T09:59:00Z", "2025-03-02T10:05:00Z"]
    a = write_jsonl(tmp_path / "a.jsonl", times)
    b = write_jsonl(tmp_path / "b.jsonl", ["2025-03-02T11:00:00Z"])
    clock = build_clock(
        desk(
            S.JsonlSourceSettings(type="jsonl", id="a", path=str(a), speed=60),
            S.JsonlSourceSettings(type="jsonl", id="b", path=str(b), speed=60),
        )
    )
    assert isinstance(clock, SimulatedClock)
    assert clock.speed == 60
    start = datetime(2025, 3, 2, 9, 59, tzinfo=UTC)
    assert start <= clock.now() < start + timedelta(minutes=1)


@pytest.mark.parametrize("content", [None, b"", b'{"text": "undated"}\n'])
def test_jsonl_replay_without_a_known_start_begins_early_and_lets_mentions_move_it(
    tmp_path: Path, content: bytes | None
) -> None:
    path = "-"
    if content is not None:
        path = str(tmp_path / "r.jsonl")
        Path(path).write_bytes(content)
    clock = build_clock(desk(S.JsonlSourceSettings(type="jsonl", id="in", path=path, speed=5)))
    assert isinstance(clock, SimulatedClock)
    assert clock.now() < datetime(1971, 1, 1, tzinfo=UTC)
    clock.advance_to(datetime(2025, 1, 1, tzinfo=UTC))
    assert clock.now() >= datetime(2025, 1, 1, tzinfo=UTC)


def test_first_timestamp_skips_bad_and_undated_lines(tmp_path: Path) -> None:
    p = tmp_path / "x.jsonl"
    p.write_bytes(
        b'not json\n{"text": "no time"}\n\xff\xfe\n[1]\n{"text": "t", "created_at": "nope"}\n'
        b'{"text": "ok", "created_at": "2025-05-05T05:05:05+02:00"}\n'
    )
    assert first_timestamp(str(p)) == datetime(2025, 5, 5, 3, 5, 5, tzinfo=UTC)
    assert first_timestamp(str(tmp_path / "missing.jsonl")) is None
    assert first_timestamp("-") is None


def test_mixing_live_and_simulated_sources_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"'social'.*real time.*'demo'.*simulated"):
        demo = S.DemoSourceSettings(type="demo", id="demo")
        build_clock(desk(demo, S.MastodonSourceSettings(type="mastodon", id="social")))
    replay = S.JsonlSourceSettings(type="jsonl", id="replay", path=str(tmp_path / "r.jsonl"), speed=10)
    with pytest.raises(ValueError, match="demo source 'demo' and jsonl replay 'replay'"):
        build_clock(desk(S.DemoSourceSettings(type="demo", id="demo"), replay))
    with pytest.raises(ValueError, match="same speed"):
        build_clock(desk(replay, S.JsonlSourceSettings(type="jsonl", id="r2", path="-", speed=20)))


def test_build_sources_dispatches_on_type_in_config_order(tmp_path: Path) -> None:
    settings = desk(
        S.JsonlSourceSettings(type="jsonl", id="feed", path=str(tmp_path / "f.jsonl")),
        S.JsonlSourceSettings(type="jsonl", id="other", path="-"),
    )
    sources = build_sources(settings, ManualClock())
    assert [type(s) for s in sources] == [JsonlSource, JsonlSource]
    assert [s.id for s in sources] == ["feed", "other"]


def test_unknown_type_names_the_source() -> None:
    with pytest.raises(ValueError, match=r"source 'x': unknown type 'carrier-pigeon' \(known: .*demo.*jsonl"):
        build_sources(desk(S.SourceSettings(type="carrier-pigeon", id="x")), ManualClock())


def test_a_new_source_type_is_its_settings_in_source_types_and_a_module_with_build(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[tuple[S.SourceSettings, Clock, S.Settings | None]] = []

    class Pigeon(Source):
        kind = "pigeon"

        async def stream(self):  # pragma: no cover - never iterated here
            if False:
                yield

    def build(source: S.SourceSettings, clock: Clock, settings: S.Settings | None = None) -> Source:
        made.append((source, clock, settings))
        return Pigeon(source.id, clock)

    monkeypatch.setitem(S.SOURCE_TYPES, "pigeon", S.SourceSettings)
    monkeypatch.setitem(sys.modules, "tocsin.sources.pigeon", types.SimpleNamespace(build=build))
    clock = ManualClock()
    cfg = S.SourceSettings(type="pigeon", id="coo")
    [source] = build_sources(desk(cfg), clock)
    assert isinstance(source, Pigeon) and source.id == "coo"
    assert made == [(cfg, clock, desk(cfg))]


@pytest.mark.parametrize("source_type", sorted(S.SOURCE_TYPES))
def test_every_registered_type_has_a_module_with_build(source_type: str) -> None:
    assert callable(source_module(source_type).build)


def test_a_webhook_starts_without_a_cursor() -> None:
    """Every ``build`` takes the desk's settings third (the webhook's once took them for its cursor)."""
    [source] = build_sources(desk(S.WebhookSourceSettings(type="webhook", id="w", secret="s")), ManualClock())
    assert source.cursor is None
