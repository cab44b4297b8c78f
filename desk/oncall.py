"""On call: what reaches the people away from the wall, and when.

The session hands this module what happened — the journal's new events (from this desk, another desk
or the CLI: one source of truth for incident triggers), the desk's level changes and its sources'
health — and it decides who hears about it:

- **triggers**: a new incident, a level or severity raised, an SLA breach, an acknowledgement timeout
  (each ladder step), a source down or silent, a resurgence, a response draft awaiting approval (its
  approvers are called through their routes); pagers also hear the acknowledgement and the
  resolution, to close what they opened, and a draft's decision closes its approval call;
- **the ladder**: ``tick`` climbs it (``Journal.climb_ladder``: one step per ``team.sla.ack_timeout``
  without an acknowledgement); each step's people are paged through their ``routes``;
- **noise control**: per output, ``on``, ``min_level``, ``min_severity`` and quiet hours (only SEV1–2
  then); dedupe, cooldown and grouping in the outbox (``journal/outbox.py``);
- **delivery**: the outbox first, then the worker (``desk/delivery.py``), off the desk's way.

Messages are short, in ``desk.language``, with the reasons, the clocks and the command to act.
No textual import: headless mode is on call too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import zoneinfo
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Any

from tocsin.config.i18n import N_, _
from tocsin.config.outputs import in_quiet_hours, output_ids
from tocsin.config.reasons import level_name, listed, shown
from tocsin.config.settings import AlertSettings, Settings
from tocsin.desk.alerts import Alert
from tocsin.desk.delivery import DeliveryWorker, http_session_factory
from tocsin.desk.outputs import LIFECYCLE, Output, build_outputs
from tocsin.journal.api import Journal
from tocsin.journal.clocks import clocks_for
from tocsin.journal.display import kind_name, one_line
from tocsin.journal.errors import JournalError
from tocsin.journal.model import Event, EventKind, Incident, level_rank
from tocsin.journal.outbox import Envelope, Outbox, OutboxStatus

log = logging.getLogger(__name__)

URGENT_SEVERITIES = ("sev1", "sev2")
"""What quiet hours let through."""

_WORDS: dict[str, str] = {
    "opened": N_("{sev} incident #{id} opened on {topic}: {title}"),
    "step": N_("#{id} not acknowledged: step {step} of {of} called ({who})"),
    "page": N_("{sev} #{id} needs you (step {step}: not acknowledged for {wait} min): {title}"),
    "breach_ack": N_("#{id} not acknowledged: it was due at {due}"),
    "breach_resp": N_("#{id}: first public response overdue (due at {due})"),
    "severity": N_("#{id} raised to {sev}: {title}"),
    "resurgence": N_("#{id} reopened: {topic} is back ({why})"),
    "acknowledged": N_("#{id} acknowledged by {who}"),
    "resolved": N_("#{id} resolved"),
    "level": N_("{topic}: {prev} → {level}"),
    "source_down": N_("Source {source} is not seeing: {why}"),
    "clocks": N_("Ack due {ack} · first response due {resp}"),
    "level_is": N_("Level {level}"),
    "level_why": N_("Level {level}: {reasons}"),
    "act": N_("Act: tocsin incident ack {id} (or a on the wall)"),
    "act_level": N_("Look at the wall; open an incident with e"),
    "act_source": N_("Check the source on the wall's health pane"),
    "nobody": N_("nobody on the roster"),
    "none": N_("none"),
}
"""The messages' words, in English; translated (``desk.language``) as each message is made."""


class OnCall:
    """Turns what happens into queued messages, and delivers them. ``start`` after the journal opened,
    ``stop`` before it closes."""

    def __init__(
        self,
        settings: Settings,
        journal: Journal,
        *,
        keyboard: str | None = None,
        real_time: Callable[[], float] = time.time,
        on_problem: Callable[[str], None] | None = None,
        on_delivered: Callable[[], None] | None = None,
        http: Callable[[], Any] | None = None,
        lease_s: float | None = None,
    ) -> None:
        self.settings = settings
        self.journal = journal
        self.keyboard = keyboard if keyboard is not None else journal.operator
        """The operator at this desk's keyboard: never paged for the ladder's first step."""
        self.outbox = Outbox(journal.store)
        self._real = real_time
        self._close_http: Callable[[], Any] | None = None
        if http is None:
            http, self._close_http = http_session_factory()
        self._http = http
        targets = settings.alerts
        self.targets: dict[str, AlertSettings] = dict(zip(output_ids(targets), targets, strict=True))
        self.outputs: dict[str, Output] = build_outputs(targets, self._http)
        kwargs: dict[str, Any] = {"lease_s": lease_s} if lease_s is not None else {}
        self.worker = DeliveryWorker(
            self.outbox,
            self.outputs,
            journal.clock,
            desk=settings.desk.name,
            real_time=real_time,
            on_problem=on_problem,
            on_event=on_delivered,
            **kwargs,
        )
        self.tz = _zone(settings.desk.timezone)
        self.queued = 0
        self.suppressed = 0
        """Alerts an output's filters or quiet hours kept back (counted, not queued)."""
        self._pending: list[Alert] = []
        self._flushing: asyncio.Task[None] | None = None
        self._down: dict[str, str] = {}
        self._status: OutboxStatus | None = None
        self._seen: tuple[int, int, int] = (0, 0, 0)
        self.on_problem = on_problem

    @property
    def active(self) -> bool:
        """Whether any output goes beyond this desk (else there is nothing to queue)."""
        return bool(self.outputs)

    async def start(self, *, background: bool = True) -> None:
        if self.active:
            await self.worker.start(background=background)
            await self.refresh_status()

    async def stop(self) -> None:
        flushing = self._flushing
        if flushing is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(flushing), 2.0)
        with contextlib.suppress(JournalError):
            await self.flush()
        await self.worker.stop()
        if self._close_http is not None:
            await self._close_http()

    # --- what happened → alerts ---------------------------------------------------------------------

    def alert(self, alert: Alert) -> None:
        """A desk-side alert (a level change, a source down): queued in the background. Incident alerts
        come from the journal's events instead (``on_events``), so every desk and the CLI count."""
        if not self.active or alert.event not in ("level_change", "source_down"):
            return
        if alert.data.get("reopened"):
            return  # the reopening's journal event says it (resurgence)
        if alert.key is None:
            minute = int(alert.at.timestamp()) // 60
            what = alert.topic or alert.data.get("source") or ""
            alert = _with_key(alert, f"{alert.event}:{what}:{alert.level or ''}:{minute}")
        self._pending.append(alert)
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.get_running_loop().create_task(self._flush_soon(), name="tocsin-oncall")

    async def _flush_soon(self) -> None:
        try:
            await self.flush()
        except JournalError as exc:
            self._say(_("alerts not queued yet: {error}").format(error=exc))
        except Exception as exc:  # never a silent death
            log.exception("queueing alerts failed")
            self._say(_("alerts not queued: internal error ({kind})").format(kind=type(exc).__name__))

    async def flush(self) -> int:
        """Queue the desk-side alerts waiting (kept for the next try when the journal is busy)."""
        alerts, self._pending = self._pending, []
        try:
            return await self.enqueue(alerts)
        except BaseException:
            self._pending[:0] = alerts
            raise

    async def on_events(
        self, events: Sequence[Event], incident: Callable[[int], Incident | None]
    ) -> list[Alert]:
        """Queue what the journal's new events call for; returns the alerts made (the session rings
        this desk's own bell for the ladder's steps)."""
        alerts = [a for ev in events if (a := self.event_alert(ev, incident(ev.incident_id or 0)))]
        if self.active:
            await self.enqueue(alerts)
        return alerts

    def event_alert(self, ev: Event, inc: Incident | None) -> Alert | None:
        """The alert one journal event calls for, if any."""
        if inc is None or ev.incident_id is None:
            return None
        p = ev.payload
        base: dict[str, Any] = {
            "incident": inc.id,
            "topic": inc.topic,
            "severity": str(inc.severity),
            "level": inc.level,
        }
        sev = inc.severity.label
        topic = self._topic(inc.topic)
        if ev.kind is EventKind.OPENED:
            title = self._w("opened").format(sev=sev, id=inc.id, topic=topic, title=inc.title)
            return self._make(
                "new_incident", ev, title, self._detail(inc, ev.at), f"new_incident:{inc.id}", base
            )
        if ev.kind is EventKind.ESCALATED and "step" in p:
            members = [str(m) for m in p.get("members") or ()]
            who = ", ".join(self._name(m) for m in members) or self._w("nobody")
            step = int(p["step"])
            title = self._w("step").format(id=inc.id, step=step, of=p.get("of"), who=who)
            data = {**base, "step": step, "members": members, "roles": list(p.get("roles") or ())}
            event = "ack_timeout" if p.get("auto") else "escalated"
            return self._make(event, ev, title, self._detail(inc, ev.at), f"ladder:{inc.id}:step{step}", data)
        if ev.kind is EventKind.ESCALATED and "to_severity" in p:
            if int(str(p["to_severity"])[3]) >= int(str(p.get("from_severity", "sev4"))[3]):
                return None  # a severity lowered is no reason to call anyone
            title = self._w("severity").format(id=inc.id, sev=sev, title=inc.title)
            key = f"severity:{inc.id}:{p['to_severity']}"
            return self._make("level_change", ev, title, self._detail(inc, ev.at), key, base)
        if ev.kind is EventKind.SLA_BREACHED:
            due = self._hm(p.get("due"))
            if p.get("clock") == "ack":
                if self.settings.team.escalation:
                    return None  # the ladder's first step says it, with who was called
                title = self._w("breach_ack").format(id=inc.id, due=due)
                return self._make(
                    "ack_timeout", ev, title, self._detail(inc, ev.at), f"ack_timeout:{inc.id}", base
                )
            title = self._w("breach_resp").format(id=inc.id, due=due)
            key = f"sla_breach:{inc.id}:{p.get('clock')}"
            return self._make("sla_breach", ev, title, self._detail(inc, ev.at), key, base)
        if ev.kind is EventKind.REOPENED:
            why = shown(str(p.get("reason") or ""))
            title = self._w("resurgence").format(id=inc.id, topic=topic, why=why)
            return self._make(
                "resurgence", ev, title, self._detail(inc, ev.at), f"resurgence:{inc.id}:{ev.id}", base
            )
        if ev.kind is EventKind.ACKNOWLEDGED:
            title = self._w("acknowledged").format(id=inc.id, who=ev.operator)
            data = {**base, "operator": ev.operator}
            return self._make("acknowledged", ev, title, "", f"acknowledged:{inc.id}:{ev.id}", data)
        if ev.kind is EventKind.RESOLVED:
            title = self._w("resolved").format(id=inc.id)
            return self._make("resolved", ev, title, "", f"resolved:{inc.id}:{ev.id}", base)
        if ev.kind is EventKind.RESPONSE_DRAFTED:
            return self._approval_needed(ev, inc, base)
        if ev.kind in (EventKind.RESPONSE_APPROVED, EventKind.RESPONSE_REJECTED):
            return self._approval_decided(ev, inc, base)
        return None

    def _approval_needed(self, ev: Event, inc: Incident, base: Mapping[str, Any]) -> Alert:
        """A draft waits for a second person: its approvers (the roster people holding one of its
        roles, its author left out) are called through their routes, once per draft."""
        p = ev.payload
        roles = [str(r) for r in p.get("roles") or ()]
        members = [m.id for m in self.settings.team.roster if m.role in roles and m.id != ev.operator]
        who = ", ".join(self._name(m) for m in members) or ", ".join(roles)
        title = _("#{id} draft {draft} by {author} awaits approval ({who}): {kind} on {channel}").format(
            id=inc.id,
            draft=ev.id,
            author=self._name(ev.operator),
            who=who,
            kind=kind_name(p.get("kind")),
            channel=one_line(p.get("channel"), 40),
        )
        act = _("Act: tocsin incident approve {id} {draft} --operator YOU (or A on the wall)").format(
            id=inc.id, draft=ev.id
        )
        detail = f"“{one_line(p.get('text'), 300)}”\n{act}"
        data = {
            **base,
            "draft": ev.id,
            "author": ev.operator,
            "members": members,
            "roles": roles,
            "thread": f"draft-{ev.id}",
        }
        return self._make("approval_needed", ev, title, detail, approval_key(inc.id, ev.id), data)

    def _approval_decided(self, ev: Event, inc: Incident, base: Mapping[str, Any]) -> Alert:
        """The draft was approved or rejected: what its approval page opened is closed (pagers resolve
        the draft's thread; a message still held in the outbox is withdrawn, see ``enqueue``)."""
        draft = int(ev.payload["draft"])
        if ev.kind is EventKind.RESPONSE_APPROVED:
            title = _("#{id} draft {draft} approved by {who}").format(id=inc.id, draft=draft, who=ev.operator)
        else:
            title = _("#{id} draft {draft} rejected by {who}").format(id=inc.id, draft=draft, who=ev.operator)
        data = {
            **base,
            "draft": draft,
            "operator": ev.operator,
            "thread": f"draft-{draft}",
            "closes": approval_key(inc.id, draft),
        }
        return self._make("resolved", ev, title, "", f"approval_decided:{inc.id}:{draft}", data)

    def level_alert_text(self, topic: str, previous: str, level: str) -> str:
        return self._w("level").format(
            topic=self._topic(topic), prev=level_name(previous), level=level_name(level)
        )

    def _make(
        self, event: Any, ev: Event, title: str, detail: str, key: str, data: Mapping[str, Any]
    ) -> Alert:
        fields = {k: data.get(k) for k in ("topic", "incident", "severity", "level")}
        extra = {k: v for k, v in data.items() if k not in fields}
        return Alert(
            event=event,
            at=ev.at,
            title=title,
            detail=detail,
            topic=fields["topic"],
            incident=fields["incident"],
            severity=fields["severity"],
            level=fields["level"],
            urgent=event not in ("acknowledged", "resolved"),
            data=extra,
            key=key,
        )

    def _detail(self, inc: Incident, now: datetime) -> str:
        """Reasons, clocks and the command to act, in two or three short lines."""
        lines = []
        if inc.level:
            reasons = listed(shown(r) for r in inc.level_reasons[:3])
            said = self._w("level_why") if reasons else self._w("level_is")
            lines.append(said.format(level=level_name(inc.level), reasons=reasons))
        _signal, ack, resp = clocks_for(inc, self.settings.team.sla, now)
        lines.append(
            self._w("clocks").format(
                ack=self._hm(ack.due_at) if ack.due_at else self._w("none"),
                resp=self._hm(resp.due_at) if resp.due_at else self._w("none"),
            )
        )
        lines.append(self._w("act").format(id=inc.id))
        return "\n".join(lines)

    def source_alerts(self, statuses: Iterable[Any], now: datetime) -> list[Alert]:
        """A source that stops seeing (failed, cut off, silent past its gap alarm) is news once, until
        it sees again."""
        out = []
        for st in statuses:
            state = str(getattr(st, "state", ""))
            why = (
                getattr(st, "blind_reason", None)
                or getattr(st, "gap_warning", None)
                or (getattr(st, "last_error", None) if state == "failed" else None)
            )
            down = (
                state == "failed"
                or bool(getattr(st, "blind_since", None))
                or bool(getattr(st, "gap_warning", None))
            )
            sid = str(getattr(st, "id", "?"))
            if not down:
                self._down.pop(sid, None)
                continue
            if sid in self._down:
                continue
            self._down[sid] = str(why or state)
            title = self._w("source_down").format(source=sid, why=shown(str(why or state)))
            minute = int(now.timestamp()) // 60
            out.append(
                Alert(
                    event="source_down",
                    at=now,
                    title=title,
                    detail=self._w("act_source"),
                    data={"source": sid, "reason": str(why or state)},
                    key=f"source_down:{sid}:{minute}",
                )
            )
        return out

    # --- alerts → outbox ------------------------------------------------------------------------------

    async def enqueue(self, alerts: Sequence[Alert]) -> int:
        """Route each alert to the outputs and people it is for, and queue it (one transaction). An
        alert that closes another (a draft decided) first withdraws the other's messages still waiting
        in the outbox: nobody is called to approve what is decided."""
        for alert in alerts:
            closes = alert.data.get("closes")
            if closes and self.active:
                await self.outbox.withdraw(str(closes))
        envelopes: list[Envelope] = []
        for alert in alerts:
            envelopes += await self.route(alert)
        if not envelopes:
            return 0
        touched = await self.outbox.enqueue(envelopes, self.journal.clock.now(), round(self._real() * 1000))
        self.queued += len(touched)
        if touched:
            self.worker.wake()
        return len(touched)

    async def route(self, alert: Alert) -> list[Envelope]:
        """The envelopes one alert makes: each output's own audience when its ``on`` and filters let
        it through, and the ladder's people through their routes."""
        out: list[Envelope] = []
        key = alert.key or f"{alert.event}:{alert.incident}:{alert.at.isoformat()}"
        obj = {**alert.to_json(), "key": key}
        members = [str(m) for m in alert.data.get("members") or ()]
        roster = {m.id: m for m in self.settings.team.roster}
        for oid, output in self.outputs.items():
            t = self.targets[oid]
            common: dict[str, Any] = {
                "groupable": output.groupable,
                "cooldown": t.cooldown,
                "incident_id": alert.incident,
            }
            if alert.event in LIFECYCLE:
                closes = alert.data.get("closes")
                opened = (
                    await self.outbox.has_key(f"{closes}|{oid}")
                    if closes
                    else alert.incident is not None and await self.outbox.sent_to(oid, alert.incident)
                )
                if output.pager and opened:
                    out.append(Envelope(oid, obj, (f"{key}|{oid}",), urgent=True, **common))
                continue
            if not self._passes(t, alert):
                self.suppressed += 1
                continue
            urgent = alert.severity == "sev1"
            broadcast = alert.event in t.on
            paged = [m for m in members if m in roster and oid in roster[m].routes]
            if output.pager:
                if broadcast or paged:
                    who = [roster[m].routes[oid] for m in paged if roster[m].routes[oid]]
                    address = ", ".join([*t.to, *who])
                    out.append(Envelope(oid, obj, (f"{key}|{oid}",), address=address, urgent=True, **common))
                continue
            if broadcast:
                if t.type == "ntfy":
                    for topic in t.to:
                        keys = (f"{key}|{oid}|topic:{topic}",)
                        out.append(
                            Envelope(
                                oid,
                                obj,
                                keys,
                                recipient=f"topic:{topic}",
                                address=topic,
                                urgent=urgent,
                                **common,
                            )
                        )
                elif t.type != "email" or t.to:
                    out.append(
                        Envelope(
                            oid, obj, (f"{key}|{oid}|*",), address=", ".join(t.to), urgent=urgent, **common
                        )
                    )
            for m in paged:
                member = roster[m]
                keys = (f"{key}|{oid}|{m}",)
                out.append(
                    Envelope(
                        oid,
                        obj,
                        keys,
                        recipient=m,
                        address=member.routes[oid],
                        name=member.name,
                        urgent=True,
                        **common,
                    )
                )
        return out

    def _passes(self, t: AlertSettings, alert: Alert) -> bool:
        if t.min_severity and alert.severity and int(alert.severity[3]) > int(t.min_severity[3]):
            return False
        if t.min_level and alert.level and alert.incident is None:
            if level_rank(alert.level) < level_rank(t.min_level):
                return False
        if alert.severity not in URGENT_SEVERITIES and in_quiet_hours(t.quiet_hours, alert.at, self.tz):
            return False
        return True

    # --- the ladder, the wall's line ------------------------------------------------------------------

    async def tick(self, now: datetime, sources: Iterable[Any] = ()) -> list[Event]:
        """Climb the ladder where an acknowledgement is overdue; watch the sources. Returns the steps."""
        steps = await self.journal.climb_ladder(now, keyboard=self.keyboard)
        if self.active:
            downs = self.source_alerts(sources, now)
            if downs:
                await self.enqueue(downs)
            if self._pending:
                await self.flush()
            w = self.worker
            seen = (w.sent, w.retried, w.gave_up)
            if seen != self._seen:  # the wall's line follows the worker's outcomes, no query otherwise
                self._seen = seen
                await self.refresh_status()
        return steps

    async def refresh_status(self) -> OutboxStatus | None:
        if self.active:
            self._status = await self.outbox.status()
        return self._status

    def describe(self) -> str | None:
        """One line for the wall when deliveries fail: ``alerts: 3 waiting (email: HTTP 503)``."""
        s = self._status
        if s is None or (not s.retrying and not s.failed):
            return None
        parts = []
        if s.retrying:
            parts.append(_("{n} waiting to retry").format(n=s.retrying))
        if s.failed:
            parts.append(_("{n} undeliverable").format(n=s.failed))
        why = f" ({s.last_error})" if s.last_error else ""
        return _("alerts: {what}").format(what=", ".join(parts)) + why

    # --- words -----------------------------------------------------------------------------------------

    @staticmethod
    def _w(key: str) -> str:
        """One of the messages' words, in the desk's language."""
        return _(_WORDS[key])

    def _topic(self, topic: str) -> str:
        return next((t.label for t in self.settings.topics if t.id == topic), topic)

    def _name(self, member: str) -> str:
        return next((m.name for m in self.settings.team.roster if m.id == member), member)

    def _hm(self, value: Any) -> str:
        if isinstance(value, str):
            from tocsin.sources.model import parse_time

            try:
                value = parse_time(value)
            except ValueError:
                return str(value)
        if isinstance(value, datetime):
            return value.astimezone(self.tz).strftime("%H:%M")
        return "?"

    def _say(self, message: str) -> None:
        log.warning("%s", message)
        if self.on_problem is not None:
            self.on_problem(message)


def approval_key(incident: int, draft: int) -> str:
    """The dedupe key of a draft's approval call: one per draft, whichever desk saw it first."""
    return f"approval_needed:{incident}:{draft}"


def _with_key(alert: Alert, key: str) -> Alert:
    import dataclasses

    return dataclasses.replace(alert, key=key)


def _zone(name: str | None) -> tzinfo:
    if name:
        with contextlib.suppress(zoneinfo.ZoneInfoNotFoundError, ValueError):
            return zoneinfo.ZoneInfo(name)
    zone = datetime.now().astimezone().tzinfo
    assert zone is not None
    return zone
