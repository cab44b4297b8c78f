"""Hostile dates and Unicode through the real desk onto the wall (issue 10, items 1–3).

Reproduced before the fix: a ``created_at`` of 9999-12-31 killed the wall (``OverflowError`` in
``astimezone``) as soon as its feed line was drawn; an ``author.created_at`` in 9999 killed it when the
detail opened; 0001-01-01 spoiled the scores of its batch; lone surrogates killed the archive writer.
Now the boundary refuses the dates (counted as malformed on the wall), drops the absurd author date,
replaces the surrogates, and every other mention of the batch is shown, scored and opened."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tocsin.config.settings import DeskSettings, JsonlSourceSettings, Settings, TopicSettings, UiSettings
from tocsin.desk.desk import Desk
from tocsin.tui.app import WallApp
from tocsin.tui.panes.feed import FeedView
from tocsin.tui.screens.mention import MentionScreen

GOOD = 6


def write_jsonl(path: Path) -> None:
    lines = [
        {"uid": "far", "text": "maison brioche far future", "created_at": "9999-12-31T23:59:59Z"},
        {"uid": "far-num", "text": "maison brioche far future", "created_at": 253402300799},
        {"uid": "year1", "text": "maison brioche year one", "created_at": "0001-01-01T00:00:00Z"},
    ]
    for i in range(GOOD - 2):
        lines.append(
            {
                "uid": f"ok{i}",
                "text": f"maison brioche ok {i}",
                "created_at": "2026-11-21T09:00:00Z",
                "author": {"handle": f"user{i}", "followers": 100 * i},
            }
        )
    lines.append(
        {
            "uid": "old-author",
            "text": "maison brioche author from the future",
            "author": {"handle": "timetraveller", "created_at": "9999-12-31T23:59:59Z", "followers": 5},
        }
    )
    lines.append({"uid": "sur", "text": "maison brioche \ud800 lone", "author": {"handle": "h\udfff"}})
    text = "\n".join(json.dumps(obj) for obj in lines) + "\n"  # ensure_ascii: surrogates as escapes
    path.write_text(text)


async def test_absurd_dates_and_surrogates_neither_crash_the_wall_nor_cost_the_batch(
    kit: Any, tmp_path: Path
) -> None:
    path = tmp_path / "hostile.jsonl"
    write_jsonl(path)
    settings = Settings(
        desk=DeskSettings(name="hostile", timezone="Pacific/Kiritimati"),  # UTC+14: the overflow's edge
        topics=(TopicSettings(id="brioche", name="Maison Brioche", keywords=("maison brioche",)),),
        sources=(JsonlSourceSettings(type="jsonl", id="file", path=str(path)),),
        ui=UiSettings(refresh_hz=20),
    )
    desk = Desk(settings, inline_scoring=True)
    app = WallApp(settings, desk)
    async with app.run_test(size=(120, 40)) as pilot:
        feed = app.query_one(FeedView)
        for _ in range(200):
            await pilot.pause(0.05)
            if len(feed.buffer) == GOOD and desk.finished:
                break
        assert len(feed.buffer) == GOOD
        app.wall.flush()
        await pilot.pause()
        text = kit.screen_text(app)
        assert "3 malformed" in text  # the two far-future posts and the year-one post, counted
        status = desk.sources[0].status()
        assert "created_at" in (status.last_error or "")
        lines = "\n".join(feed.rendered_lines())
        assert "maison brioche \ufffd lone" in lines
        assert "far future" not in lines and "year one" not in lines
        snap = desk.snapshot()
        assert snap.topics["brioche"].mentions == GOOD  # none of the batch lost its counting
        for _ in range(GOOD):  # open every mention's detail, the time traveller's included
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, MentionScreen)
            await pilot.press("escape")
            await pilot.pause()
            await pilot.press("up")
        assert app.is_running
    assert app.return_code in (None, 0)
