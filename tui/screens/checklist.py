"""The response checklist ticked from the wall (``t`` on the wall and in an incident's review), and the
one way tocsin draws a checkbox: ``[x]`` ticked, ``[ ]`` not, in text before any colour.

The list shows every playbook step with its box and how it got done (ticked by hand, or by the
response that satisfied it). Enter or space ticks or unticks the highlighted step; the box changes
only once the journal has committed the check, and a step a logged response ticked stays ticked
(the journal says why). Esc goes back, handing the last state of the incident to the caller.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Footer, OptionList, Static
from textual.widgets.option_list import Option

from tocsin.config.i18n import N_, _
from tocsin.journal.api import Journal
from tocsin.journal.display import kind_name
from tocsin.journal.errors import JournalError
from tocsin.journal.model import ChecklistItem, Incident
from tocsin.tui import safe_text

TICKED, UNTICKED = "[x]", "[ ]"


def tick_mark(done: bool) -> Content:
    """``[x]`` or ``[ ]``: the state reads without colour (a colour-blind operator, a mono terminal)."""
    return (
        Content.styled(TICKED, "bold $text-success")
        if done
        else Content.styled(UNTICKED, "$foreground-muted")
    )


class TickBox(Checkbox):
    """A checkbox drawn ``[x]`` / ``[ ]`` instead of Textual's ``▐X▌``, whose on and off differ by
    colour only."""

    @property
    def _button(self) -> Content:
        return tick_mark(self.value)


def step_line(item: ChecklistItem, tz: tzinfo | None) -> Content:
    """``[x] Say publicly you are on it  (holding statement, 10:31)``."""
    how = ""
    if item.done:
        by = _("by hand") if item.by == "check" else kind_name(item.by or "")
        when = item.at.astimezone(tz).strftime("%H:%M") if item.at else ""
        how = f"  ({by}{', ' + when if when else ''})"
    return Content.assemble(tick_mark(item.done), f" {_(item.label)}", (how, "$foreground-muted"))


class ChecklistScreen(ModalScreen[Incident]):
    """One incident's checklist; ticks go straight to the journal."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", N_("Back"), id="checklist-close"),
        Binding("space", "tick", N_("Tick/untick"), id="checklist-toggle"),
    ]

    DEFAULT_CSS = """
    ChecklistScreen {
        align: center middle;
        & > Vertical {
            width: 72; max-width: 100%; height: auto; max-height: 100%;
            border: thick $accent; background: $surface; padding: 0 1;
        }
        & OptionList { height: auto; border: none; padding: 0; }
        & #checklist-hint { color: $foreground-muted; }
    }
    """

    def __init__(self, journal: Journal, incident: Incident, tz: tzinfo | None) -> None:
        super().__init__()
        self.journal = journal
        self.incident = incident
        self._tz = tz
        self._busy = False

    def compose(self) -> ComposeResult:
        inc = self.incident
        with Vertical():
            yield Static(
                Content.assemble(
                    (_("Checklist"), "bold $accent"),
                    " · ",
                    (f"#{inc.id} {inc.severity.label} ", "bold"),
                    safe_text.content(inc.title, max_len=50),
                ),
                id="checklist-heading",
            )
            yield OptionList(*self._options(), id="checklist-steps")
            yield Static(_("Enter or space: tick / untick · Esc: back"), id="checklist-hint")
        yield Footer()

    def _options(self) -> list[Option]:
        return [Option(step_line(item, self._tz), id=item.id) for item in self.incident.checklist]

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected, "#checklist-steps")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_tick()

    def action_tick(self) -> None:
        steps = self.query_one(OptionList)
        if steps.highlighted is None or self._busy:
            return  # one check at a time: a second key while the first commits would double it
        item = self.incident.checklist[steps.highlighted]
        self._busy = True
        self.run_worker(self._check(item), group="journal", exit_on_error=False)

    async def _check(self, item: ChecklistItem) -> None:
        try:
            done = await self.journal.check(self.incident.id, item.id, not item.done)
        except JournalError as exc:
            self.notify(safe_text.clean(str(exc), 300), severity="warning", markup=False)
            return
        finally:
            self._busy = False
        self.incident = done  # committed: now the box may change
        steps = self.query_one(OptionList)
        highlighted = steps.highlighted
        steps.set_options(self._options())
        steps.highlighted = highlighted
        said = _("#{id}: ticked '{step}'") if not item.done else _("#{id}: unticked '{step}'")
        ticked = said.format(id=done.id, step=_(item.label))  # the playbook's words, never mention text
        self.notify(ticked, markup=False, timeout=4)

    def action_close(self) -> None:
        self.dismiss(self.incident)
