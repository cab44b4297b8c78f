"""What the journal holds: incidents, the append-only events that make them, and their parts.

An ``Incident`` is never edited directly: it is what its events add up to (see ``fold.py``).
Times are aware UTC. Text fields that came from mentions are hostile: display them only through
``display.py`` (reports, CLI) or the TUI's safe-text module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from tocsin.config.i18n import N_
from tocsin.config.settings import LEVELS
from tocsin.journal.errors import InvalidValue, UnknownIncident
from tocsin.sources.model import format_time, parse_time


def parse_incident_id(value: object) -> int:
    """``12``, ``#12`` or ``INC-12`` → 12; anything else is an unknown incident."""
    s = str(value).strip().lower().removeprefix("#").removeprefix("inc-").removeprefix("inc")
    if s.isdigit() and s.isascii() and int(s) > 0:
        return int(s)
    raise UnknownIncident(str(value)[:20])


class Severity(StrEnum):
    SEV1 = "sev1"
    """Crisis: the brand is on fire, everyone on deck."""
    SEV2 = "sev2"
    SEV3 = "sev3"
    SEV4 = "sev4"
    """Watch: worth keeping an eye on, no response clock."""

    @property
    def label(self) -> str:
        return self.value.upper()

    @property
    def rank(self) -> int:
        """1 is the most severe."""
        return int(self.value[3])

    @classmethod
    def parse(cls, value: object) -> Severity:
        """``sev2``, ``SEV2``, ``2`` or a Severity; raises InvalidValue otherwise."""
        if isinstance(value, Severity):
            return value
        s = str(value).strip().lower()
        if s.isdigit():
            s = "sev" + s
        try:
            return cls(s)
        except ValueError:
            raise InvalidValue("severity", value, [m.value for m in cls]) from None


class State(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESPONDING = "responding"
    MONITORING = "monitoring"
    """Calm but watched: a surge on the topic reopens it."""
    RESOLVED = "resolved"
    REOPENED = "reopened"

    @property
    def closed(self) -> bool:
        return self is State.RESOLVED

    @property
    def needs_ack(self) -> bool:
        """Nobody has taken it (again) yet."""
        return self in (State.OPEN, State.REOPENED)


class ResponseKind(StrEnum):
    HOLDING_STATEMENT = "holding_statement"
    OFFICIAL_STATEMENT = "official_statement"
    APOLOGY = "apology"
    CORRECTION = "correction"
    PRIVATE_REPLY = "private_reply"

    @property
    def public(self) -> bool:
        """Counts as the public response that the first-response SLA waits for."""
        return self is not ResponseKind.PRIVATE_REPLY

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")

    @classmethod
    def parse(cls, value: object) -> ResponseKind:
        if isinstance(value, ResponseKind):
            return value
        s = str(value).strip().lower().replace("-", "_").replace(" ", "_")
        try:
            return cls(s)
        except ValueError:
            raise InvalidValue("kind", value, [m.value for m in cls]) from None


class NoteKind(StrEnum):
    NOTE = "note"
    LESSON = "lesson"
    """What we would do differently: the post-mortem's "lessons" section."""

    @classmethod
    def parse(cls, value: object) -> NoteKind:
        if isinstance(value, NoteKind):
            return value
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            raise InvalidValue("note kind", value, [m.value for m in cls]) from None


class EventKind(StrEnum):
    OPENED = "opened"
    ACKNOWLEDGED = "acknowledged"
    ESCALATED = "escalated"
    ASSIGNED = "assigned"
    RESPONSE_LOGGED = "response_logged"
    NOTE = "note"
    EVIDENCE_PINNED = "evidence_pinned"
    SLA_BREACHED = "sla_breached"
    LEVEL_CHANGED = "level_changed"
    STATE_CHANGED = "state_changed"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    SENTIMENT_CORRECTED = "sentiment_corrected"
    CHECKED = "checked"
    """A response-checklist item ticked (or unticked) by hand."""
    NOTIFIED = "notified"
    """A message about the incident reached an output (chat, e-mail, pager…): who, where, why."""
    NOTIFY_FAILED = "notify_failed"
    """A message about the incident could not be delivered, and delivery gave up."""
    RESPONSE_DRAFTED = "response_drafted"
    """A response written but held until a second person approves it (``team.approval``)."""
    RESPONSE_APPROVED = "response_approved"
    """A draft approved by someone else of an allowed role; the ``response_logged`` that follows in
    the same transaction carries the final text that went out."""
    RESPONSE_REJECTED = "response_rejected"
    """A draft turned down, with the reason: nothing went out."""
    CLAIM_ADDED = "claim_added"
    """A claim going around about the incident, marked rumour, verified or false, with its evidence."""
    CLAIM_CHANGED = "claim_changed"
    """A claim's status changed (a rumour verified, or shown false), with the evidence that did it."""
    PUBLISHING = "publishing"
    """An approved response is being posted from the desk: written before the platform is called, with
    the attempt's key (reused by every retry), so a crash mid-send is visible and retried safely."""
    PUBLISHED = "response_published"
    """The platform took the post: its address. The ``response_logged`` that follows in the same
    transaction records it as the response that went out."""
    PUBLISH_FAILED = "publish_failed"
    """Posting failed (why, in the payload): the approved response waits, intact, to be retried or sent
    by hand."""


CLAIM_STATUSES: tuple[str, ...] = ("rumour", "verified", "false")
"""What the desk knows of a claim: never answer a rumour as if it were a fact."""


SENTIMENT_LABELS: tuple[str, ...] = ("negative", "neutral", "positive")


def level_rank(level: str) -> int:
    """Position of a level in LEVELS; unknown levels rank below calm."""
    try:
        return LEVELS.index(level)
    except ValueError:
        return -1


class ClockName(StrEnum):
    """The SLA clocks whose breach is recorded (once each per incident)."""

    ACK = "ack"
    FIRST_RESPONSE = "first_response"


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    incident_id: int | None
    at: datetime
    """Desk time of the action, aware UTC."""
    operator: str
    kind: EventKind
    payload: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "incident": self.incident_id,
            "at": format_time(self.at),
            "operator": self.operator,
            "kind": str(self.kind),
            "payload": dict(self.payload),
        }


# --- the response checklist -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChecklistStep:
    id: str
    label: str
    satisfied_by: tuple[ResponseKind, ...]
    """Logging one of these responses ticks the step; any step can also be ticked by hand."""


PLAYBOOK: tuple[ChecklistStep, ...] = (
    # the holding statement's step: the first public word ("we know, we are looking into it") is the
    # playbook's first move, and any public response says it too (the first-response clock agrees)
    ChecklistStep(
        "hold",
        N_("Say publicly you are on it"),
        (
            ResponseKind.HOLDING_STATEMENT,
            ResponseKind.OFFICIAL_STATEMENT,
            ResponseKind.APOLOGY,
            ResponseKind.CORRECTION,
        ),
    ),
    ChecklistStep("facts", N_("Confirm the facts"), ()),
    ChecklistStep(
        "act", N_("Act, and say so publicly"), (ResponseKind.OFFICIAL_STATEMENT, ResponseKind.CORRECTION)
    ),
    ChecklistStep("apologise", N_("Apologise where due"), (ResponseKind.APOLOGY,)),
    ChecklistStep("values", N_("Restate the values"), ()),
)
PLAYBOOK_IDS: tuple[str, ...] = tuple(s.id for s in PLAYBOOK)


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    id: str
    label: str
    done: bool
    by: str | None
    """How it got done: ``check`` (ticked by hand) or the response kind that satisfied it."""
    at: datetime | None


# --- responses approved, not out yet -----------------------------------------------------------

UNSENT_STATES: tuple[str, ...] = ("approved", "publishing", "failed")


@dataclass(frozen=True, slots=True)
class Unsent:
    """An approved response the desk posts itself, not out yet: waiting for its first attempt, being
    posted (``lease_until``: until when that desk holds it), or failed (``failure``: why)."""

    draft: int
    approved_at: datetime
    platform: str
    account: str
    status: str = "approved"
    since: datetime | None = None
    """When the status last changed."""
    attempts: int = 0
    key: str | None = None
    """The key of the first attempt, reused by every retry (the platform's dedupe key)."""
    lease_until: int | None = None
    """Real epoch milliseconds: another desk waits for this attempt until then."""
    failure: Mapping[str, Any] | None = None
    """The last ``publish_failed`` payload (``problem``, ``status``, ``detail``, ``retry_at``…)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "draft": self.draft,
            "approved_at": format_time(self.approved_at),
            "platform": self.platform,
            "account": self.account,
            "status": self.status,
            "since": format_time(self.since) if self.since else None,
            "attempts": self.attempts,
            "key": self.key,
            "lease_until": self.lease_until,
            "failure": dict(self.failure) if self.failure is not None else None,
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Unsent:
        since = obj.get("since")
        failure = obj.get("failure")
        lease = obj.get("lease_until")
        return cls(
            draft=int(obj["draft"]),
            approved_at=parse_time(str(obj["approved_at"])),
            platform=str(obj["platform"]),
            account=str(obj["account"]),
            status=str(obj.get("status", "approved")),
            since=parse_time(since) if isinstance(since, str) and since else None,
            attempts=int(obj.get("attempts", 0)),
            key=obj.get("key"),
            lease_until=int(lease) if lease is not None else None,
            failure=dict(failure) if isinstance(failure, Mapping) else None,
        )


# --- the incident -------------------------------------------------------------------------------


def _frozen(m: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(m or {}))


@dataclass(frozen=True)
class Incident:
    """One incident as its events add up to now."""

    id: int
    topic: str
    title: str
    severity: Severity
    state: State
    opened_at: datetime
    opened_by: str
    first_signal_at: datetime
    """When the storm was first seen (the level's rise or the first mention); defaults to ``opened_at``."""
    updated_at: datetime
    last_event_id: int
    assignee: str | None = None
    acknowledged_at: datetime | None = None
    """The first acknowledgement (time to acknowledge is measured to it)."""
    acknowledged_by: str | None = None
    first_response_at: datetime | None = None
    """The first public response logged (holding statement, statement, apology, correction)."""
    resolved_at: datetime | None = None
    escalation_step: int = 0
    """How far up ``team.escalation`` it went: 0 = not escalated, 1 = the first step…"""
    ladder_at: datetime | None = None
    """When the ladder last moved (a step called, or the incident reopened): the next step is due one
    ``team.sla.ack_timeout`` after this (or after the opening) while nobody acknowledges."""
    level: str | None = None
    level_reasons: tuple[str, ...] = ()
    breaches: Mapping[str, datetime] = field(default_factory=dict)
    """Clock name (``ack``, ``first_response``) → when the breach was recorded."""
    response_kinds: Mapping[str, datetime] = field(default_factory=dict)
    """Response kind → when that kind was first logged."""
    checks: Mapping[str, tuple[bool, datetime]] = field(default_factory=dict)
    """Checklist step → (ticked?, when) from the last hand check."""
    drafts: Mapping[str, datetime] = field(default_factory=dict)
    """Responses awaiting approval: the draft's event id (as text) → when it was written."""
    claims: Mapping[str, str] = field(default_factory=dict)
    """Claims about the incident: the claim's event id (as text) → rumour, verified or false."""
    unsent: Mapping[str, Unsent] = field(default_factory=dict)
    """Approved responses the desk posts itself and that are not out yet: the draft's id (as text) →
    where they stand (waiting, being posted, failed)."""
    responses: int = 0
    evidence: int = 0
    notes: int = 0
    reopened: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "breaches", _frozen(self.breaches))
        object.__setattr__(self, "response_kinds", _frozen(self.response_kinds))
        object.__setattr__(self, "checks", _frozen(self.checks))
        object.__setattr__(self, "drafts", _frozen(self.drafts))
        object.__setattr__(self, "claims", _frozen(self.claims))
        object.__setattr__(self, "unsent", _frozen(self.unsent))

    @property
    def closed(self) -> bool:
        return self.state.closed

    @property
    def awaiting_approval_since(self) -> datetime | None:
        """When the oldest response still awaiting approval was written (None: none waits)."""
        return min(self.drafts.values(), default=None)

    @property
    def ref(self) -> str:
        """How people name it: ``#12``."""
        return f"#{self.id}"

    @property
    def checklist(self) -> tuple[ChecklistItem, ...]:
        """The playbook, ticked from the response log and from hand checks (a hand untick wins
        over nothing, but a logged response always counts)."""
        items = []
        for step in PLAYBOOK:
            logged = [
                (self.response_kinds[k], i, k)
                for i, k in enumerate(step.satisfied_by)
                if k in self.response_kinds
            ]
            if logged:  # the first logged; at the same instant, the kind the step names first
                at, _, kind = min(logged)
                items.append(ChecklistItem(step.id, step.label, True, str(kind), at))
                continue
            done, checked_at = self.checks.get(step.id, (False, None))
            items.append(
                ChecklistItem(
                    step.id, step.label, done, "check" if done else None, checked_at if done else None
                )
            )
        return tuple(items)

    def to_json(self) -> dict[str, Any]:
        """The public JSON form (also the ``--emit incidents`` object, with ``type`` added there)."""

        def t(dt: datetime | None) -> str | None:
            return format_time(dt) if dt else None

        return {
            "id": self.id,
            "topic": self.topic,
            "title": self.title,
            "severity": str(self.severity),
            "state": str(self.state),
            "assignee": self.assignee,
            "opened_at": t(self.opened_at),
            "opened_by": self.opened_by,
            "first_signal_at": t(self.first_signal_at),
            "acknowledged_at": t(self.acknowledged_at),
            "acknowledged_by": self.acknowledged_by,
            "first_response_at": t(self.first_response_at),
            "resolved_at": t(self.resolved_at),
            "updated_at": t(self.updated_at),
            "last_event_id": self.last_event_id,
            "escalation_step": self.escalation_step,
            "ladder_at": t(self.ladder_at),
            "level": self.level,
            "level_reasons": list(self.level_reasons),
            "breaches": {k: t(v) for k, v in self.breaches.items()},
            "response_kinds": {k: t(v) for k, v in self.response_kinds.items()},
            "checks": {k: [done, t(at)] for k, (done, at) in self.checks.items()},
            "drafts": {k: t(v) for k, v in self.drafts.items()},
            "claims": dict(self.claims),
            "unsent": {k: u.to_json() for k, u in self.unsent.items()},
            "checklist": [
                {"id": c.id, "label": c.label, "done": c.done, "by": c.by, "at": t(c.at)}
                for c in self.checklist
            ],
            "counts": {
                "responses": self.responses,
                "evidence": self.evidence,
                "notes": self.notes,
                "reopened": self.reopened,
            },
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Incident:
        """Read back ``to_json`` (the journal's incident rows are stored this way)."""

        def t(v: str | None) -> datetime | None:
            return parse_time(v) if v else None

        counts = obj.get("counts", {})
        return cls(
            id=int(obj["id"]),
            topic=obj["topic"],
            title=obj["title"],
            severity=Severity(obj["severity"]),
            state=State(obj["state"]),
            opened_at=parse_time(obj["opened_at"]),
            opened_by=obj["opened_by"],
            first_signal_at=parse_time(obj["first_signal_at"]),
            updated_at=parse_time(obj["updated_at"]),
            last_event_id=int(obj["last_event_id"]),
            assignee=obj.get("assignee"),
            acknowledged_at=t(obj.get("acknowledged_at")),
            acknowledged_by=obj.get("acknowledged_by"),
            first_response_at=t(obj.get("first_response_at")),
            resolved_at=t(obj.get("resolved_at")),
            escalation_step=int(obj.get("escalation_step", 0)),
            ladder_at=t(obj.get("ladder_at")),
            level=obj.get("level"),
            level_reasons=tuple(obj.get("level_reasons", ())),
            breaches={k: parse_time(v) for k, v in obj.get("breaches", {}).items()},
            response_kinds={k: parse_time(v) for k, v in obj.get("response_kinds", {}).items()},
            checks={k: (bool(d), parse_time(a)) for k, (d, a) in obj.get("checks", {}).items()},
            drafts={k: parse_time(v) for k, v in obj.get("drafts", {}).items()},
            claims=dict(obj.get("claims", {})),
            unsent={k: Unsent.from_json(u) for k, u in obj.get("unsent", {}).items()},
            responses=int(counts.get("responses", 0)),
            evidence=int(counts.get("evidence", 0)),
            notes=int(counts.get("notes", 0)),
            reopened=int(counts.get("reopened", 0)),
        )


# --- the parts shown in reviews -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrollGuard:
    """The troll guard's advice not to answer an author publicly, kept on a response given anyway: the
    post-mortem says the team answered despite it, and why it had advised against."""

    author: str
    """The handle of the post answered (or the incident's trigger post)."""
    reasons: tuple[str, ...]
    """In English (``scoring/troll.py``); ``config.reasons.shown`` puts them in the reader's language."""

    def to_json(self) -> dict[str, Any]:
        return {"author": self.author, "reasons": list(self.reasons)}

    @classmethod
    def from_json(cls, obj: object) -> TrollGuard | None:
        """The guard kept in an event's payload (None: there was none, or it is unreadable)."""
        if not isinstance(obj, Mapping):
            return None
        reasons = obj.get("reasons")
        if not isinstance(reasons, list) or not reasons:
            return None
        return cls(str(obj.get("author") or ""), tuple(str(r) for r in reasons))


@dataclass(frozen=True, slots=True)
class Response:
    event_id: int
    at: datetime
    operator: str
    kind: ResponseKind
    channel: str
    text: str
    url: str | None
    troll_guard: TrollGuard | None = None
    """Answered publicly although the troll guard advised against it (and why)."""


@dataclass(frozen=True, slots=True)
class Draft:
    """A response held for approval, and what became of it."""

    event_id: int
    at: datetime
    author: str
    kind: ResponseKind
    channel: str
    text: str
    roles: tuple[str, ...]
    """Who could approve it (roles of ``team.approval`` for the incident's severity then)."""
    status: str = "pending"
    """``pending``, ``approved`` or ``rejected``."""
    decided_at: datetime | None = None
    decided_by: str | None = None
    reason: str | None = None
    """Why it was rejected."""
    final_text: str | None = None
    """The text that went out on approval (the approver may have edited it)."""
    reply_to: Mapping[str, Any] | None = None
    """The post it answers (``source``, ``platform``, ``uid``, ``url``, ``handle``), if any."""
    troll_guard: TrollGuard | None = None
    """Drafted although the troll guard advised against answering publicly (and why)."""
    platform: str | None = None
    """Where the desk posts it once approved (None: copied and sent by hand)."""
    sent: str | None = None
    """Once approved: ``published`` (the desk posted it), ``by_hand`` (logged as sent by a person) or
    ``unsent`` (posting failed or has not happened yet)."""
    sent_at: datetime | None = None
    url: str | None = None
    """The published post's address."""
    failure: Mapping[str, Any] | None = None
    """While unsent, the last failure (``publish_failed`` payload)."""
    attempts: int = 0

    @property
    def waited(self) -> timedelta | None:
        """How long the draft waited for its decision."""
        return self.decided_at - self.at if self.decided_at is not None else None


@dataclass(frozen=True, slots=True)
class Claim:
    """Something said about the incident, and what the desk knows of it."""

    event_id: int
    at: datetime
    by: str
    text: str
    status: str
    """``rumour``, ``verified`` or ``false`` (the latest)."""
    history: tuple[tuple[datetime, str, str, str | None], ...]
    """Every status it had: (when, who, status, the evidence given)."""


@dataclass(frozen=True, slots=True)
class Evidence:
    """A pinned mention, as it was when pinned (original time and text)."""

    event_id: int
    pinned_at: datetime
    pinned_by: str
    uid: str
    source: str
    created_at: datetime
    text: str
    url: str | None
    author_handle: str
    author_name: str | None
    followers: int | None
    lang: str | None
    sentiment: str | None
    note: str | None


@dataclass(frozen=True, slots=True)
class Note:
    event_id: int
    at: datetime
    operator: str
    kind: NoteKind
    text: str


@dataclass(frozen=True, slots=True)
class Correction:
    """A human's verdict on a mention's sentiment: training data (``text<TAB>label``)."""

    event_id: int
    at: datetime
    operator: str
    incident_id: int | None
    uid: str
    source: str
    text: str
    old_label: str | None
    new_label: str


@dataclass(frozen=True)
class IncidentRecord:
    """Everything about one incident, for the review screen and the post-mortem."""

    incident: Incident
    events: tuple[Event, ...]
    responses: tuple[Response, ...]
    evidence: tuple[Evidence, ...]
    notes: tuple[Note, ...]
    drafts: tuple[Draft, ...] = ()
    claims: tuple[Claim, ...] = ()

    @property
    def lessons(self) -> tuple[Note, ...]:
        return tuple(n for n in self.notes if n.kind is NoteKind.LESSON)
