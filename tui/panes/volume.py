"""Volume gauges: per topic, the last hour as a sparkline and the current rate against the baseline
as a ratio and a bar coloured by the level thresholds."""

from __future__ import annotations

from textual.content import Content
from tocsin.config.settings import LevelSettings
from tocsin.scoring.snapshot import TopicSnapshot
from tocsin.tui import safe_text
from tocsin.tui.panes.base import SnapshotPane
from tocsin.tui.panes.charts import bar, sparkline

SPARK_ROWS = 3
RATIO_BAR = 14
NAME_WIDTH = 18


class VolumePane(SnapshotPane):
    """Mentions per minute, per topic, against what is normal at this time."""

    def __init__(self, levels: LevelSettings, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._levels = levels

    ROOMY_LINES = 2 + SPARK_ROWS  # name and gauge, the sparkline rows, the time axis

    def _ratio_style(self, ratio: float) -> str:
        lv = self._levels
        if ratio >= lv.crisis_ratio:
            return "$error"
        if ratio >= lv.alert_ratio:
            return "$warning-darken-2"
        if ratio >= lv.watch_ratio:
            return "$warning"
        return "$success"

    def _gauge(
        self, topic: TopicSnapshot, bar_width: int, short: bool = False
    ) -> list[Content | tuple[str, str] | str]:
        rate = (f"{topic.rate_per_min:6.1f}/min", "bold")
        base = topic.baseline_per_min
        if base is None:
            return [rate, ("  learning" if short else "  baseline: learning", "$foreground-muted")]
        parts: list[Content | tuple[str, str] | str] = [rate]
        if not short:
            parts.append((f"  usual {base:.1f}", "$foreground-muted"))
        if base <= 0:
            return [*parts, ("  (usually silent)", "$foreground-muted")]
        ratio = topic.rate_per_min / base
        style = self._ratio_style(ratio)
        parts += [" ", (f"{ratio:5.1f}×", f"bold {style}")]
        if bar_width > 0:
            filled, empty = bar(ratio / (self._levels.crisis_ratio * 1.25), bar_width)
            parts += [" ", (filled, style), (empty, "$foreground-muted 30%")]
        return parts

    def render(self) -> Content:
        snap = self.snapshot
        if snap is None or not snap.topics:
            return Content.styled("no topic figures yet", "$foreground-muted italic")
        width = max(10, self.content_region.width)
        lines: list[Content] = []
        name_column = 1 + max(len(safe_text.clean(t.name, NAME_WIDTH)) for t in snap.topics.values())
        for topic in snap.topics.values():
            name = safe_text.content(topic.name, "bold", max_len=NAME_WIDTH)
            if self.compact:
                gauge = Content.assemble(*self._gauge(topic, bar_width=0, short=True))
                name_width = min(NAME_WIDTH, name_column)
                spark_w = max(0, width - name_width - gauge.cell_length - 1)
                spark = sparkline(topic.volume, spark_w)[0] if spark_w >= 6 else ""
                name = name.truncate(name_width - 1, ellipsis=True)
                name = name.pad_right(name_width - name.cell_length)
                line = Content.assemble(name, (spark, "$accent"), " ", gauge)
                lines.append(line.truncate(width, ellipsis=True))
                continue
            plain_gauge = Content.assemble(*self._gauge(topic, bar_width=0))
            room = width - name.cell_length - plain_gauge.cell_length - 3
            bar_width = min(RATIO_BAR, room) if room >= 4 else 0
            gauge = Content.assemble(*self._gauge(topic, bar_width=bar_width))
            pad = max(1, width - name.cell_length - gauge.cell_length)
            lines.append(Content.assemble(name, " " * pad, gauge).truncate(width, ellipsis=True))
            for row in sparkline(topic.volume, width, rows=SPARK_ROWS):
                lines.append(Content.styled(row, "$accent"))
            totals = f"{topic.mentions:,} mentions · {topic.unique_authors:,} authors in the hour"
            lines.append(_axis(width, totals))
        return Content("\n").join(lines)


def _axis(width: int, middle: str) -> Content:
    """The time axis under a sparkline: an hour ago on the left, now on the right."""
    left, right = "-60 min", "now"
    room = width - len(left) - len(right)
    if room < len(middle) + 2:
        middle = ""
    pad = room - len(middle)
    axis = left + " " * (pad // 2) + middle + " " * (pad - pad // 2) + right
    return Content.styled(axis, "$foreground-muted")
