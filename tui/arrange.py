"""Arranging the wall for a layout (``ui.layout``, ``--layout``, ``--pane``) and tocsin's own theme.

``wall`` and ``compact`` keep every pane and fit them to the terminal (the wall's ``_apply_layout``).
Any other layout is a chosen set of panes for one terminal of a wall of terminals: the others are
hidden, the chosen ones share the height (one alone fills it), and nothing hides a chosen pane for
want of room. The header stays on every layout: a terminal showing only the feed must still say
when the desk is blind or in crisis.
"""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.theme import Theme

from tocsin.config.layouts import HIGH_CONTRAST, PANES, Layout
from tocsin.tui.panes.base import SnapshotPane
from tocsin.tui.panes.health import SourceHealthPane
from tocsin.tui.panes.incidents import IncidentsPane

ROWS: dict[str, tuple[str, ...]] = {
    "panes": ("volume", "sentiment", "terms"),
    "who": ("influencers", "clusters"),
}
"""The wall's rows (containers) and the panes in each."""
WIDGET_ID: dict[str, str] = {"feed": "feed-pane"}
"""A pane whose widget on the wall has another id (the feed with its filter box)."""
GAUGES = ("volume", "sentiment", "terms")

HIGH_CONTRAST_THEME = Theme(
    name=HIGH_CONTRAST,
    primary="#FFFFFF",
    secondary="#00FFFF",
    accent="#FFFF00",
    warning="#FFD700",
    error="#FF4040",
    success="#00FF66",
    foreground="#FFFFFF",
    background="#000000",
    surface="#000000",
    panel="#202020",
    boost="#303030",
    dark=True,
    variables={
        "foreground-muted": "#E0E0E0",  # labels and borders' titles stay readable, not grey on black
        "text-muted": "#E0E0E0",
        "border": "#FFFF00",
        "border-blurred": "#FFFFFF",
        "footer-key-foreground": "#FFFF00",
        "footer-description-foreground": "#FFFFFF",
        "footer-background": "#000000",
        "block-cursor-background": "#FFFF00",
        "block-cursor-foreground": "#000000",
        "input-selection-background": "#FFFF00 40%",
    },
)
"""Black and white with saturated signal colours, for a wall in glare or a reader with weak sight;
every colour that means something also has a symbol or a word on the wall (see ``panes/palette.py``)."""


def arrange(screen: Screen[Any], layout: Layout, height: int, roomy_lines: int) -> None:
    """Show only ``layout``'s panes (``layout.panes`` set), rows and panes sharing the height; the
    gauges roomy (bars, the hour's sparkline) when ``roomy_lines`` fit in their share of it."""
    chosen = set(layout.panes or ())
    screen.set_class(True, "-chosen")
    screen.set_class(layout.solo, "-solo")
    for pane_id in PANES:
        screen.query_one(f"#{WIDGET_ID.get(pane_id, pane_id)}").display = pane_id in chosen
    for row_id, members in ROWS.items():
        screen.query_one(f"#{row_id}").display = bool(chosen.intersection(members))
    incidents = screen.query_one(IncidentsPane)
    incidents.layout_shows = "incidents" in chosen
    incidents.display = incidents.layout_shows
    screen.query_one(SourceHealthPane).compact = False
    in_rows = {p for members in ROWS.values() for p in members}
    shares = len(chosen - in_rows) + sum(1 for members in ROWS.values() if chosen.intersection(members))
    for pane in screen.query(SnapshotPane):
        if pane.id in GAUGES:
            pane.compact = roomy_lines > height / max(1, shares)
