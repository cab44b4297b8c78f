"""Surging terms and copy-paste waves: what they say, the surge and bot marks, the keyed diff of the
waves table, hostile text shown literally, and the 4 key."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from tests.fake_desk import open_wall
from tocsin.scoring.snapshot import ClusterRow, TermRow
from tocsin.tui.app import WallApp
from tocsin.tui.panes.clusters import ClustersPane
from tocsin.tui.panes.terms import TermsPane, marker, term_line

SIZE = (120, 40)
MANUAL = {"refresh_hz": 0.001}
HOSTILE = "[@click=app.quit]boom[/] [/foo] \x1b[2J\u202egnp"


def wave(cid: int, size: int, kit: Any, **kw: Any) -> ClusterRow:
    base: dict[str, Any] = {
        "id": cid,
        "size": size,
        "authors": size - 2,
        "first_seen": kit.T0 - timedelta(minutes=20),  # 10:10 in Paris
        "last_seen": kit.T0,
        "text": f"Boycott Maison Brioche until they answer! wave {cid}",
        "bot_mean": 0.2,
    }
    base.update(kw)
    return ClusterRow(**base)


def test_surge_markers_grow_with_the_surge() -> None:
    assert marker(3.2)[0].strip() == "▲"
    assert marker(6.0)[0].strip() == "▲▲"
    assert marker(14.0)[0].strip() == "▲▲▲"


def test_term_line_shows_count_against_usual_and_cuts_the_term_to_fit() -> None:
    row = TermRow("briochegate", "hashtag", count=142.0, usual=3.1, surge=12.4)
    assert term_line(row, 40).plain == "▲▲▲ #briochegate" + " " * 15 + " 142 vs 3"
    narrow = term_line(row, 22).plain
    assert len(narrow) == 22 and narrow.endswith(" 142 vs 3") and "#brioche…" in narrow
    word = TermRow("margarine", "word", count=9.4, usual=0.25, surge=5.0)
    assert term_line(word, 30).plain.split() == ["▲", "margarine", "9", "vs", "0.2"]


async def test_terms_pane_on_the_wall(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await open_wall(pilot, app)
        terms = (
            TermRow("briochegate", "hashtag", 142.0, 3.1, 12.4),
            TermRow(HOSTILE, "word", 40.0, 1.2, 7.1),
        )
        desk.publish(replace(kit.topic(), terms=terms))
        app.wall.flush()
        await pilot.pause()
        pane = app.query_one(TermsPane)
        lines = pane.render().plain.splitlines()
        assert lines[0].startswith("▲▲▲ #briochegate") and lines[0].endswith("142 vs 3")
        assert lines[1].startswith("▲▲  [@click=app.qui…")  # literally, cut to the pane
        assert "\x1b" not in lines[1] and "\u202e" not in lines[1]
        assert app.is_running

        desk.publish(kit.topic())  # nothing surging
        app.wall.flush()
        assert "nothing surging" in pane.render().plain


async def test_waves_table_marks_bot_waves_and_diffs_by_key(kit: Any, monkeypatch: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await open_wall(pilot, app)
        pane = app.query_one(ClustersPane)
        table = pane.rows.table
        calls: list[str] = []
        for name in ("add_row", "remove_row", "update_cell", "sort"):
            original = getattr(table, name)
            monkeypatch.setattr(
                table, name, lambda *a, _n=name, _o=original, **k: (calls.append(_n), _o(*a, **k))[1]
            )
        bots = wave(7, 48, kit, bot_mean=0.74)
        crowd = wave(9, 6, kit, text=HOSTILE)
        desk.publish(replace(kit.topic(), clusters=(bots, crowd), copy_paste_share=0.18))
        app.wall.flush()
        await pilot.pause()
        assert calls == ["add_row", "add_row"]
        first = [pane.rows.cell(pane.rows.keys[0], c).plain for c in ("size", "authors", "first", "bot")]
        assert first == ["48", "46", "10:10", "74% ⚠"]  # local time (Paris), the bot wave marked
        assert pane.rows.cell(pane.rows.keys[1], "bot").plain == "20%"
        assert pane.rows.cell(pane.rows.keys[1], "text").plain.startswith("[@click=app.quit]boom[/] [/foo]")
        assert "18% of recent mentions are copies" in kit.screen_text(app)

        calls.clear()
        desk.publish(replace(kit.topic(), clusters=(replace(bots, size=52, authors=50), crowd)))
        app.wall.flush()
        assert calls == ["update_cell", "update_cell"]  # size and accounts of one wave

        calls.clear()
        grown = replace(crowd, size=80)
        desk.publish(replace(kit.topic(), clusters=(grown, replace(bots, size=52, authors=50))))
        app.wall.flush()
        assert calls == ["update_cell", "sort"]
        assert [k.split("\0")[1] for k in pane.rows.keys] == ["9", "7"]


async def test_key_4_hides_and_shows_terms_and_waves_together(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await open_wall(pilot, app)
        terms, waves = app.query_one(TermsPane), app.query_one(ClustersPane)
        assert terms.display and waves.display
        await pilot.press("4")
        assert not terms.display and not waves.display
        before = terms.snapshot
        desk.publish(replace(kit.topic(), terms=(TermRow("new", "word", 9, 1, 4),)))
        app.wall.flush()
        assert terms.snapshot is before  # hidden panes are skipped
        await pilot.press("4")
        assert terms.display and waves.display
        assert "new" in terms.render().plain


async def test_small_terminal_starts_with_the_feed_and_brings_panes_back_on_keys(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_wall(pilot, app)
        desk.publish(replace(kit.topic(), clusters=(wave(7, 48, kit),)))
        app.wall.flush()
        await pilot.pause()
        terms, waves = app.query_one(TermsPane), app.query_one(ClustersPane)
        assert not terms.display and not waves.display
        await pilot.press("4")
        await pilot.pause()
        assert terms.display and waves.display
        assert waves.rows.keys and "Copy-paste waves" in kit.screen_text(app)
        await pilot.press("4")
        assert not terms.display and not waves.display
