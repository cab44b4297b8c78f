"""Surging hashtags and words: per topic, the terms growing fastest against their own usual use, with
their recent count against the usual one and a surge marker (▲ ▲▲ ▲▲▲ as the surge grows)."""

from __future__ import annotations

from collections.abc import Sequence

from textual.content import Content

from tocsin.config.i18n import _, number
from tocsin.scoring.snapshot import TermRow, TopicSnapshot
from tocsin.tui import safe_text
from tocsin.tui.panes.base import SnapshotPane
from tocsin.tui.panes.volume import VolumePane

SURGE_STEPS: tuple[tuple[float, str, str], ...] = (
    (10.0, "▲▲▲", "bold $text-error"),
    (6.0, "▲▲ ", "bold $text-warning"),
    (0.0, "▲  ", "$text-warning"),
)
"""(surge from, marker, style): the pipeline only ranks terms that surge (z ≥ 3)."""
TERM_CHARS = 40


def marker(surge: float) -> tuple[str, str]:
    """The surge marker and its style."""
    for floor, mark, style in SURGE_STEPS:
        if surge >= floor:
            return mark, style
    return SURGE_STEPS[-1][1:]


def term_label(row: TermRow) -> str:
    """``#hashtag`` or the word, cleaned (terms come from mention text: hostile)."""
    term = safe_text.clean(row.term, TERM_CHARS)
    return f"#{term}" if row.kind == "hashtag" else term


def _count(n: float) -> str:
    """Whole uses once there are a few (the counts are decayed, so fractional); tenths below."""
    if n >= 1.5:
        return safe_text.number_str(round(n))
    return number(n, 1).removesuffix(".0").removesuffix(",0")


def term_line(row: TermRow, width: int) -> Content:
    """``▲▲ #briochegate      142 vs 3``: the figures right-aligned, the term cut to fit."""
    mark, style = marker(row.surge)
    figures = " " + _("{count} vs {usual}").format(count=_count(row.count), usual=_count(row.usual))
    room = max(4, width - len(mark) - 1 - len(figures))
    term = Content(term_label(row)).truncate(room, ellipsis=True)
    pad = max(0, room - term.cell_length)
    return Content.assemble(
        (mark, style), " ", term.stylize("bold"), " " * pad, (figures, "$foreground-muted")
    ).truncate(width, ellipsis=True)


class TermsPane(SnapshotPane):
    """What the crowd is saying: the top surging terms per topic (``4`` shows or hides it)."""

    ROOMY_LINES = VolumePane.ROOMY_LINES  # as tall as the volume gauge beside it

    def _topic_lines(self, topic: TopicSnapshot, width: int, lines: int, named: bool) -> list[Content]:
        out: list[Content] = []
        if named:
            out.append(safe_text.content(topic.name, "bold $foreground-muted", max_len=width))
        rows: Sequence[TermRow] = topic.terms[: lines - len(out)]
        out.extend(term_line(row, width) for row in rows)
        if not rows:
            out.append(Content.styled(_("nothing surging"), "$foreground-muted italic"))
        return out[:lines]

    def _compact_line(self, topic: TopicSnapshot, width: int, named: bool) -> Content:
        parts: list[Content] = []
        if named:
            parts.append(safe_text.content(topic.name, "bold", max_len=16))
        for row in topic.terms[:6]:
            mark, style = marker(row.surge)
            parts.append(Content.assemble((mark.strip(), style), Content(term_label(row))))
        if not topic.terms:
            parts.append(Content.styled(_("nothing surging"), "$foreground-muted italic"))
        return Content(" ").join(parts).truncate(width, ellipsis=True)

    def draw(self) -> Content:
        snap = self.snapshot
        if snap is None or not snap.topics:
            return Content.styled(_("no terms yet"), "$foreground-muted italic")
        width = max(10, self.content_region.width)
        named = len(snap.topics) > 1
        lines: list[Content] = []
        for topic in snap.topics.values():
            if self.compact:
                lines.append(self._compact_line(topic, width, named))
            else:
                lines.extend(self._topic_lines(topic, width, self.ROOMY_LINES, named))
        return Content("\n").join(lines)
