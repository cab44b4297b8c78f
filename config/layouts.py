"""Which panes a wall shows, and the themes it may wear: names the settings, the command line and
check-config share, with no screen code (headless runs and check-config never import Textual).

A layout is a name: ``wall`` (everything, arranged by the terminal's size), ``compact`` (the small
terminal's arrangement whatever the size), one of ``LAYOUTS`` (a few panes for one terminal of a wall
of terminals), a pane's name (that pane full screen), or panes joined by commas (``incidents,feed``).
The level line stays on every layout: a terminal of the wall that shows only the feed must still say
when the desk is blind or in crisis.
"""

from __future__ import annotations

from dataclasses import dataclass

PANES: tuple[str, ...] = (
    "volume",
    "sentiment",
    "terms",
    "influencers",
    "clusters",
    "incidents",
    "feed",
    "health",
)
"""Every pane of the wall, top to bottom."""

LAYOUTS: dict[str, tuple[str, ...]] = {
    "triage": ("incidents", "feed"),
    "signals": ("volume", "sentiment", "terms", "clusters"),
    "people": ("influencers", "clusters", "feed"),
}
"""Named arrangements for a wall of terminals: who answers (triage), what is happening (signals),
who is talking (people)."""

ARRANGED = ("wall", "compact")
"""Layouts that show every pane, fitted to the terminal."""

HIGH_CONTRAST = "tocsin-high-contrast"
"""tocsin's own theme: black and white, with strong yellow, red and cyan where meaning needs colour."""

TEXTUAL_THEMES: tuple[str, ...] = (
    "ansi-dark",
    "ansi-light",
    "atom-one-dark",
    "atom-one-light",
    "catppuccin-frappe",
    "catppuccin-latte",
    "catppuccin-macchiato",
    "catppuccin-mocha",
    "dracula",
    "flexoki",
    "gruvbox",
    "monokai",
    "nord",
    "rose-pine",
    "rose-pine-dawn",
    "rose-pine-moon",
    "solarized-dark",
    "solarized-light",
    "textual-dark",
    "textual-light",
    "tokyo-night",
)
"""Textual's own themes (a test keeps this list equal to the installed Textual's)."""

THEMES: tuple[str, ...] = (HIGH_CONTRAST, *TEXTUAL_THEMES)


@dataclass(frozen=True)
class Layout:
    """A parsed layout: its name and the panes it shows (``None``: every pane, fitted)."""

    name: str
    panes: tuple[str, ...] | None

    @property
    def solo(self) -> bool:
        """One pane, full screen."""
        return self.panes is not None and len(self.panes) == 1


def parse_layout(spec: str) -> Layout:
    """The layout ``spec`` names; ``ValueError`` with the choices (and the closest) when it names none."""
    import difflib

    name = spec.strip()
    if name in ARRANGED:
        return Layout(name, None)
    if name in LAYOUTS:
        return Layout(name, LAYOUTS[name])
    parts = [p.strip() for p in name.split(",")]
    wrong = [p for p in parts if p not in PANES]
    if not wrong and len(set(parts)) == len(parts):
        return Layout(name, tuple(parts))
    choices = [*ARRANGED, *LAYOUTS, *PANES]
    if not wrong:
        raise ValueError(f"{spec!r} names a pane twice")
    close = difflib.get_close_matches(wrong[0], choices, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ValueError(
        f"unknown layout or pane {wrong[0]!r} (layouts: {', '.join([*ARRANGED, *LAYOUTS])}; "
        f"panes, alone or joined by commas: {', '.join(PANES)}){hint}"
    )
