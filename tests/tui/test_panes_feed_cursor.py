"""The feed's cursor: which mention is selected (what Enter opens and pinning takes), and how moving it
pauses and resumes the tail."""

from __future__ import annotations

from typing import Any

from tocsin.tui.app import WallApp
from tocsin.tui.panes.feed import FeedView
from tocsin.tui.wall import WallScreen

SIZE = (120, 40)
MANUAL = {"refresh_hz": 0.001}


async def wall(kit: Any, pilot: Any, app: WallApp) -> None:
    for _ in range(50):
        await pilot.pause()
        if app._desk_running:
            return
    raise AssertionError("the desk never started")


async def flush(app: WallApp, pilot: Any) -> None:
    app.wall.flush()
    await pilot.pause()


def selected_text(feed: FeedView) -> str | None:
    scored = feed.selected_mention
    return None if scored is None else scored.mention.text


async def test_cursor_follows_the_newest_then_holds_its_mention_when_moved(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await wall(kit, pilot, app)
        feed = app.query_one(FeedView)
        assert feed.selected_mention is None  # nothing to select yet
        for i in range(100):
            desk.push(f"mention {i}")
        await flush(app, pilot)
        assert feed.tail and selected_text(feed) == "mention 99"
        desk.push("mention 100")
        await flush(app, pilot)
        assert selected_text(feed) == "mention 100"  # following: the newest is selected

        await pilot.press("up", "k")
        assert not feed.tail and selected_text(feed) == "mention 98"
        top = feed.rendered_lines()[0]
        for i in range(101, 110):
            desk.push(f"mention {i}")
        await flush(app, pilot)
        assert selected_text(feed) == "mention 98"  # new arrivals do not move the selection
        assert feed.rendered_lines()[0] == top and feed.waiting == 9

        await pilot.press("j")
        assert selected_text(feed) == "mention 99" and not feed.tail
        for _ in range(10):
            await pilot.press("down")
        assert feed.tail and selected_text(feed) == "mention 109"  # back at the bottom: following again


async def test_cursor_scrolls_the_view_and_pages(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await wall(kit, pilot, app)
        feed = app.query_one(FeedView)
        for i in range(200):
            desk.push(f"mention {i}")
        await flush(app, pilot)
        height = feed.scrollable_content_region.height
        for _ in range(height + 5):
            await pilot.press("up")
        line = feed.cursor_line
        assert line == 199 - height - 5
        assert round(feed.scroll_y) == line  # the cursor stays on screen, at the top edge
        assert feed.rendered_lines()[0].endswith(f"mention {line}")

        await pilot.press("pageup")
        assert feed.cursor_line == line - (height - 1)
        shown = feed.rendered_lines()
        assert any(row.endswith(f"mention {feed.cursor_line}") for row in shown)

        await pilot.press("home")
        assert feed.cursor_line == 0 and feed.scroll_y == 0
        await pilot.press("pagedown")
        assert feed.cursor_line == height - 1 and not feed.tail
        await pilot.press("end")
        assert feed.tail and selected_text(feed) == "mention 199"


async def test_selection_survives_old_mentions_falling_off(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await wall(kit, pilot, app)
        feed = app.query_one(FeedView)
        feed.buffer.__init__(capacity=100)
        for i in range(100):
            desk.push(f"mention {i}")
        await flush(app, pilot)
        for _ in range(20):
            await pilot.press("up")
        assert selected_text(feed) == "mention 79"
        for i in range(100, 130):
            desk.push(f"mention {i}")
        await flush(app, pilot)
        assert selected_text(feed) == "mention 79"


async def test_filter_puts_the_cursor_back_on_the_newest_match(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await wall(kit, pilot, app)
        feed = app.query_one(FeedView)
        kit.tell_story(desk, times=2)
        await flush(app, pilot)
        await pilot.press("up", "up", "up")
        await pilot.press("slash", *"boycott", "enter")
        assert feed.tail and "Boycott" in (selected_text(feed) or "")


async def test_cursor_line_is_highlighted_only_where_it_means_something(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await wall(kit, pilot, app)
        feed = app.query_one(FeedView)
        for i in range(5):
            desk.push(f"mention {i}")
        await flush(app, pilot)

        def background(line: int) -> object:
            strip = feed.render_line(line - round(feed.scroll_y))
            return {seg.style.bgcolor for seg in strip if seg.text.strip() and seg.style}

        plain = background(0)
        assert background(4) != plain  # focused, following: the newest line is the cursor
        await pilot.press("up")
        assert background(3) != plain and background(4) == plain
        feed.blur()
        await pilot.pause()
        assert background(3) != plain  # paused and blurred: still marked, so p/c know what they take


async def test_click_selects_and_double_click_opens(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    opened: list[str] = []

    class RecordingWall(WallScreen):
        def on_feed_view_open_mention(self, message: FeedView.OpenMention) -> None:
            opened.append(message.scored.mention.text)

    class Recording(WallApp):
        def get_default_screen(self) -> WallScreen:
            return RecordingWall()

    app = Recording(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await wall(kit, pilot, app)
        feed = app.query_one(FeedView)
        for i in range(5):
            desk.push(f"mention {i}")
        await flush(app, pilot)
        region = feed.content_region
        await pilot.click(feed, offset=(region.x - feed.region.x + 5, region.y - feed.region.y + 1))
        assert selected_text(feed) == "mention 1" and not feed.tail
        await pilot.press("enter")
        await pilot.pause()
        assert opened == ["mention 1"]


async def test_cursor_stays_in_view_when_the_feed_shrinks(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await wall(kit, pilot, app)
        feed = app.query_one(FeedView)
        for i in range(100):
            desk.push(f"mention {i}")
        await flush(app, pilot)
        await pilot.press("pageup")
        line = feed.cursor_line
        assert line is not None and any(row.endswith(f"mention {line}") for row in feed.rendered_lines())
        await pilot.resize_terminal(120, 34)  # the feed loses lines at the bottom
        await pilot.pause()
        assert feed.cursor_line == line
        assert any(row.endswith(f"mention {line}") for row in feed.rendered_lines())
