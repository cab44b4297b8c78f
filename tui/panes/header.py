"""The header: desk name, the desk clock in local time, the sentiment engine, one line per topic
with its rate, level and the reasons for that level, and the sources' gap alarms ("⚠ source masto
silent 12 min"): during a crisis, no mentions is not good news.

Above every level, the blind state: when no source still meant to deliver is seeing, a reversed line
says so first (which sources, since when, why in plain words) and each topic's badge reads BLIND; the
level it had stays beside it, but a calm one is never shown green: a desk that cannot see is not calm.

On a journal shared by several desks, the title says who this desk is among them (the ingest desk, or
attached to it, or standing by to take over) and how many desks are attached. When no ingest desk is
alive, a desk shown the ingest desk's figures cannot see either: a reversed line says so first ("no
ingest desk since 09:41 — figures frozen") and each topic's badge reads FROZEN, in the blind style."""

from __future__ import annotations

from datetime import datetime, tzinfo

from textual.content import Content
from textual.geometry import Size
from textual.widget import Widget

from tocsin.config.i18n import _, datetime_text, ngettext, number
from tocsin.config.reasons import level_name, shown
from tocsin.config.settings import LEVELS
from tocsin.config.text import duration_str
from tocsin.desk.palette import LEVEL_MARK, level_style
from tocsin.desk.presence import TeamView
from tocsin.scoring.snapshot import Blindness, Snapshot, TopicSnapshot
from tocsin.tui import safe_text

ALARM_STYLE = "bold $text on $error"
BLIND_MARK = "⊘"
"""The blind state's shape, so it reads without colour too (levels have ●▲◆■)."""
MAX_TOPIC_LINES = 4
"""More topics than this fold into a "+N more" line; the volume pane lists them all."""


def local_clock(now: datetime, tz: tzinfo | None) -> str:
    """The desk clock as the operator reads it: weekday, date, time and zone, in local time."""
    local = now.astimezone(tz)
    return datetime_text(local, "%a %d %b %H:%M:%S %Z", "EEE d MMM HH:mm:ss zzz").strip()


def source_alarms(snapshot: Snapshot | None) -> list[Content]:
    """``⚠ source masto silent 12 min (usually every 10 s)`` for each source that raised its gap alarm."""
    if snapshot is None:
        return []
    return [
        safe_text.content(
            _("⚠ source {source} {warning}").format(
                source=safe_text.clean(s.id, 30), warning=shown(s.gap_warning)
            ),
            ALARM_STYLE,
            max_len=120,
        )
        for s in snapshot.sources.values()
        if s.gap_warning
    ]


def blind_line(blind: Blindness, now: datetime, tz: tzinfo | None) -> Content:
    """`` ⊘ BLIND since 10:12 (3 min)  masto: no network · rss: server error 503 · last mention 10:05``:
    what the desk cannot see, first and loudest; the reasons before the last mention, as the line is cut
    to the terminal's width."""
    since = blind.since.astimezone(tz).strftime("%H:%M")
    span = duration_str(now - blind.since, "spoken")
    if blind.last_mention_at is None:
        last = _("nothing received since the start")
    else:
        last = _("last mention {time}").format(time=blind.last_mention_at.astimezone(tz).strftime("%H:%M"))
    return Content.assemble(
        (
            " "
            + _("{mark} BLIND since {since} ({span})").format(mark=BLIND_MARK, since=since, span=span)
            + " ",
            ALARM_STYLE,
        ),
        "  ",
        safe_text.content(blind.why(), "bold $text-error", max_len=300),
        (f" · {last}", "$text-error"),
    )


def team_words(team: TeamView) -> str:
    """The title's presence words: ``ingest desk · 2 desks attached``, ``attached to alice's ingest
    desk · 3 desks attached``, ``standby · 1 desk attached``."""
    n = team.attached
    attached = ngettext("{n} desk attached", "{n} desks attached", n).format(n=n)
    if team.role == "ingest":
        return _("ingest desk · {attached}").format(attached=attached)
    if team.role == "standby":
        return _("standby · {attached}").format(attached=attached)
    if team.ingest_alive and team.ingest is not None:
        who = _("attached to {operator}'s ingest desk").format(operator=team.ingest.operator)
        return f"{who} · {attached}"
    return _("attached · {attached}").format(attached=attached)


def team_line(team: TeamView | None, tz: tzinfo | None) -> Content | None:
    """The line under the title, when the desks on the journal need one: no ingest desk alive (loud),
    or this desk standing by."""
    if team is None or team.role == "ingest":
        return None
    if not team.ingest_alive:
        if team.gone_since is None:
            said = " " + _("{mark} NO INGEST DESK: nothing to show until one starts").format(mark=BLIND_MARK)
        else:
            since = team.gone_since.astimezone(tz).strftime("%H:%M")
            span = duration_str(team.as_of - team.gone_since, "spoken")
            said = " " + _("{mark} NO INGEST DESK since {since} ({span}) — figures frozen").format(
                mark=BLIND_MARK, since=since, span=span
            )
        if team.role == "standby":
            return Content.assemble((said + " ", ALARM_STYLE), "  ", (_("this desk is taking over"), "bold"))
        return Content.assemble((said + " ", ALARM_STYLE))
    if team.role == "standby":
        if team.ingest is not None:
            who = _("{operator}'s desk on {host} ingests").format(
                operator=team.ingest.operator, host=team.ingest.host
            )
        else:
            who = _("another desk ingests")
        words = _("STANDBY: {who}; this desk shows it, and takes over if it stops").format(who=who)
        return safe_text.content("◌ " + words, "bold $text-warning", max_len=200)
    return None


def _level_rank(topic: TopicSnapshot) -> int:
    return LEVELS.index(topic.level) if topic.level in LEVELS else 0


class DeskHeader(Widget):
    """Top of the wall. ``show`` stores the figures and repaints only when the text would change."""

    DEFAULT_CSS = """
    DeskHeader { height: auto; }
    """

    def __init__(self, desk_name: str, tz: tzinfo | None, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._desk_name = desk_name
        self._tz = tz
        self._snapshot: Snapshot | None = None
        self._clock = ""
        self._now: datetime | None = None
        self._finished = False
        self._news: Content | None = None
        self._team: TeamView | None = None

    def show(self, snapshot: Snapshot | None, now: datetime, *, finished: bool = False) -> None:
        """Take the latest snapshot and desk time (aware UTC); repaint if anything visible changed."""
        clock = local_clock(now, self._tz)
        if snapshot is self._snapshot and clock == self._clock and finished == self._finished:
            return
        lines_before = self._line_count()
        self._snapshot, self._clock, self._finished = snapshot, clock, finished
        self._now = now
        self.refresh(layout=self._line_count() != lines_before)

    def set_news(self, news: Content | None) -> None:
        """The latest level change while it is news (``tui/screens/levels.py``), or None."""
        if news == self._news:
            return
        layout = (news is None) != (self._news is None)
        self._news = news
        self.refresh(layout=layout)

    def set_team(self, team: TeamView | None) -> None:
        """The desks on the journal as the session last saw them (None: no journal, or not yet)."""
        if team == self._team:
            return
        lines_before = self._line_count()
        self._team = team
        self.refresh(layout=self._line_count() != lines_before)

    @property
    def frozen(self) -> bool:
        """No ingest desk is alive, and this desk only shows one: its figures are frozen."""
        team = self._team
        return team is not None and team.role != "ingest" and not team.ingest_alive

    def _line_count(self) -> int:
        news = 1 if self._news is not None else 0
        team = 1 if team_line(self._team, self._tz) is not None else 0
        snap = self._snapshot
        n = len(snap.topics) if snap else 0
        if snap is not None and snap.blind is not None:
            alarms = 1  # the blind line says every source: no separate alarm line
        else:
            alarms = 1 if source_alarms(snap) else 0
        behind = 1 if snap is not None and snap.behind is not None else 0
        judge = 1 if snap is not None and snap.judge_note else 0
        topics = max(1, min(n, MAX_TOPIC_LINES) + (1 if n > MAX_TOPIC_LINES else 0))
        return 1 + team + topics + alarms + news + behind + judge

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self._line_count()

    def render(self) -> Content:
        snap = self._snapshot
        engine: list[Content | tuple[str, str] | str] = []
        if snap is not None:
            engine = [(_("sentiment") + " ", "$foreground-muted"), (snap.engine, "bold")]
            if snap.engine_note:
                engine += [" ", safe_text.content(f"({snap.engine_note})", "$text-warning", max_len=60)]
        if self._finished:
            engine.append(("   " + _("all sources finished"), "$foreground-muted"))
        if self._team is not None:
            engine += [
                "   ",
                safe_text.content("⇄ " + team_words(self._team), "$foreground-muted", max_len=100),
            ]
        title = Content.assemble(
            ("tocsin", "bold $accent"),
            " ▸ ",
            safe_text.content(self._desk_name, "bold", max_len=40),
            "   ",
            (self._clock, "bold"),
            "   ",
            *engine,
        )
        lines = [title]
        team = team_line(self._team, self._tz)
        if team is not None:  # no ingest desk: said before anything it would have shown
            lines.append(team)
        alarms = source_alarms(snap)
        blind = snap.blind if snap is not None else None
        if blind is not None and self._now is not None:
            lines.append(blind_line(blind, self._now, self._tz))
            alarms = []
        if snap is not None and snap.behind is not None:  # the figures below are late: said before them
            lines.append(Content.styled("⏳ " + snap.behind.words(), "bold $text-warning"))
        if snap is not None and snap.judge_note:  # the judgement started over: its tables are young
            lines.append(safe_text.content("⚠ " + snap.judge_note, "bold $text-warning", max_len=200))
        if snap is None or not snap.topics:
            lines.append(Content.styled(_("waiting for the first figures…"), "$foreground-muted italic"))
            if alarms:
                lines.append(Content("  ").join(alarms))
            return self._lines(lines)
        topics = list(snap.topics.values())
        shown = topics
        if len(topics) > MAX_TOPIC_LINES:  # the hottest ones, still in the configured order
            hottest = sorted(topics, key=_level_rank, reverse=True)
            keep = {id(t) for t in hottest[:MAX_TOPIC_LINES]}
            shown = [t for t in topics if id(t) in keep]
        unseen = _("FROZEN") if self.frozen else _("BLIND") if blind is not None else None
        for topic in shown:
            lines.append(_topic_line(topic, unseen))
        if len(topics) > MAX_TOPIC_LINES:
            more = len(topics) - MAX_TOPIC_LINES
            words = ngettext("+{n} more topic", "+{n} more topics", more).format(n=more)
            lines.append(Content.styled(words, "$foreground-muted"))
        if alarms:  # one line for them all, the loudest on the wall after the levels
            lines.append(Content("  ").join(alarms))
        if self._news is not None:
            lines.append(self._news)
        return self._lines(lines)

    def _lines(self, lines: list[Content]) -> Content:
        # One line each, cut to the width: a wrapped header would push the whole wall down.
        width = max(1, self.content_region.width)
        return Content("\n").join(line.truncate(width, ellipsis=True) for line in lines)


def _topic_line(topic: TopicSnapshot, unseen: str | None) -> Content:
    """`` ◆ ALERT  Maison Brioche  42.0/min  volume 14x the usual``; when the desk cannot see (``unseen``
    is the badge: BLIND, or FROZEN when no ingest desk is alive), the badge says so and the level is
    only what was last seen (a calm one muted, never green)."""
    mark = LEVEL_MARK.get(topic.level, "?")
    reasons = " · ".join(shown(r) for r in topic.reasons) if topic.reasons else _("normal activity")
    name = safe_text.content(topic.name, "bold", max_len=30)
    rate = (f"{number(topic.rate_per_min)}/min", "bold")
    why = safe_text.content(reasons, "$foreground-muted", max_len=160)
    if unseen is None:
        return Content.assemble(
            (f" {mark} {level_name(topic.level).upper()} ", level_style(topic.level)),
            " ",
            name,
            "  ",
            rate,
            "  ",
            why,
        )
    calm = _level_rank(topic) == 0
    seen_style = "$foreground-muted" if calm else level_style(topic.level)
    pieces: list[Content | tuple[str, str] | str] = [
        (f" {BLIND_MARK} {unseen} ", ALARM_STYLE),
        " ",
        name,
        "  " + _("last seen") + " ",
        (f"{mark} {level_name(topic.level)}", seen_style),
        "  ",
        rate,
    ]
    if topic.reasons:  # "normal activity" would be a guess: nothing is seen
        pieces += ["  ", why]
    return Content.assemble(*pieces)
