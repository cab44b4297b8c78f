"""Text charts for the panes: sparklines and bars made of block characters.

Pure functions over numbers (never mention text), so they are cheap to test and to call once a flush.
"""

from __future__ import annotations

from collections.abc import Sequence

BLOCKS = " ▁▂▃▄▅▆▇█"
"""Eighths of a cell, from empty to full."""
FULL, EMPTY = "█", "░"


def resample(values: Sequence[float], width: int) -> list[float]:
    """Fit ``values`` (oldest first) into ``width`` columns spanning the same time: sums of equal groups
    when there are too many (so a column still counts mentions), each value stretched over several
    columns when there are too few (so the left edge is still the oldest value)."""
    if width <= 0:
        return []
    n = len(values)
    if n == 0:
        return [0.0] * width
    if n <= width:
        return [float(values[col * n // width]) for col in range(width)]
    out: list[float] = []
    for col in range(width):
        lo, hi = col * n // width, (col + 1) * n // width
        out.append(float(sum(values[lo:hi])))
    return out


def sparkline(values: Sequence[float], width: int, rows: int = 1, top: float | None = None) -> list[str]:
    """A sparkline ``rows`` lines tall (top line first), ``width`` cells wide.

    Scaled to ``top`` (default the largest value). Any non-zero value shows at least one eighth, so a
    single mention in a quiet hour is visible; zero is a blank cell.
    """
    columns = resample(values, width)
    if not columns or rows <= 0:
        return [""] * max(rows, 0)
    peak = top if top is not None else max(columns)
    levels = rows * 8
    heights: list[int] = []
    for v in columns:
        if v <= 0 or peak <= 0:
            heights.append(0)
        else:
            heights.append(max(1, min(levels, round(v / peak * levels))))
    lines: list[str] = []
    for row in range(rows - 1, -1, -1):  # top row first
        base = row * 8
        lines.append("".join(BLOCKS[max(0, min(8, h - base))] for h in heights))
    return lines


def bar(fraction: float, width: int) -> tuple[str, str]:
    """A horizontal bar: (filled part, empty part), together ``width`` cells; eighths at the edge."""
    if width <= 0:
        return "", ""
    f = min(1.0, max(0.0, fraction))
    eighths = round(f * width * 8)
    full, part = divmod(eighths, 8)
    filled = FULL * full + ("▏▎▍▌▋▊▉"[part - 1] if part else "")
    return filled, EMPTY * (width - len(filled))


def stacked(fractions: Sequence[float], width: int) -> list[int]:
    """Split ``width`` cells between shares (largest remainder), e.g. for a neg/neu/pos bar."""
    if width <= 0 or not fractions:
        return [0] * len(fractions)
    total = sum(max(0.0, f) for f in fractions)
    if total <= 0:
        return [0] * len(fractions)
    exact = [max(0.0, f) / total * width for f in fractions]
    cells = [int(e) for e in exact]
    order = sorted(range(len(exact)), key=lambda i: exact[i] - cells[i], reverse=True)
    for i in order[: width - sum(cells)]:
        cells[i] += 1
    return cells
