"""The wall's app: a keyboard-driven Textual app over a running Desk.

The app never scores or parses: the Desk does that off the UI loop and publishes immutable snapshots.
The app owns what outlives a screen: the desk (started after the first frame, stopped on quit), the
journal session, the theme, the keymap and the one toast at a time. What is on screen, its flush and its
keys are the wall's (``wall.py``: ``WallScreen``, the default screen).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, tzinfo
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from textual.app import App
from textual.binding import Binding
from textual.notifications import Notify, SeverityLevel

import tocsin.tui.i18n  # noqa: F401 - the wall's key bindings follow the desk's language
from tocsin.config.i18n import _
from tocsin.config.i18n import use as use_language
from tocsin.config.layouts import Layout, parse_layout
from tocsin.config.settings import Settings
from tocsin.desk.desk import DeskLike
from tocsin.desk.session import JournalSession
from tocsin.journal.errors import JournalError
from tocsin.sources.clock import Clock
from tocsin.tui import safe_text, strip_cycles
from tocsin.tui.arrange import HIGH_CONTRAST_THEME
from tocsin.tui.panes.feed import FeedView
from tocsin.tui.panes.incidents import IncidentsPane
from tocsin.tui.screens.help import HelpScreen
from tocsin.tui.screens.incident_forms import IncidentForm
from tocsin.tui.screens.levels import LevelHistoryScreen
from tocsin.tui.screens.mention import MentionScreen
from tocsin.tui.screens.review import IncidentReviewScreen, ReviewScreen
from tocsin.tui.wall import WallScreen

TOAST_MAX_S = 8.0
"""The longest a toast stays: a toast covers the wall, and whatever lasts has a line of its own (the
blind state, the latest level change, the incidents pane's status)."""
TROUBLE_REPEAT_S = 60.0
"""The same problem (a webhook failing, the journal busy) is shown again at most this often."""


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


class WallApp(App[int]):
    """The crisis desk wall: its desk and journal session, theme, keymap and toasts; the wall itself is
    the default screen (``WallScreen``)."""

    CSS_PATH = Path(__file__).with_name("tocsin.tcss")  # absolute: subclasses elsewhere find it too
    TITLE = "tocsin"

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
        # before Textual copies the wall's bindings: the wall's words, its keys' included (tui/i18n.py)
        use_language(settings.desk.language)
        strip_cycles.apply()  # painted lines freed as they go, not in the collector's long pauses
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
        self.session_problem: str | None = None
        """Why the journal could not open (the incident keys say it instead of acting)."""
        self._troubles_shown: dict[str, float] = {}
        self._duration = duration
        self.tz, self._tz_problem = desk_zone(settings.desk.timezone)
        self._desk_running = False
        self._desk_start: asyncio.Task[None] | None = None
        self._desk_stopped = False
        try:
            self.wall_layout = parse_layout(settings.ui.layout)
            """The panes this wall shows (check-config vets ``ui.layout``; ``--pane``/``--layout`` too)."""
            self._layout_problem: str | None = None
        except ValueError as exc:  # settings built in code skip check-config: say so, show everything
            self.wall_layout = Layout("wall", None)
            self._layout_problem = _("ui.layout: {error}; showing the whole wall").format(error=exc)
        self.keymap_ids = dict(settings.ui.keymap)
        """``ui.keymap`` as given (binding id → keys), for the help screen."""
        self.set_keymap(settings.ui.keymap)

    def get_default_screen(self) -> WallScreen:
        return WallScreen()

    @property
    def wall(self) -> WallScreen:
        """The wall's screen (the first on the stack, under any modal)."""
        return cast(WallScreen, self.default_screen)

    @property
    def desk_running(self) -> bool:
        """The desk has started and not yet stopped (the wall reads it only then)."""
        return self._desk_running

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
        unknown = sorted(set(self.keymap_ids) - binding_ids())
        if unknown:  # Textual ignores them silently; a remap that does nothing must not go unnoticed
            known = ", ".join(sorted(binding_ids()))
            said = _("unknown binding id(s) in ui.keymap: {ids} (known: {known})")
            problems.append(said.format(ids=", ".join(unknown), known=known))
        if problems:
            self.notify(safe_text.clean("; ".join(problems), 600), severity="warning", markup=False)
        # The desk starts after the first frame is on screen: the wall shows at once, even while the
        # sources connect and the sentiment engine warms up.
        self.call_after_refresh(self._begin_desk_start)
        if self._duration is not None:
            self.set_timer(self._duration, self.action_quit, name="duration")

    # --- the desk and the journal session -------------------------------------------------------

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
        self.wall.flush()

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

    async def start_session(self) -> None:
        """Open the journal and wire it to the desk and the wall; the wall keeps running without it if
        it fails."""
        session = self.session
        if session is None:
            return
        self._troubles_shown = {}
        session.alerts.bell = self.bell
        session.add_problem_listener(self._session_trouble)
        session.add_change_listener(self.wall.journal_changed)
        try:
            await session.start()
        except JournalError as exc:
            self.session = None
            self.session_problem = str(exc)
            self.notify(
                _("no incident journal: {error}; incidents cannot be recorded").format(
                    error=safe_text.clean(str(exc), 300)
                ),
                severity="error",
                markup=False,
                timeout=30,
            )
            await session.stop()
            return
        self.wall.show_incidents()

    async def stop_session(self) -> None:
        if self.session is not None:
            await self.session.stop()

    def _session_trouble(self, message: str) -> None:
        # a dead chat server fails every alert of a storm: say so once a minute, not once an alert
        now = time.monotonic()
        last = self._troubles_shown.get(message)
        if last is not None and now - last < TROUBLE_REPEAT_S:
            return
        self._troubles_shown[message] = now
        self.notify(safe_text.clean(message, 300), severity="error", markup=False, timeout=15)

    async def action_quit(self) -> None:
        """Stop the desk (sources, pipeline, sentiment worker), then leave."""
        await self._stop_desk()
        self.exit(0)

    # --- toasts ---------------------------------------------------------------------------------

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
    for owner in (WallScreen, FeedView, IncidentsPane, *screens):
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
