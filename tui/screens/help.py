"""The help screen: every key binding of the wall, as remapped by ``ui.keymap``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from tocsin.config.i18n import N_, _


@dataclass(frozen=True, slots=True)
class KeyHelp:
    """One line of help: the keys as shown, what they do, and the id to remap them by."""

    keys: str
    description: str
    binding_id: str | None


@dataclass(frozen=True, slots=True)
class HelpSection:
    title: str
    keys: Sequence[KeyHelp]


def help_content(sections: Sequence[HelpSection]) -> Content:
    """The help text. Built from our own strings and key names, never parsed as markup."""
    width = max((len(k.keys) for s in sections for k in s.keys), default=4) + 2
    lines: list[Content] = []
    for section in sections:
        if lines:
            lines.append(Content(""))
        lines.append(Content.styled(section.title, "bold $accent"))
        for k in section.keys:
            lines.append(
                Content.assemble(
                    (k.keys.ljust(width), "bold"),
                    k.description,
                    (f"   [{k.binding_id}]" if k.binding_id else "", "$foreground-muted"),
                )
            )
    lines += [
        Content(""),
        Content.styled(
            _("Remap a key in the settings file: ui: {keymap: {binding-id: key}}, e.g. {filter: ctrl+f}."),
            "$foreground-muted",
        ),
    ]
    return Content("\n").join(lines)


class HelpScreen(ModalScreen[None]):
    """Lists the keys; Esc, q or ? closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "app.pop_screen", N_("Close help"), id="help-close"),
    ]

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
        & > VerticalScroll {
            width: auto;
            max-width: 100%;
            height: auto;
            max-height: 90%;
            border: round $accent;
            border-title-align: center;
            background: $surface;
            padding: 0 2;
        }
        & Static { width: auto; }
    }
    """

    def __init__(self, sections: Sequence[HelpSection]) -> None:
        super().__init__()
        self._sections = sections

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = _("Keys")
            box.border_subtitle = _("Esc to close")
            yield Static(help_content(self._sections), id="help-keys")
