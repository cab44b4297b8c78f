"""The header says when the judge's worker died and was restarted (its tables start over), until the
desk stops: a background task never dies in silence."""

from __future__ import annotations

from typing import Any

from tocsin.tui.app import WallApp
from tocsin.tui.panes.header import DeskHeader

NOTE = "judge worker restarted at 10:42 (exit -9): waves, terms, baselines anew"


async def test_the_header_says_the_judge_started_over(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(refresh_hz=0.001))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=(120, 40)) as pilot:
        desk.publish(kit.topic(level="calm", rate=2.0, baseline=2.5, reasons=()))
        app.wall.flush()
        await pilot.pause()
        header = app.query_one(DeskHeader)
        quiet = header.render().plain.splitlines()
        assert not any("judge" in line for line in quiet)
        desk.publish(kit.topic(level="calm", rate=2.0, baseline=2.5, reasons=()), judge_note=NOTE)
        app.wall.flush()
        await pilot.pause()
        lines = header.render().plain.splitlines()
        assert len(lines) == len(quiet) + 1 and f"⚠ {NOTE}" in lines
