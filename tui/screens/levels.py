"""Level changes on the wall: one line under the header for the latest, and a screen with them all.

A toast per change used to stack up and cover the feed and the level line, and went stale (the header
said CRISIS while a toast still said calm → watch). The latest change now has one line of its own while
it is news (``NEWS_FOR``), and ``L`` lists every change of the session, newest first.
Topic names and reasons are hostile text (reasons quote hashtags and handles): through safe_text.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from tocsin.config.i18n import N_, _, ngettext
from tocsin.config.reasons import level_name, shown
from tocsin.config.settings import LEVELS
from tocsin.desk.palette import LEVEL_MARK, level_style
from tocsin.tui import safe_text

NEWS_FOR = timedelta(minutes=15)
"""Desk time a level change stays on its line under the header (the topic line keeps the level)."""
HISTORY = 500
"""Level changes kept for the history screen."""


@dataclass(frozen=True, slots=True)
class LevelChange:
    """One topic's level moving, as the wall saw it."""

    at: datetime
    """Desk time, aware UTC."""
    topic: str
    """The topic's name (hostile: configured, but shown through safe_text like everything else)."""
    before: str
    after: str
    reasons: tuple[str, ...]

    @property
    def rising(self) -> bool:
        return _rank(self.after) > _rank(self.before)


def _rank(level: str) -> int:
    return LEVELS.index(level) if level in LEVELS else 0


def change_line(change: LevelChange, tz: tzinfo | None) -> Content:
    """``↑ 10:42 Maison Brioche  watch → ◆ ALERT  volume 6.2x the usual · 61 % negative``."""
    arrow = "↑" if change.rising else "↓"
    after = f"{LEVEL_MARK.get(change.after, '?')} {level_name(change.after).upper()}"
    pieces: list[Content | tuple[str, str] | str] = [
        (f"{arrow} {change.at.astimezone(tz).strftime('%H:%M')} ", "bold"),
        safe_text.content(change.topic, "bold", max_len=30),
        (f"  {level_name(change.before)} → ", "$foreground-muted"),
        (after, level_style(change.after) if change.rising else "bold"),
    ]
    if change.reasons:
        why = " · ".join(shown(r) for r in change.reasons)
        pieces += ["  ", safe_text.content(why, "$foreground-muted", max_len=160)]
    return Content.assemble(*pieces)


class LevelLog:
    """The changes of this session, newest last; ``news`` is the line for the header, if any."""

    def __init__(self) -> None:
        self.changes: deque[LevelChange] = deque(maxlen=HISTORY)

    def add(self, change: LevelChange) -> None:
        self.changes.append(change)

    def news(self, now: datetime, tz: tzinfo | None) -> Content | None:
        """The latest change while it is news, with how many came before it (``L`` lists them)."""
        if not self.changes or now - self.changes[-1].at > NEWS_FOR:
            return None
        line = change_line(self.changes[-1], tz)
        more = len(self.changes) - 1
        if more:
            hint = "   " + ngettext("L: {n} earlier change", "L: {n} earlier changes", more).format(n=more)
        else:
            hint = "   " + _("L: history")
        return Content.assemble(line, (hint, "$foreground-muted"))


class LevelHistoryScreen(ModalScreen[None]):
    """Every level change of the session, newest first. Esc or L closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", N_("Back to the wall"), id="levels-back"),
        Binding("L", "dismiss", N_("Back to the wall"), show=False, id="levels-close"),
    ]

    DEFAULT_CSS = """
    LevelHistoryScreen {
        background: $background;
        & VerticalScroll { padding: 0 1; }
    }
    """

    def __init__(self, changes: Iterable[LevelChange], tz: tzinfo | None) -> None:
        super().__init__()
        self._changes = list(changes)
        self._tz = tz

    def compose(self) -> ComposeResult:
        lines = [Content.styled(_("Level changes, newest first (Esc: back to the wall)"), "bold $accent")]
        lines += [change_line(c, self._tz) for c in reversed(self._changes)]
        if not self._changes:
            lines.append(Content.styled(_("no level change since the wall opened"), "$foreground-muted"))
        with VerticalScroll():
            yield Static(Content("\n").join(lines), id="levels-list")
