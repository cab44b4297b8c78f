"""What can go wrong with a journal action, in words an operator can act on.

Every error raised by a command is raised before anything is written: the message says so
("nothing changed"), and the screen or the CLI shows it as is (``str(exc)``).
"""

from __future__ import annotations

from collections.abc import Iterable


class JournalError(Exception):
    """Base class: ``str(exc)`` is a one-line message for the operator."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownIncident(JournalError):
    def __init__(self, incident_id: object) -> None:
        super().__init__(f"no incident #{incident_id} in the journal: nothing changed")
        self.incident_id = incident_id


class EmptyField(JournalError):
    def __init__(self, field: str, what: str | None = None) -> None:
        super().__init__(what or f"{field} is required and cannot be empty: nothing changed")
        self.field = field


class MissingResponseText(EmptyField):
    def __init__(self) -> None:
        super().__init__("text", "a response needs the text that was published or sent: nothing changed")


class InvalidValue(JournalError):
    def __init__(self, field: str, value: object, allowed: Iterable[str]) -> None:
        shown = str(value)[:40]
        super().__init__(f"{field}: {shown!r} is not one of {', '.join(allowed)}: nothing changed")
        self.field = field


class IncidentClosed(JournalError):
    def __init__(self, incident_id: int) -> None:
        super().__init__(f"incident #{incident_id} is resolved: reopen it first; nothing changed")
        self.incident_id = incident_id


class InvalidTransition(JournalError):
    def __init__(self, incident_id: int, current: str, wanted: str, hint: str = "") -> None:
        extra = f" ({hint})" if hint else ""
        super().__init__(
            f"incident #{incident_id} is {current}: cannot go to {wanted}{extra}; nothing changed"
        )
        self.incident_id = incident_id


class AlreadyDone(JournalError):
    """The action would change nothing (already acknowledged, already that severity…)."""

    def __init__(self, incident_id: int, what: str) -> None:
        super().__init__(f"incident #{incident_id} {what}: nothing changed")
        self.incident_id = incident_id


class UnknownMember(JournalError):
    def __init__(self, member: str, roster: Iterable[str]) -> None:
        known = ", ".join(roster)
        super().__init__(f"{member[:40]!r} is not on the roster ({known}): nothing changed")
        self.member = member


class UnknownTemplate(JournalError):
    def __init__(self, template: str, known: Iterable[str]) -> None:
        from tocsin.config.checks import did_you_mean

        names = list(known)
        listed = ", ".join(names) if names else "none: add some under responses: in the settings"
        super().__init__(
            f"no response template {template[:40]!r} (templates: {listed}){did_you_mean(template, names)}: "
            "nothing changed"
        )
        self.template = template


class NotAllowed(JournalError):
    """The operator may not take this decision (not an approver, or their own draft)."""

    def __init__(self, who: str, why: str) -> None:
        super().__init__(f"{who[:40]} {why}: nothing changed")


class UnknownDraft(JournalError):
    def __init__(self, incident_id: int, draft: object, why: str | None = None) -> None:
        super().__init__(
            f"incident #{incident_id} has no draft {str(draft)[:20]} awaiting approval"
            + (f" ({why})" if why else "")
            + ": nothing changed"
        )


class NoEscalationStep(JournalError):
    def __init__(self, incident_id: int, why: str) -> None:
        super().__init__(f"incident #{incident_id}: {why}; nothing changed")
        self.incident_id = incident_id


class JournalBusy(JournalError):
    """Another process held the journal for longer than we were willing to wait."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"the journal stayed busy for {seconds:.0f} s (another tocsin is writing): "
            "nothing changed, try again"
        )


class JournalUnavailable(JournalError):
    """The journal file cannot be opened or is not one we can read."""
