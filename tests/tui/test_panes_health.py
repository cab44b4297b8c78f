"""Source health on the wall: per-source rows with ages on the desk clock, the gap alarm turning a row
red and raised in the header, the compact line on small terminals, hostile errors shown literally.
Also the volume gauge's unique-voices switch and anomaly line."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from tests.fake_desk import open_wall
from tocsin.sources.base import SourceHealth, SourceState
from tocsin.tui.app import WallApp
from tocsin.tui.panes.health import SourceHealthPane
from tocsin.tui.panes.volume import VolumePane

SIZE = (120, 40)
MANUAL = {"refresh_hz": 0.001}


def row_backgrounds(pane: SourceHealthPane, y: int) -> set[object]:
    """The background colours across one rendered line of the pane."""
    strip = pane.render_line(y)  # content lines: the border is drawn around them
    return {seg.style.bgcolor for seg in strip if seg.style is not None}


async def test_rows_show_state_rate_age_on_the_desk_clock_and_counts(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=(160, 40)) as pilot:
        await open_wall(pilot, app)
        desk.publish(
            kit.topic(),
            sources=[
                kit.source_status(rate=42.0),
                kit.source_status(
                    SourceState.LIVE,
                    id="masto",
                    kind="mastodon",
                    rate=3.0,
                    reconnects=2,
                    malformed=1,
                    last_error="status 1234: not a status object",
                ),
            ],
        )
        desk.clock.advance(7)
        app.wall.flush()
        await pilot.pause()
        pane = app.query_one(SourceHealthPane)
        lines = pane.render().plain.splitlines()
        assert len(lines) == 2
        assert lines[0].split() == ["●", "demo", "demo", "live", "42.0/min", "last", "7", "s", "ago", "ok"]
        assert "2 reconnects · 1 malformed · status 1234: not a status object" in lines[1]
        # The desk clock moves without a new snapshot: the age follows.
        desk.clock.advance(120)
        app.wall.flush()
        await pilot.pause()
        assert "last 2 min ago" in pane.render().plain.splitlines()[0]


async def test_gap_alarm_turns_the_row_red_and_raises_the_header(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await open_wall(pilot, app)
        # A real SourceHealth on the desk clock: an event every 10 s, then silence.
        health = SourceHealth(desk.clock)
        health.set_state(SourceState.LIVE)
        for _ in range(30):
            desk.clock.advance(10)
            health.event()

        def publish() -> None:
            desk.publish(kit.topic(), sources=[kit.source_status(), health.status("masto", "mastodon")])
            app.wall.flush()

        publish()
        await pilot.pause()
        pane = app.query_one(SourceHealthPane)
        calm = row_backgrounds(pane, 1)
        assert row_backgrounds(pane, 0) == calm
        assert "⚠" not in kit.screen_text(app)

        desk.clock.advance(12 * 60)
        publish()
        await pilot.pause()
        text = kit.screen_text(app)
        assert "⚠ source masto silent 12 min (usually every 10 s)" in text  # the header
        assert "⚠ silent 12 min" in pane.render().plain.splitlines()[1]
        assert row_backgrounds(pane, 1) != calm  # the row turned red
        assert row_backgrounds(pane, 0) == calm

        health.event()  # it speaks again
        publish()
        await pilot.pause()
        assert "⚠" not in kit.screen_text(app)
        assert row_backgrounds(pane, 1) == calm


async def test_finished_source_stays_calm_on_the_wall(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await open_wall(pilot, app)
        health = SourceHealth(desk.clock)
        health.set_state(SourceState.LIVE)
        for _ in range(30):
            desk.clock.advance(10)
            health.event()
        health.set_state(SourceState.FINISHED)
        desk.clock.advance(3600)
        desk.publish(kit.topic(), sources=[health.status("replay", "jsonl")])
        app.wall.flush()
        await pilot.pause()
        assert "⚠" not in kit.screen_text(app)
        assert "finished" in app.query_one(SourceHealthPane).render().plain


async def test_hostile_error_text_is_literal(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=(160, 40)) as pilot:
        await open_wall(pilot, app)
        error = "HTTP 502: [@click=app.quit]retry[/] [/x] \x1b]0;owned\x07"
        troubled = kit.source_status(SourceState.RECONNECTING, id="[b]x[/b]", reconnects=1, last_error=error)
        desk.publish(kit.topic(), sources=[replace(troubled, gap_warning="reconnecting for 3 min")])
        app.wall.flush()
        await pilot.pause()
        line = app.query_one(SourceHealthPane).render().plain
        assert "[b]x[/b]" in line and "HTTP 502: [@click=app.quit]retry[/] [/x]" in line
        assert "\x1b" not in line and "\x07" not in line
        assert "⚠ source [b]x[/b] reconnecting for 3 min" in kit.screen_text(app)
        assert app.is_running


async def test_small_terminal_folds_sources_into_one_line_alarms_first(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_wall(pilot, app)
        desk.publish(
            kit.topic(),
            sources=[
                kit.source_status(rate=42.0),
                replace(
                    kit.source_status(SourceState.LIVE, id="masto", kind="mastodon"),
                    gap_warning="silent 9 min (usually every 20 s)",
                ),
            ],
        )
        app.wall.flush()
        await pilot.pause()
        pane = app.query_one(SourceHealthPane)
        assert pane.compact and pane.size.height == 1
        line = pane.render().plain
        assert line.startswith("⚠ masto silent 9 min") and "demo live 42.0/min" in line
        await pilot.press("5")
        assert not pane.display
        await pilot.press("5")
        assert pane.display


async def test_unique_voices_switch_and_anomaly_words(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await open_wall(pilot, app)
        topic = kit.topic()
        unique = tuple(max(1, v // 4) for v in topic.volume)
        desk.publish(
            replace(
                topic,
                unique_volume=unique,
                anomaly=0.93,
                surprise="above the usual for a Saturday 10:00 (last 15 min)",
            )
        )
        app.wall.flush()
        await pilot.pause()
        pane = app.query_one(VolumePane)
        assert pane._series(pane.snapshot.topics["brioche"]) == topic.volume
        text = pane.render().plain
        assert "anomaly 0.93" in text and "above the usual for a Saturday 10:00" in text
        assert "773 mentions · 512 authors" in text  # the hour's, not the 1,234 since the start
        await pilot.press("u")
        assert pane.unique and pane.border_title == "Unique voices · last hour"
        assert pane._series(pane.snapshot.topics["brioche"]) == unique
        assert "unique voices" in pane.render().plain
        await pilot.press("u")
        assert not pane.unique and "773 mentions" in pane.render().plain

        desk.publish(replace(topic, anomaly=0.1))
        app.wall.flush()
        assert "nothing unusual" in pane.render().plain


def test_ages_use_whole_minutes(kit: Any) -> None:
    from tocsin.tui.panes.health import last_event_age

    status = kit.source_status()
    assert last_event_age(status, kit.T0 + timedelta(seconds=150)) == "last 2 min ago"
    assert last_event_age(replace(status, last_event_at=None), kit.T0) == "no event yet"
