"""``from:@handle`` on the wall: the posts by that author only (issue 12; ``@handle`` also finds the posts
that mention the handle)."""

from __future__ import annotations

from typing import Any

from tocsin.tui.app import WallApp
from tocsin.tui.panes.feed import FeedView

from .test_app import MANUAL, SIZE, flush, ready


async def test_from_handle_shows_only_the_authors_posts(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        kit.tell_story(desk)
        await flush(app, pilot)
        feed = app.query_one(FeedView)

        def authors() -> list[str]:
            return [feed.buffer.entry(i).item.mention.author.handle for i in range(len(feed.buffer))]

        await pilot.press("slash", *"@maisonbrioche")
        assert authors() == ["lea_mtl", "angry_baker"]  # posts that mention the brand's account
        await pilot.press(*["backspace"] * 14, *"from:@maisonbrioche")
        assert authors() == []  # the brand itself posted nothing
        await pilot.press("enter")
        desk.push("We are looking into it", handle="maisonbrioche")
        desk.push("@maisonbrioche answer us", handle="angry_baker")
        await flush(app, pilot)
        assert authors() == ["maisonbrioche"]
        assert "from:@maisonbrioche" in kit.screen_text(app)  # the feed says which filter it shows
