"""The footer shows every key it lists on a 120-column wall: at 3 a.m. nobody opens help to find Ack."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Any

from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from tocsin.tui.app import WallApp
from tocsin.tui.panes.incidents import IncidentsPane

from .test_app import MANUAL, SIZE, ready


async def test_every_shown_key_fits_a_120_column_footer(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        footer = app.query_one(Footer)
        keys = {k.description: k.region for k in footer.query(FooterKey)}
        for wanted in ("Escalate", "Ack", "Assign", "Response", "Note", "Pin", "State", "Correct", "Review"):
            assert wanted in keys
        spans = sorted((r.x, r.right) for r in keys.values())
        assert all(right <= SIZE[0] for _, right in spans), keys
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in pairwise(spans)), keys


async def test_the_incidents_in_focus_show_the_checklist_key(tmp_path: Path, kit: Any) -> None:
    from ._incident_wall import build, settle

    app, _desk, session = build(tmp_path, kit)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await session.open_incident("brioche", "sev2", "Mould photo")
        await session.poll()
        await settle(app, pilot)
        app.query_one(IncidentsPane).focus()
        await settle(app, pilot)
        keys = {k.description: k.region for k in app.query_one(Footer).query(FooterKey)}
        assert "Checklist" in keys and "Review" in keys
        assert all(r.right <= SIZE[0] for r in keys.values()), keys
