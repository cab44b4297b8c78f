"""Layouts for every size: what stays on screen at 80x24 (the level, the incident clocks, the feed, the
keys that fit and ``?``, the whole respond form), snapshots of calm and crisis from 80x24 to 200x60."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from tocsin.tui.app import WallApp
from tocsin.tui.panes.feed import FeedView
from tocsin.tui.panes.header import DeskHeader
from tocsin.tui.panes.incidents import IncidentsPane
from tocsin.tui.panes.keybar import KeyBar
from tocsin.tui.screens.incident_forms import RespondForm

from ._snapshot import settle
from .test_incidents_snapshot import storm_wall, two_incidents

SMALL = (80, 24)


def on_screen(app: WallApp, widget: Any) -> bool:
    """Wholly inside the terminal (not cut by its edge, not scrolled away)."""
    region = widget.region
    width, height = app.size
    return region.height > 0 and region.x >= 0 and region.right <= width and region.bottom <= height


async def test_80x24_keeps_the_level_the_incident_clocks_and_the_feed(tmp_path: Path, kit: Any) -> None:
    app, desk, session = storm_wall(tmp_path, kit)
    async with app.run_test(size=SMALL) as pilot:
        await two_incidents(pilot, desk, session)
        pane = app.query_one(IncidentsPane)
        assert on_screen(app, app.query_one(DeskHeader))
        assert on_screen(app, pane)
        assert "response" in pane.column_keys and "ack" in pane.column_keys
        assert "breached 7 min ago" in [c.plain for c in pane.get_row("1")]
        ordered = pane.ordered_columns
        assert sum(c.get_render_width(pane) for c in ordered) <= pane.size.width  # nothing cut off
        feed = app.query_one(FeedView)
        assert on_screen(app, feed) and len(feed.rendered_lines()) >= 6
        await pilot.resize_terminal(160, 48)  # a bigger terminal gets owner, age and boxes back
        await pilot.pause()
        app.wall.flush()
        await pilot.pause()
        assert "owner" in pane.column_keys and "checklist" in pane.column_keys


async def test_the_key_bar_shows_whole_keys_that_fit_and_help_says_how_many_more(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(refresh_hz=0.001))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SMALL) as pilot:
        for _ in range(20):
            await pilot.pause()
        bar = app.query_one(KeyBar)
        keys = list(app.query_one(Footer).query(FooterKey))
        assert all(k.region.right <= SMALL[0] for k in keys), [(k.description, k.region) for k in keys]
        assert bar.left_out > 0
        [help_key] = [k for k in keys if k.key == "question_mark"]
        assert help_key.description == f"Help · {bar.left_out} more"
        await pilot.resize_terminal(200, 40)  # room for every key: nothing left out, help says nothing more
        for _ in range(5):
            await pilot.pause()
        assert bar.left_out == 0
        assert [k.description for k in bar.query(FooterKey) if k.key == "question_mark"] == ["Help"]


async def test_the_respond_form_fits_80x24_with_its_save_hint(tmp_path: Path, kit: Any) -> None:
    app, desk, session = storm_wall(tmp_path, kit)
    async with app.run_test(size=SMALL) as pilot:
        await two_incidents(pilot, desk, session)
        await pilot.press("r")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, RespondForm)
        for selector in ("#kind", "#channel", "#text", "#url", "#form-hint"):
            assert on_screen(app, form.query_one(selector)), selector
        assert "Ctrl+S saves" in str(form.query_one("#form-hint").render())


def calm_desk(kit: Any) -> Any:
    """An ordinary morning: a few mentions, the level calm, the source live."""
    desk = kit.FakeDesk(kit.settings(refresh_hz=0.001))
    kit.tell_story(desk, times=2)
    desk.publish(
        kit.topic(level="calm", rate=3.0, negative=0.12, neutral=0.70, positive=0.18, reasons=()),
        sources=[kit.source_status(rate=3.0)],
        engine="lexicon",
    )
    return desk


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 60)], ids=["80x24", "120x40", "200x60"])
def test_calm(kit: Any, snap_compare: Any, size: tuple[int, int]) -> None:
    desk = calm_desk(kit)
    assert snap_compare(WallApp(desk.settings, desk), terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", [(80, 24), (200, 60)], ids=["80x24", "200x60"])
def test_crisis_with_incidents(tmp_path: Path, kit: Any, snap_compare: Any, size: tuple[int, int]) -> None:
    app, desk, session = storm_wall(tmp_path, kit)

    async def run_before(pilot: Any) -> None:
        await two_incidents(pilot, desk, session)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_respond_form_80x24(tmp_path: Path, kit: Any, snap_compare: Any) -> None:
    app, desk, session = storm_wall(tmp_path, kit)

    async def run_before(pilot: Any) -> None:
        await two_incidents(pilot, desk, session)
        await pilot.press("r")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


# --- --pane and --layout: a wall of terminals, each showing part of the same desk -----------------


def chosen(kit: Any, flag: str, value: str) -> WallApp:
    """A wall started as ``tocsin run --pane/--layout VALUE`` would start it."""
    from tocsin.desk.cli import _with_layout, build_parser

    args = build_parser().parse_args(["run", flag, value])
    desk = storm_desk_for(kit)
    settings = _with_layout(desk.settings, args.pane or args.layout)
    return WallApp(settings, desk)


def storm_desk_for(kit: Any) -> Any:
    from .test_snapshots import storm_desk

    return storm_desk(kit)


def visible(app: WallApp, selector: str) -> bool:
    widget = app.query_one(selector)
    return widget.display and all(a.display for a in widget.ancestors if hasattr(a, "display"))


async def test_pane_shows_one_pane_full_screen_under_the_level_line(kit: Any) -> None:
    app = chosen(kit, "--pane", "volume")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert visible(app, "#volume") and visible(app, "#header")
        for other in ("#sentiment", "#terms", "#influencers", "#clusters", "#incidents", "#feed", "#health"):
            assert not visible(app, other), other
        volume = app.query_one("#volume")
        assert volume.size.height >= 30  # the pane fills the screen, roomy (bars and the hour's sparkline)
        assert not volume.compact
        assert "Maison Brioche" in str(app.query_one(DeskHeader).render())


async def test_pane_influencers_takes_the_keys_and_the_height(kit: Any) -> None:
    app = chosen(kit, "--pane", "influencers")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        pane = app.query_one("#influencers")
        assert app.focused is not None and pane in app.focused.ancestors_with_self
        assert pane.size.height >= 22
        assert not visible(app, "#clusters") and not visible(app, "#feed")


async def test_layout_triage_shows_incidents_and_feed_even_with_no_incident_open(
    tmp_path: Path, kit: Any
) -> None:
    from tocsin.config.layouts import parse_layout

    app, desk, session = storm_wall(tmp_path, kit)
    app.wall_layout = parse_layout("triage")  # as ui.layout: triage would set it
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        pane = app.query_one(IncidentsPane)
        assert visible(app, "#incidents") and visible(app, "#feed")
        assert pane.border_title == "Incidents · none open"
        assert not any(visible(app, p) for p in ("#volume", "#influencers", "#health"))
        await two_incidents(pilot, desk, session)
        assert pane.row_count == 2 and visible(app, "#incidents")


async def test_a_layout_without_the_incidents_never_shows_them(tmp_path: Path, kit: Any) -> None:
    from tocsin.config.layouts import parse_layout

    app, desk, session = storm_wall(tmp_path, kit)
    app.wall_layout = parse_layout("feed")
    async with app.run_test(size=SMALL) as pilot:
        await two_incidents(pilot, desk, session)
        assert not visible(app, "#incidents")
        assert app.focused is app.query_one(FeedView)
        feed = app.query_one(FeedView)
        assert feed.size.height >= 16  # the feed has the screen under the level line


def test_the_command_line_refuses_an_unknown_pane_or_layout(capsys: Any) -> None:
    import pytest

    from tocsin.desk.cli import BadInput, _with_layout, build_parser, main

    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["run", "--pane", "incident"])
    assert exit_.value.code == 2
    assert "invalid choice: 'incident'" in capsys.readouterr().err
    with pytest.raises(BadInput, match="did you mean 'triage'"):
        _with_layout(kit_settings(), "triag")
    with pytest.raises(SystemExit) as exit_:
        main(["demo", "--pane", "feed", "--layout", "triage"])  # one or the other
    assert exit_.value.code == 2
    assert "not allowed with argument --pane" in capsys.readouterr().err


def kit_settings() -> Any:
    from tests.fake_desk import wall_settings

    return wall_settings()


def test_textual_themes_listed_for_check_config_are_the_installed_ones() -> None:
    from textual.theme import BUILTIN_THEMES

    from tocsin.config.layouts import TEXTUAL_THEMES

    assert sorted(TEXTUAL_THEMES) == sorted(BUILTIN_THEMES)


async def test_the_high_contrast_theme_is_worn_without_a_warning(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(refresh_hz=0.001, theme="tocsin-high-contrast"))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        assert app.theme == "tocsin-high-contrast"
        assert not app._notifications  # an unknown theme would have said so in a toast
        assert app.screen.styles.background.hex == "#000000"


def test_crisis_high_contrast_80x24(tmp_path: Path, kit: Any, snap_compare: Any) -> None:
    """Every colour that means something also reads as a symbol or a word (badge, clocks, boxes)."""
    import dataclasses

    app, desk, session = storm_wall(tmp_path, kit)
    app.settings = dataclasses.replace(
        app.settings, ui=dataclasses.replace(app.settings.ui, theme="tocsin-high-contrast")
    )

    async def run_before(pilot: Any) -> None:
        await two_incidents(pilot, desk, session)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
