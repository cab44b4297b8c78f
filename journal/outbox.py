"""The outbox: messages to people away from the wall, kept in the journal until they are delivered.

A message is written here *before* anyone tries to send it, in one durable transaction, so neither a
receiver that is down nor a desk killed mid-storm loses it. Delivery (``desk/delivery.py``) claims due
rows atomically (a write transaction holds the journal's write lock: ``BEGIN IMMEDIATE`` in SQLite, an
advisory lock in PostgreSQL, so two desks on one journal, on one machine or several, never claim the
same row), sends them, and records the outcome; a claim is a lease, so the rows of a desk that died are
taken up again — at once when the dead desk ran on this machine (its pid is gone), else when the lease
runs out.

Noise control happens on the way in, inside the same transaction, so it holds across desks:

- **dedupe**: every message carries keys (``new_incident:12``, ``ack_timeout:12:step2``…); a key
  already in ``outbox_keys`` is never queued again, whichever desk or command saw the event first;
- **cooldown and grouping**: a channel (an output, and one person on it) that got a message less than
  its cooldown ago holds the next one until the cooldown ends, and whatever else arrives meanwhile
  joins that held message: a burst becomes one message. Urgent messages (SEV1, ladder pages) skip the
  hold, never the dedupe.

Times: ``created_at`` and ``due_at`` are desk time (the cooldown follows the desk's clock, demo speed
included); ``retry_at``, ``claimed_until`` and ``delivered_at`` are real epoch milliseconds (networks
keep real time). Nothing secret is stored: outputs are named by id, their URLs and keys stay in the
settings and the environment.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tocsin.journal.errors import UnknownIncident
from tocsin.journal.events import append, load_incident
from tocsin.journal.model import Event, EventKind
from tocsin.journal.store import Store, Tx, to_ms

PENDING, SENDING, DELIVERED, FAILED = "pending", "sending", "delivered", "failed"
WITHDRAWN = "withdrawn"
"""A message that lost its reason to be sent before it went (a draft decided before its approvers were
called): kept, never sent."""
MAX_GROUP = 50
"""Alerts one held message gathers at most; more start a message of their own."""

_COLUMNS = (
    "id, output, recipient, address, incident_id, created_at, due_at, retry_at, state, attempts, "
    "claimed_by, last_error, groupable, alerts"
)


@dataclass(frozen=True, slots=True)
class Envelope:
    """One alert for one channel (an output, or one person on it), before it is queued."""

    output: str
    alert: Mapping[str, Any]
    """The alert as JSON (``Alert.to_json`` plus its ``key``): what the message will say."""
    keys: tuple[str, ...]
    """Dedupe keys: if any is already queued (by any desk), this envelope is dropped."""
    recipient: str = ""
    """A roster member id for a ladder page; empty for the output's own audience."""
    address: str = ""
    """Where that person is on this output (an e-mail address, an ntfy topic…); not a secret."""
    name: str = ""
    """The person's name, for the journal's record of the notification."""
    incident_id: int | None = None
    groupable: bool = True
    """False for outputs that keep one thread per incident (pagers): never merged with others."""
    cooldown: timedelta = timedelta(0)
    urgent: bool = False
    """Skips the cooldown hold (not the dedupe): SEV1 and ladder pages go at once."""


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """A queued message as a delivery worker claims it."""

    id: int
    output: str
    recipient: str
    address: str
    incident_id: int | None
    created_at: int
    due_at: int
    retry_at: int
    state: str
    attempts: int
    claimed_by: str | None
    last_error: str | None
    groupable: bool
    alerts: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class OutboxStatus:
    """What the wall says about deliveries."""

    waiting: int
    """Messages not delivered yet (held, due, or being retried)."""
    retrying: int
    """Of those, the ones that failed at least once."""
    failed: int
    """Messages delivery gave up on."""
    delivered: int
    last_error: str | None
    """The newest error of a message still waiting or given up (``output: why``)."""


def _row(r: Sequence[Any]) -> OutboxRow:
    (
        rid,
        output,
        recipient,
        address,
        iid,
        created,
        due,
        retry,
        state,
        attempts,
        claimed,
        err,
        grp,
        alerts,
    ) = r
    return OutboxRow(
        int(rid),
        output,
        recipient,
        address,
        None if iid is None else int(iid),
        int(created),
        int(due),
        int(retry),
        state,
        int(attempts),
        claimed,
        err,
        bool(grp),
        tuple(json.loads(alerts)),
    )


def worker_id() -> str:
    """``host:pid:nonce``: whose claim a row carries (a restarted desk finds its dead predecessor's)."""
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


class Outbox:
    """The outbox of one journal (its ``Store``)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def journal_uid(self) -> str:
        """A random id for this journal, made once: message ids and pager dedup keys start with it, so
        they stay stable across restarts and never collide with another journal's."""

        async def get(tx: Tx) -> str:
            uid = await tx.scalar("SELECT value FROM journal_meta WHERE key = 'uid'")
            if uid is None:
                uid = os.urandom(6).hex()
                await tx.execute("INSERT INTO journal_meta (key, value) VALUES ('uid', ?)", (uid,))
            return str(uid)

        return await self.store.write(get)

    async def enqueue(self, envelopes: Sequence[Envelope], now: datetime, real_ms: int) -> list[int]:
        """Queue the envelopes (dedupe, cooldown and grouping applied) in one durable transaction;
        returns the ids of the rows that were created or joined."""
        if not envelopes:
            return []
        at = to_ms(now)

        async def body(tx: Tx) -> list[int]:
            touched: list[int] = []
            for env in envelopes:
                row_id = await self._queue_one(tx, env, at, real_ms)
                if row_id is not None:
                    touched.append(row_id)
            return touched

        return await self.store.write(body)

    async def _queue_one(self, tx: Tx, env: Envelope, at: int, real_ms: int) -> int | None:
        for key in env.keys:
            if await tx.scalar("SELECT 1 FROM outbox_keys WHERE key = ?", (key,)):
                return None
        alert = dict(env.alert)
        if env.name:
            alert["to_name"] = env.name
        target: int | None = None
        due = at
        if env.groupable and not env.urgent and env.cooldown > timedelta(0):
            cool = int(env.cooldown.total_seconds() * 1000)
            held = await tx.fetchone(
                "SELECT id, alerts FROM outbox WHERE output = ? AND recipient = ? AND state = ? "
                "AND attempts = 0 AND groupable = 1 AND due_at > ? ORDER BY id DESC LIMIT 1",
                (env.output, env.recipient, PENDING, at),
            )
            if held is not None and len(json.loads(held[1])) < MAX_GROUP:
                target = int(held[0])
                joined = [*json.loads(held[1]), alert]
                await tx.execute(
                    "UPDATE outbox SET alerts = ? WHERE id = ?",
                    (json.dumps(joined, ensure_ascii=False, separators=(",", ":")), target),
                )
            else:
                last = await tx.scalar(
                    "SELECT max(due_at) FROM outbox WHERE output = ? AND recipient = ?",
                    (env.output, env.recipient),
                )
                if last is not None and at < int(last) + cool:
                    due = int(last) + cool
        if target is None:
            target = await tx.scalar(
                "INSERT INTO outbox (output, recipient, address, incident_id, created_at, due_at, retry_at, "
                "state, groupable, alerts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    env.output,
                    env.recipient,
                    env.address,
                    env.incident_id,
                    at,
                    due,
                    real_ms,
                    PENDING,
                    1 if env.groupable else 0,
                    json.dumps([alert], ensure_ascii=False, separators=(",", ":")),
                ),
            )
            target = int(target)
        for key in env.keys:
            await tx.execute("INSERT INTO outbox_keys (key, outbox_id) VALUES (?, ?)", (key, target))
        return target

    async def withdraw(self, key: str) -> int:
        """Take the alert of dedupe key ``key`` out of the messages not sent yet (waiting for their
        cooldown or a retry); a message left with no alert is withdrawn. Returns how many messages
        changed. One sent, or being sent, is left alone."""
        needle = '%"key":' + json.dumps(key) + "%"

        async def body(tx: Tx) -> int:
            rows = await tx.fetchall(
                "SELECT id, alerts FROM outbox WHERE state = ? AND alerts LIKE ?", (PENDING, needle)
            )
            changed = 0
            for rid, text in rows:
                alerts = json.loads(text)
                kept = [a for a in alerts if a.get("key") != key]
                if len(kept) == len(alerts):
                    continue
                if kept:
                    await tx.execute(
                        "UPDATE outbox SET alerts = ? WHERE id = ?",
                        (json.dumps(kept, ensure_ascii=False, separators=(",", ":")), rid),
                    )
                else:
                    await tx.execute("UPDATE outbox SET state = ? WHERE id = ?", (WITHDRAWN, rid))
                changed += 1
            return changed

        return await self.store.write(body)

    async def has_key(self, key: str) -> bool:
        return bool(await self.store.scalar("SELECT 1 FROM outbox_keys WHERE key = ?", (key,)))

    async def claim(
        self,
        worker: str,
        now: datetime,
        real_ms: int,
        *,
        lease_ms: int,
        limit: int = 16,
        outputs: Sequence[str] | None = None,
    ) -> list[OutboxRow]:
        """Take up to ``limit`` due rows for ``worker`` (one atomic transaction): pending rows whose
        hold and back-off are over, and rows whose claim lease ran out."""
        at = to_ms(now)
        only = ""
        params: list[Any] = [PENDING, at, real_ms, SENDING, real_ms]
        if outputs is not None:
            if not outputs:
                return []
            only = f" AND output IN ({','.join('?' * len(outputs))})"
            params += list(outputs)

        async def body(tx: Tx) -> list[OutboxRow]:
            rows = await tx.fetchall(
                f"SELECT {_COLUMNS} FROM outbox WHERE ((state = ? AND due_at <= ? AND retry_at <= ?) "
                f"OR (state = ? AND claimed_until < ?)){only} ORDER BY id LIMIT {int(limit)}",
                params,
            )
            if rows:
                ids = [int(r[0]) for r in rows]
                await tx.execute(
                    "UPDATE outbox SET state = ?, claimed_by = ?, claimed_until = ?, "
                    f"attempts = attempts + 1 WHERE id IN ({','.join('?' * len(ids))})",
                    [SENDING, worker, real_ms + lease_ms, *ids],
                )
            return [_row(r) for r in rows]

        return await self.store.write(body)

    async def delivered(self, row: OutboxRow, worker: str, real_ms: int, now: datetime) -> list[Event]:
        """Mark a claimed row delivered and note it on each incident it spoke of (one transaction).
        Returns the journal events written; nothing when the claim was lost meanwhile."""

        async def body(tx: Tx) -> list[Event]:
            changed = await tx.changed(
                "UPDATE outbox SET state = ?, delivered_at = ?, claimed_by = NULL, last_error = NULL "
                "WHERE id = ? AND claimed_by = ? AND state = ?",
                (DELIVERED, real_ms, row.id, worker, SENDING),
            )
            if not changed:
                return []
            return await self._note(tx, row, EventKind.NOTIFIED, now, {"attempts": row.attempts + 1})

        return await self.store.write(body)

    async def failed(
        self,
        row: OutboxRow,
        worker: str,
        error: str,
        now: datetime,
        *,
        retry_at_ms: int | None,
    ) -> list[Event]:
        """A claimed row's attempt failed: back to pending until ``retry_at_ms``, or given up for good
        (``retry_at_ms`` None: noted on its incidents)."""

        async def body(tx: Tx) -> list[Event]:
            if retry_at_ms is not None:
                await tx.changed(
                    "UPDATE outbox SET state = ?, retry_at = ?, claimed_by = NULL, claimed_until = NULL, "
                    "last_error = ? WHERE id = ? AND claimed_by = ? AND state = ?",
                    (PENDING, retry_at_ms, error, row.id, worker, SENDING),
                )
                return []
            changed = await tx.changed(
                "UPDATE outbox SET state = ?, claimed_by = NULL, claimed_until = NULL, last_error = ? "
                "WHERE id = ? AND claimed_by = ? AND state = ?",
                (FAILED, error, row.id, worker, SENDING),
            )
            if not changed:
                return []
            payload = {"attempts": row.attempts + 1, "error": error}
            return await self._note(tx, row, EventKind.NOTIFY_FAILED, now, payload)

        return await self.store.write(body)

    async def _note(
        self, tx: Tx, row: OutboxRow, kind: EventKind, now: datetime, extra: Mapping[str, Any]
    ) -> list[Event]:
        from tocsin.journal.incidents import AUTOMATIC

        out: list[Event] = []
        by_incident: dict[int, list[Mapping[str, Any]]] = {}
        for alert in row.alerts:
            iid = alert.get("incident")
            if isinstance(iid, int):
                by_incident.setdefault(iid, []).append(alert)
        for iid, alerts in by_incident.items():
            try:
                inc = await load_incident(tx, iid)
            except UnknownIncident:
                continue
            first = alerts[0]
            payload = {
                "output": row.output,
                "recipient": row.recipient or None,
                "name": first.get("to_name") or None,
                "trigger": ", ".join(dict.fromkeys(str(a.get("event")) for a in alerts)),
                "step": first.get("step"),
                "message": row.id,
                **extra,
            }
            ev, _ = await append(tx, inc, kind, payload, at=now, operator=AUTOMATIC)
            out.append(ev)
        return out

    async def release_dead(self, host: str | None = None) -> int:
        """Rows claimed by desks of this machine whose process is gone go back to pending at once (a
        desk killed mid-delivery; its lease would otherwise hold them). Returns how many."""
        host = host or socket.gethostname()

        async def body(tx: Tx) -> int:
            rows = await tx.fetchall("SELECT id, claimed_by FROM outbox WHERE state = ?", (SENDING,))
            dead = []
            for rid, claimed in rows:
                parts = str(claimed or "").split(":")
                if len(parts) == 3 and parts[0] == host and parts[1].isdigit():
                    if int(parts[1]) != os.getpid() and not _pid_alive(int(parts[1])):
                        dead.append(int(rid))
            for rid in dead:
                await tx.execute(
                    "UPDATE outbox SET state = ?, claimed_by = NULL, claimed_until = NULL WHERE id = ?",
                    (PENDING, rid),
                )
            return len(dead)

        return await self.store.write(body)

    async def retry_now(self, real_ms: int) -> int:
        """Waiting retries become due now (a desk that starts tries what waits at once)."""

        async def body(tx: Tx) -> int:
            return await tx.changed(
                "UPDATE outbox SET retry_at = ? WHERE state = ? AND retry_at > ?",
                (real_ms, PENDING, real_ms),
            )

        return await self.store.write(body)

    async def status(self) -> OutboxStatus:
        async def body(tx: Tx) -> OutboxStatus:
            counts = dict(await tx.fetchall("SELECT state, count(*) FROM outbox GROUP BY state"))
            retrying = await tx.scalar(
                "SELECT count(*) FROM outbox WHERE state IN (?, ?) AND last_error IS NOT NULL",
                (PENDING, SENDING),
            )
            last = await tx.fetchone(
                "SELECT output, last_error FROM outbox WHERE last_error IS NOT NULL AND state != ? "
                "ORDER BY id DESC LIMIT 1",
                (DELIVERED,),
            )
            return OutboxStatus(
                waiting=int(counts.get(PENDING, 0)) + int(counts.get(SENDING, 0)),
                retrying=int(retrying or 0),
                failed=int(counts.get(FAILED, 0)),
                delivered=int(counts.get(DELIVERED, 0)),
                last_error=f"{last[0]}: {last[1]}" if last else None,
            )

        return await self.store.read(body)

    async def rows(self, *, state: str | None = None) -> list[OutboxRow]:
        """Every row (for tests, the CLI and the review), oldest first."""
        where, params = ("WHERE state = ?", (state,)) if state else ("", ())
        return [
            _row(r)
            for r in await self.store.fetchall(f"SELECT {_COLUMNS} FROM outbox {where} ORDER BY id", params)
        ]

    async def sent_to(self, output: str, incident_id: int) -> bool:
        """Whether a trigger about this incident was queued on this output (a pager then needs its
        acknowledge and resolve)."""
        return bool(
            await self.store.scalar(
                "SELECT 1 FROM outbox WHERE output = ? AND incident_id = ? LIMIT 1", (output, incident_id)
            )
        )
