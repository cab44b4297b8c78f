"""The small forms behind the incident keys: open, escalate, assign, respond, note, state, correct.

Each form collects what the action needs and hands it to a ``commit`` coroutine (the journal call,
given by the app). The form stays open while the call runs (as a worker: the wall keeps drawing);
a ``JournalError`` (empty field, response without its text, action on a resolved incident…) is shown
in the form and nothing was written; the form closes, returning the result, only once the call
returned, i.e. once the journal committed. Enter (or Ctrl+S in a text box) saves, Esc cancels.

Mention text, handles and incident titles shown here go through ``safe_text``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, tzinfo
from typing import Any, ClassVar, Generic, TypeVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Checkbox, Input, Label, OptionList, Select, Static, TextArea
from textual.widgets.option_list import Option

from tocsin.config.i18n import N_, _, datetime_text
from tocsin.config.settings import ResponseTemplate, Settings
from tocsin.desk.actions import CHANNELS, STATE_CHOICES, EscalationChoice, IncidentDraft, response_choices
from tocsin.journal.display import kind_name, state_name
from tocsin.journal.errors import JournalError
from tocsin.journal.model import Incident, TrollGuard
from tocsin.sources.model import ScoredMention
from tocsin.tui import safe_text
from tocsin.tui.screens.checklist import TickBox
from tocsin.tui.screens.mention import troll_warning

T = TypeVar("T")
Commit = Callable[[dict[str, Any]], Awaitable[T]]

SEVERITY_CHOICES: tuple[tuple[str, str], ...] = (
    ("sev1", N_("SEV1 · crisis: everyone on deck")),
    ("sev2", N_("SEV2 · alert: answer within the SLA")),
    ("sev3", N_("SEV3 · watch closely")),
    ("sev4", N_("SEV4 · keep an eye on it (no response clock)")),
)
"""(severity, label): the labels in English, translated where the form shows them."""
LABEL_CHOICES: tuple[tuple[str, str], ...] = (
    ("negative", N_("− negative")),
    ("neutral", N_("· neutral")),
    ("positive", N_("+ positive")),
)


def incident_heading(incident: Incident, what: str) -> Content:
    """``Respond · #3 SEV2 Maison Brioche: mould photo``."""
    return Content.assemble(
        (what, "bold $accent"),
        " · ",
        (f"#{incident.id} {incident.severity.label} ", "bold"),
        safe_text.content(incident.title, max_len=70),
    )


def mention_line(scored: ScoredMention, tz: tzinfo | None) -> Content:
    """``10:24 @lea_mtl (2.3k): the text…`` for a form's context line."""
    m = scored.mention
    parts: list[Content | tuple[str, str] | str] = [
        (m.created_at.astimezone(tz).strftime("%H:%M:%S"), "$foreground-muted"),  # the same in every language
        " ",
        safe_text.handle(m.author.handle, "bold"),
    ]
    if m.author.followers is not None:
        parts += [" ", (f"({safe_text.number_str(m.author.followers)})", "$foreground-muted")]
    parts += [": ", safe_text.content(m.text, max_len=160)]
    return Content.assemble(*parts)


class IncidentForm(ModalScreen[T | None], Generic[T]):
    """A small modal form whose save runs ``commit`` and closes only after it returned."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", N_("Cancel"), id="form-cancel"),
        Binding("ctrl+s", "submit", N_("Save"), id="form-save"),
    ]

    DEFAULT_CSS = """
    IncidentForm {
        align: center middle;
        & > Vertical {
            width: 78;
            max-width: 100%;
            height: auto;
            max-height: 95%;
            border: round $accent;
            background: $surface;
            padding: 0 1;
        }
        & .form-heading { margin-bottom: 1; }
        & .form-context { color: $foreground-muted; margin-bottom: 1; }
        & Label { color: $foreground-muted; margin-top: 1; }
        & OptionList { height: auto; max-height: 10; }
        & TextArea { height: 6; }
        & #form-error { color: $text-error; text-style: bold; margin-top: 1; height: auto; }
        & #form-error.-busy { color: $foreground-muted; text-style: italic; }
        & #form-hint { color: $foreground-muted; margin-top: 1; }
    }
    IncidentForm.-short {
        & > Vertical { max-height: 100%; }
        & .form-heading, & .form-context { margin-bottom: 0; }
        & Label, & #form-error, & #form-hint { margin-top: 0; }
        & TextArea { height: 4; }
    }
    """

    HINT = N_("Enter saves · Esc cancels")
    """The keys under the form (English, translated when shown)."""
    SHORT = 32
    """Below this many lines the form drops its blank lines and field borders: at 80x24 the respond
    form's link field and its save hint fell below the screen."""

    def __init__(self, commit: Commit[T], heading: Content) -> None:
        super().__init__()
        self._commit = commit
        self._heading = heading
        self.busy = False
        self.error: str | None = None
        """The last error shown (what the journal refused), for the operator and the tests."""

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "tocsin"
            yield Static(self._heading, classes="form-heading")
            yield from self.fields()
            yield Static("", id="form-error")
            yield Static(_(self.HINT), id="form-hint")

    def fields(self) -> ComposeResult:
        """The form's widgets (subclasses)."""
        yield from ()

    def on_resize(self) -> None:
        """Tight on a short terminal, airy on a tall one (the class and the boxes' borders)."""
        short = self.app.size.height < self.SHORT
        self.set_class(short, "-short")
        for box in self.query(Input):
            box.compact = short
        for area in self.query(TextArea):
            area.compact = short

    def values(self) -> dict[str, Any]:
        """What the operator entered (subclasses)."""
        return {}

    def show_error(self, message: str | None, *, busy: bool = False) -> None:
        self.error = None if busy else message
        box = self.query_one("#form-error", Static)
        box.set_class(busy, "-busy")
        box.update(safe_text.content(message or "", max_len=400, multiline=True))

    def action_submit(self) -> None:
        """Save: run the journal call; the form closes when it returned."""
        if self.busy:
            return
        self.busy = True
        self.show_error(_("saving…"), busy=True)
        self.run_worker(self._save(self.values()), group="journal", exit_on_error=False)

    async def _save(self, values: dict[str, Any]) -> None:
        try:
            result = await self._commit(values)
        except JournalError as exc:
            self.busy = False
            self.show_error(str(exc))
            return
        except Exception as exc:  # a bug must not leave the form stuck on "saving…"
            self.busy = False
            self.show_error(_("could not save: {error}").format(error=f"{type(exc).__name__}: {exc}"))
            return
        self.busy = False
        self.dismiss(result)

    def action_cancel(self) -> None:
        if self.busy:  # the write may already be committing: wait for its answer
            self.notify(_("saving… the form closes when the journal has it"), markup=False)
            return
        self.dismiss(None)

    @on(Input.Submitted)
    def _input_submitted(self) -> None:
        self.action_submit()


SELECTED_MARK = "▸ "
"""Before the highlighted option: the choice Enter saves reads without colour too."""


class ChoiceForm(IncidentForm[T]):
    """A form that is mostly one list: Enter on an option saves it. The highlighted option carries a
    mark as well as the highlight's colour (colour is never the only signal)."""

    HINT = N_("↑/↓ choose · Enter saves · Esc cancels")

    def __init__(
        self,
        commit: Commit[T],
        heading: Content,
        choices: Sequence[tuple[str, str | Content]],
        *,
        current: str | None = None,
        context: Content | None = None,
    ) -> None:
        super().__init__(commit, heading)
        self._choices = list(choices)
        self._current = current
        self._context_line = context

    def fields(self) -> ComposeResult:
        if self._context_line is not None:
            yield Static(self._context_line, classes="form-context")
        self._prompts: list[Content] = []
        for key, label in self._choices:
            shown = label if isinstance(label, Content) else Content(label)
            if key == self._current:
                shown = Content.assemble(shown, ("  " + _("(now)"), "$foreground-muted"))
            self._prompts.append(shown)
        self._marked: int | None = None
        yield OptionList(
            *(Option(self._prompt(i), id=k) for i, (k, _) in enumerate(self._choices)), id="choices"
        )
        yield from self.more_fields()

    def _prompt(self, index: int, *, marked: bool = False) -> Content:
        if marked:
            return Content.assemble((SELECTED_MARK, "bold"), self._prompts[index])
        return Content.assemble(" " * len(SELECTED_MARK), self._prompts[index])

    @on(OptionList.OptionHighlighted, "#choices")
    def _mark_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        choices = event.option_list
        if self._marked is not None and self._marked < len(self._prompts):
            choices.replace_option_prompt_at_index(self._marked, self._prompt(self._marked))
        self._marked = event.option_index
        choices.replace_option_prompt_at_index(
            event.option_index, self._prompt(event.option_index, marked=True)
        )

    def more_fields(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        choices = self.query_one("#choices", OptionList)
        keys = [k for k, _ in self._choices]
        start = next((i for i, k in enumerate(keys) if k != self._current), 0)
        choices.highlighted = start
        choices.focus()

    @property
    def choice(self) -> str | None:
        choices = self.query_one("#choices", OptionList)
        index = choices.highlighted
        return None if index is None else choices.get_option_at_index(index).id

    def values(self) -> dict[str, Any]:
        return {"choice": self.choice}

    @on(OptionList.OptionSelected, "#choices")
    def _chosen(self) -> None:
        self.action_submit()


class OpenIncidentForm(IncidentForm[T]):
    """A new incident, prefilled from the topic's level (severity, title, first signal)."""

    HINT = N_("Enter saves · Esc cancels · Tab moves between fields")

    def __init__(
        self,
        commit: Commit[T],
        settings: Settings,
        draft: IncidentDraft,
        tz: tzinfo | None,
        *,
        evidence: ScoredMention | None = None,
    ) -> None:
        super().__init__(commit, Content.styled(_("Open an incident"), "bold $accent"))
        self._settings = settings
        self._draft = draft
        self._tz = tz
        self._evidence = evidence

    def fields(self) -> ComposeResult:
        draft = self._draft
        topics = [(safe_text.text(t.label, max_len=60), t.id) for t in self._settings.topics]
        if draft.topic not in [t.id for t in self._settings.topics]:
            topics.append((safe_text.text(draft.topic, max_len=60), draft.topic))
        yield Label(_("Topic"))
        yield Select(topics, value=draft.topic, allow_blank=False, id="topic", compact=True)
        yield Label(_("Severity"))
        yield Select(
            [(Text(_(label)), key) for key, label in SEVERITY_CHOICES],
            value=str(draft.severity),
            allow_blank=False,
            id="severity",
            compact=True,
        )
        yield Label(_("Title"))
        yield Input(draft.title, id="title", placeholder=_("what is going on, in a few words"))
        yield Static(self._signal_line(draft.first_signal_at), classes="form-context", id="first-signal")
        if self._evidence is not None:
            yield TickBox(_("Pin this mention as the first evidence"), value=True, id="pin")
            yield Static(mention_line(self._evidence, self._tz), classes="form-context")

    def _signal_line(self, at: datetime | None) -> Content:
        if at is None:
            return Content(_("First signal: now (the topic is calm; the clocks start when you save)"))
        local = at.astimezone(self._tz).strftime("%H:%M:%S")
        before, _field, after = _("First signal: {time} (when the level left calm)").partition("{time}")
        return Content.assemble(before, (local, "bold"), after)

    def on_mount(self) -> None:
        self.query_one("#title", Input).focus()

    def values(self) -> dict[str, Any]:
        pin = self.query(Checkbox)
        return {
            "topic": self.query_one("#topic", Select).value,
            "severity": self.query_one("#severity", Select).value,
            "title": self.query_one("#title", Input).value,
            "pin": bool(pin and pin.first().value),
        }


class RespondForm(IncidentForm[T]):
    """Log a response that was published or sent: kind, channel, text, link — starting, if the
    operator picks one, from a prepared template (``responses:``) whose filled text is then edited."""

    HINT = N_("Ctrl+S saves · Enter in a one-line field saves · Esc cancels")

    def __init__(
        self,
        commit: Commit[T],
        incident: Incident,
        templates: Sequence[ResponseTemplate] = (),
        fill: Callable[[ResponseTemplate], str] | None = None,
        *,
        template: str | None = None,
        guard: TrollGuard | None = None,
        find_guard: Callable[[], Awaitable[TrollGuard | None]] | None = None,
    ) -> None:
        """``guard``: the troll guard's advice on the post this answers, when it is known already;
        ``find_guard``: how to look it up (the incident's trigger post, read from the journal) once the
        form is open."""
        super().__init__(commit, incident_heading(incident, _("Log a response")))
        self._incident = incident
        self._templates = {t.id: t for t in templates}
        self._fill = fill
        self._start = template if template in self._templates else None
        self.guard = guard
        """What the troll guard holds against the post answered (None: nothing); kept on the response
        when it is answered publicly anyway."""
        self._find_guard = find_guard

    def fields(self) -> ComposeResult:
        kind = "holding_statement" if self._incident.first_response_at is None else "official_statement"
        yield Static(self._guard_content(), id="troll-guard", classes="form-context")
        if self._templates:
            yield Label(_("Start from a template (then edit the text)"))
            yield Select(
                [(Text(template_label(t)), t.id) for t in self._templates.values()],
                value=self._start if self._start is not None else Select.NULL,
                prompt=_("No template: write it"),
                id="template",
                compact=True,
            )
        yield Label(_("Kind"))
        yield Select(
            [(Text(label), key) for key, label in response_choices()],
            value=kind,
            allow_blank=False,
            id="kind",
            compact=True,
        )
        yield Label(_("Channel (where it was published or sent)"))
        yield Input(
            id="channel", placeholder=_("x, instagram, press, email…"), suggester=SuggestFromList(CHANNELS)
        )
        yield Label(_("Text (what was said)"))
        yield TextArea(id="text", soft_wrap=True, show_line_numbers=False, tab_behavior="focus")
        yield Label(_("Link (optional)"))
        yield Input(id="url", placeholder="https://…")

    def on_mount(self) -> None:
        if self._start is not None:
            self._use_template(self._start)
        self.query_one("#troll-guard", Static).display = self.guard is not None
        self.query_one("#channel", Input).focus()
        if self._find_guard is not None:
            self.run_worker(self._look_up_guard(self._find_guard), group="guard", exit_on_error=False)

    async def _look_up_guard(self, find: Callable[[], Awaitable[TrollGuard | None]]) -> None:
        try:
            guard = await find()
        except JournalError:
            return  # no advice then: the form works without it
        if guard is not None:
            self.show_guard(guard)

    def _guard_content(self) -> Content:
        """The troll guard's warning, as the mention detail says it, and what answering anyway means."""
        guard = self.guard
        if guard is None:
            return Content("")
        anyway = _(
            "Answering {author} publicly anyway is recorded as such, in the journal and the post-mortem."
        )
        return Content.assemble(
            troll_warning(guard.reasons),
            "\n",
            (anyway.format(author=safe_text.clean(guard.author, 60)), "$foreground-muted"),
        )

    def show_guard(self, guard: TrollGuard | None) -> None:
        """The troll guard's advice, once it is known."""
        self.guard = guard
        box = self.query_one("#troll-guard", Static)
        box.update(self._guard_content())
        box.display = guard is not None

    @on(Select.Changed, "#template")
    def _template_chosen(self, event: Select.Changed) -> None:
        if isinstance(event.value, str):
            self._use_template(event.value)

    def _use_template(self, template_id: str) -> None:
        """Fill the kind and the text from the template (the operator edits the text before saving)."""
        t = self._templates[template_id]
        self.query_one("#kind", Select).value = t.kind
        text = self._fill(t) if self._fill is not None else t.text
        self.query_one("#text", TextArea).load_text(text)

    @property
    def template(self) -> str | None:
        """The chosen template's id, if any."""
        if not self._templates:
            return None
        value = self.query_one("#template", Select).value
        return value if isinstance(value, str) else None

    def values(self) -> dict[str, Any]:
        return {
            "kind": self.query_one("#kind", Select).value,
            "channel": self.query_one("#channel", Input).value,
            "text": self.query_one("#text", TextArea).text,
            "url": self.query_one("#url", Input).value,
            "template": self.template,
            "troll_guard": self.guard,
        }


def template_label(t: ResponseTemplate) -> str:
    """``[fr] Message d'attente (holding statement, SEV1/SEV2)`` for the template list (config text,
    not mention data, but cut to one line)."""
    sev = "/".join(s.upper() for s in t.severities)
    what = kind_name(t.kind) + (f", {sev}" if sev else "")
    return safe_text.clean(f"[{t.language}] {t.name or t.id} ({what})", 90)


class NoteForm(IncidentForm[T]):
    """A note on the incident, or a lesson for the post-mortem."""

    HINT = N_("Ctrl+S saves · Esc cancels")

    def __init__(self, commit: Commit[T], incident: Incident) -> None:
        super().__init__(commit, incident_heading(incident, _("Add a note")))

    def fields(self) -> ComposeResult:
        yield TextArea(id="text", soft_wrap=True, show_line_numbers=False, tab_behavior="focus")
        yield TickBox(_("A lesson for the post-mortem (what we would do differently)"), id="lesson")

    def on_mount(self) -> None:
        self.query_one("#text", TextArea).focus()

    def values(self) -> dict[str, Any]:
        return {
            "text": self.query_one("#text", TextArea).text,
            "lesson": self.query_one("#lesson", Checkbox).value,
        }


class ConfirmScreen(ModalScreen[bool]):
    """One question before an action that is hard to take back: ``y`` does it, ``n`` or Esc does not.
    Enter is not an answer, so a second Enter pressed by habit cannot confirm."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", N_("Yes"), id="confirm-yes"),
        Binding("n", "answer(False)", N_("No"), id="confirm-no"),
        Binding("escape", "answer(False)", N_("No"), show=False, id="confirm-cancel"),
    ]

    DEFAULT_CSS = """
    ConfirmScreen {
        align: center middle;
        & > Vertical {
            width: 64; max-width: 100%; height: auto;
            border: thick $warning; background: $surface; padding: 0 1;
        }
        & #confirm-hint { margin-top: 1; color: $foreground-muted; }
    }
    """

    def __init__(self, question: Content, consequence: str) -> None:
        super().__init__()
        self._question = question
        self._consequence = consequence

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self._question, id="confirm-question")
            yield Static(self._consequence, id="confirm-consequence")
            yield Static(_("y: yes, do it · n or Esc: no, go back"), id="confirm-hint")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class StateForm(ChoiceForm[T]):
    """Move the incident: responding, monitoring, resolved, reopen (with an optional reason).
    Resolving asks first: it stops the clocks and takes the incident off the wall."""

    def __init__(self, commit: Commit[T], incident: Incident) -> None:
        super().__init__(
            commit,
            incident_heading(incident, _("Set the state")),
            [(key, _(label)) for key, label in STATE_CHOICES],
            current=str(incident.state),
        )
        self._incident = incident

    def action_submit(self) -> None:
        if self.busy or self.choice != "resolved":
            super().action_submit()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                super(StateForm, self).action_submit()
            else:
                self.show_error(
                    _("not resolved: still {state}").format(state=state_name(self._incident.state))
                )

        question = incident_heading(self._incident, _("Resolve"))
        consequence = _("Its clocks stop and it leaves the wall; a surge will not reopen it by itself.")
        self.app.push_screen(ConfirmScreen(Content.assemble(question, " ?"), consequence), answered)

    def more_fields(self) -> ComposeResult:
        yield Label(_("Reason or summary (optional; Tab to type it first)"))
        yield Input(
            id="reason", placeholder=_("e.g. supplier confirmed, statement up, volume back to normal")
        )

    def values(self) -> dict[str, Any]:
        return {"choice": self.choice, "reason": self.query_one("#reason", Input).value}


class ReopenForm(ChoiceForm[T]):
    """Pick a resolved incident to reopen (newest first), with an optional reason."""

    def __init__(self, commit: Commit[T], incidents: Sequence[Incident], tz: tzinfo | None) -> None:
        choices: list[tuple[str, str | Content]] = [
            (
                str(inc.id),
                Content.assemble(
                    (f"#{inc.id} {inc.severity.label} ", "bold"),
                    safe_text.content(inc.title, max_len=44),
                    (
                        "  " + _("resolved {time}").format(time=_when(inc.resolved_at, tz)),
                        "$foreground-muted",
                    ),
                ),
            )
            for inc in incidents
        ]
        super().__init__(commit, Content.styled(_("Reopen a resolved incident"), "bold $accent"), choices)

    def more_fields(self) -> ComposeResult:
        yield Label(_("Why (optional; Tab to type it first)"))
        yield Input(id="reason", placeholder=_("e.g. the storm is back, the supplier story resurfaced"))

    def values(self) -> dict[str, Any]:
        return {"choice": self.choice, "reason": self.query_one("#reason", Input).value}


def _when(at: datetime | None, tz: tzinfo | None) -> str:
    return datetime_text(at.astimezone(tz), "%a %d %b %H:%M", "EEE d MMM HH:mm") if at is not None else "?"


def escalation_form(
    commit: Commit[T], incident: Incident, choices: Sequence[EscalationChoice]
) -> ChoiceForm[T]:
    """Raise (or lower) the severity, or call the next step of the escalation ladder."""
    return ChoiceForm(
        commit,
        incident_heading(incident, _("Escalate")),
        [(c.key, c.label) for c in choices],
        context=_now(incident),
    )


def _now(incident: Incident) -> Content:
    """``Now SEV2, escalation step 1``: the severity in bold."""
    before, _field, after = _("Now {severity}").partition("{severity}")
    step = incident.escalation_step
    return Content.assemble(
        before,
        (incident.severity.label, "bold"),
        after,
        _(", escalation step {step}").format(step=step) if step else "",
    )


def assign_form(commit: Commit[T], incident: Incident, settings: Settings) -> IncidentForm[T]:
    """Pick who owns the incident from the roster (or type a name when there is no roster)."""
    roster = settings.team.roster
    if not roster:
        return FreeAssignForm(commit, incident)
    choices: list[tuple[str, str | Content]] = [
        (m.id, Content.assemble(safe_text.content(m.name, "bold", max_len=40), f"  {m.role}")) for m in roster
    ]
    return ChoiceForm(commit, incident_heading(incident, _("Assign")), choices, current=incident.assignee)


class FreeAssignForm(IncidentForm[T]):
    """Assign without a roster: the owner's name, typed."""

    def __init__(self, commit: Commit[T], incident: Incident) -> None:
        super().__init__(commit, incident_heading(incident, _("Assign")))

    def fields(self) -> ComposeResult:
        yield Label(_("Who owns it (no roster in team.roster: any name)"))
        yield Input(id="member")

    def on_mount(self) -> None:
        self.query_one("#member", Input).focus()

    def values(self) -> dict[str, Any]:
        return {"choice": self.query_one("#member", Input).value}


def correct_form(commit: Commit[T], scored: ScoredMention, tz: tzinfo | None) -> ChoiceForm[T]:
    """The operator's verdict on a mention's sentiment (kept as training data)."""
    return ChoiceForm(
        commit,
        Content.styled(_("Correct the sentiment"), "bold $accent"),
        [(key, _(label)) for key, label in LABEL_CHOICES],
        current=scored.sentiment.label,
        context=mention_line(scored, tz),
    )
