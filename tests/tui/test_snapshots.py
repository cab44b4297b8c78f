"""Snapshot tests of the wall (pytest-textual-snapshot): fixed data, a ManualClock, Europe/Paris.

Update after a deliberate change with ``pytest tests/tui/test_snapshots.py --snapshot-update`` and look
at the SVGs in ``tests/tui/__snapshots__/`` before committing them.
"""

from __future__ import annotations

from typing import Any

from tocsin.sources.base import SourceState
from tocsin.tui.app import TocsinApp


def storm_desk(kit: Any) -> Any:
    desk = kit.FakeDesk(kit.settings(refresh_hz=0.001))
    kit.tell_story(desk, times=5)
    desk.publish(
        kit.topic(),
        sources=[kit.source_status(rate=42.0)],
        engine="lexicon",
    )
    return desk


async def settle(pilot: Any) -> None:
    app = pilot.app
    for _ in range(50):
        await pilot.pause()
        if app._desk_running:
            break
    app.flush()
    await pilot.pause()


def test_wall_120x40(kit: Any, snap_compare: Any) -> None:
    desk = storm_desk(kit)
    assert snap_compare(TocsinApp(desk.settings, desk), terminal_size=(120, 40), run_before=settle)


def test_wall_80x24_is_compact(kit: Any, snap_compare: Any) -> None:
    desk = storm_desk(kit)
    assert snap_compare(TocsinApp(desk.settings, desk), terminal_size=(80, 24), run_before=settle)


def test_wall_paused_with_waiting_mentions_and_a_troubled_source(kit: Any, snap_compare: Any) -> None:
    desk = storm_desk(kit)

    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        await pilot.press("pageup")
        for i in range(12):
            desk.push(f"brioche reply {i}", label="negative", handle=f"reply_{i}", followers=10 * i)
        desk.publish(
            # still "alert": a level rise would put a toast over the border this snapshot is about
            kit.topic(level="alert", rate=96.0, reasons=("volume 31.0x baseline", "72 % negative")),
            sources=[
                kit.source_status(rate=96.0),
                kit.source_status(SourceState.RECONNECTING, id="masto", kind="mastodon", reconnects=3,
                                  last_error="HTTP 503 Service Unavailable"),
            ],
            engine="lexicon",
            engine_note="flair loading…",
        )
        pilot.app.flush()
        await pilot.pause()

    assert snap_compare(TocsinApp(desk.settings, desk), terminal_size=(120, 40), run_before=run_before)


def test_help_screen(kit: Any, snap_compare: Any) -> None:
    desk = storm_desk(kit)

    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        await pilot.press("question_mark")

    assert snap_compare(TocsinApp(desk.settings, desk), terminal_size=(120, 40), run_before=run_before)
