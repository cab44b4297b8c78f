"""Honest figures in the volume pane: the totals say the window they count, and a post or two in a
quiet hour draws a low bar, not a full-height one (issue 12)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tocsin.desk.charts import BLOCKS
from tocsin.tui.panes.volume import _spark, hour_totals


def test_the_totals_count_the_hour_they_say_not_the_running_total(kit: Any) -> None:
    topic = replace(kit.topic(), mentions=9_837, unique_authors=1, volume=(0,) * 58 + (3, 2))
    assert hour_totals(topic) == "5 mentions · 1 author in the last hour"
    assert hour_totals(topic, unique=True) == "unique voices · 1 author in the last hour"
    quiet = replace(topic, unique_authors=0, volume=(0,) * 60)
    assert hour_totals(quiet) == "0 mentions · 0 authors in the last hour"


def test_a_single_post_in_a_quiet_hour_draws_a_low_bar() -> None:
    rows = _spark((0,) * 59 + (1,), 60, rows=3)
    assert rows[0].strip() == "" and rows[1].strip() == ""  # not a full-height column
    assert rows[2][-1] in BLOCKS[1:8]
    storm = _spark(tuple(range(60)), 60, rows=3)
    assert storm[0][-1] == BLOCKS[8]  # a real peak still fills the height


def test_the_floor_scales_with_buckets_summed_into_a_column() -> None:
    # 60 buckets in 20 columns: a column sums three, so the floor is three times as high
    assert _spark((5,) * 60, 20)[0] == _spark((5,) * 60, 60)[0][:20]
