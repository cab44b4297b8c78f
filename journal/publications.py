"""Approved responses the desk posts itself: the journal's side of publishing.

The desk (``desk/publishing.py``) talks to the platforms; the journal keeps where each approved
response stands, durable before anything is shown, in three steps around each attempt:

1. ``start_publishing`` writes a ``publishing`` event — the intent, with the attempt's key (the first
   attempt's, reused by every retry) and a lease in real time — before the platform is called. Under
   the write lock it refuses a draft that another desk is sending right now (its lease still runs), one
   already out, and one not approved.
2. The desk calls the platform.
3. ``record_published`` writes ``response_published`` and the ``response_logged`` that makes it the
   response that went out (its URL, the first-response clock stopped) in one transaction; or
   ``record_publish_failed`` writes why it failed, and the approved words wait, intact.

A desk that dies between 1 and 3 leaves the response "publishing" until the lease runs out; the retry
then reuses the key, which is what keeps the platform from posting it twice (see
``sources/publish.py``). ``record_sent_by_hand`` logs an approved response a person posted themselves
(no account configured for that platform, or after a failure the desk could not resolve).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tocsin.journal.errors import AlreadyDone, IncidentClosed, InvalidValue, UnknownDraft
from tocsin.journal.events import EVENT_COLUMNS, append, event_of, incident_of, load_incident
from tocsin.journal.model import Event, EventKind, Incident, Unsent, parse_incident_id
from tocsin.journal.store import Store, Tx, from_ms, to_ms
from tocsin.sources.clock import Clock
from tocsin.sources.model import format_time


@dataclass(frozen=True, slots=True)
class SendJob:
    """An approved response to post: what to say, where, and how the attempts went so far."""

    incident_id: int
    draft: int
    text: str
    """The approved words (the approver's edit, if any): exactly what goes out."""
    kind: str
    channel: str
    platform: str
    account: str
    reply_to: Mapping[str, Any] | None
    status: str
    """``approved`` (never tried), ``publishing`` or ``failed``."""
    attempts: int
    key: str | None
    """The first attempt's key (None before it): every retry sends it again."""
    failure: Mapping[str, Any] | None
    approved_at: datetime


class PublicationCommands:
    """The publishing part of ``Journal`` (needs ``store``, ``clock`` and ``operator``)."""

    store: Store
    clock: Clock
    operator: str

    def _stamp(self, now: datetime | None) -> datetime:
        return from_ms(to_ms(now or self.clock.now()))

    async def _on_unsent(
        self,
        incident_id: int | str,
        draft: int | str,
        now: datetime | None,
        fn: Callable[[Tx, Incident, Unsent, datetime], Awaitable[Incident]],
    ) -> Incident:
        """Run ``fn`` under the write lock on the incident's approved-but-unsent draft ``draft``."""
        iid = parse_incident_id(incident_id)
        did = _draft_id(iid, draft)
        at = self._stamp(now)

        async def body(tx: Tx) -> Incident:
            inc, unsent = await _unsent(tx, iid, did)
            return await fn(tx, inc, unsent, at)

        return await self.store.write(body)

    async def unsent_drafts(self, incident_id: int | str | None = None) -> list[SendJob]:
        """The approved responses not out yet (of one incident, or of every unresolved one), oldest
        first."""
        where, params = "state != 'resolved'", []
        if incident_id is not None:
            where, params = "id = ?", [parse_incident_id(incident_id)]

        async def q(tx: Tx) -> list[SendJob]:
            jobs: list[SendJob] = []
            for (data,) in await tx.fetchall(f"SELECT data FROM incidents WHERE {where} ORDER BY id", params):
                inc = incident_of(data)
                for unsent in sorted(inc.unsent.values(), key=lambda u: u.draft):
                    jobs.append(await _job(tx, inc.id, unsent))
            return jobs

        return await self.store.read(q)

    async def send_job(self, incident_id: int | str, draft: int | str) -> SendJob:
        """One approved response not out yet; UnknownDraft (or AlreadyDone: it is out) otherwise."""
        iid = parse_incident_id(incident_id)
        did = _draft_id(iid, draft)

        async def q(tx: Tx) -> SendJob:
            _, unsent = await _unsent(tx, iid, did)
            return await _job(tx, iid, unsent)

        return await self.store.read(q)

    async def start_publishing(
        self,
        incident_id: int | str,
        draft: int | str,
        *,
        key: str,
        real_ms: int,
        lease: timedelta,
        now: datetime | None = None,
    ) -> SendJob:
        """Record the intent to post (before the platform is called): returns the job with the key to
        send — ``key`` on the first attempt, the first attempt's on every retry — and its attempt count.
        Refuses (nothing written) a draft another desk is posting now, one out already, one not
        approved, and an incident resolved since."""

        async def fn(tx: Tx, inc: Incident, unsent: Unsent, at: datetime) -> Incident:
            if inc.closed:
                raise IncidentClosed(inc.id)
            if unsent.status == "publishing" and (unsent.lease_until or 0) > real_ms:
                wait = max(1, round(((unsent.lease_until or 0) - real_ms) / 1000))
                raise AlreadyDone(
                    inc.id, f"is sending draft {unsent.draft} right now (try again in {wait} s)"
                )
            payload = {
                "draft": unsent.draft,
                "platform": unsent.platform,
                "account": unsent.account,
                "attempt": unsent.attempts + 1,
                "key": unsent.key or key,
                "lease_until": real_ms + int(lease.total_seconds() * 1000),
            }
            _, after = await append(tx, inc, EventKind.PUBLISHING, payload, at=at, operator=self.operator)
            assert after is not None
            return after

        inc = await self._on_unsent(incident_id, draft, now, fn)
        return await self.send_job(inc.id, draft)

    async def record_published(
        self,
        incident_id: int | str,
        draft: int | str,
        *,
        url: str,
        post_id: str,
        recovered: bool = False,
        now: datetime | None = None,
    ) -> Incident:
        """The platform took the post: ``response_published`` and the ``response_logged`` of what went
        out, with its URL (the first-response clock stops now), in one transaction."""
        link = url.strip()
        if link and not link.lower().startswith(("https://", "http://")):
            raise InvalidValue("url", link, ["an http:// or https:// address"])

        async def fn(tx: Tx, inc: Incident, unsent: Unsent, at: datetime) -> Incident:
            drafted, approved = await _draft_events(tx, inc.id, unsent.draft)
            payload: dict[str, Any] = {
                "draft": unsent.draft,
                "platform": unsent.platform,
                "account": unsent.account,
                "url": link or None,
                "post_id": post_id,
                "attempt": max(1, unsent.attempts),
            }
            if recovered:
                payload["recovered"] = True
            _, after = await append(tx, inc, EventKind.PUBLISHED, payload, at=at, operator=self.operator)
            assert after is not None
            logged = _logged(drafted, approved, url=link or None)
            logged["published"] = unsent.platform
            logged["account"] = unsent.account
            _, done = await append(
                tx, after, EventKind.RESPONSE_LOGGED, logged, at=at, operator=self.operator
            )
            assert done is not None
            return done

        return await self._on_unsent(incident_id, draft, now, fn)

    async def record_publish_failed(
        self,
        incident_id: int | str,
        draft: int | str,
        *,
        problem: str,
        status: int | None = None,
        detail: str = "",
        retry_after: float | None = None,
        maybe_sent: bool = False,
        now: datetime | None = None,
    ) -> Incident:
        """Posting failed: why (a problem code, the HTTP status, the platform's words, when to try
        again), and the approved response waits, intact."""

        async def fn(tx: Tx, inc: Incident, unsent: Unsent, at: datetime) -> Incident:
            payload: dict[str, Any] = {
                "draft": unsent.draft,
                "platform": unsent.platform,
                "account": unsent.account,
                "attempt": max(1, unsent.attempts),
                "problem": problem,
                "status": status,
                "detail": detail[:300],
            }
            if retry_after is not None:
                payload["retry_at"] = format_time(at + timedelta(seconds=retry_after))
            if maybe_sent:
                payload["maybe_sent"] = True
            _, after = await append(tx, inc, EventKind.PUBLISH_FAILED, payload, at=at, operator=self.operator)
            assert after is not None
            return after

        return await self._on_unsent(incident_id, draft, now, fn)

    async def record_sent_by_hand(
        self,
        incident_id: int | str,
        draft: int | str,
        *,
        url: str | None = None,
        real_ms: int | None = None,
        now: datetime | None = None,
    ) -> Incident:
        """A person posted the approved response themselves: logged as sent (by hand), with its link
        when given. Refused while another desk is posting it (its lease runs until ``real_ms``)."""
        link = (url or "").strip() or None
        if link is not None and not link.lower().startswith(("https://", "http://")):
            raise InvalidValue("url", link, ["an http:// or https:// address"])

        async def fn(tx: Tx, inc: Incident, unsent: Unsent, at: datetime) -> Incident:
            if unsent.status == "publishing" and real_ms is not None and (unsent.lease_until or 0) > real_ms:
                raise AlreadyDone(inc.id, f"is sending draft {unsent.draft} right now: wait for it")
            drafted, approved = await _draft_events(tx, inc.id, unsent.draft)
            logged = _logged(drafted, approved, url=link)
            logged["by_hand"] = True
            logged["platform"] = unsent.platform
            _, done = await append(tx, inc, EventKind.RESPONSE_LOGGED, logged, at=at, operator=self.operator)
            assert done is not None
            return done

        return await self._on_unsent(incident_id, draft, now, fn)


async def _unsent(tx: Tx, iid: int, did: int) -> tuple[Incident, Unsent]:
    """The incident and its approved-but-unsent draft ``did``; AlreadyDone when it is out already,
    UnknownDraft when there is no such approved draft."""
    inc = await load_incident(tx, iid)
    unsent = inc.unsent.get(str(did))
    if unsent is None:
        state = await tx.scalar("SELECT state FROM drafts WHERE event_id = ? AND incident_id = ?", (did, iid))
        if state == "approved":
            raise AlreadyDone(iid, f"already has draft {did} out")
        raise UnknownDraft(iid, did, "none approved and waiting to be sent")
    return inc, unsent


async def _draft_events(tx: Tx, iid: int, did: int) -> tuple[Event, Event]:
    """The draft's ``response_drafted`` event and its ``response_approved``."""
    drafted = await tx.fetchone(
        f"SELECT {EVENT_COLUMNS} FROM events WHERE id = ? AND incident_id = ?", (did, iid)
    )
    decided = await tx.scalar("SELECT decided_event_id FROM drafts WHERE event_id = ?", (did,))
    approved = (
        await tx.fetchone(f"SELECT {EVENT_COLUMNS} FROM events WHERE id = ?", (int(decided),))
        if decided is not None
        else None
    )
    if drafted is None or approved is None:
        raise UnknownDraft(iid, did, "its events are missing")
    return event_of(drafted), event_of(approved)


async def _job(tx: Tx, iid: int, unsent: Unsent) -> SendJob:
    drafted, approved = await _draft_events(tx, iid, unsent.draft)
    p = drafted.payload
    return SendJob(
        incident_id=iid,
        draft=unsent.draft,
        text=str(approved.payload.get("text", p["text"])),
        kind=str(p["kind"]),
        channel=str(p["channel"]),
        platform=unsent.platform,
        account=unsent.account,
        reply_to=p.get("reply_to"),
        status=unsent.status,
        attempts=unsent.attempts,
        key=unsent.key,
        failure=unsent.failure,
        approved_at=unsent.approved_at,
    )


def _draft_id(iid: int, draft: int | str) -> int:
    try:
        return int(str(draft).strip().lstrip("#").removeprefix("d").removeprefix("D"))
    except ValueError:
        raise UnknownDraft(iid, draft) from None


def _logged(drafted: Event, approved: Event, *, url: str | None) -> dict[str, Any]:
    """The ``response_logged`` payload of an approved draft that went out."""
    p = drafted.payload
    logged: dict[str, Any] = {
        "kind": p["kind"],
        "channel": p["channel"],
        "text": str(approved.payload.get("text", p["text"])),
        "url": url,
        "draft": drafted.id,
        "author": drafted.operator,
    }
    if p.get("template"):
        logged["template"] = p["template"]
    if p.get("reply_to"):
        logged["reply_to"] = p["reply_to"]
    if p.get("troll_guard"):
        logged["troll_guard"] = p["troll_guard"]
    return logged
