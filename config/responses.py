"""The response library's text rules: which variables a template may use, and filling them in.

A template is prepared in calm hours so that, in the storm, the team starts from words already weighed
instead of writing in the heat of the moment. Its text names variables in braces — ``{brand}``,
``{topic}``, ``{title}``, ``{time}``, ``{agent}`` — filled when the operator picks it (``{{`` writes a
literal brace). The rules live here, beside the settings, because check-config must refuse a template
that would fail at 3 a.m. (an unknown variable, a stray brace) with its file and line, long before
anyone picks it; the journal and the wall fill templates with ``fill``.
"""

from __future__ import annotations

import string
from collections.abc import Mapping

VARIABLES: Mapping[str, str] = {
    "brand": "the brand the desk speaks for (desk.brand, else the incident's topic name)",
    "topic": "the incident's topic name",
    "title": "the incident's title",
    "time": "the time now, on the desk's clock and time zone (HH:MM)",
    "agent": "who answers: the operator's roster name (their first name when the roster has it)",
}
"""Variable → what it holds (check-config lists them when one is misspelt)."""

_FORMATTER = string.Formatter()


def template_problems(text: str) -> list[str]:
    """What is wrong with a template's text (empty list when it can be filled)."""
    if not text.strip():
        return ["a template needs its text"]
    try:
        parts = list(_FORMATTER.parse(text))
    except ValueError as exc:  # "Single '}' encountered", "expected '}' before end of string"
        return [f"{exc} (write {{{{ or }}}} for a literal brace)"]
    problems: list[str] = []
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in VARIABLES:
            from tocsin.config.checks import did_you_mean

            shown = name if len(name) <= 30 else name[:29] + "…"
            problems.append(
                f"unknown variable {{{shown}}} (known: {', '.join('{' + v + '}' for v in VARIABLES)})"
                f"{did_you_mean(name, list(VARIABLES))}"
            )
        elif spec or conversion:
            problems.append(f"{{{name}}} takes no format or conversion: write just {{{name}}}")
    return problems


def fill(text: str, values: Mapping[str, str]) -> str:
    """The template's text with its variables replaced (a variable missing from ``values`` is left
    as written, so a half-filled text is still visible and editable rather than an error)."""

    class _Keep(dict[str, str]):
        def __missing__(self, key: str) -> str:
            return "{" + key + "}"

    try:
        return text.format_map(_Keep(values))
    except (ValueError, IndexError, KeyError, AttributeError):
        return text  # check-config refuses such a text; never fail the operator over it
