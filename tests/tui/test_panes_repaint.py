"""A pane is repainted only when what it draws changed: a new snapshot with the same figures costs the
wall no repaint, a changed figure (or a changed style alone) is painted, and what is painted is the
drawing of the snapshot the pane holds."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from textual.content import Content

from tests.fake_desk import open_wall
from tocsin.tui.app import WallApp
from tocsin.tui.panes.base import drawn_key
from tocsin.tui.panes.sentiment import SentimentPane
from tocsin.tui.panes.volume import VolumePane

SIZE = (120, 40)
MANUAL = {"refresh_hz": 0.001}  # the test calls show itself


def test_a_style_alone_makes_another_drawing() -> None:
    assert drawn_key(Content.styled("12", "$error")) != drawn_key(Content.styled("12", "$success"))
    assert drawn_key(Content.styled("12", "$error")) == drawn_key(Content.styled("12", "$error"))


async def test_only_panes_whose_figures_changed_are_repainted(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await open_wall(pilot, app)
        volume, sentiment = app.query_one(VolumePane), app.query_one(SentimentPane)
        topic = replace(kit.topic(), rate_per_min=40.0)
        first = desk.publish(topic)
        volume.show(first)
        sentiment.show(first)
        await pilot.pause()
        paints = {"volume": 0, "sentiment": 0}
        for name, pane in (("volume", volume), ("sentiment", sentiment)):
            render = pane.render

            def counted(render: Any = render, name: str = name) -> Any:
                paints[name] += 1
                return render()

            pane.render = counted  # type: ignore[method-assign]

        same = desk.publish(replace(topic))  # a new snapshot object, the same figures
        assert same is not first
        assert not volume.show(same) and not sentiment.show(same)
        await pilot.pause()
        assert paints == {"volume": 0, "sentiment": 0}
        assert volume.snapshot is same  # kept, for what the pane is asked next

        faster = desk.publish(replace(topic, rate_per_min=400.0))
        assert volume.show(faster) and not sentiment.show(faster)
        await pilot.pause()
        assert paints == {"volume": 1, "sentiment": 0}
        assert "400.0/min" in kit.screen_text(app)

        # two snapshots before one paint, the second back to what is on screen: the screen shows it
        assert volume.show(desk.publish(replace(topic, rate_per_min=900.0)))
        assert not volume.show(desk.publish(replace(topic, rate_per_min=400.0)))
        await pilot.pause()
        assert "400.0/min" in kit.screen_text(app) and "900.0/min" not in kit.screen_text(app)

        volume.unique = True  # a switch of the pane's own repaints it, drawn afresh
        await pilot.pause()
        assert paints["volume"] == 3 and "unique voices" in kit.screen_text(app)
