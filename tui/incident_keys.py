"""The incident keys of the wall (``WallScreen`` extends ``IncidentKeys``): e a o r n t p s c v.

- ``e`` escalate: with no incident on the topic in view, open one (prefilled from the topic's level:
  severity, title from the reasons, first signal = when the level left calm; the feed's chosen mention
  as first evidence); on an existing incident, raise the severity or call the next ladder step.
  When the topic's incident was resolved lately (``session.RESURGENCE_WINDOW``), ``e`` offers to reopen
  it first: a storm coming back is the same crisis, with its clocks and its post-mortem.
- ``a`` acknowledge, ``o`` assign (from the roster), ``r`` log a response (a draft when
  ``team.approval`` names the severity; answering the feed's chosen post, if there is one), ``A``
  approve or reject a draft (approved, it is posted where ``publish:`` has an account, else copied to
  the clipboard), or try again one that did not go out, ``n`` note or lesson,
  ``t`` tick the response checklist (``screens/checklist.py``),
  ``s`` set the state (resolving asks for a ``y`` first; with no open incident, ``s`` offers the
  recently resolved ones to reopen), ``p`` pin the feed's selected mention as evidence, ``c`` correct
  its sentiment, ``v`` the review (where ``R`` reopens a resolved incident too).

Which incident: the one selected in the incidents pane (the only one, when one is open). Which
mention: the feed's selected line. Every journal call runs as a worker; the wall says an action is done
only after the journal returned (committed). The session (``desk/session.py``) opens the journal; when
it could not, the keys say why instead of acting.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import tzinfo
from typing import TYPE_CHECKING, Any, cast

from textual.binding import Binding
from textual.content import Content
from textual.screen import Screen

from tocsin.config import reasons
from tocsin.config.accounts import mention_prefix, replying_account
from tocsin.config.i18n import N_, _, ngettext
from tocsin.desk.actions import (
    draft_incident,
    escalation_choices,
    hottest_topic,
    incident_for_topic,
    incident_trigger,
)
from tocsin.desk.answer_guard import answer_guard, guard_for
from tocsin.desk.publishing import SendResult
from tocsin.desk.session import JournalSession
from tocsin.journal.display import state_name
from tocsin.journal.errors import JournalError
from tocsin.journal.incidents import AUTOMATIC
from tocsin.journal.model import Event, Incident, Severity, TrollGuard
from tocsin.journal.narrate import describe, platform_name
from tocsin.journal.templates import filled, templates_for
from tocsin.sources.model import ScoredMention
from tocsin.tui import safe_text
from tocsin.tui.panes.feed import FeedView
from tocsin.tui.panes.incidents import IncidentsPane
from tocsin.tui.screens.approval import ApprovalForm
from tocsin.tui.screens.checklist import ChecklistScreen
from tocsin.tui.screens.incident_forms import (
    ChoiceForm,
    NoteForm,
    OpenIncidentForm,
    ReopenForm,
    RespondForm,
    StateForm,
    assign_form,
    correct_form,
    escalation_form,
)
from tocsin.tui.screens.mention import SENTIMENT_WORDS
from tocsin.tui.screens.publishing import ReplyForm, UnsentForm, destination
from tocsin.tui.screens.review import ReviewScreen

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tocsin.config.settings import ResponseTemplate, Settings
    from tocsin.desk.desk import DeskLike
    from tocsin.journal.api import Journal
    from tocsin.tui.app import WallApp

INCIDENT_BINDINGS: list[Binding] = [
    Binding("e", "escalate", N_("Escalate"), id="escalate"),
    Binding("a", "acknowledge", N_("Ack"), id="acknowledge"),
    Binding("o", "assign", N_("Assign"), id="assign"),
    Binding("r", "respond", N_("Response"), id="respond"),
    Binding("n", "note", N_("Note"), id="note"),
    Binding("p", "pin", N_("Pin"), id="pin"),
    Binding("s", "set_state", N_("State"), id="set-state"),
    Binding("c", "correct", N_("Correct"), id="correct"),
    # shown by the incidents pane when it has focus (the wall's key bar is full at 120 columns)
    Binding("t", "checklist", N_("Checklist"), show=False, id="checklist"),
    Binding("v", "review", N_("Review"), id="review"),
    Binding("A", "approve", N_("Approve"), show=False, id="approve"),
]


class IncidentScreen(Screen[None]):
    """What the incident keys act on and how they run: the app's desk, settings and journal session
    (``WallApp``), the incidents pane's selected incident, the feed's selected mention; an action runs
    as a worker and is announced once the journal has it. ``WallApp`` starts the session before the
    desk and wires ``journal_changed`` to it; the wall's flush calls ``show_incidents``."""

    _incidents_version = -1

    @property
    def wall_app(self) -> WallApp:
        """The app this screen is on (the wall's screen only runs on a ``WallApp``)."""
        return cast("WallApp", self.app)

    @property
    def settings(self) -> Settings:
        return self.wall_app.settings

    @property
    def desk(self) -> DeskLike:
        return self.wall_app.desk

    @property
    def session(self) -> JournalSession | None:
        """The desk's link to the journal (None without one, or when it could not open)."""
        return self.wall_app.session

    @property
    def tz(self) -> tzinfo | None:
        """The zone times are shown in (None = this machine's)."""
        return self.wall_app.tz

    # --- the session ----------------------------------------------------------------------------

    def journal_changed(self, events: Sequence[Event], incidents: Sequence[Incident]) -> None:
        """Other desks' actions on the shared journal, as toasts (ours are announced by the action)."""
        session = self.session
        if session is None or session.journal is None:
            return
        me = session.journal.operator
        theirs = [e for e in events if e.operator not in (me, AUTOMATIC) and e.incident_id is not None]
        if theirs:  # one toast: the latest action, and how many came with it (toasts never stack)
            ev = theirs[-1]
            said = describe(ev, self.tz or _local_zone(), limit=120)
            n = len(theirs) - 1
            more = (
                " " + ngettext("(and {n} more action)", "(and {n} more actions)", n).format(n=n) if n else ""
            )
            self.notify(
                safe_text.clean(
                    f"{ev.operator} " + _("on #{id}").format(id=ev.incident_id) + f": {said}{more}", 300
                ),
                title=_("Another desk"),
                markup=False,
            )
        self.show_incidents()

    def show_incidents(self) -> None:
        """Bring the incidents pane up to date: the list when the session's changed, the clocks always."""
        try:
            pane = self.query_one(IncidentsPane)
        except Exception:  # not composed (yet): nothing to show
            return
        session = self.session
        if session is None:
            return
        now = self.desk.clock.now()
        if session.version != self._incidents_version:
            self._incidents_version = session.version
            pane.set_incidents(session.incidents, now, self._pane_status(session))
        else:
            pane.set_status(self._pane_status(session))
            pane.tick(now)

    @staticmethod
    def _pane_status(session: JournalSession) -> str | None:
        parts = [p for p in (session.problem, session.describe_alert_state()) if p]
        return " · ".join(parts) if parts else None

    # --- targets --------------------------------------------------------------------------------

    def _journal(self) -> Journal | None:
        session = self.session
        if session is None or session.journal is None:
            why = self.wall_app.session_problem or _("this wall runs without one")
            message = _("no incident journal ({why})").format(why=safe_text.clean(why, 200))
            self.notify(message, severity="warning", markup=False)
            return None
        return session.journal

    def _selected_incident(self, *, quiet: bool = False) -> Incident | None:
        pane = self.query_one(IncidentsPane)
        inc = pane.selected_incident
        if inc is None and not quiet:
            self.notify(_("no open incident: press e to open one"), severity="warning", markup=False)
        return inc

    def _selected_mention(self, *, chosen_only: bool = False) -> ScoredMention | None:
        """The feed's selected mention; ``chosen_only``: only a line the operator moved to (not the
        newest one that the tail keeps selecting)."""
        feed = self.query_one(FeedView)
        if chosen_only and feed.tail:
            return None
        return feed.selected_mention

    def _context_topic(self, mention: ScoredMention | None) -> tuple[str | None, str | None, tuple[str, ...]]:
        """The topic an ``e`` is about: the chosen mention's, else the hottest one; with its level."""
        snapshot = self.desk.snapshot()
        topics = snapshot.topics
        configured = [t.id for t in self.settings.topics]
        topic: str | None = None
        if mention is not None:
            ours = [t for t in mention.topics if t in configured]
            topic = next(iter(ours or mention.topics), None)
        if topic is None:
            topic = hottest_topic((tid, t.level) for tid, t in topics.items())
        if topic is None and configured:
            topic = configured[0]
        if topic is None:
            return None, None, ()
        session = self.session
        known = session.levels.get(topic) if session is not None else None
        seen = topics.get(topic)
        level = seen.level if seen is not None else (known.level if known else None)
        reasons = tuple(seen.reasons) if seen is not None else (known.reasons if known else ())
        return topic, level, reasons

    # --- running an action ----------------------------------------------------------------------

    async def _after_action(self) -> None:
        """Pick up what was just written (and anything other desks did) for the pane."""
        session = self.session
        if session is not None:
            try:
                await session.poll()
            except JournalError:
                pass  # the write is committed; the next poll will show it
        self.show_incidents()

    def _done(self, message: str) -> None:
        self.notify(safe_text.clean(message, 300), markup=False, timeout=6)

    def _run(self, work: Callable[[], Awaitable[str | None]]) -> None:
        """A journal call without a form (acknowledge, pin): a worker; errors as toasts."""

        async def run() -> None:
            try:
                said = await work()
            except JournalError as exc:
                self.notify(safe_text.clean(str(exc), 300), severity="error", markup=False)
                return
            await self._after_action()
            if said:
                self._done(said)

        self.app.run_worker(run(), group="journal", exit_on_error=False)

    def _form(self, form: Any, announce: Callable[[Any], str]) -> None:
        """Show a form; once it closed after a committed action, refresh and say what was done."""

        def closed(result: Any) -> None:
            if result is None:
                return
            self._done(announce(result))
            self.show_incidents()

        self.app.push_screen(form, closed)


class IncidentKeys(IncidentScreen):
    """The incident keys (their ``action_*``); ``WallScreen`` binds them (``INCIDENT_BINDINGS``)."""

    # --- the keys -------------------------------------------------------------------------------

    def action_escalate(self) -> None:
        """Open an incident from the topic in view, or escalate the one it already has."""
        self.escalate_about(self._selected_mention(chosen_only=True))

    def escalate_about(self, mention: ScoredMention | None) -> None:
        """``e``: about ``mention`` (the feed's chosen line, or the one a detail shows) when there is one,
        else the topic in view: open its incident, or escalate the one it already has."""
        journal = self._journal()
        session = self.session
        if journal is None or session is None:
            return
        pane = self.query_one(IncidentsPane)
        selected = pane.selected_incident
        existing = selected if self.focused is pane else None  # the pane's choice, when it has focus
        topic, level, reasons = self._context_topic(mention)
        if existing is None and topic is not None:
            existing = incident_for_topic(session.incidents, topic)
        if existing is not None:
            self._escalate(journal, existing)
            return
        if topic is None:
            self.notify(_("no topic configured to open an incident on"), severity="warning", markup=False)
            return
        recent = session.recently_resolved(topic)
        if recent:
            self._reopen_or_open(
                journal, recent[0], level, lambda: self._open_new(session, topic, level, reasons)
            )
            return
        self._open_new(session, topic, level, reasons)

    def _reopen_or_open(
        self, journal: Journal, resolved: Incident, level: str | None, open_new: Callable[[], None]
    ) -> None:
        """The topic's incident was resolved lately: reopen it (the default), or open a fresh one."""
        when = resolved.resolved_at.astimezone(self.tz).strftime("%a %H:%M") if resolved.resolved_at else "?"
        choices = [
            (
                "reopen",
                _("Reopen #{id} (resolved {time}): the same storm is back").format(id=resolved.id, time=when),
            ),
            ("new", _("Open a new incident: this is something else")),
        ]

        async def commit(values: dict[str, Any]) -> Incident | str:
            if values.get("choice") != "reopen":
                return "new"
            # kept in English in the journal, shown in the reader's language (config/reasons.py)
            why = reasons.say(reasons.RESURGENCE, level=level) if level else N_("it came back")
            inc = await journal.reopen(resolved.id, reason=why)
            await self._after_action()
            self.query_one(IncidentsPane).select_incident(inc.id)
            return inc

        def closed(result: Incident | str | None) -> None:
            if result == "new":
                open_new()
            elif isinstance(result, Incident):
                self._done(_("#{id} reopened: {title}").format(id=result.id, title=result.title))
                self.show_incidents()

        heading = Content.assemble(
            (_("Escalate"), "bold $accent"),
            " · " + _("the topic's last incident") + " ",
            (f"#{resolved.id} {resolved.severity.label} ", "bold"),
            safe_text.content(resolved.title, max_len=50),
        )
        self.app.push_screen(ChoiceForm(commit, heading, choices), closed)

    def _open_new(
        self, session: JournalSession, topic: str, level: str | None, reasons: tuple[str, ...]
    ) -> None:
        """The open-incident form, prefilled from the topic's level."""
        mention = self._selected_mention(chosen_only=True)
        seen = self.desk.snapshot().topics.get(topic)
        trigger = incident_trigger(self.settings, topic, seen, mention)  # "mould video by @julie"
        draft = draft_incident(self.settings, topic, level, reasons, session.first_signal(topic), trigger)

        async def commit(values: dict[str, Any]) -> Incident:
            chosen = str(values["topic"])
            same = chosen == draft.topic
            inc = await session.open_incident(
                chosen,
                str(values["severity"]),
                str(values["title"]),
                first_signal_at=draft.first_signal_at if same else session.first_signal(chosen),
                level=draft.level if same else None,
                reasons=draft.reasons if same else (),
                evidence=[mention] if (mention is not None and values.get("pin")) else [],
            )
            await self._after_action()
            self.query_one(IncidentsPane).select_incident(inc.id)
            return inc

        form = OpenIncidentForm(commit, self.settings, draft, self.tz, evidence=mention)
        opened = _("#{id} opened: {severity} {title}")
        self._form(form, lambda inc: opened.format(id=inc.id, severity=inc.severity.label, title=inc.title))

    def _escalate(self, journal: Journal, incident: Incident) -> None:
        choices = escalation_choices(self.settings, incident)

        async def commit(values: dict[str, Any]) -> Incident:
            key = values.get("choice")
            severity = None if key == "ladder" else Severity.parse(key)
            inc = await journal.escalate(incident.id, severity)
            await self._after_action()
            return inc

        def said(inc: Incident) -> str:
            if inc.severity is not incident.severity:
                return _("#{id} is now {state}").format(id=inc.id, state=inc.severity.label)
            return _("#{id} escalated to step {step}").format(id=inc.id, step=inc.escalation_step)

        self._form(escalation_form(commit, incident, choices), said)

    def action_acknowledge(self) -> None:
        journal = self._journal()
        inc = self._selected_incident() if journal is not None else None
        if journal is None or inc is None:
            return

        async def work() -> str:
            done = await journal.acknowledge(inc.id)
            return _("#{id} acknowledged by {who}").format(id=done.id, who=done.acknowledged_by)

        self._run(work)

    def action_assign(self) -> None:
        journal = self._journal()
        inc = self._selected_incident() if journal is not None else None
        if journal is None or inc is None:
            return

        async def commit(values: dict[str, Any]) -> Incident:
            done = await journal.assign(inc.id, str(values.get("choice") or ""))
            await self._after_action()
            return done

        names = {m.id: m.name for m in self.settings.team.roster}
        self._form(
            assign_form(commit, inc, self.settings),
            lambda done: _("#{id} assigned to {who}").format(
                id=done.id, who=names.get(done.assignee, done.assignee)
            ),
        )

    def action_respond(self) -> None:
        journal = self._journal()
        inc = self._selected_incident() if journal is not None else None
        if journal is None or inc is None:
            return
        post = self._selected_mention(chosen_only=True)  # the post this response may answer
        answering = journal.reply_ref(post) if post is not None else None
        replier = replying_account(self.settings, answering)
        channel = replier.platform if replier is not None else str((answering or {}).get("platform") or "")

        async def commit(values: dict[str, Any]) -> tuple[Incident, int | None]:
            done = await journal.respond(
                inc.id,
                str(values["kind"]),
                values["channel"],
                values["text"],
                values["url"] or None,
                template=values.get("template"),
                reply_to=values.get("reply_to"),
                troll_guard=values.get("troll_guard"),
            )
            await self._after_action()
            return done

        def fill(template: ResponseTemplate) -> str:
            text = filled(self.settings, template, inc, self.desk.clock.now(), journal.operator)
            return mention_prefix(self.settings, answering, channel) + text

        def said(result: tuple[Incident, int | None]) -> str:
            done, draft = result
            if draft is None:
                return _("#{id} response logged (now {state})").format(
                    id=done.id, state=state_name(done.state)
                )
            roles = ", ".join(journal.approval_roles(done.severity))
            saved = _("#{id} draft {draft} saved: awaiting approval by {roles} (nothing sent yet)")
            return saved.format(id=done.id, draft=draft, roles=roles)

        templates = templates_for(self.settings, inc)
        # the troll guard on the post answered: the chosen one's scores are at hand, the incident's
        # trigger post's are read from the journal once the form is open
        guard = (
            guard_for(self.settings, post.scores, post.mention.author.handle) if post is not None else None
        )
        if post is not None and answering is not None:
            where = destination(replier, channel)
            form: RespondForm[Any] = ReplyForm(
                commit,
                inc,
                templates,
                fill,
                post=post,
                where=where,
                channel=channel,
                tz=self.tz,
                guard=guard,
            )
        else:

            async def trigger() -> TrollGuard | None:  # the incident's trigger post, from the journal
                return await answer_guard(journal, self.settings, inc, None)

            form = RespondForm(commit, inc, templates, fill, find_guard=trigger)
        self._form(form, said)

    def action_approve(self) -> None:
        """The second person: approve or reject the selected incident's response drafts (an approved
        one is posted where an account can, else copied to the clipboard); with none waiting, try again
        the approved ones that did not go out, or log them as sent by hand."""
        journal = self._journal()
        session = self.session
        inc = self._selected_incident() if journal is not None else None
        if journal is None or inc is None or session is None or session.publishing is None:
            return
        publishing = session.publishing

        async def decide(values: dict[str, Any]) -> SendResult | Incident:
            draft, decision = str(values.get("draft")), values.get("decision")
            done: SendResult | Incident
            if decision == "reject":
                done = await journal.reject(inc.id, draft, str(values.get("reason") or ""))
            elif decision == "retry":
                done = await publishing.send(inc.id, draft)
            elif decision == "hand":
                done = await publishing.by_hand(inc.id, draft, url=values.get("url") or None)
            else:
                done = await publishing.approve(inc.id, draft)
            await self._after_action()
            return done

        async def show() -> None:
            drafts = await journal.pending_drafts(inc.id)
            unsent = await journal.unsent_drafts(inc.id) if not drafts else []
            if drafts:
                form: Any = ApprovalForm(decide, inc, drafts, self.tz)
            elif unsent:
                form = UnsentForm(decide, inc, unsent, self.tz or _local_zone())
            else:
                nothing = _("#{id}: no response awaits approval").format(id=inc.id)
                self.notify(nothing, severity="warning", markup=False)
                return
            self.app.push_screen(form, self._decided)

        self.app.run_worker(show(), group="journal", exit_on_error=False)

    def _decided(self, result: SendResult | Incident | None) -> None:
        """Say what became of a draft, once the journal has it: rejected, published (its address),
        failed (why; A tries again), or by hand (its words in the clipboard)."""
        if result is None:
            return
        self.show_incidents()
        if isinstance(result, Incident):
            self._done(_("#{id} draft rejected").format(id=result.id))
            return
        inc, draft = result.incident, result.draft
        if result.outcome == "published":
            said = _("#{id} draft {draft} published on {platform}: {url}")
            where = platform_name(result.platform)
            self._done(said.format(id=inc.id, draft=draft, platform=where, url=result.url))
        elif result.outcome == "failed":
            said = _("#{id} draft {draft} approved, not sent: {why} · A tries again")
            message = safe_text.clean(said.format(id=inc.id, draft=draft, why=result.problem), 300)
            self.notify(message, severity="error", markup=False, timeout=8)
        else:
            self.app.copy_to_clipboard(result.text)
            said = _("#{id} draft {draft}: in your clipboard, to post yourself (logged as sent by hand)")
            self._done(said.format(id=inc.id, draft=draft))

    def action_note(self) -> None:
        journal = self._journal()
        inc = self._selected_incident() if journal is not None else None
        if journal is None or inc is None:
            return

        async def commit(values: dict[str, Any]) -> tuple[Incident, bool]:
            lesson = bool(values["lesson"])
            done = await journal.add_note(inc.id, values["text"], kind="lesson" if lesson else "note")
            await self._after_action()
            return done, lesson

        self._form(
            NoteForm(commit, inc),
            lambda result: (_("#{id} lesson added") if result[1] else _("#{id} note added")).format(
                id=result[0].id
            ),
        )

    def action_set_state(self) -> None:
        journal = self._journal()
        session = self.session
        if journal is None or session is None:
            return
        inc = self._selected_incident(quiet=True)
        if inc is None:
            self._offer_reopen(journal, session)
            return

        async def commit(values: dict[str, Any]) -> Incident:
            done = await journal.set_state(inc.id, str(values.get("choice")), reason=values.get("reason"))
            await self._after_action()
            return done

        now = _("#{id} is now {state}")
        self._form(StateForm(commit, inc), lambda done: now.format(id=done.id, state=state_name(done.state)))

    def _offer_reopen(self, journal: Journal, session: JournalSession) -> None:
        """``s`` with no open incident: the recently resolved ones, to reopen (the way back from an
        accidental resolve, or a storm that came back)."""
        recent = session.recently_resolved()
        if not recent:
            self.notify(
                _("no open or recently resolved incident: press e to open one"),
                severity="warning",
                markup=False,
            )
            return

        async def commit(values: dict[str, Any]) -> Incident:
            done = await journal.reopen(int(str(values.get("choice"))), reason=values.get("reason") or None)
            await self._after_action()
            self.query_one(IncidentsPane).select_incident(done.id)
            return done

        self._form(
            ReopenForm(commit, recent[:8], self.tz),
            lambda done: _("#{id} reopened: {title}").format(id=done.id, title=done.title),
        )

    def action_pin(self) -> None:
        journal = self._journal()
        inc = self._selected_incident() if journal is not None else None
        if journal is None or inc is None:
            return
        mention = self._selected_mention()
        if mention is None:
            self.notify(_("no mention selected in the feed"), severity="warning", markup=False)
            return

        async def work() -> str:
            done = await journal.pin_evidence(inc.id, mention)
            m = mention.mention
            when = m.created_at.astimezone(self.tz).strftime("%H:%M:%S")
            said = _("pinned {handle}'s post of {time} to #{id}")
            return said.format(handle=safe_text.handle_str(m.author.handle), time=when, id=done.id)

        self._run(work)

    def action_correct(self) -> None:
        journal = self._journal()
        mention = self._selected_mention() if journal is not None else None
        if journal is None:
            return
        if mention is None:
            self.notify(_("no mention selected in the feed"), severity="warning", markup=False)
            return
        session = self.session
        incidents = session.incidents if session is not None else ()
        attached = next((i for i in reversed(incidents) if i.topic in mention.topics), None)

        async def commit(values: dict[str, Any]) -> str:
            label = str(values.get("choice"))
            await journal.correct_sentiment(
                mention,
                label,
                old_label=mention.sentiment.label,
                incident_id=attached.id if attached else None,
            )
            await self._after_action()
            return label

        self._form(
            correct_form(commit, mention, self.tz),
            lambda label: _("sentiment of {handle}'s post recorded as {label} (training data)").format(
                handle=safe_text.handle_str(mention.mention.author.handle),
                label=_(SENTIMENT_WORDS.get(label, label)),
            ),
        )

    def action_checklist(self) -> None:
        """Tick the response checklist of the selected incident (each tick committed as it is made)."""
        journal = self._journal()
        inc = self._selected_incident() if journal is not None else None
        if journal is None or inc is None:
            return

        def closed(_: Incident | None) -> None:
            self.app.run_worker(self._after_action(), group="journal", exit_on_error=False)

        self.app.push_screen(ChecklistScreen(journal, inc, self.tz), closed)

    def action_review(self) -> None:
        journal = self._journal()
        if journal is None:
            return
        self.app.push_screen(ReviewScreen(journal, self.tz))


def _local_zone() -> tzinfo:
    from datetime import datetime

    zone = datetime.now().astimezone().tzinfo
    assert zone is not None
    return zone
