"""What an incident key means in a given situation, decided without a screen.

Pure functions over settings, a snapshot, the session's level memory and the open incidents: which
severity a level calls for, the prefilled draft of a new incident, the escalation choices on an
existing one. The modal screens show these; the tests check them directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from tocsin.config.i18n import N_, _
from tocsin.config.reasons import level_name, shown
from tocsin.config.settings import LEVELS, Settings
from tocsin.journal.display import kind_name, one_line
from tocsin.journal.model import Incident, ResponseKind, Severity
from tocsin.scoring.snapshot import TermRow, TopicSnapshot
from tocsin.scoring.topics import normalise
from tocsin.sources.model import ScoredMention

LEVEL_SEVERITY: dict[str, Severity] = {
    "crisis": Severity.SEV1,
    "alert": Severity.SEV2,
    "watch": Severity.SEV3,
    "calm": Severity.SEV4,
}
"""The severity a topic's level suggests for a new incident (the operator may change it)."""


STATE_CHOICES: tuple[tuple[str, str], ...] = (
    ("responding", N_("Responding: we are working on the answer")),
    ("monitoring", N_("Monitoring: calm again, but watched (a surge reopens it)")),
    ("resolved", N_("Resolved: over; the clocks stop")),
    ("reopen", N_("Reopen: it came back")),
)
"""(state, label): the labels in English, translated where they are shown."""


def response_choices() -> list[tuple[str, str]]:
    """(kind, label) for the respond form, in the desk's language: ``Private reply (not public)``."""
    return [
        (k.value, kind_name(k).capitalize() + ("" if k.public else " " + _("(not public)")))
        for k in ResponseKind
    ]


CHANNELS: tuple[str, ...] = ("x", "instagram", "facebook", "tiktok", "linkedin", "website", "press", "email")
"""Suggestions only: any channel name is accepted."""


def severity_for_level(level: str | None) -> Severity:
    return LEVEL_SEVERITY.get(level or "calm", Severity.SEV4)


@dataclass(frozen=True, slots=True)
class IncidentDraft:
    """A new incident as the desk suggests it; every field can be changed in the form."""

    topic: str
    severity: Severity
    title: str
    first_signal_at: datetime | None
    """When the topic's level left calm (None: when the incident is opened)."""
    level: str | None
    reasons: tuple[str, ...]


TRIGGER_TERMS = 2
"""Surging terms in a drafted title: "mould video" says what it is about, five would be a tag cloud."""
GIST_WORDS = 6
"""Without a surging term in the chosen post, its first words say what it is about."""


def incident_trigger(
    settings: Settings,
    topic: str,
    seen: TopicSnapshot | None,
    mention: ScoredMention | None = None,
) -> str | None:
    """What set the storm off, as a person would name it: ``mould video by @julie_goute_tout``.

    What: the topic's most surging terms (its own keywords left out: they name the topic, not the
    story), those in the chosen post first; else the chosen post's first words. Who: the chosen post's
    author, else the loudest voice of the storm (the first influencer who posted something negative).
    None when the desk has seen nothing to name (the caller falls back to the level's reasons)."""
    keywords = next((t.keywords for t in settings.topics if t.id == topic), ())
    own = {normalise(k.lstrip("#@")) for k in keywords}
    terms = sorted(seen.terms, key=lambda r: -r.surge) if seen is not None else []
    words = [r for r in terms if normalise(r.term) not in own]
    author: str | None = None
    what: list[str] = []
    if mention is not None:
        text = normalise(mention.mention.text)
        what = [_term(r) for r in words if normalise(r.term) in text][:TRIGGER_TERMS]
        if not what:
            gist = one_line(mention.mention.text).split()[:GIST_WORDS]
            what = [" ".join(gist)] if gist else []
        author = mention.mention.author.handle
    else:
        what = [_term(r) for r in words[:TRIGGER_TERMS]]
        loud = [i for i in seen.influencers if i.negative > 0] if seen is not None else []
        author = loud[0].handle if loud else None
    handle = one_line(author or "", 40).lstrip("@")
    said = one_line(" ".join(what), 80)
    if said and handle:
        return _("{what} by @{handle}").format(what=said, handle=handle)
    if said:
        return said
    return _("posts by @{handle}").format(handle=handle) if handle and mention is not None else None


def _term(row: TermRow) -> str:
    return f"#{row.term}" if row.kind == "hashtag" else row.term


def draft_incident(
    settings: Settings,
    topic: str,
    level: str | None,
    reasons: Sequence[str],
    first_signal_at: datetime | None,
    trigger: str | None = None,
) -> IncidentDraft:
    """The draft for ``topic`` at ``level``: severity from the level; the title names the topic and
    its ``trigger`` (``incident_trigger``) as a person would, else the level's reasons (the title is
    the operator's words, written in the desk's language; the reasons stay English in ``reasons``)."""
    name = next((t.label for t in settings.topics if t.id == topic), topic)
    why = ", ".join(one_line(shown(r), 80) for r in reasons[:3])
    if trigger:
        title = f"{name}: {trigger}"
    elif level and level != "calm":
        title = f"{name}: {level_name(level)}" + (f" ({why})" if why else "")
    else:
        title = f"{name}: " + (why or _("worth a look"))
    return IncidentDraft(
        topic=topic,
        severity=severity_for_level(level),
        title=one_line(title, 160),
        first_signal_at=first_signal_at,
        level=level if level in LEVELS else None,
        reasons=tuple(reasons),
    )


def hottest_topic(levels: Iterable[tuple[str, str]]) -> str | None:
    """The topic with the highest level (the first configured one on ties); ``levels`` is
    ``(topic id, level)`` in configured order."""
    best: tuple[int, str] | None = None
    for topic, level in levels:
        rank = LEVELS.index(level) if level in LEVELS else 0
        if best is None or rank > best[0]:
            best = (rank, topic)
    return best[1] if best else None


@dataclass(frozen=True, slots=True)
class EscalationChoice:
    """One way to escalate: a new severity, or the next step of ``team.escalation``."""

    key: str
    """``sev1``…``sev4`` or ``ladder``."""
    label: str
    severity: Severity | None


def escalation_choices(settings: Settings, incident: Incident) -> list[EscalationChoice]:
    """Raising the severity first (most useful at 3 a.m.), then the next ladder step, then lowering."""
    choices: list[EscalationChoice] = []
    current = incident.severity
    for sev in Severity:
        if sev.rank < current.rank:
            choices.append(
                EscalationChoice(sev.value, _("Raise to {severity}").format(severity=sev.label), sev)
            )
    ladder = settings.team.escalation
    step = incident.escalation_step
    if ladder and step < len(ladder):
        roles = list(ladder[step])
        members = [m.name for m in settings.team.roster if m.role in roles]
        who = ", ".join(members) if members else ", ".join(roles)
        label = _("Call the next step ({step} of {of}): {roles} — {who}").format(
            step=step + 1, of=len(ladder), roles=", ".join(roles), who=who
        )
        choices.append(EscalationChoice("ladder", one_line(label, 160), None))
    for sev in Severity:
        if sev.rank > current.rank:
            choices.append(
                EscalationChoice(sev.value, _("Lower to {severity}").format(severity=sev.label), sev)
            )
    return choices


def incident_for_topic(incidents: Sequence[Incident], topic: str) -> Incident | None:
    """The newest unresolved incident on ``topic``."""
    found = [i for i in incidents if i.topic == topic and not i.closed]
    return found[-1] if found else None
