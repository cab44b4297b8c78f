"""The wall driven by a fake Desk through Pilot: keys, tail mode, filter, flush, keymap, lifecycle.

Flushes are called by the test (refresh_hz is set so low that the timer never fires during a test),
so every step is deterministic; one test checks the timer itself drives the panes.
"""

from __future__ import annotations

from typing import Any

from tocsin.scoring.snapshot import Behind
from tocsin.tui.app import WallApp
from tocsin.tui.panes.feed import FeedView
from tocsin.tui.panes.header import DeskHeader
from tocsin.tui.panes.sentiment import SentimentPane
from tocsin.tui.panes.volume import VolumePane
from tocsin.tui.screens.help import HelpScreen

SIZE = (120, 40)
MANUAL = {"refresh_hz": 0.001}  # the flush timer never fires within a test; the test flushes


async def ready(app: WallApp, pilot: Any) -> None:
    """Wait (by pauses, not by time) until the desk is started and the first flush is done."""
    for _ in range(50):
        await pilot.pause()
        if app.desk.started and app._desk_running:  # type: ignore[attr-defined]
            return
    raise AssertionError("the desk never started")


async def flush(app: WallApp, pilot: Any) -> None:
    app.wall.flush()
    await pilot.pause()


def header_text(app: WallApp) -> str:
    return app.query_one(DeskHeader).render().plain


async def test_desk_starts_after_first_frame_and_stops_on_quit(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        assert desk.stopped == 0
        await pilot.press("q")
        await pilot.pause()
        assert desk.stopped == 1
    assert app.return_code == 0
    assert desk.stopped == 1  # once, even though unmount also asks


async def test_flush_reads_desk_once_and_updates_every_pane(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        first = desk.publish(kit.topic(level="calm", rate=2.0, baseline=2.5, reasons=()))
        kit.tell_story(desk)
        reads, feeds = desk.snapshot_reads, len(desk.feed_reads)
        await flush(app, pilot)
        assert desk.snapshot_reads == reads + 1
        assert len(desk.feed_reads) == feeds + 1
        assert app.query_one(VolumePane).snapshot is first
        assert app.query_one(SentimentPane).snapshot is first
        assert "CALM" in header_text(app) and "2.0/min" in header_text(app)
        assert len(app.query_one(FeedView).buffer) == len(kit.STORY)

        second = desk.publish(kit.topic(level="crisis", rate=88.0))
        await flush(app, pilot)
        assert app.query_one(VolumePane).snapshot is second
        text = kit.screen_text(app)
        assert "CRISIS" in text and "88.0/min" in text and "volume 14x the usual" in text
        # The feed asks only for what it has not seen.
        assert desk.feed_reads[-1] == len(kit.STORY)


async def test_a_desk_falling_behind_says_so_first_in_the_header(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(app, pilot)
        desk.publish(kit.topic(level="alert"), behind=Behind(mentions=11_025, seconds=275.0))
        await flush(app, pilot)
        second_line = header_text(app).splitlines()[1]  # under the title, before the levels it qualifies
        assert "behind: 11,025 mentions waiting, figures 5 min old" in second_line
        desk.publish(kit.topic(level="alert"))
        await flush(app, pilot)
        assert "behind" not in header_text(app)


async def test_header_shows_desk_clock_in_desk_time_zone(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))  # Europe/Paris; T0 is 09:30 UTC
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        assert "Sat 21 Nov 10:30:00 CET" in header_text(app)
        desk.clock.advance(95)
        await flush(app, pilot)
        assert "10:31:35 CET" in header_text(app)


async def test_unknown_time_zone_falls_back_to_utc_and_says_so(kit: Any, monkeypatch: Any) -> None:
    from dataclasses import replace

    settings = kit.settings(**MANUAL)
    settings = replace(settings, desk=replace(settings.desk, timezone="Mars/Olympus_Mons"))
    desk = kit.FakeDesk(settings)
    app = WallApp(settings, desk)
    said: list[str] = []
    monkeypatch.setattr(app, "notify", lambda message, **kw: said.append(message))
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        assert "09:30:00 UTC" in header_text(app)
    assert any("Mars/Olympus_Mons" in m for m in said)


async def test_flush_timer_drives_the_panes(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(refresh_hz=50))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        snap = desk.publish(kit.topic())
        desk.push("a mention the timer must bring in")
        for _ in range(100):  # bounded: the 50 Hz timer fires within a few of these
            await pilot.pause(0.02)
            if app.query_one(VolumePane).snapshot is snap and len(app.query_one(FeedView).buffer) == 1:
                break
        else:
            raise AssertionError("the flush timer did not update the panes")


async def test_help_lists_bindings_and_closes_with_escape(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = kit.screen_text(app)
        for needle in ("Help", "Quit", "Filter", "Follow", "[filter]", "[feed-follow]", "end / G"):
            assert needle in text, needle
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_panes_wait_while_help_is_open(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        first = desk.publish(kit.topic(level="calm"))
        await flush(app, pilot)
        await pilot.press("question_mark")
        second = desk.publish(kit.topic(level="alert"))
        desk.push("arrived while help was open")
        await flush(app, pilot)
        assert app.query_one(VolumePane).snapshot is first  # not redrawn under the modal
        assert len(app.query_one(FeedView).buffer) == 1  # but the mention is kept
        await pilot.press("escape")
        await flush(app, pilot)
        assert app.query_one(VolumePane).snapshot is second
        assert "arrived while help was open" in kit.screen_text(app)


async def test_hidden_pane_is_skipped_and_catches_up_when_shown(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        first = desk.publish(kit.topic(level="calm"))
        await flush(app, pilot)
        await pilot.press("2")
        sentiment = app.query_one(SentimentPane)
        assert not sentiment.display
        second = desk.publish(kit.topic(level="alert"))
        await flush(app, pilot)
        assert sentiment.snapshot is first
        assert app.query_one(VolumePane).snapshot is second
        await pilot.press("2")
        await flush(app, pilot)
        assert sentiment.snapshot is second
        await pilot.press("1", "2", "4")  # gauges and terms hidden: the feed takes the room
        assert not app.query_one("#panes").display


async def test_tail_pauses_on_scroll_up_counts_waiting_and_resumes_with_end(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        for i in range(100):
            desk.push(f"mention number {i}")
        await flush(app, pilot)
        feed = app.query_one(FeedView)
        assert feed.tail and feed.scroll_y == feed.max_scroll_y > 0
        assert feed.rendered_lines()[-1].endswith("mention number 99")

        await pilot.press("up", "up")
        assert not feed.tail
        top_before = feed.rendered_lines()[0]
        for i in range(100, 105):
            desk.push(f"mention number {i}")
        await flush(app, pilot)
        assert feed.waiting == 5
        assert feed.rendered_lines()[0] == top_before  # the lines being read do not move
        desk.push("mention number 105")
        desk.push("mention number 106")
        await flush(app, pilot)
        assert feed.waiting == 7
        assert "paused · 7 new below" in kit.screen_text(app)

        await pilot.press("end")
        assert feed.tail and feed.waiting == 0
        assert feed.rendered_lines()[-1].endswith("mention number 106")
        assert "following" in kit.screen_text(app)

        await pilot.press("pageup")
        assert not feed.tail
        desk.push("mention number 107")
        await flush(app, pilot)
        assert feed.waiting == 1
        await pilot.press("G")
        assert feed.tail and feed.rendered_lines()[-1].endswith("mention number 107")


async def test_scrolling_back_to_the_bottom_resumes_the_tail(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        for i in range(60):
            desk.push(f"line {i}")
        await flush(app, pilot)
        feed = app.query_one(FeedView)
        await pilot.press("up")
        assert not feed.tail
        await pilot.press("down")
        assert feed.tail


async def test_paused_view_holds_while_old_mentions_fall_off(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        feed = app.query_one(FeedView)
        feed.buffer.__init__(capacity=200)  # a small ring so eviction happens in a test
        for i in range(200):
            desk.push(f"line {i}")
        await flush(app, pilot)
        await pilot.press("pageup", "pageup")
        top_before = feed.rendered_lines()[0]
        for i in range(200, 230):
            desk.push(f"line {i}")
        await flush(app, pilot)
        assert len(feed.buffer) == 200  # bounded
        assert feed.rendered_lines()[0] == top_before
        assert feed.waiting == 30


async def test_filter_is_case_and_accent_insensitive_over_text_handle_and_hashtags(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        kit.tell_story(desk, times=3)
        await flush(app, pilot)
        feed = app.query_one(FeedView)
        total = len(feed.buffer)

        await pilot.press("slash")
        box = app.query_one("#filter")
        assert box.display and box.has_focus
        await pilot.press(*"BRULEE")
        lines = feed.rendered_lines()
        assert len(lines) == 3 and all("Crème brûlée" in line for line in lines)

        await pilot.press(*["backspace"] * 6, "@", *"angry")
        assert len(feed.buffer) == 3
        assert all("@angry_baker" in line for line in feed.rendered_lines())

        await pilot.press(*["backspace"] * 6, "#", *"briochegate")
        shown = [feed.buffer.entry(i).item.mention for i in range(len(feed.buffer))]
        assert len(shown) == 3 * 4 and all("briochegate" in m.hashtags for m in shown)

        await pilot.press("enter")  # keeps the filter, back to the feed
        assert feed.has_focus and len(feed.buffer) < total
        assert "filter" in kit.screen_text(app)
        # New mentions are filtered as they arrive.
        desk.push("nothing to do with it")
        desk.push("more #BriocheGate drama", hashtags=("briochegate",))
        before = len(feed.buffer)
        await flush(app, pilot)
        assert len(feed.buffer) == before + 1

        await pilot.press("escape")
        assert not box.display and feed.has_focus
        assert len(feed.buffer) == total + 2


async def test_q_types_into_the_filter_instead_of_quitting(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await pilot.press("slash", "q")
        assert app.is_running and app.query_one("#filter").value == "q"
        assert desk.stopped == 0


async def test_keymap_remaps_by_binding_id(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(keymap={"help": "f1", "filter": "f"}, **MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await pilot.press("question_mark")
        assert not isinstance(app.screen, HelpScreen)  # the old key is free
        await pilot.press("f")
        assert app.query_one("#filter").has_focus
        await pilot.press("escape", "f1")
        assert isinstance(app.screen, HelpScreen)
        text = kit.screen_text(app)
        assert "F1" in text or "f1" in text
        assert "/ " not in [line.strip()[:2] for line in text.splitlines()]


async def test_level_changes_go_to_one_header_line_with_a_history_not_to_toasts(
    kit: Any, monkeypatch: Any
) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    toasts: list[tuple[str, dict[str, Any]]] = []
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        monkeypatch.setattr(app, "notify", lambda message, **kw: toasts.append((message, kw)))
        desk.publish(kit.topic(level="calm", reasons=()))
        await flush(app, pilot)
        assert "L: history" not in header_text(app)  # the first figures are not news
        desk.clock.advance(60)
        desk.publish(kit.topic(level="alert", reasons=("volume 6.2x the usual", "[/oops] #tag")))
        await flush(app, pilot)
        news = header_text(app).splitlines()[-1]
        assert "↑ 10:31 Maison Brioche  calm → ◆ ALERT" in news and "[/oops] #tag" in news
        desk.clock.advance(60)
        desk.publish(kit.topic(level="crisis"))
        await flush(app, pilot)
        news = header_text(app).splitlines()[-1]
        assert "alert → ■ CRISIS" in news and "L: 1 earlier change" in news  # the old news is gone
        assert toasts == []  # nothing stacks over the wall
        await pilot.press("L")
        await pilot.pause()
        history = kit.screen_text(app)
        assert history.index("alert → ■ CRISIS") < history.index("calm → ◆ ALERT")
        await pilot.press("escape")
        desk.clock.advance(16 * 60)  # news no more: the topic line keeps the level
        await flush(app, pilot)
        assert "CRISIS" in header_text(app) and "earlier change" not in header_text(app)


async def test_toasts_never_stack_and_are_short(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        app.notify("first", timeout=60)
        app.notify("second", severity="error", timeout=60)
        await pilot.pause()
        shown = list(app._notifications)
        assert [n.message for n in shown] == ["second"]
        assert shown[0].timeout <= 8


async def test_desk_that_cannot_start_leaves_the_wall_up(kit: Any, monkeypatch: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))

    async def broken() -> None:
        raise OSError("[/boom] no route to host")

    desk.start = broken
    app = WallApp(desk.settings, desk)
    said: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(app, "notify", lambda message, **kw: said.append((message, kw)))
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(10):
            await pilot.pause()
        assert app.is_running
        await flush(app, pilot)  # nothing to read, nothing breaks
        await pilot.press("q")
    assert any("could not start" in m and kw.get("markup") is False for m, kw in said)


async def test_layout_goes_compact_on_a_small_terminal(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        desk.publish(kit.topic())
        kit.tell_story(desk, times=3)
        await flush(app, pilot)
        assert app.query_one(VolumePane).compact
        feed = app.query_one(FeedView)
        assert feed.size.height >= 12  # the feed keeps most of the screen
        assert len(feed.rendered_lines()) >= 10
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        await flush(app, pilot)
        assert not app.query_one(VolumePane).compact


async def test_duration_quits_on_its_own(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk, duration=1.5)
    async with app.run_test(size=SIZE) as pilot:
        # no `ready` here: on a loaded machine the duration may run out before a pause sees the desk
        for _ in range(500):
            await pilot.pause(0.02)
            if not app.is_running:
                break
        assert not app.is_running  # it quit on its own
    assert desk.started and desk.stopped == 1 and app.return_code == 0


async def test_quitting_before_the_first_frame_leaves_the_desk_alone(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))

    class QuitAtOnce(WallApp):
        def on_mount(self) -> None:
            super().on_mount()
            self.exit(0)

    app = QuitAtOnce(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
    assert app.return_code == 0
    assert not desk.started and desk.stopped == 0  # a desk that never started is not stopped


async def test_unknown_keymap_id_is_reported(kit: Any, monkeypatch: Any) -> None:
    desk = kit.FakeDesk(kit.settings(keymap={"filtr": "f", "help": "f1"}, **MANUAL))
    app = WallApp(desk.settings, desk)
    said: list[str] = []
    monkeypatch.setattr(app, "notify", lambda message, **kw: said.append(message))
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
    assert len(said) == 1 and "filtr" in said[0] and "help" not in said[0].split("(known")[0]
    assert "filter" in said[0].split("(known")[1]
