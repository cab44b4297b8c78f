"""The wall: a keyboard-driven Textual app over a running Desk.

The app never scores or parses: the Desk does that off the UI loop and publishes immutable snapshots.
One flush timer (``ui.refresh_hz``) reads the latest snapshot and the new mentions once, and updates
each pane at most once; panes that are hidden, and everything but the feed's memory while a modal
screen is open, are skipped.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, tzinfo
from pathlib import Path
from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import tocsin.tui.i18n  # noqa: F401 - the wall's key bindings follow the desk's language
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingsMap, BindingType
from textual.containers import Horizontal, Vertical
from textual.notifications import Notify, SeverityLevel
from textual.widgets import Input
from tocsin.config.i18n import N_, _
from tocsin.config.i18n import use as use_language
from tocsin.config.layouts import Layout, parse_layout
from tocsin.config.settings import LEVELS, Settings
from tocsin.desk.desk import DeskLike
from tocsin.desk.session import JournalSession
from tocsin.scoring.snapshot import Snapshot
from tocsin.sources.clock import Clock
from tocsin.tui import safe_text
from tocsin.tui.arrange import HIGH_CONTRAST_THEME, arrange
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
from tocsin.tui.screens.incident_forms import IncidentForm
from tocsin.tui.screens.levels import LevelChange, LevelHistoryScreen, LevelLog
from tocsin.tui.screens.mention import MentionScreen, influence_explainer
from tocsin.tui.screens.review import IncidentReviewScreen, ReviewScreen

FEED_BATCH = 2000
"""Most mentions taken into the feed per flush (the newest, when more arrived)."""
WALL_PANE_BUDGET = 0.25
"""Share of the terminal height the gauges may take in the roomy layout before going compact."""
SHORT_TERMINAL = 32
"""Below this many lines the who/what panes start hidden (3 or 4 shows them), source health takes one line."""
NARROW_TERMINAL = 100
"""Below this many columns the surging terms leave the gauges' row (4 shows them)."""
PANE_GROUPS: dict[str, tuple[str, ...]] = {"terms": ("terms", "clusters")}
TOAST_MAX_S = 8.0
"""The longest a toast stays: a toast covers the wall, and whatever lasts has a line of its own (the
blind state, the latest level change, the incidents pane's status)."""
"""Panes shown and hidden together by one key."""


def _rank(level: str | None) -> int:
    """How severe a level is (an unknown one counts as calm)."""
    return LEVELS.index(level) if level in LEVELS else 0


def _start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker now, while stderr is still the terminal.

    The sentiment worker is a spawned process; the first spawn also launches the tracker and hands it
    ``sys.stderr.fileno()``. Once the app runs, Textual captures stderr with a stand-in whose fileno is
    -1, and that launch fails ("bad value(s) in fds_to_keep"): the desk could not start.
    """
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()


def desk_zone(name: str | None) -> tuple[tzinfo | None, str | None]:
    """The zone for times on screen (None = this machine's), and a problem to tell the user, if any."""
    if not name:
        return None, None
    try:
        return ZoneInfo(name), None
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return UTC, _("unknown time zone {zone} in desk.timezone: times are shown in UTC").format(
            zone=repr(name)
        )


class WallApp(IncidentKeys, App[int]):
    """The crisis desk wall."""

    CSS_PATH = Path(__file__).with_name("tocsin.tcss")  # absolute: subclasses elsewhere find it too
    TITLE = "tocsin"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", N_("Help"), id="help"),
        Binding("q", "quit", N_("Quit"), id="quit"),
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

    def __init__(
        self,
        settings: Settings,
        desk: DeskLike | None = None,
        *,
        clock: Clock | None = None,
        duration: float | None = None,
        session: JournalSession | None = None,
        journal: bool = False,
    ) -> None:
        """``desk``: the Desk to drive (default: a ``tocsin.desk.desk.Desk`` on ``settings``,
        with ``clock`` if given). The app starts it after the first frame and stops it on exit.
        ``duration``: quit after that many seconds of real time. ``session``: the desk's link to the
        incident journal; ``journal=True`` builds one on the settings' journal (``run_tui`` does)."""
        # before Textual copies the app's bindings: the wall's words, its keys' included (tui/i18n.py)
        use_language(settings.desk.language)
        super().__init__()
        self.settings = settings
        if desk is None:
            from tocsin.desk.desk import Desk  # the pipeline is only needed once a wall opens

            desk = Desk(settings, clock=clock)
        _start_resource_tracker()
        self.desk: DeskLike = desk
        self.session = (
            session if session is not None else (JournalSession(settings, desk) if journal else None)
        )
        self._duration = duration
        self._tz, self._tz_problem = desk_zone(settings.desk.timezone)
        self._last_seq = 0
        self._desk_running = False
        self._desk_start: asyncio.Task[None] | None = None
        self._desk_stopped = False
        self._levels: dict[str, str] = {}
        self.level_log = LevelLog()
        """The level changes seen on this wall (the header's news line, ``L``'s history)."""
        self._layout_key: tuple[object, int] | None = None
        try:
            self.wall_layout = parse_layout(settings.ui.layout)
            """The panes this wall shows (check-config vets ``ui.layout``; ``--pane``/``--layout`` too)."""
            self._layout_problem: str | None = None
        except ValueError as exc:  # settings built in code skip check-config: say so, show everything
            self.wall_layout = Layout("wall", None)
            self._layout_problem = _("ui.layout: {error}; showing the whole wall").format(error=exc)
        self._keymap_ids = dict(settings.ui.keymap)
        self.set_keymap(settings.ui.keymap)

    # --- layout ---------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        settings = self.settings
        source_width = max((len(s.id) for s in settings.sources), default=4)
        bot_flag = settings.scoring.bots.flag_at
        yield DeskHeader(settings.desk.name, self._tz, id="header")
        with Horizontal(id="panes"):
            yield VolumePane(settings.scoring.levels, id="volume")
            yield SentimentPane(id="sentiment")
            yield TermsPane(id="terms")
        with Horizontal(id="who"):
            yield InfluencersPane(bot_flag=bot_flag, id="influencers")
            yield ClustersPane(self._tz, bot_flag=bot_flag, id="clusters")
        names = {m.id: m.name for m in settings.team.roster}
        yield IncidentsPane(settings.team.sla, self._tz, names, id="incidents")
        with Vertical(id="feed-pane"):
            yield FeedView(self._tz, source_width=min(12, max(4, source_width)), id="feed")
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
        problems: list[str] = []  # one toast for them all: toasts never stack
        self.register_theme(HIGH_CONTRAST_THEME)
        if self._layout_problem:
            problems.append(self._layout_problem)
        if self.settings.ui.theme in self.available_themes:
            self.theme = self.settings.ui.theme
        else:
            problems.append(_("unknown theme {theme} in ui.theme").format(theme=repr(self.settings.ui.theme)))
        if self._tz_problem:
            problems.append(self._tz_problem)
        unknown = sorted(set(self._keymap_ids) - binding_ids())
        if unknown:  # Textual ignores them silently; a remap that does nothing must not go unnoticed
            known = ", ".join(sorted(binding_ids()))
            said = _("unknown binding id(s) in ui.keymap: {ids} (known: {known})")
            problems.append(said.format(ids=", ".join(unknown), known=known))
        if problems:
            self.notify(safe_text.clean("; ".join(problems), 600), severity="warning", markup=False)
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
        chosen = self.wall_layout.panes
        if chosen is None or "feed" in chosen:
            self._feed.focus()
        else:  # a layout without the feed: its first pane that takes keys does (incidents, tables)
            shown = [self.query_one(f"#{pane_id}") for pane_id in chosen]
            takers = (w for pane in shown for w in (pane, *pane.query("*")) if w.can_focus)
            first = next(takers, None)
            if first is not None:
                first.focus()
        # The desk starts after the first frame is on screen: the wall shows at once, even while the
        # sources connect and the sentiment engine warms up.
        self.call_after_refresh(self._begin_desk_start)
        self.set_interval(1 / self.settings.ui.refresh_hz, self.flush, name="flush")
        if self._duration is not None:
            self.set_timer(self._duration, self.action_quit, name="duration")

    def _begin_desk_start(self) -> None:
        if self._desk_stopped or self._exit:  # the app is already on its way out
            return
        # A plain task, not a Textual worker: shutdown must not cancel a desk half-way through its
        # start; the stop waits for the start to finish instead.
        self._desk_start = asyncio.create_task(self._start_desk(), name="tocsin-desk-start")

    async def _start_desk(self) -> None:
        await self.start_session()  # first: the sources take their resume cursors from the journal
        try:
            await self.desk.start()
        except Exception as exc:  # a dead source must not take the wall down; say why, keep running
            message = safe_text.clean(
                _("the desk could not start: {error}").format(error=exc), 500
            )  # may quote a feed
            self.notify(message, severity="error", markup=False, timeout=60)
            return
        self._desk_running = True
        self.flush()

    async def on_unmount(self) -> None:
        await self._stop_desk()

    async def _stop_desk(self) -> None:
        if self._desk_stopped:
            return
        self._desk_stopped = True
        self._desk_running = False
        start = self._desk_start
        if start is None:  # quitting before the first frame: there is nothing to stop
            return
        if not start.done():
            await asyncio.wait([start])  # stopping a half-started desk could leave parts of it running
        await self.desk.stop()
        await self.stop_session()  # after: the desk's last batches are archived

    def _apply_layout(self, n_topics: int) -> None:
        """Roomy gauges when they fit in their share of the screen; one line per topic otherwise."""
        key = (self.size, n_topics)
        if key == self._layout_key:
            return
        self._layout_key = key
        roomy_lines = 2 + n_topics * max(VolumePane.ROOMY_LINES, SentimentPane.ROOMY_LINES)
        if self.wall_layout.panes is not None:
            arrange(self.screen, self.wall_layout, self.size.height, roomy_lines)
            return
        roomy_lines = 2 + n_topics * max(VolumePane.ROOMY_LINES, SentimentPane.ROOMY_LINES)
        compact = self.settings.ui.layout == "compact" or roomy_lines > self.size.height * WALL_PANE_BUDGET
        for pane in self.query(SnapshotPane):
            if pane.id in ("volume", "sentiment", "terms"):
                pane.compact = compact
        short = self.settings.ui.layout == "compact" or self.size.height < SHORT_TERMINAL
        self.screen.set_class(short, "-short")  # the stylesheet hides the who/what panes then
        self.screen.set_class(self.size.width < NARROW_TERMINAL, "-narrow")  # and the terms beside the gauges
        self.query_one(SourceHealthPane).compact = short

    # --- the flush ------------------------------------------------------------------------------

    def flush(self) -> None:
        """Read the desk once and bring each visible pane up to date, once."""
        if not self._desk_running:
            return
        desk = self.desk
        snapshot = desk.snapshot()
        batch = desk.feed_since(self._last_seq, FEED_BATCH)
        if batch:
            self._last_seq = batch[-1].seq
        on_wall = len(self.screen_stack) == 1  # a modal (help, palette) is open otherwise
        self._feed.add(batch, render=on_wall)
        self._announce_levels(snapshot)
        if not on_wall:
            return
        if self.session is not None:
            self._header.set_team(self.session.team)
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
                    self.clear_notifications()
        self._header.set_news(self.level_log.news(self.desk.clock.now(), self._tz))

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """A toast for at most ``TOAST_MAX_S`` (widgets' and screens' ``notify`` come here too)."""
        timeout = TOAST_MAX_S if timeout is None else min(timeout, TOAST_MAX_S)
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def _on_notify(self, event: Notify) -> None:
        """One toast at a time: a newer one replaces it (``notify`` only posts; the toast arrives here)."""
        self._notifications.clear()
        super()._on_notify(event)

    def action_level_history(self) -> None:
        """Every level change since the wall opened, newest first."""
        self.push_screen(LevelHistoryScreen(self.level_log.changes, self._tz))

    # --- actions --------------------------------------------------------------------------------

    def action_help(self) -> None:
        """Show every binding, as remapped."""
        self.push_screen(HelpScreen(self.help_sections()))

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
        for row in {p.parent for p in panes if p.parent is not None and p.parent is not self.screen}:
            row.display = any(p.display for p in row.query_children(SnapshotPane))
        if not shown and self._desk_running:  # up to date at once, not at the next tick
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
        snapshot = self.desk.snapshot() if self._desk_running else None
        self.push_screen(
            MentionScreen(
                message.scored,
                tz=self._tz,
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

    async def action_quit(self) -> None:
        """Stop the desk (sources, pipeline, sentiment worker), then leave."""
        await self._stop_desk()
        self.exit(0)

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
        return [
            HelpSection(_("Desk"), self._key_help(self._bindings, skip_system=True)),
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
        keys = self._keymap_ids.get(binding_id, default)
        return " / ".join(self.get_key_display(Binding(k.strip(), "")) for k in keys.split(","))

    def _key_help(self, bindings: BindingsMap, skip_system: bool = False) -> list[KeyHelp]:
        remapped = bindings.copy()
        remapped.apply_keymap(self._keymap)  # the same overlay Textual applies when dispatching keys
        by_binding: dict[tuple[str, str], list[str]] = {}
        described: dict[tuple[str, str], tuple[str, str | None]] = {}
        for key, binding in remapped:
            if skip_system and binding.system:
                continue
            ident = (binding.action, binding.id or binding.description)
            by_binding.setdefault(ident, []).append(self.get_key_display(binding.with_key(key)))
            described[ident] = (binding.description or binding.action.replace("_", " "), binding.id)
        rows = [
            KeyHelp(" / ".join(keys), described[ident][0].capitalize(), described[ident][1])
            for ident, keys in by_binding.items()
        ]
        return sorted(rows, key=lambda row: row.binding_id is None)  # ours first, Textual's own after


def binding_ids() -> set[str]:
    """Every binding id a user may remap in ``ui.keymap``."""
    ids: set[str] = set()
    screens = (
        HelpScreen,
        MentionScreen,
        IncidentForm,
        ReviewScreen,
        IncidentReviewScreen,
        LevelHistoryScreen,
    )
    for owner in (WallApp, FeedView, IncidentsPane, *screens):
        for binding in owner.BINDINGS:
            if isinstance(binding, Binding) and binding.id:
                ids.add(binding.id)
    return ids


def run_tui(settings: Settings, *, duration: float | None = None, attach: str | None = None) -> int:
    """Open the wall on ``settings`` until the user quits (or ``duration`` seconds pass); exit code.

    The desk ingests (``IngestDesk``: it takes the journal's ingest lease, or stands by while another
    desk holds it); with ``attach`` (a journal's path or URL, or "" for the settings' journal) it shows
    the desk that ingests on that journal instead (``AttachedDesk``)."""
    from tocsin.desk.attach import AttachedDesk
    from tocsin.desk.ingest import IngestDesk

    desk: DeskLike
    if attach is None:
        desk = IngestDesk(settings)
    else:
        desk = AttachedDesk(settings)
    session = JournalSession(settings, desk, location=attach or None)
    app = WallApp(settings, desk, duration=duration, session=session)
    app.run()
    code = app.return_code
    return 0 if code is None else code
