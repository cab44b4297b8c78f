"""The wall: the screen of panes over a running desk, with its keys.

One flush timer (``ui.refresh_hz``) reads the desk's latest snapshot and the new mentions once, and
updates each pane at most once; panes that are hidden, and everything but the feed's memory while a
modal screen is open, are skipped. The wall's keys are this screen's bindings (the incident keys come
from ``IncidentKeys``); the app (``app.py``) starts and stops the desk and the journal session.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingsMap, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Input

from tocsin.config.i18n import N_, _
from tocsin.config.settings import LEVELS
from tocsin.scoring.snapshot import Snapshot
from tocsin.tui import safe_text
from tocsin.tui.arrange import arrange
from tocsin.tui.incident_keys import INCIDENT_BINDINGS, IncidentKeys
from tocsin.tui.panes.base import SnapshotPane
from tocsin.tui.panes.clusters import ClustersPane
from tocsin.tui.panes.feed import FeedView
from tocsin.tui.panes.header import DeskHeader
from tocsin.tui.panes.health import SourceHealthPane
from tocsin.tui.panes.incidents import IncidentsPane
from tocsin.tui.panes.influencers import InfluencersPane
from tocsin.tui.panes.keybar import KeyBar
from tocsin.tui.panes.sentiment import SentimentPane
from tocsin.tui.panes.terms import TermsPane
from tocsin.tui.panes.volume import VolumePane
from tocsin.tui.screens.help import HelpScreen, HelpSection, KeyHelp
from tocsin.tui.screens.levels import LevelChange, LevelHistoryScreen, LevelLog
from tocsin.tui.screens.mention import MentionScreen, influence_explainer

FEED_BATCH = 2000
"""Most mentions taken into the feed per flush (the newest, when more arrived)."""
WALL_PANE_BUDGET = 0.25
"""Share of the terminal height the gauges may take in the roomy layout before going compact."""
SHORT_TERMINAL = 32
"""Below this many lines the who/what panes start hidden (3 or 4 shows them), source health takes one line."""
NARROW_TERMINAL = 100
"""Below this many columns the surging terms leave the gauges' row (4 shows them)."""
PANE_GROUPS: dict[str, tuple[str, ...]] = {"terms": ("terms", "clusters")}
"""Panes shown and hidden together by one key."""


def _rank(level: str | None) -> int:
    """How severe a level is (an unknown one counts as calm)."""
    return LEVELS.index(level) if level in LEVELS else 0


class WallScreen(IncidentKeys):
    """The crisis desk wall: the panes, the flush, and every key of the wall (each with an id that
    ``ui.keymap`` remaps)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", N_("Help"), id="help"),
        Binding("q", "app.quit", N_("Quit"), id="quit"),
        Binding("slash", "filter", N_("Filter"), id="filter"),
        Binding("escape", "clear_filter", N_("Clear filter"), id="clear-filter"),
        # Pane toggles live on digits: letters are for actions on the desk (incidents, review…).
        Binding("1", "toggle_pane('volume')", N_("Show/hide volume"), show=False, id="toggle-volume"),
        Binding(
            "2", "toggle_pane('sentiment')", N_("Show/hide sentiment"), show=False, id="toggle-sentiment"
        ),
        Binding(
            "3",
            "toggle_pane('influencers')",
            N_("Show/hide influencers"),
            show=False,
            id="toggle-influencers",
        ),
        Binding("4", "toggle_pane('terms')", N_("Show/hide terms and waves"), show=False, id="toggle-terms"),
        Binding("5", "toggle_pane('health')", N_("Show/hide source health"), show=False, id="toggle-health"),
        Binding("u", "toggle_voices", N_("Mentions/unique voices"), show=False, id="toggle-voices"),
        Binding("L", "level_history", N_("Level changes"), show=False, id="level-history"),
        *INCIDENT_BINDINGS,
    ]

    def __init__(self) -> None:
        super().__init__(id="_default")  # the app's default screen, as Textual's own would be
        self._last_seq = 0
        self._levels: dict[str, str] = {}
        self.level_log = LevelLog()
        """The level changes seen on this wall (the header's news line, ``L``'s history)."""
        self._layout_key: tuple[object, int] | None = None

    # --- layout ---------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        settings = self.settings
        source_width = max((len(s.id) for s in settings.sources), default=4)
        bot_flag = settings.scoring.bots.flag_at
        yield DeskHeader(settings.desk.name, self.tz, id="header")
        with Horizontal(id="panes"):
            yield VolumePane(settings.scoring.levels, id="volume")
            yield SentimentPane(id="sentiment")
            yield TermsPane(id="terms")
        with Horizontal(id="who"):
            yield InfluencersPane(bot_flag=bot_flag, id="influencers")
            yield ClustersPane(self.tz, bot_flag=bot_flag, id="clusters")
        names = {m.id: m.name for m in settings.team.roster}
        yield IncidentsPane(settings.team.sla, self.tz, names, id="incidents")
        with Vertical(id="feed-pane"):
            yield FeedView(self.tz, source_width=min(12, max(4, source_width)), id="feed")
            yield Input(
                placeholder=_(
                    "filter: words, @handle, from:@handle (their posts) or #hashtag"
                    " · Enter keeps it · Esc clears"
                ),
                id="filter",
                compact=True,
            )
        yield SourceHealthPane(self.desk.clock, id="health")
        yield KeyBar()  # every incident key fits 120 columns; at 80, those that fit and ? for the rest

    def on_mount(self) -> None:
        if self.app._exit:  # the app quit before its first frame: Textual mounted no pane
            return
        # The flush touches these ten times a second: look them up once.
        self._feed = self.query_one(FeedView)
        self._header = self.query_one(DeskHeader)
        self._panes = list(self.query(SnapshotPane))
        self._header.show(None, self.desk.clock.now())
        self.query_one("#volume").border_title = _("Volume · last hour")
        self.query_one("#sentiment").border_title = _("Sentiment")
        self.query_one("#terms").border_title = _("Surging")
        self.query_one("#health").border_title = _("Sources")
        self._apply_layout(0)
        chosen = self.wall_app.wall_layout.panes
        if chosen is None or "feed" in chosen:
            self._feed.focus()
        else:  # a layout without the feed: its first pane that takes keys does (incidents, tables)
            shown = [self.query_one(f"#{pane_id}") for pane_id in chosen]
            takers = (w for pane in shown for w in (pane, *pane.query("*")) if w.can_focus)
            first = next(takers, None)
            if first is not None:
                first.focus()
        self.set_interval(1 / self.settings.ui.refresh_hz, self.flush, name="flush")

    def _apply_layout(self, n_topics: int) -> None:
        """Roomy gauges when they fit in their share of the screen; one line per topic otherwise."""
        size = self.app.size
        key = (size, n_topics)
        if key == self._layout_key:
            return
        self._layout_key = key
        roomy_lines = 2 + n_topics * max(VolumePane.ROOMY_LINES, SentimentPane.ROOMY_LINES)
        layout = self.wall_app.wall_layout
        if layout.panes is not None:
            arrange(self, layout, size.height, roomy_lines)
            return
        compact = self.settings.ui.layout == "compact" or roomy_lines > size.height * WALL_PANE_BUDGET
        for pane in self.query(SnapshotPane):
            if pane.id in ("volume", "sentiment", "terms"):
                pane.compact = compact
        short = self.settings.ui.layout == "compact" or size.height < SHORT_TERMINAL
        self.set_class(short, "-short")  # the stylesheet hides the who/what panes then
        self.set_class(size.width < NARROW_TERMINAL, "-narrow")  # and the terms beside the gauges
        self.query_one(SourceHealthPane).compact = short

    # --- the flush ------------------------------------------------------------------------------

    def flush(self) -> None:
        """Read the desk once and bring each visible pane up to date, once."""
        if not self.wall_app.desk_running:
            return
        desk = self.desk
        snapshot = desk.snapshot()
        batch = desk.feed_since(self._last_seq, FEED_BATCH)
        if batch:
            self._last_seq = batch[-1].seq
        on_wall = len(self.app.screen_stack) == 1  # a modal (help, palette) is open otherwise
        self._feed.add(batch, render=on_wall)
        self._announce_levels(snapshot)
        if not on_wall:
            return
        session = self.session
        if session is not None:
            self._header.set_team(session.team)
        self._header.show(snapshot, desk.clock.now(), finished=desk.finished)
        self._apply_layout(len(snapshot.topics))  # the terminal may have been resized
        for pane in self._panes:
            if pane.display and pane.parent is not None and pane.parent.display:
                pane.show(snapshot)
        self.show_incidents()

    def _announce_levels(self, snapshot: Snapshot) -> None:
        """Level changes go to the header's news line (and ``L``'s history), not to toasts that stack,
        cover the feed and go stale; a rise clears any toast, which can only be older news."""
        for topic_id, topic in snapshot.topics.items():
            before = self._levels.get(topic_id)
            self._levels[topic_id] = topic.level
            if before is not None and before != topic.level:
                at = topic.level_since or snapshot.at
                self.level_log.add(LevelChange(at, topic.name, before, topic.level, tuple(topic.reasons)))
                if _rank(topic.level) > _rank(before):
                    self.app.clear_notifications()
        self._header.set_news(self.level_log.news(self.desk.clock.now(), self.tz))

    # --- actions --------------------------------------------------------------------------------

    def action_level_history(self) -> None:
        """Every level change since the wall opened, newest first."""
        self.app.push_screen(LevelHistoryScreen(self.level_log.changes, self.tz))

    def action_help(self) -> None:
        """Show every binding, as remapped."""
        self.app.push_screen(HelpScreen(self.help_sections()))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_filter":  # Esc means something only while there is a filter to clear
            box = self.query_one("#filter", Input)
            return box.has_class("-active") or bool(box.value)
        return True

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("-active")
        box.focus()
        self.refresh_bindings()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        feed = self.query_one(FeedView)
        box.value = ""
        box.remove_class("-active")
        feed.set_filter("")
        feed.focus()
        self.refresh_bindings()

    def action_toggle_pane(self, pane_id: str) -> None:
        """Show or hide a pane (with its group); a row whose panes are all hidden gives its room away."""
        panes = [self.query_one(f"#{i}", SnapshotPane) for i in PANE_GROUPS.get(pane_id, (pane_id,))]
        shown = any(p.display for p in panes)  # a pane the layout hides (small terminal) counts as hidden
        for pane in panes:
            pane.display = not shown
        for row in {p.parent for p in panes if p.parent is not None and p.parent is not self}:
            row.display = any(p.display for p in row.query_children(SnapshotPane))
        if not shown and self.wall_app.desk_running:  # up to date at once, not at the next tick
            snapshot = self.desk.snapshot()
            for pane in panes:
                pane.show(snapshot)

    def action_toggle_voices(self) -> None:
        """Count unique voices (distinct authors) in the volume sparkline, or raw mentions again."""
        volume = self.query_one(VolumePane)
        volume.unique = not volume.unique
        volume.border_title = _("Unique voices · last hour") if volume.unique else _("Volume · last hour")

    def on_feed_view_open_mention(self, message: FeedView.OpenMention) -> None:
        """Enter on a feed line: the mention's detail, with what the latest snapshot knows."""
        snapshot = self.desk.snapshot() if self.wall_app.desk_running else None
        self.app.push_screen(
            MentionScreen(
                message.scored,
                tz=self.tz,
                now=self.desk.clock.now(),
                snapshot=snapshot,
                bot_flag=self.settings.scoring.bots.flag_at,
                explainer=influence_explainer(self.settings),
                block_list=self.settings.scoring.bots.block_list,
            )
        )

    def on_influencers_pane_author_chosen(self, message: InfluencersPane.AuthorChosen) -> None:
        """Enter on an influencer: the feed shows that author's mentions (Esc clears)."""
        box = self.query_one("#filter", Input)
        box.value = "@" + safe_text.clean(message.handle, 100).lstrip("@")
        box.add_class("-active")
        self.query_one(FeedView).focus()
        self.refresh_bindings()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.query_one(FeedView).set_filter(event.value)

    @on(Input.Submitted, "#filter")
    def _filter_kept(self) -> None:
        self.query_one(FeedView).focus()

    # --- help -----------------------------------------------------------------------------------

    def help_sections(self) -> list[HelpSection]:
        """The bindings of the wall and of the feed, with the user's keymap applied."""
        feed = self.query_one(FeedView)
        wall = BindingsMap()  # the wall's own keys (each has an id), not Textual's focus keys
        wall.key_to_bindings = {
            key: ours
            for key, bindings in self._bindings.key_to_bindings.items()
            if (ours := [b for b in bindings if b.id is not None])
        }
        return [
            HelpSection(
                _("Desk"), self._key_help(wall) + self._key_help(self.app._bindings, skip_system=True)
            ),
            HelpSection(_("Feed (when focused)"), self._key_help(feed._bindings)),
            HelpSection(
                _("Filter box"),
                [
                    KeyHelp("enter", _("keep the filter and go back to the feed"), None),
                    KeyHelp(self._keys_for("clear-filter", "escape"), _("clear the filter"), "clear-filter"),
                ],
            ),
        ]

    def _keys_for(self, binding_id: str, default: str) -> str:
        keys = self.wall_app.keymap_ids.get(binding_id, default)
        return " / ".join(self.app.get_key_display(Binding(k.strip(), "")) for k in keys.split(","))

    def _key_help(self, bindings: BindingsMap, skip_system: bool = False) -> list[KeyHelp]:
        remapped = bindings.copy()
        remapped.apply_keymap(self.app._keymap)  # the same overlay Textual applies when dispatching keys
        by_binding: dict[tuple[str, str], list[str]] = {}
        described: dict[tuple[str, str], tuple[str, str | None]] = {}
        for key, binding in remapped:
            if skip_system and binding.system:
                continue
            ident = (binding.action, binding.id or binding.description)
            by_binding.setdefault(ident, []).append(self.app.get_key_display(binding.with_key(key)))
            described[ident] = (binding.description or binding.action.replace("_", " "), binding.id)
        rows = [
            KeyHelp(" / ".join(keys), described[ident][0].capitalize(), described[ident][1])
            for ident, keys in by_binding.items()
        ]
        return sorted(rows, key=lambda row: row.binding_id is None)  # ours first, Textual's own after
