"""Volume gauges: per topic, the last hour as a sparkline and the current rate against the volume
detector's baseline as a ratio and a bar coloured by the level thresholds, with the detector's score and
its words (the same baseline and ratio as the level's reasons). ``u`` switches the sparkline between raw
mentions and unique voices (distinct authors per bucket): a storm of a few loud accounts looks different
from a crowd."""

from __future__ import annotations

from textual.content import Content
from textual.reactive import reactive

from tocsin.config.i18n import _, ngettext, number
from tocsin.config.reasons import figure, shown
from tocsin.config.settings import LevelSettings
from tocsin.desk.charts import bar, resample, sparkline
from tocsin.scoring.detector import times
from tocsin.scoring.snapshot import TopicSnapshot
from tocsin.tui import safe_text
from tocsin.tui.panes.base import SnapshotPane

SPARK_ROWS = 3
SPARK_MIN_TOP = 5.0
"""Mentions per bucket (per minute) that fill the sparkline's height at the least: a single post in a
quiet hour draws a low bar, not a full-height one."""
RATIO_BAR = 14
NAME_WIDTH = 18


ANOMALY_STYLES: tuple[tuple[float, str], ...] = ((0.9, "bold $text-error"), (0.7, "bold $text-warning"))
"""Anomaly score from which it is coloured (below: muted)."""
ANOMALY_BAR = 10


def anomaly_style(score: float) -> str:
    for floor, style in ANOMALY_STYLES:
        if score >= floor:
            return style
    return "$foreground-muted"


class VolumePane(SnapshotPane):
    """Mentions per minute, per topic, against what is normal at this time."""

    unique: reactive[bool] = reactive(False)
    """Count unique voices (distinct authors per bucket) in the sparkline instead of raw mentions."""

    def watch_unique(self) -> None:
        self.refresh()

    def __init__(self, levels: LevelSettings, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._levels = levels

    ROOMY_LINES = 3 + SPARK_ROWS  # name and gauge, the anomaly, the sparkline rows, the time axis

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
        rate = (f"{number(topic.rate_per_min):>6}/min", "bold")
        base = topic.baseline_per_min
        if base is None:
            learning = _("learning") if short else _("baseline: learning")
            return [rate, (f"  {learning}", "$foreground-muted")]
        parts: list[Content | tuple[str, str] | str] = [rate]
        if not short:
            parts.append(("  " + _("usual {rate}").format(rate=number(base)), "$foreground-muted"))
        ratio = topic.ratio
        if ratio is None:
            return parts
        style = self._ratio_style(ratio)
        parts += [" ", (f"{figure(times(ratio)):>5}", f"bold {style}")]
        if bar_width > 0:
            filled, empty = bar(ratio / (self._levels.crisis_ratio * 1.25), bar_width)
            parts += [" ", (filled, style), (empty, "$foreground-muted 30%")]
        return parts

    def draw(self) -> Content:
        snap = self.snapshot
        if snap is None or not snap.topics:
            return Content.styled(_("no topic figures yet"), "$foreground-muted italic")
        width = max(10, self.content_region.width)
        lines: list[Content] = []
        name_column = 1 + max(len(safe_text.clean(t.name, NAME_WIDTH)) for t in snap.topics.values())
        for topic in snap.topics.values():
            name = safe_text.content(topic.name, "bold", max_len=NAME_WIDTH)
            if self.compact:
                gauge = Content.assemble(*self._gauge(topic, bar_width=0, short=True))
                if topic.anomaly >= ANOMALY_STYLES[-1][0]:  # only when it says something: the line is short
                    gauge = Content.assemble(
                        gauge, (f" ⚡{number(topic.anomaly, 2)}", anomaly_style(topic.anomaly))
                    )
                name_width = min(NAME_WIDTH, name_column)
                spark_w = max(0, width - name_width - gauge.cell_length - 1)
                spark = _spark(self._series(topic), spark_w)[0] if spark_w >= 6 else ""
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
            lines.append(_anomaly_line(topic, width))
            for row in _spark(self._series(topic), width, rows=SPARK_ROWS):
                lines.append(Content.styled(row, "$accent"))
            totals = (
                hour_totals(topic, unique=self.unique),
                hour_totals(topic, unique=self.unique, window=False),
            )
            lines.append(_axis(width, *totals))
        return Content("\n").join(lines)

    def _series(self, topic: TopicSnapshot) -> tuple[int, ...]:
        """The sparkline's series: unique voices when asked and known, else mentions."""
        if self.unique and topic.unique_volume:
            return topic.unique_volume
        return topic.volume


def hour_totals(topic: TopicSnapshot, *, unique: bool = False, window: bool = True) -> str:
    """``480 mentions · 37 authors in the last hour``: both counts over the hour the sparkline shows
    (``TopicSnapshot.mentions`` counts since the start and would not say so); without the window's words
    when not ``window`` (the axis beside them says it)."""
    n = topic.unique_authors
    authors = ngettext("{n} author", "{n} authors", n).format(n=number(n, 0, grouped=True))
    if unique:
        said = _("unique voices · {authors} in the last hour") if window else _("unique voices · {authors}")
        return said.format(authors=authors)
    total = sum(topic.volume)
    mentions = ngettext("{n} mention", "{n} mentions", total).format(n=number(total, 0, grouped=True))
    said = _("{mentions} · {authors} in the last hour") if window else "{mentions} · {authors}"
    return said.format(mentions=mentions, authors=authors)


def _spark(series: tuple[int, ...], width: int, rows: int = 1) -> list[str]:
    """The sparkline scaled to its peak, but to no less than ``SPARK_MIN_TOP`` a bucket (a column that
    sums several buckets counts them all)."""
    columns = resample(series, width)
    per_column = max(1.0, len(series) / width) if width > 0 else 1.0
    top = max(max(columns, default=0.0), SPARK_MIN_TOP * per_column)
    return sparkline(series, width, rows=rows, top=top)


def _anomaly_line(topic: TopicSnapshot, width: int) -> Content:
    """``anomaly 0.93 ▮▮▮▮▮▮▮▮▮  above the usual for a Saturday 14:00`` (the detector's own words)."""
    style = anomaly_style(topic.anomaly)
    parts: list[Content | tuple[str, str] | str] = [
        (_("anomaly") + " ", "$foreground-muted"),
        (number(topic.anomaly, 2), style),
    ]
    surprise = safe_text.content(shown(topic.surprise), style, max_len=200) if topic.surprise else None
    # The detector's words say more than a bar: the bar only where both fit.
    if surprise is None or 14 + ANOMALY_BAR + 2 + surprise.cell_length <= width:
        filled, empty = bar(topic.anomaly, ANOMALY_BAR)
        parts += [" ", (filled, style), (empty, "$foreground-muted 30%")]
    if surprise is not None:
        parts += ["  ", surprise]
    elif topic.anomaly < ANOMALY_STYLES[-1][0]:
        parts.append(("  " + _("nothing unusual"), "$foreground-muted"))
    return Content.assemble(*parts).truncate(width, ellipsis=True)


def _axis(width: int, middle: str, short: str) -> Content:
    """The time axis under a sparkline: an hour ago on the left, now on the right, the hour's totals
    between them (``short``, without "in the last hour", when narrow: the axis beside them says the
    window)."""
    left, right = "-60 min", _("now")
    room = width - len(left) - len(right)
    if room < len(middle) + 2:
        middle = short
    if room < len(middle) + 2:
        middle = ""
    pad = room - len(middle)
    axis = left + " " * (pad // 2) + middle + " " * (pad - pad // 2) + right
    return Content.styled(axis, "$foreground-muted")
