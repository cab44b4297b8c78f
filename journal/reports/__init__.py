"""The post-mortem of an incident: Markdown, a self-contained HTML page, JSON and CSV.

Contents: the summary, the clocks against the SLA, a volume chart from the per-minute history around
the incident (inline SVG in HTML, a sparkline in Markdown), the response checklist, the responses,
the key mentions (pinned evidence, with their original time and text, and whether the post was
deleted or edited since), lessons, notes and the full timeline. Every piece of mention or operator
text is escaped for its format (``display.py``); URLs are shown only when http(s), with credentials
redacted. The journal holds no secrets of the desk's (tokens live in the environment), and none of
the settings go into an export.
"""

from __future__ import annotations

from tocsin.journal.reports.data import to_csv, to_json
from tocsin.journal.reports.html import to_html
from tocsin.journal.reports.markdown import to_markdown
from tocsin.journal.reports.postmortem import PostMortem, bins, build_postmortem, revision_notes
from tocsin.journal.reports.text import to_text

__all__ = [
    "FORMATS",
    "PostMortem",
    "bins",
    "build_postmortem",
    "render",
    "revision_notes",
    "to_csv",
    "to_html",
    "to_json",
    "to_markdown",
    "to_text",
]

FORMATS: tuple[str, ...] = ("md", "html", "json", "csv")


def render(pm: PostMortem, fmt: str) -> str:
    """The post-mortem in ``md``, ``html``, ``json`` or ``csv``."""
    renderers = {"md": to_markdown, "html": to_html, "json": to_json, "csv": to_csv}
    if fmt not in renderers:
        raise ValueError(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")
    return renderers[fmt](pm)


# --- shared pieces ------------------------------------------------------------------------------
