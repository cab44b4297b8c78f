"""The live feed: a line-API view over a bounded ring of mentions, newest at the bottom.

Only the visible lines are rendered (and cached as strips), so the cost of a flush does not grow with
the number of mentions kept. Tail mode follows the newest mention; scrolling up pauses it and the
border counts the mentions waiting below; ``End``/``G`` (or scrolling back to the bottom) resumes.

A cursor line selects one mention (``selected_mention``: what Enter opens, what pinning takes). While
the tail follows, the cursor is the newest line; moving it up pauses the tail, bringing it back to the
bottom resumes it.

A mention sent again (deleted, edited, its author's profile arrived late) replaces its line in place:
the line reads ``[deleted]`` (its text struck through) or ``(edited)``, and the tail does not move.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style as RichStyle
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.content import Content
from textual.events import Click
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tocsin.config.i18n import N_, _, number
from tocsin.desk.feed import DEFAULT_CAPACITY, FeedBuffer, FeedEntry, edited
from tocsin.desk.palette import SENTIMENT_SIGN
from tocsin.sources.model import ScoredMention
from tocsin.tui import safe_text

INFLUENTIAL_FOLLOWERS = 10_000
"""Followers from which the count is highlighted: these voices carry a storm further."""
BOT_SCORE = 0.7
"""Bot likelihood from which a mention is tagged ``bot?``."""


class FeedView(ScrollView, can_focus=True, inherit_bindings=False):
    """Mentions as one line each: local time, source, sentiment sign, handle, followers, text."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", N_("Details"), id="feed-open"),
        Binding("end,G", "follow", N_("Follow"), id="feed-follow"),
        Binding("home,g", "oldest", N_("Oldest"), show=False, id="feed-oldest"),
        Binding("up,k", "line_up", N_("Previous mention"), show=False, id="feed-up"),
        Binding("down,j", "line_down", N_("Next mention"), show=False, id="feed-down"),
        Binding("pageup", "page_up", N_("Page up"), show=False, id="feed-page-up"),
        Binding("pagedown", "page_down", N_("Page down"), show=False, id="feed-page-down"),
    ]

    class OpenMention(Message):
        """The user asked for the details of a mention (Enter or a double click on its line)."""

        def __init__(self, scored: ScoredMention) -> None:
            super().__init__()
            self.scored = scored

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "feed--time",
        "feed--source",
        "feed--handle",
        "feed--followers",
        "feed--influential",
        "feed--bot",
        "feed--negative",
        "feed--neutral",
        "feed--positive",
        "feed--unscored",
        "feed--revised",
        "feed--deleted",
        "feed--cursor",
        "feed--cursor-blurred",
    }

    DEFAULT_CSS = """
    FeedView {
        overflow-x: hidden;
        overflow-y: auto;
        .feed--time { color: $foreground-muted; }
        .feed--source { color: $secondary-lighten-2; }
        .feed--handle { color: $primary-lighten-2; text-style: bold; }
        .feed--followers { color: $foreground-muted; }
        .feed--influential { color: $warning; text-style: bold; }
        .feed--bot { color: $foreground-muted; text-style: italic; }
        .feed--negative { color: $text-error; }
        .feed--neutral { color: $foreground; }
        .feed--positive { color: $text-success; }
        .feed--unscored { color: $foreground-muted; }
        .feed--revised { color: $foreground-muted; text-style: italic; }
        .feed--deleted { color: $foreground-muted; text-style: strike; }
        .feed--cursor { background: $accent 40%; }
        .feed--cursor-blurred { background: $foreground 12%; }
    }
    """

    tail: reactive[bool] = reactive(True)
    """Following the newest mention."""
    waiting: reactive[int] = reactive(0)
    """Mentions that arrived below the view since the tail paused."""

    def __init__(
        self,
        tz: tzinfo | None,
        *,
        capacity: int = DEFAULT_CAPACITY,
        source_width: int = 8,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.buffer = FeedBuffer(capacity)
        self._tz = tz
        self._source_width = source_width
        self._strips: LRUCache[tuple[int, int], tuple[FeedEntry, Strip]] = LRUCache(1024)
        """Rendered lines by (absolute index, width), with the entry each was drawn from: a mention
        replaced in place by its revision is a new entry, so its old line is never shown again."""
        self._styles: dict[str, RichStyle] = {}
        self._base = RichStyle()
        self._scrolling_ourselves = False
        self._dirty = False
        self._cursor = 0
        """The selected line while the tail is paused (while it follows, the newest line is)."""

    # --- data -----------------------------------------------------------------------------------

    def add(self, batch: Sequence[ScoredMention], *, render: bool = True) -> None:
        """Take a batch (oldest first): new mentions are appended, revisions replace their line in place.
        With ``render=False`` (a modal is open) the lines are kept but the view is brought up to date by
        the next call with ``render=True``."""
        buffer = self.buffer
        # Where the paused reader is, by mention: a filter match that changes mid-view renumbers lines.
        anchor = None
        if buffer.query and not self.tail and (n := len(buffer)):
            top = min(round(self.scroll_y), n - 1)
            anchor = (buffer.absolute(min(self._cursor, n - 1)), buffer.absolute(top))
        added, evicted, replaced, reshaped = buffer.extend(batch)
        if replaced and not self._dirty and self._shows_any(replaced):
            self._dirty = True  # a line on screen changed: redraw it even if nothing was added
        if not (added or evicted or reshaped):
            if render and self._dirty:
                self._sync_view()
            return
        if not self.tail:
            self.waiting += added
            if anchor is not None and reshaped:
                cursor, top = anchor
                self._cursor = min(buffer.line_at(cursor), max(0, len(buffer) - 1))
                self.virtual_size = Size(self.scrollable_content_region.width, len(buffer))  # the new bounds
                self._scroll_quietly(buffer.line_at(top))
            elif evicted:  # keep the lines the user is reading in place while older ones fall off
                self._cursor = max(0, self._cursor - evicted)
                self._scroll_quietly(max(0, round(self.scroll_y) - evicted))
        self._dirty = True
        if render:
            self._sync_view()

    def _shows_any(self, absolutes: list[int]) -> bool:
        """Whether one of these kept entries is on a line on screen (their cached strips need no
        dropping: a strip is only reused for the very entry it was drawn from)."""
        buffer = self.buffer
        n = len(buffer)
        if not n:
            return False
        top = min(round(self.scroll_y), n - 1)
        bottom = min(n, top + max(1, self.scrollable_content_region.height)) - 1
        first, last = buffer.absolute(top), buffer.absolute(bottom)
        return any(first <= absolute <= last for absolute in absolutes)

    def set_filter(self, query: str) -> None:
        """Filter by a substring of text, handle or hashtags (case/accent-insensitive); "" for all."""
        if self.buffer.set_filter(query):
            # Lines are renumbered: the old scroll position means nothing, so show the newest matches.
            self.tail = True
            self._sync_view()
            self._show_status()

    def _sync_view(self) -> None:
        self._dirty = False
        self.virtual_size = Size(self.scrollable_content_region.width, len(self.buffer))
        if self.tail:
            self._scroll_quietly(self.max_scroll_y)
        self.refresh()

    def _scroll_quietly(self, y: float) -> None:
        """Scroll without it counting as the user's move (which would pause or resume the tail)."""
        self._scrolling_ourselves = True
        try:
            self.scroll_to(y=y, animate=False, force=True, immediate=True)
        finally:
            self._scrolling_ourselves = False

    # --- tail mode ------------------------------------------------------------------------------

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self._scrolling_ourselves:
            return
        if new_value >= self.max_scroll_y:
            self.tail = True
        elif new_value < old_value:
            self._pause()

    def _pause(self) -> None:
        """Stop following; the cursor stays on the mention it was on."""
        if self.tail:
            self._cursor = max(0, len(self.buffer) - 1)
            self.tail = False

    def watch_tail(self, tail: bool) -> None:
        if tail:
            self.waiting = 0
        self._show_status()

    def watch_waiting(self) -> None:
        self._show_status()

    def on_mount(self) -> None:
        self.border_title = _("Live feed")
        self._show_status()

    def _show_status(self) -> None:
        self.border_subtitle = status_content(self)

    def action_follow(self) -> None:
        """Jump to the newest mention and follow again."""
        self.tail = True
        self._sync_view()

    # --- the cursor -----------------------------------------------------------------------------

    @property
    def cursor_line(self) -> int | None:
        """The visible line of the selected mention (None when the feed is empty)."""
        n = len(self.buffer)
        if not n:
            return None
        return n - 1 if self.tail else min(self._cursor, n - 1)

    @property
    def selected_mention(self) -> ScoredMention | None:
        """The mention under the cursor: the newest while following, None when the feed is empty."""
        line = self.cursor_line
        return None if line is None else self.buffer.entry(line).item

    def select_line(self, line: int) -> None:
        """Put the cursor on visible line ``line`` (clamped), scrolling it into view; the last line
        resumes the tail, any other pauses it."""
        n = len(self.buffer)
        if not n:
            return
        line = max(0, min(line, n - 1))
        if line == n - 1:
            self.tail = True
            self._sync_view()
            return
        self._cursor = line
        self.tail = False
        self._reveal_cursor()
        self.refresh()

    def _reveal_cursor(self) -> None:
        """Scroll (as little as possible) so that the paused cursor is on screen."""
        line = self.cursor_line
        if self.tail or line is None:
            return
        height = max(1, self.scrollable_content_region.height)
        top = round(self.scroll_y)
        if line < top:
            self._scroll_quietly(line)
        elif line >= top + height:
            self._scroll_quietly(line - height + 1)

    def _move(self, delta: int, *, scroll: bool = False) -> None:
        line = self.cursor_line
        if line is None:
            return
        if scroll:  # a page: the view moves with the cursor, so the same lines do not show twice
            self._scroll_quietly(max(0, min(self.max_scroll_y, round(self.scroll_y) + delta)))
        self.select_line(line + delta)

    def action_oldest(self) -> None:
        self.select_line(0)

    def action_line_up(self) -> None:
        self._move(-1)

    def action_line_down(self) -> None:
        self._move(1)

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def action_page_up(self) -> None:
        self._move(-self._page(), scroll=True)

    def action_page_down(self) -> None:
        self._move(self._page(), scroll=True)

    def action_open(self) -> None:
        """Ask for the details of the selected mention."""
        scored = self.selected_mention
        if scored is not None:
            self.post_message(self.OpenMention(scored))

    def on_click(self, event: Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        line = round(self.scroll_y) + offset.y
        if not 0 <= line < len(self.buffer):
            return
        self.select_line(line)
        if event.chain >= 2:
            self.action_open()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def on_resize(self) -> None:
        self._strips.clear()
        self._sync_view()
        self._reveal_cursor()  # the wall's layout changed (a pane shown, a header line): keep it in view

    # --- rendering ------------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._strips.clear()

    def _style(self, name: str) -> RichStyle:
        """A component style over the widget's own (so unstyled cells keep its background)."""
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = self._base + self.get_component_rich_style(name, partial=True)
        return style

    def _cursor_style(self, name: str) -> RichStyle:
        """The cursor's own style only (a background), laid over a line's colours, not under them."""
        key = f"{name}:partial"
        style = self._styles.get(key)
        if style is None:
            # Only the background, blended over the widget's (a partial style would lose the alpha).
            style = self._styles[key] = RichStyle(bgcolor=self.get_component_rich_style(name).bgcolor)
        return style

    def render_lines(self, crop: Region) -> list[Strip]:
        # The widget's style walks the DOM: look it up once a frame, not once a line.
        base = self.rich_style
        if base != self._base:
            self._base = base
            self._styles.clear()
            self._strips.clear()
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        line = round(self.scroll_y) + y
        if not 0 <= line < len(self.buffer) or width <= 0:
            return Strip.blank(width, self._base)
        entry = self.buffer.entry(line)
        key = (self.buffer.absolute(line), width)
        cached = self._strips.get(key)
        if cached is not None and cached[0] is entry:
            strip = cached[1]
        else:
            strip = self._render_entry(entry, width)
            self._strips[key] = (entry, strip)
        if line == self.cursor_line and (self.has_focus or not self.tail):
            # Over the cached line, not cached itself: the cursor moves, the line does not.
            cursor = self._cursor_style("feed--cursor" if self.has_focus else "feed--cursor-blurred")
            strip = Strip(Segment.apply_style(strip, post_style=cursor), strip.cell_length)
        return strip

    def line_parts(self, entry: FeedEntry, width: int) -> list[tuple[str, str]]:
        """The line for one mention as (text, component class) pieces; every hostile field is cleaned
        here, and the pieces become segments directly: nothing is ever parsed as markup."""
        scored = entry.item
        m = scored.mention
        label = scored.sentiment.label if scored.sentiment.label in SENTIMENT_SIGN else "unscored"
        body = f"feed--{label}"
        when = m.created_at.astimezone(self._tz).strftime("%H:%M:%S")
        source = safe_text.clean(m.source, self._source_width).ljust(self._source_width)
        parts = [
            (when, "feed--time"),
            (" ", ""),
            (source, "feed--source"),
            (" ", ""),
            (SENTIMENT_SIGN[label], body),
            (" ", ""),
            (safe_text.handle_str(m.author.handle, 30), "feed--handle"),
        ]
        followers = m.author.followers
        if followers is not None:
            loud = followers >= INFLUENTIAL_FOLLOWERS
            count = f"({safe_text.number_str(followers)})"
            parts += [(" ", ""), (count, "feed--influential" if loud else "feed--followers")]
        bot = scored.scores.get("bot")
        if isinstance(bot, dict) and isinstance(bot.get("score"), (int, float)) and bot["score"] >= BOT_SCORE:
            parts += [(" ", ""), (_("bot?"), "feed--bot")]
        # Before the text, which the width cuts: the operator must see it is not the post as first seen.
        if m.deleted:
            parts += [(" ", ""), (_("[deleted]"), "feed--revised")]
        if edited(m):
            parts += [(" ", ""), (_("(edited)"), "feed--revised")]
        parts += [(" ", ""), (safe_text.clean(m.text, max(width, 1)), "feed--deleted" if m.deleted else body)]
        return parts

    def _render_entry(self, entry: FeedEntry, width: int) -> Strip:
        base, style = self._base, self._style
        parts = self.line_parts(entry, width)
        segments = [Segment(text, style(name) if name else base) for text, name in parts]
        return Strip(segments).crop_extend(0, width, base)

    def rendered_lines(self) -> list[str]:
        """The plain text of the lines on screen (what the user reads), for checks and copy."""
        width = self.scrollable_content_region.width
        top = round(self.scroll_y)
        bottom = min(len(self.buffer), top + self.scrollable_content_region.height)
        render, entry = self._render_entry, self.buffer.entry
        return [render(entry(line), width).text.rstrip() for line in range(top, bottom)]


def status_content(view: FeedView) -> Content:
    """The feed's border line: following or paused (with mentions waiting), and the filter."""
    buffer = view.buffer
    parts: list[Content | tuple[str, str] | str] = []
    if buffer.query:
        shown = _("{n} of {total}").format(
            n=number(len(buffer), 0, grouped=True), total=number(buffer.total, 0, grouped=True)
        )
        parts += [
            (_("filter") + " ", "$foreground-muted"),
            safe_text.content(f"“{buffer.query}”", "bold", max_len=40),
            (f" {shown}", "$foreground-muted"),
            " · ",
        ]
    if view.tail:
        parts.append((_("following ▼"), "$success"))
    else:
        new = _("{n} new below").format(n=number(view.waiting, 0, grouped=True))
        waiting = f" · {new}" if view.waiting else ""
        parts += [(_("paused") + waiting, "bold $warning"), (" · " + _("End to follow"), "$foreground-muted")]
    return Content.assemble(*parts)
