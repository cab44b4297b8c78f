"""Hostile mention data on the wall: markup that would run actions or crash, terminal escapes, C1,
bidi and zero-width characters, a 100 kB post, invalid UTF-8 in a jsonl file. The wall must neither
crash nor run anything, and must show the text literally."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tocsin.config.settings import DeskSettings, JsonlSourceSettings, Settings, TopicSettings, UiSettings
from tocsin.desk.desk import Desk
from tocsin.sources.base import SourceState
from tocsin.tui.app import WallApp
from tocsin.tui.panes.feed import FeedView

QUIT = "[@click=app.quit]x[/]"
HOSTILE = [
    QUIT,
    "[/foo]",
    "[ @click=app.bell]ring[/]",
    "[$var]",
    "\x1b]0;pwned\x07",
    "\x1b[2J",
    "c1\x9b31m",
    "bidi\u202eevil",
    "zero\u200bwidth",
]
FORBIDDEN = ["\x1b", "\x9b", "\x07", "\u202e", "\u200b"]


def record_actions(app: WallApp, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make quit and bell leave a trace instead of acting."""
    calls: list[str] = []

    async def quit_() -> None:
        calls.append("quit")

    monkeypatch.setattr(app, "action_quit", quit_)
    monkeypatch.setattr(app, "action_bell", lambda: calls.append("bell"))
    monkeypatch.setattr(app, "bell", lambda: calls.append("bell"))
    return calls


async def click_the_markup(app: WallApp, pilot: Any) -> int:
    """Click right on every would-be ``@click`` text in the feed (inside its border); returns how many."""
    feed = app.query_one(FeedView)
    clicks = 0
    for y, line in enumerate(feed.rendered_lines()):
        for needle in ("[@click", "[ @click"):
            x = line.find(needle)
            while x >= 0:
                await pilot.click(FeedView, offset=(1 + x + 3, 1 + y))
                clicks += 1
                x = line.find(needle, x + 1)
    return clicks


def assert_no_click_meta(feed: FeedView) -> None:
    for y in range(feed.scrollable_content_region.height):
        for segment in feed.render_line(y):
            meta = segment.style.meta if segment.style else {}
            assert not any(str(k).startswith("@") for k in meta), meta


async def test_hostile_fields_show_literally_and_run_nothing(
    kit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk = kit.FakeDesk(kit.settings(refresh_hz=0.001))
    for s in HOSTILE:
        url = f"https://x.test/{s}"
        desk.push(f"brioche {s} end", handle=s, name=s, url=url, hashtags=(s,), label="negative")
    desk.push("brioche " + "A" * 100_000 + " end", handle="big")
    desk.publish(
        kit.topic(name=QUIT, reasons=("[/foo] volume", "\x1b[2J" + QUIT)),
        sources=[
            kit.source_status(SourceState.RECONNECTING, id=QUIT, last_error="HTTP 503: [/foo]\x1b]0;x\x07")
        ],
        engine_note="[/broken] note",
    )
    app = WallApp(desk.settings, desk)
    calls = record_actions(app, monkeypatch)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(20):
            await pilot.pause()
            if len(app.query_one(FeedView).buffer) == len(HOSTILE) + 1:
                break
        app.wall.flush()
        await pilot.pause()
        feed = app.query_one(FeedView)
        await pilot.press("home")
        lines = feed.rendered_lines()
        assert any(f"brioche {QUIT} end" in line for line in lines)
        assert any(f"@{QUIT}" in line for line in lines)
        assert any("brioche [/foo] end" in line for line in lines)
        assert any("brioche [$var] end" in line for line in lines)
        assert any("bidievil" in line for line in lines) and any("zerowidth" in line for line in lines)
        text = kit.screen_text(app)
        assert QUIT in text  # topic name, source id, reasons: all literal
        assert "HTTP 503: [/foo]" in text and "[/broken] note" in text
        for ch in FORBIDDEN:
            assert ch not in text and all(ch not in line for line in lines), repr(ch)
        assert_no_click_meta(feed)
        assert await click_the_markup(app, pilot) >= 4
        await pilot.press("end")
        assert any(line.startswith("10:29:") and "@big" in line for line in feed.rendered_lines())
        # A filter typed by the user is shown back literally too.
        await pilot.press("slash", *"[/foo]")
        assert len(feed.buffer) == 1
        assert "[/foo]" in kit.screen_text(app)
        assert app.is_running
    assert calls == []


def test_the_hostile_cases_would_bite_without_safe_text() -> None:
    """Guard the guard: these inputs really are dangerous when given to a widget as markup."""
    from textual.markup import MarkupError, to_content

    with pytest.raises(MarkupError):
        to_content("[/foo]")
    assert any("@click" in str(span.style) for span in to_content(QUIT).spans)


def write_jsonl(path: Path) -> int:
    """Hostile mention objects, a line of invalid UTF-8 and one of broken JSON; returns how many are good."""
    lines: list[bytes] = []
    for i, s in enumerate(HOSTILE):
        obj = {
            "uid": f"h{i}",
            "text": f"maison brioche {s} end",
            "author": {"handle": s, "name": s, "followers": 10},
            "url": f"https://x.test/{s}",
            "hashtags": [s],
        }
        lines.append(json.dumps(obj, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    lines.append(b'{"uid": "bad", "text": "maison brioche \xff\xfe not utf-8"}')
    lines.append(b"{not json")
    lines.append(json.dumps({"uid": "big", "text": "maison brioche " + "B" * 100_000}).encode())
    path.write_bytes(b"\n".join(lines) + b"\n")
    return len(HOSTILE) + 1


async def test_hostile_jsonl_file_through_the_real_desk(
    kit: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "hostile.jsonl"
    good = write_jsonl(path)
    settings = Settings(
        desk=DeskSettings(name="hostile", timezone="Europe/Paris"),
        topics=(TopicSettings(id="brioche", name="Maison Brioche", keywords=("maison brioche",)),),
        sources=(JsonlSourceSettings(type="jsonl", id="file", path=str(path)),),
        ui=UiSettings(refresh_hz=20),
    )
    desk = Desk(settings, inline_scoring=True)
    app = WallApp(settings, desk)
    calls = record_actions(app, monkeypatch)
    async with app.run_test(size=(120, 40)) as pilot:
        feed = app.query_one(FeedView)
        for _ in range(200):  # bounded: the file is read, scored and flushed in a few ticks
            await pilot.pause(0.05)
            if len(feed.buffer) == good and desk.finished:
                break
        assert len(feed.buffer) == good
        app.wall.flush()
        await pilot.pause()
        await pilot.press("home")
        lines = feed.rendered_lines()
        assert any(f"maison brioche {QUIT} end" in line for line in lines)
        assert any("maison brioche [/foo] end" in line for line in lines)
        text = kit.screen_text(app)
        assert "2 malformed" in text  # the invalid UTF-8 line and the broken JSON line, counted and skipped
        for ch in FORBIDDEN:
            assert ch not in text, repr(ch)
        assert_no_click_meta(feed)
        assert await click_the_markup(app, pilot) >= 2
        assert app.is_running
    assert calls == []
