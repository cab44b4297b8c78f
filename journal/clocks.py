"""SLA clocks: time since the first signal, time to acknowledge, time to the first public response.

Pure functions of an incident, the team's SLA settings and a desk time (``now`` is always passed in:
the desk's injected clock, never ``datetime.now()``). The first-response clock runs from the first
signal (as ``team.sla.first_response`` is documented: the public does not wait for us to open an
incident); its target depends on the current severity (SEV4 has none), so escalating to SEV1 can make a
response overdue at once. The ack clock runs from the opening (``team.sla.ack_timeout``). A clock
stops when its goal is met (acknowledged, first public response) or when the incident is resolved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Literal

from tocsin.config.i18n import N_, _
from tocsin.config.settings import SlaSettings
from tocsin.config.text import duration_str
from tocsin.journal.model import ClockName, Incident

ClockStatus = Literal["running", "overdue", "met", "late", "stopped", "counting"]
ClockPlace = Literal["report", "review", "table", "handover", "ack_cell", "response_cell"]
"""Where a clock is described: a report's clock table, the wall's review of an incident, a row of
``tocsin journal list``, the handover, and the wall's two SLA columns (acknowledgement, first public
response)."""

# Every SLA status word, by place; ``else`` for the statuses a place does not name. In the templates:
# {left} time left, {late} how overdue, {took} time taken (compact durations); {countdown} time left
# as a clock, {ago} how overdue as said aloud, {span} time taken in a narrow cell; {at} when the goal
# was met (HH:MM in the desk's zone); {what} the clock's name. The marked words are shown in the desk's
# language; the journal CLI's table and the handover are English throughout, so theirs are not marked.
_WORDS: dict[ClockPlace, dict[ClockStatus | Literal["else"], str]] = {
    "report": {
        "running": N_("running, {left} left"),
        "overdue": N_("OVERDUE by {late}"),
        "met": N_("met"),
        "late": N_("BREACHED"),
        "stopped": N_("stopped at resolution"),
        "else": "—",
    },
    "review": {
        "running": N_("running"),
        "overdue": N_("OVERDUE"),
        "met": N_("met"),
        "late": N_("BREACHED"),
        "stopped": N_("stopped at resolution"),
        "else": "—",
    },
    "table": {
        "running": "{left} left",
        "overdue": "OVERDUE {late}",
        "met": "met {took}",
        "late": "LATE {took}",
        "else": "—",
    },
    "handover": {
        "overdue": "{what} OVERDUE by {late}",
        "running": "{what} due in {left}",
        "late": "{what} late ({took})",
        "met": "{what} in {took}",
        "else": "{what}: no target",
    },
    "ack_cell": {
        "running": N_("ACK DUE in {countdown}"),
        "overdue": N_("ACK late {ago}"),
        "met": N_("✓ acked in {span}"),
        "late": N_("acked late ({span})"),
        "else": "—",
    },
    "response_cell": {
        "running": N_("due in {countdown}"),
        "overdue": N_("breached {ago} ago"),
        "met": "✓ {at} ({span})",
        "late": "✓ {at} ({span})",
        "counting": N_("no SLA"),
        "else": "—",
    },
}
_NAMES = {"ack": "acknowledgement", "first_response": "first public response"}
"""The clocks as the handover names them."""


@dataclass(frozen=True, slots=True)
class SlaClock:
    name: str
    """``signal``, ``ack`` or ``first_response``."""
    label: str
    started_at: datetime
    due_at: datetime | None
    """None: no target (the signal clock, or no first-response SLA for this severity)."""
    done_at: datetime | None
    """When the goal was met (acknowledged, first public response)."""
    stopped_at: datetime | None
    """When the clock stopped: ``done_at``, or the resolution for an unmet goal."""
    now: datetime

    @property
    def elapsed(self) -> timedelta:
        return (self.stopped_at or self.now) - self.started_at

    @property
    def remaining(self) -> timedelta | None:
        """Time left before the deadline while running (negative when overdue); None otherwise."""
        if self.due_at is None or self.stopped_at is not None:
            return None
        return self.due_at - self.now

    @property
    def breached(self) -> bool:
        """The deadline passed before the goal was met."""
        if self.due_at is None:
            return False
        end = self.stopped_at or self.now
        return end > self.due_at

    @property
    def status(self) -> ClockStatus:
        if self.due_at is None and self.done_at is None and self.stopped_at is None:
            return "counting"
        if self.done_at is not None:
            return "late" if self.breached else "met"
        if self.stopped_at is not None:
            return "late" if self.breached else "stopped"
        return "overdue" if self.breached else "running"

    def describe(self, place: ClockPlace = "report", tz: tzinfo | None = None) -> str:
        """The clock's status in words, as ``place`` shows it: the one place they are made (``_WORDS``).

        "running, 29m left" in a report, "ACK DUE in 4:12" on the wall. ``tz``: the zone of ``{at}``
        (the time a goal was met, on the wall), the machine's when None. The wall picks its colours by
        ``status``; the words come from here.
        """
        words = _WORDS[place]
        template = words.get(self.status, words["else"])
        if "{at}" in template and self.done_at is None:  # late, but never met: stopped at resolution
            template = words["else"]
        left = self.remaining
        late = -(left or timedelta(0))
        return _(template).format(
            left=duration_str(left),
            late=duration_str(late),
            took=duration_str(self.elapsed),
            countdown=duration_str(left or timedelta(0), "clock"),
            ago=duration_str(late, "ago"),
            span=duration_str(self.elapsed, "narrow"),
            at=self.done_at.astimezone(tz).strftime("%H:%M") if self.done_at else "",
            what=_NAMES.get(self.name, self.name),
        )


def first_response_target(sla: SlaSettings, severity: str) -> timedelta | None:
    """The first-response SLA for a severity (``sev1``…), or None when it has none."""
    target = sla.first_response.get(str(severity))
    return target if target and target > timedelta(0) else None


def clocks_for(incident: Incident, sla: SlaSettings, now: datetime) -> tuple[SlaClock, ...]:
    """The incident's three clocks at desk time ``now``: signal, ack, first response."""
    resolved = incident.resolved_at
    signal = SlaClock("signal", N_("since first signal"), incident.first_signal_at, None, None, resolved, now)
    ack_due = incident.opened_at + sla.ack_timeout if sla.ack_timeout > timedelta(0) else None
    ack_done = incident.acknowledged_at
    ack = SlaClock(
        str(ClockName.ACK),
        N_("to acknowledge"),
        incident.opened_at,
        ack_due,
        ack_done,
        ack_done or resolved,
        now,
    )
    target = first_response_target(sla, incident.severity)
    resp_done = incident.first_response_at
    response = SlaClock(
        str(ClockName.FIRST_RESPONSE),
        N_("to first public response"),
        incident.first_signal_at,
        incident.first_signal_at + target if target else None,
        resp_done,
        resp_done or resolved,
        now,
    )
    return signal, ack, response


def unrecorded_breaches(incident: Incident, sla: SlaSettings, now: datetime) -> list[SlaClock]:
    """SLA clocks past their deadline whose breach is not in the journal yet (each is recorded once)."""
    return [
        c
        for c in clocks_for(incident, sla, now)[1:]
        if c.breached and c.due_at is not None and c.name not in incident.breaches
    ]
