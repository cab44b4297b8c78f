"""Smoke test of the wall on the real Desk and the bundled demo: it renders, mentions reach the feed,
and quitting leaves no task behind."""

from __future__ import annotations

import asyncio
from typing import Any

from tocsin.config.loader import load_default, with_demo_speed
from tocsin.desk.desk import Desk
from tocsin.tui.app import WallApp
from tocsin.tui.panes.feed import FeedView
from tocsin.tui.panes.volume import VolumePane


async def test_demo_wall_shows_mentions_and_quits_cleanly(kit: Any) -> None:
    settings = with_demo_speed(load_default(), 200)
    tasks_before = asyncio.all_tasks()
    desk = Desk(settings, inline_scoring=True)  # scoring in a thread: no worker process in a unit test
    app = WallApp(settings, desk)
    async with app.run_test(size=(120, 40)) as pilot:
        feed = app.query_one(FeedView)
        for _ in range(300):  # bounded; the backfill alone fills the feed within a few ticks
            await pilot.pause(0.05)
            if len(feed.buffer) > 50 and app.query_one(VolumePane).snapshot is not None:
                break
        assert len(feed.buffer) > 50
        text = kit.screen_text(app)
        assert "Maison Brioche" in text and "/min" in text
        assert any("@" in line for line in feed.rendered_lines())
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0
    await asyncio.sleep(0)
    left = [t for t in asyncio.all_tasks() - tasks_before if not t.done() and t is not asyncio.current_task()]
    assert left == [], left


async def test_sentiment_worker_process_starts_under_the_app(monkeypatch: Any) -> None:
    """The desk's default scoring runs in a spawned worker process, started while Textual holds
    stderr (a stand-in whose fileno is -1): that must still work."""
    settings = with_demo_speed(load_default(), 200)
    app = WallApp(settings)  # the app builds the desk: worker-process scoring, as `tocsin demo` runs
    said: list[str] = []
    monkeypatch.setattr(app, "notify", lambda message, **kw: said.append(message))
    async with app.run_test(size=(120, 40)) as pilot:
        feed = app.query_one(FeedView)
        for _ in range(400):
            await pilot.pause(0.05)
            if len(feed.buffer) > 50 or said:
                break
        assert said == []
        assert len(feed.buffer) > 50
        labels = {feed.buffer.entry(i).item.sentiment.label for i in range(50)}
        assert labels - {"unscored"}  # the worker scored them
        await pilot.press("q")
    assert app.return_code == 0
