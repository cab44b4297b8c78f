"""Response templates for one incident: which fit it, and their text filled in for it.

The library is configuration (``responses:``, checked by check-config); this module picks the
templates that fit an incident (its severity, the desk's language first) and fills their variables
from the incident, the desk's clock and the operator. The filled text is only a starting point: the
form and the CLI let the operator edit it before anything is logged.
"""

from __future__ import annotations

from datetime import datetime

from tocsin.config.responses import fill
from tocsin.config.settings import ResponseTemplate, Settings
from tocsin.journal.display import zone
from tocsin.journal.errors import UnknownTemplate
from tocsin.journal.model import Incident


def find_template(settings: Settings, template_id: str) -> ResponseTemplate:
    """The template with this id; UnknownTemplate (nothing changed) otherwise."""
    wanted = str(template_id).strip()
    for t in settings.responses:
        if t.id == wanted:
            return t
    raise UnknownTemplate(wanted, [t.id for t in settings.responses])


def templates_for(settings: Settings, incident: Incident) -> list[ResponseTemplate]:
    """The templates meant for the incident's severity, the desk's language first, then as configured."""
    fitting = [t for t in settings.responses if not t.severities or str(incident.severity) in t.severities]
    language = settings.desk.language
    return sorted(fitting, key=lambda t: t.language != language)


def agent_name(settings: Settings, operator: str) -> str:
    """How a response signs: the operator's first name from the roster, else the operator as given."""
    member = next((m for m in settings.team.roster if m.id == operator), None)
    if member is None or not member.name.strip():
        return operator
    return member.name.split()[0]


def template_values(settings: Settings, incident: Incident, now: datetime, operator: str) -> dict[str, str]:
    """The variables of a template for ``incident``, answered by ``operator`` at ``now``."""
    topic = next((t.label for t in settings.topics if t.id == incident.topic), incident.topic)
    return {
        "brand": settings.desk.brand or topic,
        "topic": topic,
        "title": incident.title,
        "time": now.astimezone(zone(settings.desk.timezone)).strftime("%H:%M"),
        "agent": agent_name(settings, operator),
    }


def filled(
    settings: Settings, template: ResponseTemplate, incident: Incident, now: datetime, operator: str
) -> str:
    """The template's text for this incident, ready to edit."""
    return fill(template.text, template_values(settings, incident, now, operator))
