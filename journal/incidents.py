"""The incident lifecycle: commands that check what the operator asked, then append the events.

Every command validates first and raises a ``JournalError`` (nothing written) when the action makes no
sense: unknown incident, empty field, a response without its text, an action on a resolved incident.
Otherwise its events are appended in one durable transaction and the method returns the incident as
it now stands, after the commit. State checks happen inside the write transaction, so two desks
acting on the same incident at once cannot both acknowledge it.

States: open → acknowledged → responding → monitoring → resolved; monitoring or resolved → reopened.
Moving an incident nobody acknowledged into work (a response, responding, monitoring) acknowledges it
first, as its own event. Notes and lessons can be added to a resolved incident (the post-mortem needs
them); everything else on a resolved incident must wait for a reopen.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from tocsin.config.i18n import N_, _
from tocsin.config.settings import LEVELS, Settings
from tocsin.journal.archive import MentionRow, keep_in, mention_row, pin_in
from tocsin.journal.clocks import unrecorded_breaches
from tocsin.journal.display import kind_name, state_name
from tocsin.journal.errors import (
    AlreadyDone,
    EmptyField,
    IncidentClosed,
    InvalidTransition,
    InvalidValue,
    MissingResponseText,
    NoEscalationStep,
    NotAllowed,
    UnknownDraft,
    UnknownMember,
)
from tocsin.journal.events import EVENT_COLUMNS, append, event_of, incident_of, load_incident
from tocsin.journal.model import (
    CLAIM_STATUSES,
    PLAYBOOK_IDS,
    SENTIMENT_LABELS,
    Event,
    EventKind,
    Incident,
    NoteKind,
    ResponseKind,
    Severity,
    State,
    TrollGuard,
    level_rank,
    parse_incident_id,
)
from tocsin.journal.narrate import claim_status as claim_word
from tocsin.journal.store import Store, Tx, from_ms, to_ms
from tocsin.journal.templates import find_template
from tocsin.sources.clock import Clock
from tocsin.sources.model import format_time

Target = Mapping[str, str]
"""Where the desk posts an approved response: ``{"platform": "mastodon", "account": "brand"}``."""

AUTOMATIC = "tocsin"
DRAFT_STATES = {"approved": N_("approved"), "rejected": N_("rejected")}
"""A decided draft's state in words (the journal keeps the English value)."""
"""Who the desk's own events (level changes, SLA breaches, resurgence) name as their author."""

_SURGE = level_rank("alert")


def required(field: str, value: object) -> str:
    """The value stripped; EmptyField when nothing visible is left."""
    s = value.strip() if isinstance(value, str) else ""
    if not any(c.isprintable() and not c.isspace() for c in s):  # zero-width and controls are not printable
        raise EmptyField(field)
    return s


def _claim_status(value: object) -> str:
    s = str(value).strip().lower()
    if s not in CLAIM_STATUSES:
        raise InvalidValue("claim status", value, CLAIM_STATUSES)
    return s


def _optional(value: object) -> str | None:
    s = value.strip() if isinstance(value, str) else ""
    return s or None


class IncidentCommands:
    """The write side of ``Journal`` for incidents."""

    store: Store
    clock: Clock
    settings: Settings
    operator: str

    # --- plumbing -------------------------------------------------------------------------------

    def _at(self, now: datetime | None) -> datetime:
        """Desk time, to the millisecond the journal stores."""
        return from_ms(to_ms(now or self.clock.now()))

    async def _act(
        self,
        incident_id: int | str,
        now: datetime | None,
        fn: Callable[[Tx, Incident, datetime], Awaitable[Incident]],
    ) -> Incident:
        iid = parse_incident_id(incident_id)
        at = self._at(now)

        async def body(tx: Tx) -> Incident:
            return await fn(tx, await load_incident(tx, iid), at)

        return await self.store.write(body)

    async def _emit(
        self,
        tx: Tx,
        inc: Incident,
        kind: EventKind,
        payload: dict[str, Any],
        at: datetime,
        operator: str | None = None,
    ) -> Incident:
        _, after = await append(tx, inc, kind, payload, at=at, operator=operator or self.operator)
        assert after is not None
        return after

    async def _ensure_ack(self, tx: Tx, inc: Incident, at: datetime) -> Incident:
        if inc.state.needs_ack:
            return await self._emit(
                tx, inc, EventKind.ACKNOWLEDGED, {"from": str(inc.state), "implicit": True}, at
            )
        return inc

    @staticmethod
    def _not_closed(inc: Incident) -> None:
        if inc.closed:
            raise IncidentClosed(inc.id)

    def _member(self, member: str) -> dict[str, str]:
        member = required("member", member)
        roster = {m.id: m for m in self.settings.team.roster}
        if roster and member not in roster:
            raise UnknownMember(member, roster)
        m = roster.get(member)
        return {"member": member, "name": m.name if m else member, "role": m.role if m else ""}

    def _topic(self, topic: str) -> str:
        topic = required("topic", topic)
        known = [t.id for t in self.settings.topics]
        if known and topic not in known:
            raise InvalidValue("topic", topic, known)
        return topic

    # --- opening ----------------------------------------------------------------------------------

    async def open_incident(
        self,
        topic: str,
        severity: Severity | str,
        title: str,
        *,
        first_signal_at: datetime | None = None,
        assignee: str | None = None,
        level: str | None = None,
        reasons: Sequence[str] = (),
        evidence: Iterable[Any] = (),
        now: datetime | None = None,
    ) -> Incident:
        """Open a new incident (optionally with its first evidence pinned); returns it."""
        topic = self._topic(topic)
        sev = Severity.parse(severity)
        title = required("title", title)
        who = self._member(assignee) if assignee is not None else None
        if level is not None and level not in LEVELS:
            raise InvalidValue("level", level, LEVELS)
        rows = [mention_row(m) for m in evidence]
        at = self._at(now)
        # the first signal (the level's rise, as the desk saw it) is never after the opening
        signal = min(first_signal_at, at) if first_signal_at is not None else at
        payload = {
            "topic": topic,
            "title": title,
            "severity": str(sev),
            "first_signal_at": format_time(signal),
            "assignee": who["member"] if who else None,
            "level": level,
            "reasons": [str(r) for r in reasons],
        }

        async def body(tx: Tx) -> Incident:
            iid = int(await tx.scalar("SELECT coalesce(max(id), 0) + 1 FROM incidents"))
            _, inc = await append(
                tx, None, EventKind.OPENED, payload, at=at, operator=self.operator, incident_id=iid
            )
            assert inc is not None
            seen: set[tuple[str, str]] = set()
            for row in rows:
                key = (row.mention.source, row.mention.uid)
                if key not in seen:
                    seen.add(key)
                    inc = await self._pin(tx, inc, row, None, at)
            return inc

        return await self.store.write(body)

    # --- taking it --------------------------------------------------------------------------------

    async def acknowledge(self, incident_id: int | str, *, now: datetime | None = None) -> Incident:
        """Someone has it: stops the ack clock."""

        async def fn(tx: Tx, inc: Incident, at: datetime) -> Incident:
            self._not_closed(inc)
            if not inc.state.needs_ack:
                raise AlreadyDone(
                    inc.id, _("was already acknowledged by {who}").format(who=inc.acknowledged_by)
                )
            return await self._emit(tx, inc, EventKind.ACKNOWLEDGED, {"from": str(inc.state)}, at)

        return await self._act(incident_id, now, fn)

    async def assign(self, incident_id: int | str, member: str, *, now: datetime | None = None) -> Incident:
        """Give the incident to a roster member (by id)."""
        who = self._member(member)

        async def fn(tx: Tx, inc: Incident, at: datetime) -> Incident:
            self._not_closed(inc)
            if inc.assignee == who["member"]:
                raise AlreadyDone(inc.id, _("is already assigned to {member}").format(member=who["member"]))
            return await self._emit(tx, inc, EventKind.ASSIGNED, {**who, "previous": inc.assignee}, at)

        return await self._act(incident_id, now, fn)

    async def escalate(
        self, incident_id: int | str, severity: Severity | str | None = None, *, now: datetime | None = None
    ) -> Incident:
        """Change the severity (``severity`` given), or call the next step of ``team.escalation``."""
        sev = Severity.parse(severity) if severity is not None else None
        ladder = self.settings.team.escalation

        async def fn(tx: Tx, inc: Incident, at: datetime) -> Incident:
            self._not_closed(inc)
            if sev is not None:
                if sev is inc.severity:
                    raise AlreadyDone(inc.id, _("is already {state}").format(state=sev.label))
                payload: dict[str, Any] = {"from_severity": str(inc.severity), "to_severity": str(sev)}
                return await self._emit(tx, inc, EventKind.ESCALATED, payload, at)
            if not ladder:
                raise NoEscalationStep(
                    inc.id, _("no escalation ladder in team.escalation (give a severity instead)")
                )
            if inc.escalation_step >= len(ladder):
                top = _("already at the top of the escalation ladder (step {step})").format(step=len(ladder))
                raise NoEscalationStep(inc.id, top)
            # whoever calls a step by hand is at a keyboard already: nobody pages them
            payload = self._ladder_step(inc.escalation_step + 1, skip=self.operator)
            return await self._emit(tx, inc, EventKind.ESCALATED, payload, at)

        return await self._act(incident_id, now, fn)

    def _ladder_step(self, step: int, *, skip: str | None, why: str | None = None) -> dict[str, Any]:
        """The ``escalated`` payload of ladder step ``step``: its roles and the roster people who hold
        them (``skip``, the operator at the keyboard, is left out and named)."""
        ladder = self.settings.team.escalation
        roles = list(ladder[step - 1])
        holders = [m.id for m in self.settings.team.roster if m.role in roles]
        members = [m for m in holders if m != skip]
        payload: dict[str, Any] = {"step": step, "of": len(ladder), "roles": roles, "members": members}
        if len(members) != len(holders):
            payload["skipped"] = [skip]
        if why is not None:
            payload["auto"] = True
            payload["reason"] = why
        return payload

    def ladder_due(self, inc: Incident) -> datetime | None:
        """When the incident's next ladder step is due (None: acknowledged, resolved, or at the top)."""
        ladder = self.settings.team.escalation
        wait = self.settings.team.sla.ack_timeout
        if inc.closed or not inc.state.needs_ack or wait <= timedelta(0):
            return None
        if inc.escalation_step >= len(ladder):
            return None
        return (inc.ladder_at or inc.opened_at) + wait

    async def climb_ladder(self, now: datetime | None = None, *, keyboard: str | None = None) -> list[Event]:
        """Call the next step of ``team.escalation`` for every incident nobody acknowledged within
        ``team.sla.ack_timeout`` of its opening (or of the last step, or of its reopening): the ladder
        climbs by itself, one step per timeout, until someone acknowledges. Each step is an
        ``escalated`` event naming the people called; re-checked under the write lock, so two desks
        never call the same step twice. ``keyboard``: the operator at this desk, not paged for step 1
        (they are looking at the wall). Returns the steps called."""
        at = self._at(now)
        rows = await self.store.fetchall(
            "SELECT data FROM incidents WHERE state IN ('open', 'reopened') ORDER BY id"
        )
        due = [i.id for i in (incident_of(r[0]) for r in rows) if (d := self.ladder_due(i)) and d <= at]
        if not due:
            return []
        wait = self.settings.team.sla.ack_timeout

        async def body(tx: Tx) -> list[Event]:
            out: list[Event] = []
            for iid in due:
                inc = await load_incident(tx, iid)
                when = self.ladder_due(inc)
                if when is None or when > at:
                    continue  # another desk (or an acknowledgement) got there first
                step = inc.escalation_step + 1
                minutes = max(1, round(wait.total_seconds() / 60))
                why = f"not acknowledged within {minutes} min"
                payload = self._ladder_step(step, skip=keyboard if step == 1 else None, why=why)
                ev, after = await append(tx, inc, EventKind.ESCALATED, payload, at=at, operator=AUTOMATIC)
                assert after is not None
                out.append(ev)
            return out

        return await self.store.write(body)

    # --- working it -------------------------------------------------------------------------------

    async def log_response(
        self,
        incident_id: int | str,
        kind: ResponseKind | str,
        channel: str,
        text: str,
        url: str | None = None,
        *,
        template: str | None = None,
        reply_to: Any = None,
        now: datetime | None = None,
    ) -> Incident:
        """Record a response (a public one stops the first-response clock); at a severity that
        ``team.approval`` names, it is held as a draft instead (see ``respond``)."""
        inc, _ = await self.respond(
            incident_id, kind, channel, text, url, template=template, reply_to=reply_to, now=now
        )
        return inc

    def approval_roles(self, severity: Severity) -> tuple[str, ...]:
        """The roles that must approve a response at this severity (empty: it goes out as written)."""
        return tuple(self.settings.team.approval.get(str(severity), ()))

    async def respond(
        self,
        incident_id: int | str,
        kind: ResponseKind | str,
        channel: str,
        text: str,
        url: str | None = None,
        *,
        template: str | None = None,
        reply_to: Any = None,
        troll_guard: TrollGuard | None = None,
        now: datetime | None = None,
    ) -> tuple[Incident, int | None]:
        """Record what was published or sent, or — when the incident's severity needs a second
        person's approval — hold it as a draft: returns the incident and the draft's id (None when it
        was logged as sent). A draft moves the work on (acknowledged, responding) but not the
        first-response clock: nothing has gone out yet. ``template``: the response template it
        started from (kept for the post-mortem). ``reply_to``: the post it answers (a mention, scored
        or not, or its JSON form); once approved, the desk replies to it where it can post.
        ``troll_guard``: the troll guard advised not to answer this author publicly; a public response
        given anyway keeps it (the post-mortem says so), a private reply follows the advice."""
        rkind = ResponseKind.parse(kind)
        answering = self.reply_ref(reply_to) if reply_to is not None else None
        template_id = find_template(self.settings, template).id if template else None
        if not isinstance(text, str) or not text.strip():
            raise MissingResponseText()
        text = required("text", text)
        channel = required("channel", channel)
        link = _optional(url)
        if link is not None and not link.lower().startswith(("https://", "http://")):
            raise InvalidValue("url", link, ["an http:// or https:// address"])
        draft_id: int | None = None

        async def fn(tx: Tx, inc: Incident, at: datetime) -> Incident:
            nonlocal draft_id
            self._not_closed(inc)
            inc = await self._ensure_ack(tx, inc, at)
            payload: dict[str, Any] = {"kind": str(rkind), "channel": channel, "text": text, "url": link}
            if template_id:
                payload["template"] = template_id
            if answering is not None:
                payload["reply_to"] = answering
            if troll_guard is not None and troll_guard.reasons and rkind.public:
                payload["troll_guard"] = troll_guard.to_json()
            roles = self.approval_roles(inc.severity)
            if roles:
                ev, after = await append(
                    tx,
                    inc,
                    EventKind.RESPONSE_DRAFTED,
                    {**payload, "roles": list(roles)},
                    at=at,
                    operator=self.operator,
                )
                assert after is not None
                inc, draft_id = after, ev.id
                await tx.execute(
                    "INSERT INTO drafts (event_id, incident_id, author, created_at) VALUES (?, ?, ?, ?)",
                    (ev.id, inc.id, self.operator, to_ms(at)),
                )
            else:
                inc = await self._emit(tx, inc, EventKind.RESPONSE_LOGGED, payload, at)
            if inc.state is State.ACKNOWLEDGED:
                inc = await self._emit(
                    tx,
                    inc,
                    EventKind.STATE_CHANGED,
                    {"from": str(inc.state), "to": str(State.RESPONDING)},
                    at,
                )
            return inc

        inc = await self._act(incident_id, now, fn)
        return inc, draft_id

    def reply_ref(self, mention: Any) -> dict[str, Any]:
        """What a response keeps of the post it answers: where it was seen (the source, and the
        source's type as its platform), its ids and address, its author."""
        m = mention_row(mention).mention
        kinds = {s.id: s.type for s in self.settings.sources}
        ref: dict[str, Any] = {
            "source": m.source,
            "platform": kinds.get(m.source, m.source),
            "uid": m.uid,
            "url": m.url,
            "handle": m.author.handle,
        }
        if m.raw_ref:
            ref["ref"] = m.raw_ref
        return ref

    async def _draft(self, tx: Tx, inc: Incident, draft: int | str) -> Event:
        """The pending draft ``draft`` of ``inc``, checked under the write lock; the operator must hold
        one of its approving roles and must not be its author."""
        try:
            did = int(str(draft).strip().lstrip("#").removeprefix("d").removeprefix("D"))
        except ValueError:
            raise UnknownDraft(inc.id, draft) from None
        row = await tx.fetchone(
            "SELECT state FROM drafts WHERE event_id = ? AND incident_id = ?", (did, inc.id)
        )
        if row is None:
            raise UnknownDraft(inc.id, draft)
        if row[0] != "pending":
            state = _(DRAFT_STATES[row[0]]) if row[0] in DRAFT_STATES else row[0]
            raise UnknownDraft(inc.id, draft, _("it was already {state}").format(state=state))
        found = await tx.fetchone(f"SELECT {EVENT_COLUMNS} FROM events WHERE id = ?", (did,))
        assert found is not None
        ev = event_of(found)
        roles = tuple(ev.payload.get("roles") or ())
        member = next((m for m in self.settings.team.roster if m.id == self.operator), None)
        if ev.operator == self.operator:
            raise NotAllowed(self.operator, _("wrote this draft: a second person must approve it"))
        if member is None:
            said = _("is not on the roster: only {roles} can decide")
            raise NotAllowed(self.operator, said.format(roles=", ".join(roles)))
        if member.role not in roles:
            said = _("is {role}: only {roles} can approve this draft")
            raise NotAllowed(self.operator, said.format(role=member.role, roles=", ".join(roles)))
        return ev

    async def approve(
        self,
        incident_id: int | str,
        draft: int | str,
        *,
        text: str | None = None,
        publish: Target | Callable[[Mapping[str, Any]], Target | None] | None = None,
        now: datetime | None = None,
    ) -> Incident:
        """Approve a draft (a second person of an allowed role), with ``text`` when the approver changed
        the words. Without a target it is logged as sent (by hand: a person posts it) and the
        first-response clock stops now, not at the draft. With one (``publish``: ``{"platform",
        "account"}``, or a function of the draft's payload that picks it under the write lock) it
        waits, approved and intact, for the desk to post it (``publications.py``): the clock stops when
        the platform has it."""
        final = required("text", text) if text is not None else None

        async def fn(tx: Tx, inc: Incident, at: datetime) -> Incident:
            self._not_closed(inc)
            ev = await self._draft(tx, inc, draft)
            p = ev.payload
            sent = final if final is not None else str(p["text"])
            waited = (at - ev.at).total_seconds()
            approval = {"draft": ev.id, "author": ev.operator, "text": sent, "waited_s": waited}
            if sent != p["text"]:
                approval["edited"] = True
            chosen = publish(p) if callable(publish) else publish
            target = (
                {"platform": str(chosen["platform"]), "account": str(chosen["account"])} if chosen else None
            )
            if target is not None:
                approval["publish"] = target
            ev_ok, inc2 = await append(
                tx, inc, EventKind.RESPONSE_APPROVED, approval, at=at, operator=self.operator
            )
            assert inc2 is not None
            if target is None:
                logged = {
                    "kind": p["kind"],
                    "channel": p["channel"],
                    "text": sent,
                    "url": p.get("url"),
                    "draft": ev.id,
                    "author": ev.operator,
                    "by_hand": True,
                }
                if p.get("template"):
                    logged["template"] = p["template"]
                if p.get("reply_to"):
                    logged["reply_to"] = p["reply_to"]
                if p.get("troll_guard"):
                    logged["troll_guard"] = p["troll_guard"]
                inc2 = await self._emit(tx, inc2, EventKind.RESPONSE_LOGGED, logged, at)
            await tx.execute(
                "UPDATE drafts SET state = 'approved', decided_event_id = ? WHERE event_id = ?",
                (ev_ok.id, ev.id),
            )
            return inc2

        return await self._act(incident_id, now, fn)

    async def reject(
        self, incident_id: int | str, draft: int | str, reason: str, *, now: datetime | None = None
    ) -> Incident:
        """Turn a draft down, saying why (nothing goes out; the author can write another)."""
        why = required("reason", reason)

        async def fn(tx: Tx, inc: Incident, at: datetime) -> Incident:
            self._not_closed(inc)
            ev = await self._draft(tx, inc, draft)
            payload = {"draft": ev.id, "author": ev.operator, "reason": why}
            ev_no, inc2 = await append(
                tx, inc, EventKind.RESPONSE_REJECTED, payload, at=at, operator=self.operator
            )
            assert inc2 is not None
            await tx.execute(
                "UPDATE drafts SET state = 'rejected', decided_event_id = ? WHERE event_id = ?",
                (ev_no.id, ev.id),
            )
            return inc2

        return await self._act(incident_id, now, fn)

    async def pending_drafts(self, incident_id: int | str | None = None) -> list[Event]:
        """The drafts awaiting approval (of one incident, or all), oldest first."""
        where, params = "d.state = 'pending'", cast(tuple[int, ...], ())
        if incident_id is not None:
            where, params = where + " AND d.incident_id = ?", (parse_incident_id(incident_id),)
        cols = ", ".join(f"e.{c.strip()}" for c in EVENT_COLUMNS.split(","))
        rows = await self.store.fetchall(
            f"SELECT {cols} FROM drafts d JOIN events e ON e.id = d.event_id WHERE {where} ORDER BY e.id",
            params,
        )
        return [event_of(r) for r in rows]

    async def add_claim(
        self,
        incident_id: int | str,
        text: str,
        *,
        status: str = "rumour",
        evidence: str | None = None,
        now: datetime | None = None,
    ) -> tuple[Incident, int]:
        """Record a claim going around (a rumour until shown otherwise); returns the incident and the
        claim's id."""
        text = required("text", text)
        status = _claim_status(status)
        proof = _optional(evidence)
        claim_id = 0

        async def fn(tx: Tx, inc: Incident, at: datetime) -> Incident:
            nonlocal claim_id
            self._not_closed(inc)
            payload = {"text": text, "status": status, "evidence": proof}
            ev, after = await append(tx, inc, EventKind.CLAIM_ADDED, payload, at=at, operator=self.operator)
            assert after is not None
            claim_id = ev.id
            return after

        inc = await self._act(incident_id, now, fn)
        return inc, claim_id

    async def set_claim(
        self,
        incident_id: int | str,
        claim: int | str,
        status: str,
        *,
        evidence: str | None = None,
        now: datetime | None = None,
    ) -> Incident:
        """Change what the desk knows of a claim; verifying it or calling it false needs the evidence."""
        wanted = _claim_status(status)
        proof = _optional(evidence)
        if wanted != "rumour" and proof is None:
            said = _("calling a claim {status} needs the evidence: nothing changed")
            raise EmptyField("evidence", said.format(status=claim_word(wanted)))

        async def fn(tx: Tx, inc: Incident, at: datetime) -> Incident:
            self._not_closed(inc)
            key = str(claim).strip().lstrip("#")
            if key not in inc.claims:
                raise InvalidValue("claim", claim, list(inc.claims) or [_("(no claim recorded yet)")])
            if inc.claims[key] == wanted:
                raise AlreadyDone(
                    inc.id,
                    _("already has claim {claim} as {status}").format(claim=key, status=claim_word(wanted)),
                )
            payload = {"claim": int(key), "status": wanted, "previous": inc.claims[key], "evidence": proof}
            return await self._emit(tx, inc, EventKind.CLAIM_CHANGED, payload, at)

        return await self._act(incident_id, now, fn)

    async def add_note(
        self,
        incident_id: int | str,
        text: str,
        *,
        kind: NoteKind | str = NoteKind.NOTE,
        now: datetime | None = None,
    ) -> Incident:
        """A note, or a lesson for the post-mortem (allowed on resolved incidents too)."""
        nkind = NoteKind.parse(kind)
        text = required("text", text)

        async def fn(tx: Tx, inc: Incident, at: datetime) -> Incident:
            return await self._emit(tx, inc, EventKind.NOTE, {"kind": str(nkind), "text": text}, at)

        return await self._act(incident_id, now, fn)

    async def pin_evidence(
        self, incident_id: int | str, mention: Any, *, note: str | None = None, now: datetime | None = None
    ) -> Incident:
        """Keep a mention as evidence: its original time and text go into the journal, and the archive
        keeps it past retention."""
        row = mention_row(mention)

        async def fn(tx: Tx, inc: Incident, at: datetime) -> Incident:
            self._not_closed(inc)
            return await self._pin(tx, inc, row, _optional(note), at)

        return await self._act(incident_id, now, fn)

    async def _pin(self, tx: Tx, inc: Incident, row: MentionRow, note: str | None, at: datetime) -> Incident:
        m = row.mention
        pinned = await tx.scalar(
            "SELECT event_id FROM pins WHERE incident_id = ? AND source = ? AND uid = ?",
            (inc.id, m.source, m.uid),
        )
        if pinned is not None:
            raise AlreadyDone(inc.id, _("already has this mention pinned"))
        await pin_in(tx, row)
        event, after = await append(
            tx,
            inc,
            EventKind.EVIDENCE_PINNED,
            {"mention": row.snapshot(), "note": note},
            at=at,
            operator=self.operator,
        )
        await tx.execute(
            "INSERT INTO pins (incident_id, source, uid, event_id) VALUES (?, ?, ?, ?)",
            (inc.id, m.source, m.uid, event.id),
        )
        assert after is not None
        return after

    async def check(
        self, incident_id: int | str, item: str, done: bool = True, *, now: datetime | None = None
    ) -> Incident:
        """Tick (or untick) a step of the response checklist by hand."""
        step = str(item).strip().lower()
        if step not in PLAYBOOK_IDS:
            raise InvalidValue("checklist item", item, PLAYBOOK_IDS)

        async def fn(tx: Tx, inc: Incident, at: datetime) -> Incident:
            self._not_closed(inc)
            current = next(c for c in inc.checklist if c.id == step)
            if done and current.done:
                raise AlreadyDone(inc.id, _("already has {step} ticked").format(step=repr(step)))
            if not done and not current.done:
                raise AlreadyDone(inc.id, _("does not have {step} ticked").format(step=repr(step)))
            if not done and current.by != "check":
                said = _("has {step} ticked by the {kind} logged; it stays ticked")
                raise AlreadyDone(inc.id, said.format(step=repr(step), kind=kind_name(current.by)))
            return await self._emit(tx, inc, EventKind.CHECKED, {"item": step, "done": bool(done)}, at)

        return await self._act(incident_id, now, fn)

    # --- state ------------------------------------------------------------------------------------

    async def set_state(
        self,
        incident_id: int | str,
        state: State | str,
        *,
        reason: str | None = None,
        now: datetime | None = None,
    ) -> Incident:
        """Move to ``responding``, ``monitoring``, ``resolved`` or ``reopened`` (``reopen``);
        ``acknowledged`` is ``acknowledge``."""
        wanted = str(state).strip().lower()
        if wanted == "reopen":
            wanted = "reopened"
        if wanted == "acknowledged":
            return await self.acknowledge(incident_id, now=now)
        allowed = ("responding", "monitoring", "resolved", "reopen")
        if wanted not in ("responding", "monitoring", "resolved", "reopened"):
            raise InvalidValue("state", state, allowed)
        if wanted == "resolved":
            return await self.resolve(incident_id, summary=reason, now=now)
        if wanted == "reopened":
            return await self.reopen(incident_id, reason=reason, now=now)
        target = State(wanted)

        async def fn(tx: Tx, inc: Incident, at: datetime) -> Incident:
            self._not_closed(inc)
            if inc.state is target:
                raise AlreadyDone(inc.id, _("is already {state}").format(state=state_name(target)))
            inc = await self._ensure_ack(tx, inc, at)
            payload = {"from": str(inc.state), "to": str(target), "reason": _optional(reason)}
            return await self._emit(tx, inc, EventKind.STATE_CHANGED, payload, at)

        return await self._act(incident_id, now, fn)

    async def resolve(
        self, incident_id: int | str, *, summary: str | None = None, now: datetime | None = None
    ) -> Incident:
        """Close the incident (its clocks stop; a surge on the topic will not reopen it)."""

        async def fn(tx: Tx, inc: Incident, at: datetime) -> Incident:
            if inc.closed:
                raise AlreadyDone(inc.id, _("is already {state}").format(state=state_name("resolved")))
            return await self._emit(
                tx, inc, EventKind.RESOLVED, {"from": str(inc.state), "summary": _optional(summary)}, at
            )

        return await self._act(incident_id, now, fn)

    async def reopen(
        self, incident_id: int | str, *, reason: str | None = None, now: datetime | None = None
    ) -> Incident:
        """Bring back a monitoring or resolved incident (it needs acknowledging again)."""

        async def fn(tx: Tx, inc: Incident, at: datetime) -> Incident:
            if inc.state not in (State.MONITORING, State.RESOLVED):
                raise InvalidTransition(
                    inc.id,
                    state_name(inc.state),
                    state_name("reopened"),
                    _("only a monitoring or resolved incident can be reopened"),
                )
            payload = {"from": str(inc.state), "reason": _optional(reason) or N_("reopened by hand")}
            return await self._emit(tx, inc, EventKind.REOPENED, payload, at)

        return await self._act(incident_id, now, fn)

    # --- what the desk reports ------------------------------------------------------------------

    async def on_level(
        self, topic: str, level: str, reasons: Sequence[str] = (), now: datetime | None = None
    ) -> list[Event]:
        """The topic's crisis level changed: note it on its unresolved incidents, and reopen the ones in
        ``monitoring`` when the topic surges again (level alert or above). Resolved incidents are left
        alone (open a new one). Returns the events appended (the app alerts on ``reopened``)."""
        if level not in LEVELS:
            raise InvalidValue("level", level, LEVELS)
        at = self._at(now)
        why = [str(r) for r in reasons]

        def stale(inc: Incident) -> bool:
            return inc.level != level or (level_rank(level) >= _SURGE and inc.state is State.MONITORING)

        # cheap check first: most calls change nothing and need no write lock
        rows = await self.store.fetchall(
            "SELECT data FROM incidents WHERE topic = ? AND state != 'resolved' ORDER BY id", (topic,)
        )
        if not any(stale(incident_of(r[0])) for r in rows):
            return []

        async def body(tx: Tx) -> list[Event]:
            out: list[Event] = []
            ids = await tx.fetchall(
                "SELECT id FROM incidents WHERE topic = ? AND state != 'resolved' ORDER BY id", (topic,)
            )
            for (iid,) in ids:
                inc = await load_incident(tx, iid)
                if inc.level != level:
                    ev, after = await append(
                        tx,
                        inc,
                        EventKind.LEVEL_CHANGED,
                        {"level": level, "previous": inc.level, "reasons": why},
                        at=at,
                        operator=AUTOMATIC,
                    )
                    assert after is not None
                    inc = after
                    out.append(ev)
                if level_rank(level) >= _SURGE and inc.state is State.MONITORING:
                    payload = {
                        "from": str(inc.state),
                        "reason": f"resurgence: level {level}",
                        "level": level,
                        "reasons": why,
                    }
                    ev, _ = await append(tx, inc, EventKind.REOPENED, payload, at=at, operator=AUTOMATIC)
                    out.append(ev)
            return out

        return await self.store.write(body)

    async def check_clocks(self, now: datetime | None = None) -> list[Event]:
        """Record every SLA breach not recorded yet (``sla_breached``, once per clock and incident).

        Call it periodically with the desk's time; returns the breaches just recorded (to alert on).
        """
        at = self._at(now)
        sla = self.settings.team.sla
        rows = await self.store.fetchall("SELECT data FROM incidents WHERE state != 'resolved' ORDER BY id")
        due = [inc.id for inc in (incident_of(r[0]) for r in rows) if unrecorded_breaches(inc, sla, at)]
        if not due:
            return []

        async def body(tx: Tx) -> list[Event]:
            out: list[Event] = []
            for iid in due:
                inc = await load_incident(
                    tx, iid
                )  # re-read under the write lock: another desk may have done it
                for clock in unrecorded_breaches(inc, sla, at):
                    assert clock.due_at is not None
                    payload = {
                        "clock": clock.name,
                        "due": format_time(clock.due_at),
                        "severity": str(inc.severity),
                        "met_at": format_time(clock.done_at) if clock.done_at else None,
                    }
                    ev, after = await append(
                        tx, inc, EventKind.SLA_BREACHED, payload, at=at, operator=AUTOMATIC
                    )
                    assert after is not None
                    inc = after
                    out.append(ev)
            return out

        return await self.store.write(body)

    async def correct_sentiment(
        self,
        mention: Any,
        new_label: str,
        *,
        old_label: str | None = None,
        incident_id: int | str | None = None,
        now: datetime | None = None,
    ) -> Event:
        """A human's verdict on a mention's sentiment (confirming the machine counts too): kept as
        ``text<TAB>label`` training data. The mention is archived if it was not."""
        label = str(new_label).strip().lower()
        if label not in SENTIMENT_LABELS:
            raise InvalidValue("label", new_label, SENTIMENT_LABELS)
        row = mention_row(mention)
        required("text", row.mention.text)
        old = old_label if old_label is not None else row.sentiment_label
        iid = parse_incident_id(incident_id) if incident_id is not None else None
        at = self._at(now)
        payload = {
            "uid": row.mention.uid,
            "source": row.mention.source,
            "text": row.mention.text,
            "old": old,
            "new": label,
        }

        async def body(tx: Tx) -> Event:
            inc = await load_incident(tx, iid) if iid is not None else None
            await keep_in(tx, row)
            ev, _ = await append(
                tx,
                inc,
                EventKind.SENTIMENT_CORRECTED,
                payload,
                at=at,
                operator=self.operator,
                incident_id=iid,
            )
            return ev

        return await self.store.write(body)
