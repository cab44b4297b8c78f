"""Sentiment: per topic, the negative / neutral / positive shares over the sentiment window as bars,
and the trend of the negative share over the last hour as a sparkline."""

from __future__ import annotations

from textual.content import Content

from tocsin.config.i18n import N_, _, number
from tocsin.desk.charts import bar, sparkline
from tocsin.desk.palette import SENTIMENT_SIGN, SENTIMENT_STYLE
from tocsin.scoring.snapshot import TopicSnapshot
from tocsin.tui import safe_text
from tocsin.tui.panes.base import SnapshotPane

LABELS = (("negative", N_("neg")), ("neutral", N_("neu")), ("positive", N_("pos")))
"""(label, its short name: English, marked, shown in the desk's language — three letters in both)."""


class SentimentPane(SnapshotPane):
    """How the conversation feels, per topic."""

    ROOMY_LINES = 5  # name, three bars, the trend

    def draw(self) -> Content:
        snap = self.snapshot
        if snap is None or not snap.topics:
            return Content.styled(_("no topic figures yet"), "$foreground-muted italic")
        width = max(12, self.content_region.width)
        lines: list[Content] = []
        for topic in snap.topics.values():
            if self.compact:
                lines.append(_compact_line(topic, width))
            else:
                lines.extend(_wall_lines(topic, width))
        return Content("\n").join(lines)


def _shares(topic: TopicSnapshot) -> dict[str, float] | None:
    shares = {label: float(topic.sentiment.get(label, 0.0)) for label, _short in LABELS}
    return shares if sum(shares.values()) > 0 else None


def _trend(topic: TopicSnapshot, width: int) -> str:
    # Scaled to 100 %, not to the peak: a flat 20 % must not look like a wall of red.
    return sparkline(topic.negative_trend, width, top=1.0)[0] if width > 0 else ""


def _wall_lines(topic: TopicSnapshot, width: int) -> list[Content]:
    lines = [safe_text.content(topic.name, "bold", max_len=width)]
    shares = _shares(topic)
    bar_width = max(4, width - 10)
    for label, short in LABELS:
        style = SENTIMENT_STYLE[label]
        short = _(short)
        if shares is None:
            lines.append(Content.styled(f"{short}  –", "$foreground-muted"))
            continue
        filled, empty = bar(shares[label], bar_width)
        lines.append(
            Content.assemble(
                (f"{short} ", style),
                (filled, style),
                (empty, "$foreground-muted 30%"),
                (f" {number(shares[label] * 100, 0):>3} %", style),
            )
        )
    label = _("trend") + " "
    trend_width = max(0, width - len(label))  # after the label
    trend = _trend(topic, trend_width)
    lines.append(Content.assemble((label, "$foreground-muted"), (trend, "$text-error")))
    return lines


def _compact_line(topic: TopicSnapshot, width: int) -> Content:
    shares = _shares(topic)
    if shares is None:
        return Content.styled(_("no scored mentions yet"), "$foreground-muted")
    parts: list[tuple[str, str] | str] = []
    for label, _short in LABELS:
        parts += [(f"{SENTIMENT_SIGN[label]}{shares[label] * 100:.0f}", SENTIMENT_STYLE[label]), " "]
    parts.append(("% ", "$foreground-muted"))
    head = Content.assemble(*parts)
    trend_width = width - head.cell_length
    return Content.assemble(head, (_trend(topic, trend_width), "$text-error")) if trend_width >= 6 else head
