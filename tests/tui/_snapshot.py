"""What every wall snapshot test waits for before the picture is taken."""

from __future__ import annotations

from typing import Any


async def settle(pilot: Any) -> None:
    """Until the desk is running (by pauses, not by time), then one flush of every pane."""
    app = pilot.app
    for _ in range(50):
        await pilot.pause()
        if app._desk_running:
            break
    app.wall.flush()
    await pilot.pause()
