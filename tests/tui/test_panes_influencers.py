"""The flagged-influencers table: a keyed diff (never a rebuild), hostile text shown literally, the
watchlist role highlighted, Enter filters the feed by that author."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from textual.widgets import DataTable

from tests.fake_desk import open_wall
from tocsin.scoring.snapshot import InfluencerRow
from tocsin.tui.app import WallApp
from tocsin.tui.panes.feed import FeedView
from tocsin.tui.panes.influencers import InfluencersPane

SIZE = (120, 40)
MANUAL = {"refresh_hz": 0.001}
HOSTILE = "[@click=app.quit]boom[/] [/foo] \x1b]0;pwned\x07\x1b[2J\u202egnp.exe"


def person(handle: str, **kw: Any) -> InfluencerRow:
    base: dict[str, Any] = {
        "handle": handle,
        "name": None,
        "source": "demo",
        "tier": "micro",
        "followers": 15_200,
        "influence": 55,
        "bot": 0.1,
        "negative": 3,
        "mentions": 4,
        "last_text": f"what {handle} said last",
        "last_at": kw.pop("last_at", None),
        "watch_role": None,
    }
    base.update(kw)
    return InfluencerRow(**base)


class Calls:
    """Counts what the pane does to its DataTable."""

    def __init__(self, table: DataTable[Any], monkeypatch: pytest.MonkeyPatch) -> None:
        self.counts = {"add_row": 0, "remove_row": 0, "update_cell": 0, "sort": 0, "clear": 0}
        for name in self.counts:
            original = getattr(table, name)

            def spy(*args: Any, _name: str = name, _original: Any = original, **kwargs: Any) -> Any:
                self.counts[_name] += 1
                return _original(*args, **kwargs)

            monkeypatch.setattr(table, name, spy)

    def take(self) -> dict[str, int]:
        out = {k: v for k, v in self.counts.items() if v}
        for k in self.counts:
            self.counts[k] = 0
        return out


def publish(kit: Any, desk: Any, rows: tuple[InfluencerRow, ...]) -> None:
    rows = tuple(replace(r, last_at=r.last_at or desk.clock.now()) for r in rows)
    desk.publish(replace(kit.topic(), influencers=rows))


def shown(pane: InfluencersPane) -> list[str]:
    table = pane.rows.table
    return [str(pane.rows.key_at(row.key.value)).split("\0")[-1] for row in table.ordered_rows]


async def test_keyed_diff_touches_only_what_changed(kit: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await open_wall(pilot, app)
        pane = app.query_one(InfluencersPane)
        calls = Calls(pane.rows.table, monkeypatch)
        a, b, c = person("alice"), person("bob", influence=40), person("carol", influence=30)

        publish(kit, desk, (a, b, c))
        app.wall.flush()
        assert calls.take() == {"add_row": 3}
        assert shown(pane) == ["alice", "bob", "carol"]

        publish(kit, desk, (a, b, c))  # a new snapshot with the same rows: nothing to do
        app.wall.flush()
        assert calls.take() == {}

        publish(kit, desk, (a, replace(b, negative=4, mentions=6), c))  # bob posted twice more
        app.wall.flush()
        assert calls.take() == {"update_cell": 1}  # the Neg cell only
        cell = pane.rows.cell(pane.rows.keys[1], "neg")
        assert cell.plain == "4/6"

        publish(kit, desk, (a, c, person("dave")))  # bob left the window, dave arrived last
        app.wall.flush()
        # dave takes bob's row (its cells rewritten: no row removed, no layout), then one sort
        assert calls.take() == {"update_cell": len(pane.COLUMNS), "sort": 1}
        assert shown(pane) == ["alice", "carol", "dave"]

        publish(kit, desk, (person("dave"), a, c))  # dave became the loudest: one sort, no cell rewritten
        app.wall.flush()
        assert calls.take() == {"sort": 1}
        assert shown(pane) == ["dave", "alice", "carol"]

        publish(kit, desk, ())
        app.wall.flush()
        assert calls.take() == {"remove_row": 3}
        await pilot.pause()
        assert "nobody flagged" in kit.screen_text(app)


async def test_a_cell_that_only_changes_colour_is_updated(kit: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await open_wall(pilot, app)
        pane = app.query_one(InfluencersPane)
        calls = Calls(pane.rows.table, monkeypatch)
        publish(kit, desk, (person("alice", negative=0, mentions=2),))
        app.wall.flush()
        calls.take()
        publish(kit, desk, (person("alice", negative=0, mentions=2, bot=0.95),))  # now looks like a bot
        app.wall.flush()
        assert calls.take() == {"update_cell": 1}
        bot = pane.rows.cell(pane.rows.keys[0], "bot")
        assert bot.plain == "95%" and bot.style != pane.get_component_rich_style("influencers--muted")


async def test_hostile_names_and_texts_show_literally(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=(200, 40)) as pilot:
        await open_wall(pilot, app)
        publish(kit, desk, (person("[b]x[/b]", name=HOSTILE, last_text=HOSTILE, watch_role="[red]j[/]"),))
        app.wall.flush()
        await pilot.pause()
        pane = app.query_one(InfluencersPane)
        text = kit.screen_text(app)
        assert app.is_running
        assert "@[b]x[/b]" in text and "[red]j[/]" in text
        last = pane.rows.cell(pane.rows.keys[0], "last").plain
        assert last.startswith("[@click=app.quit]boom[/] [/foo]")
        assert "\x1b" not in last and "\x07" not in last and "\u202e" not in last
        await pilot.click(pane.rows.table, offset=(60, 1))  # a click on the text runs nothing
        await pilot.pause()
        assert app.is_running


async def test_watchlist_role_is_highlighted(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await open_wall(pilot, app)
        publish(
            kit,
            desk,
            (
                person("lemonde_conso", tier="macro", followers=412_000, watch_role="journalist"),
                person("paulo"),
            ),
        )
        app.wall.flush()
        await pilot.pause()
        pane = app.query_one(InfluencersPane)
        who = pane.rows.cell(pane.rows.keys[0], "who")
        assert who.plain == "@lemonde_conso  journalist "
        role = next(span for span in who.spans if who.plain[span.start : span.end].strip() == "journalist")
        assert role.style == pane.get_component_rich_style("influencers--role")
        plain = pane.rows.cell(pane.rows.keys[1], "who")
        assert plain.spans == []
        assert "412k" in kit.screen_text(app)


async def test_hotter_topic_first_and_rows_bounded(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await open_wall(pilot, app)
        now = desk.clock.now()
        calm = replace(
            kit.topic(level="calm", tid="other", name="Other"),
            influencers=tuple(person(f"calm{i}", last_at=now) for i in range(3)),
        )
        hot = replace(
            kit.topic(level="crisis"), influencers=tuple(person(f"hot{i}", last_at=now) for i in range(20))
        )
        desk.publish(calm, hot)
        app.wall.flush()
        pane = app.query_one(InfluencersPane)
        assert shown(pane)[:2] == ["hot0", "hot1"]
        assert len(shown(pane)) == 12  # a wall is not a spreadsheet


async def test_enter_on_an_author_filters_the_feed(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await open_wall(pilot, app)
        kit.tell_story(desk, times=2)
        publish(kit, desk, (person("angry_baker"), person("paulo")))
        app.wall.flush()
        await pilot.pause()
        table = app.query_one(InfluencersPane).rows.table
        table.focus()
        await pilot.press("down", "enter")
        feed = app.query_one(FeedView)
        assert feed.has_focus
        assert app.query_one("#filter").value == "@paulo"
        assert len(feed.buffer) == 2 and all("@paulo" in line for line in feed.rendered_lines())


async def test_hidden_pane_is_not_updated_then_catches_up(kit: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await open_wall(pilot, app)
        pane = app.query_one(InfluencersPane)
        calls = Calls(pane.rows.table, monkeypatch)
        await pilot.press("3")
        assert not pane.display
        publish(kit, desk, (person("alice"),))
        app.wall.flush()
        assert calls.take() == {}
        await pilot.press("3")  # shown again: brought up to date at once
        assert pane.display and shown(pane) == ["alice"]


async def test_a_row_that_took_a_leaving_rows_place_opens_its_own_author(kit: Any) -> None:
    """dave takes bob's row of the table (no row removed, no layout): Enter on it is dave, not bob."""
    from textual.widgets import DataTable, Input

    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await open_wall(pilot, app)
        pane = app.query_one(InfluencersPane)
        publish(kit, desk, (person("alice"), person("bob", influence=40), person("carol", influence=30)))
        app.wall.flush()
        publish(kit, desk, (person("alice"), person("carol", influence=30), person("dave", influence=20)))
        app.wall.flush()
        await pilot.pause()
        table = pane.rows.table
        assert len(table.rows) == 3 and shown(pane) == ["alice", "carol", "dave"]
        row_key = table.coordinate_to_cell_key((2, 0)).row_key
        pane.on_data_table_row_selected(DataTable.RowSelected(table, 2, row_key))
        await pilot.pause()
        assert app.query_one("#filter", Input).value == "@dave"


async def test_a_new_last_text_does_not_resize_the_table(kit: Any) -> None:
    """The free-text column is as wide as its longest cell from the start: a longer text in a new row
    does not change the table's size (each change laid the whole screen out again, ~18 ms at 5,000/s)."""
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await open_wall(pilot, app)
        pane = app.query_one(InfluencersPane)
        publish(kit, desk, (person("alice", last_text="short"),))
        pane.show(desk.snapshot())
        await pilot.pause()
        size = pane.rows.table.virtual_size
        # alice leaves, bobby (as long a handle) arrives in her row: ``KeyedTable.sync`` reuses it and
        # its cells are measured anew
        publish(kit, desk, (person("bobby", last_text="a much longer thing said " * 4),))
        pane.show(desk.snapshot())
        await pilot.pause()
        assert pane.rows.table.virtual_size == size
