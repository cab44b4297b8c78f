"""What can go wrong with a journal action, in words an operator can act on.

Every error raised by a command is raised before anything is written: the message says so
("nothing changed"), and the screen or the CLI shows it as is (``str(exc)``), in the desk's language:
an error is said to the person who just acted, never stored.
"""

from __future__ import annotations

from collections.abc import Iterable

from tocsin.config.i18n import _


class JournalError(Exception):
    """Base class: ``str(exc)`` is a one-line message for the operator."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownIncident(JournalError):
    def __init__(self, incident_id: object) -> None:
        super().__init__(_("no incident #{id} in the journal: nothing changed").format(id=incident_id))
        self.incident_id = incident_id


class EmptyField(JournalError):
    def __init__(self, field: str, what: str | None = None) -> None:
        super().__init__(
            what or _("{field} is required and cannot be empty: nothing changed").format(field=field)
        )
        self.field = field


class MissingResponseText(EmptyField):
    def __init__(self) -> None:
        super().__init__("text", _("a response needs the text that was published or sent: nothing changed"))


class InvalidValue(JournalError):
    def __init__(self, field: str, value: object, allowed: Iterable[str]) -> None:
        shown = str(value)[:40]
        said = _("{field}: {value} is not one of {allowed}: nothing changed")
        super().__init__(said.format(field=field, value=repr(shown), allowed=", ".join(allowed)))
        self.field = field


class IncidentClosed(JournalError):
    def __init__(self, incident_id: int) -> None:
        super().__init__(
            _("incident #{id} is resolved: reopen it first; nothing changed").format(id=incident_id)
        )
        self.incident_id = incident_id


class InvalidTransition(JournalError):
    def __init__(self, incident_id: int, current: str, wanted: str, hint: str = "") -> None:
        extra = f" ({hint})" if hint else ""
        said = _("incident #{id} is {state}: cannot go to {wanted}{hint}; nothing changed")
        super().__init__(said.format(id=incident_id, state=current, wanted=wanted, hint=extra))
        self.incident_id = incident_id


class AlreadyDone(JournalError):
    """The action would change nothing (already acknowledged, already that severity…)."""

    def __init__(self, incident_id: int, what: str) -> None:
        super().__init__(_("incident #{id} {what}: nothing changed").format(id=incident_id, what=what))
        self.incident_id = incident_id


class UnknownMember(JournalError):
    def __init__(self, member: str, roster: Iterable[str]) -> None:
        known = ", ".join(roster)
        said = _("{member} is not on the roster ({known}): nothing changed")
        super().__init__(said.format(member=repr(member[:40]), known=known))
        self.member = member


class UnknownTemplate(JournalError):
    def __init__(self, template: str, known: Iterable[str]) -> None:
        from tocsin.config.checks import did_you_mean

        names = list(known)
        listed = ", ".join(names) if names else _("none: add some under responses: in the settings")
        said = _("no response template {template} (templates: {known}){hint}: nothing changed")
        super().__init__(
            said.format(template=repr(template[:40]), known=listed, hint=did_you_mean(template, names))
        )
        self.template = template


class NotAllowed(JournalError):
    """The operator may not take this decision (not an approver, or their own draft)."""

    def __init__(self, who: str, why: str) -> None:
        super().__init__(_("{who} {why}: nothing changed").format(who=who[:40], why=why))


class UnknownDraft(JournalError):
    def __init__(self, incident_id: int, draft: object, why: str | None = None) -> None:
        said = _("incident #{id} has no draft {draft} awaiting approval{why}: nothing changed")
        super().__init__(said.format(id=incident_id, draft=str(draft)[:20], why=f" ({why})" if why else ""))


class NoEscalationStep(JournalError):
    def __init__(self, incident_id: int, why: str) -> None:
        super().__init__(_("incident #{id}: {why}; nothing changed").format(id=incident_id, why=why))
        self.incident_id = incident_id


class JournalBusy(JournalError):
    """Another process held the journal for longer than we were willing to wait."""

    def __init__(self, seconds: float) -> None:
        said = _(
            "the journal stayed busy for {seconds} s (another tocsin is writing): nothing changed, try again"
        )
        super().__init__(said.format(seconds=f"{seconds:.0f}"))


class JournalUnavailable(JournalError):
    """The journal file cannot be opened or is not one we can read."""
