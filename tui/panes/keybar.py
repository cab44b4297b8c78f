"""The key bar: the keys that fit the terminal, whole, and always ``?`` for the rest.

Textual's footer lays every key out in a row and lets the terminal's edge cut the rest: at 80 columns
the wall's bar stopped at "r Response", with nothing saying that more keys existed. Here the keys are
measured before they are laid out; those that do not fit are left out, and the help key says how many
it holds (``? Help · 6 more``) and stays on the bar whatever the width.
"""

from __future__ import annotations

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.events import Resize
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from tocsin.config.i18n import _

HELP_ACTION = "help"
"""The action of the key that lists every key (``app.help``, shown as ``app.help`` or ``help``)."""


def key_width(key: FooterKey) -> int:
    """Cells a key takes in a compact bar: its key, a space, its description, and a margin."""
    description = f" {key.description}" if key.description else ""
    return cell_len(key.key_display) + cell_len(description) + 1


def fitting(keys: list[FooterKey], width: int) -> tuple[list[FooterKey], int]:
    """The keys to show in ``width`` cells, in their order, with the help key kept whatever comes
    before it; and how many were left out."""
    if sum(key_width(k) for k in keys) - 1 <= width:  # the last key needs no margin after it
        return list(keys), 0
    help_keys = [k for k in keys if k.action.rsplit(".", 1)[-1] == HELP_ACTION]
    more = cell_len(" · " + _("{n} more").format(n=9))  # room for the help key's " · N more"
    budget = width - sum(key_width(k) + more for k in help_keys)
    shown: list[FooterKey] = []
    for key in keys:
        if key in help_keys:
            shown.append(key)
            continue
        need = key_width(key)
        if need <= budget:
            shown.append(key)
            budget -= need
        else:
            budget = -1  # keep the order readable: no later short key jumps into a gap
    left_out = len(keys) - len(shown)
    return shown, left_out


class KeyBar(Footer):
    """A compact footer that shows the keys that fit and says how many more ``?`` lists."""

    def __init__(self) -> None:
        super().__init__(compact=True, show_command_palette=False)
        self._width = 0
        self.left_out = 0
        """How many keys the bar could not show (for the tests and the help key's label)."""

    def compose(self) -> ComposeResult:
        keys: list[Widget] = list(super().compose())
        plain = [k for k in keys if isinstance(k, FooterKey)]
        if len(plain) != len(keys):  # groups (none on the wall): measure nothing, show as Textual does
            yield from keys
            return
        width = self.size.width or self.app.size.width
        shown, self.left_out = fitting(plain, width)
        for key in shown:
            if self.left_out and key.action.rsplit(".", 1)[-1] == HELP_ACTION:
                more = _("{n} more").format(n=self.left_out)
                key.description = f"{key.description} · {more}"
            yield key

    def on_resize(self, event: Resize) -> None:
        if event.size.width != self._width:
            self._width = event.size.width
            self.call_after_refresh(self.recompose)
