"""Sparklines and bars."""

from __future__ import annotations

from tocsin.desk.charts import bar, resample, sparkline, stacked


def test_resample_sums_when_squeezing_and_stretches_when_widening() -> None:
    assert resample([1, 2, 3, 4], 2) == [3.0, 7.0]
    assert resample([1, 2], 4) == [1.0, 1.0, 2.0, 2.0]  # the oldest stays at the left edge
    assert resample([], 3) == [0.0, 0.0, 0.0]
    assert resample([5], 0) == []
    assert sum(resample(list(range(60)), 7)) == sum(range(60))


def test_sparkline_scales_to_the_peak_and_shows_any_activity() -> None:
    assert sparkline([0, 1, 8], 3) == [" ▁█"]
    assert sparkline([0, 1, 100], 3) == [" ▁█"]  # one mention in a quiet hour is still visible
    assert sparkline([0, 0, 0], 3) == ["   "]


def test_tall_sparkline_stacks_rows() -> None:
    assert sparkline([0, 8, 16], 3, rows=2) == ["  █", " ██"]


def test_sparkline_against_a_fixed_top() -> None:
    assert sparkline([0.5], 1, top=1.0) == ["▄"]


def test_bar_has_eighths_at_the_edge() -> None:
    assert bar(0.5, 10) == ("█████", "░░░░░")
    filled, empty = bar(0.33, 10)
    assert filled == "███▎" and len(filled) + len(empty) == 10
    assert bar(2.0, 4) == ("████", "")
    assert bar(-1, 4) == ("", "░░░░")


def test_stacked_shares_fill_the_width_exactly() -> None:
    assert stacked([0.61, 0.30, 0.09], 20) == [12, 6, 2]
    assert sum(stacked([1, 1, 1], 10)) == 10
    assert stacked([0, 0], 5) == [0, 0]
