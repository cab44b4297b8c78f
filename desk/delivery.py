"""The delivery worker: takes due messages from the journal's outbox and sends them, off the desk's way.

It runs as one background task per desk. Each round claims a few due rows (atomically: another desk
on the same journal never gets the same row), sends them concurrently, each within
``SEND_TIMEOUT_S``, and writes the outcome back: delivered (and noted on the incident), retried later
with exponential back-off (never sooner than the receiver's ``Retry-After``), or given up (a
permanent refusal, or ``MAX_ATTEMPTS`` tries) — noted on the incident and shown on the wall.

A round that crashes is logged, reported through ``on_problem`` and the loop goes on: no delivery
dies in silence. At start, rows claimed by a dead desk of this machine are released and waiting
retries are tried at once: a restarted desk delivers what its predecessor left.

Exactly once: a row is marked delivered in the journal right after the receiver accepted it. Only a
desk killed in the instant between the two can cause a second send, and then with the same message
id (``webhook-id``, ``Message-ID``, the pager's ``dedup_key``), so receivers can drop it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

from tocsin.config.i18n import _
from tocsin.desk.outputs import SEND_TIMEOUT_S, Message, Outcome, Output
from tocsin.journal.outbox import Outbox, OutboxRow, worker_id
from tocsin.sources.clock import Clock

log = logging.getLogger(__name__)

POLL_S = 0.5
"""Real seconds between two looks at the outbox when nothing woke the worker (other desks' messages,
retries coming due)."""
LEASE_S = 60.0
"""How long a claim holds before another desk may take the row (a desk that hung or died elsewhere)."""
BACKOFF_FIRST_S = 2.0
BACKOFF_MAX_S = 300.0
MAX_ATTEMPTS = 40
"""About three hours of tries at the longest back-off; after that a message is given up and shown."""
BATCH = 16


def backoff_s(attempts: int, retry_after: float | None, rand: Callable[[], float]) -> float:
    """Seconds before the next try after ``attempts`` failed ones: doubling from 2 s to 5 min with
    jitter (half to full), and never sooner than the receiver's ``Retry-After``."""
    base = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2.0 ** max(0, attempts - 1))
    delay = base * (0.5 + rand() / 2)
    return max(delay, retry_after) if retry_after is not None else delay


class DeliveryWorker:
    """Sends the outbox's messages through ``outputs`` (by output id)."""

    def __init__(
        self,
        outbox: Outbox,
        outputs: Mapping[str, Output],
        clock: Clock,
        *,
        desk: str = "tocsin",
        real_time: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
        on_problem: Callable[[str], None] | None = None,
        on_event: Callable[[], None] | None = None,
        lease_s: float = LEASE_S,
        poll_s: float = POLL_S,
        timeout_s: float = SEND_TIMEOUT_S,
    ) -> None:
        self.outbox = outbox
        self.outputs = dict(outputs)
        self.clock = clock
        self.desk = desk
        self._real = real_time
        self._rand = rand
        self.on_problem = on_problem
        self.on_event = on_event
        """Called after an outcome was written to an incident (the session polls the journal then)."""
        self.lease_s = lease_s
        self.poll_s = poll_s
        self.timeout_s = timeout_s
        self.worker = worker_id()
        self.uid = ""
        self.sent = 0
        self.retried = 0
        self.gave_up = 0
        self.last_error: str | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def _ms(self) -> int:
        return round(self._real() * 1000)

    async def start(self, *, background: bool = True) -> None:
        """Release what dead desks of this machine held, make waiting retries due, and (with
        ``background``) run until ``stop``."""
        self.uid = await self.outbox.journal_uid()
        await self.outbox.release_dead()
        await self.outbox.retry_now(self._ms())
        if background:
            self._task = asyncio.create_task(self._run(), name="tocsin-delivery")

    def wake(self) -> None:
        """Something was queued: look now rather than at the next poll."""
        self._wake.set()

    async def stop(self, wait: float = 2.0) -> None:
        """Stop the loop (a round under way gets ``wait`` seconds; what it leaves stays in the outbox
        for the next desk)."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), wait)
        except TimeoutError:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task

    _stopping = False

    async def _run(self) -> None:
        failures = 0
        while not self._stopping:
            try:
                busy = await self.run_once()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a journal hiccup or a bug: said, then tried again
                failures += 1
                log.exception("alert delivery round failed")
                self._problem(_("alert delivery: {error}").format(error=f"{type(exc).__name__}: {exc}")[:300])
                busy = False
                await asyncio.sleep(min(30.0, 0.5 * 2**failures))
            if busy or self._stopping:
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_s):
                    await self._wake.wait()
            self._wake.clear()

    async def run_once(self) -> int:
        """Claim and send what is due now; returns how many messages were attempted."""
        if not self.uid:
            self.uid = await self.outbox.journal_uid()
        rows = await self.outbox.claim(
            self.worker,
            self.clock.now(),
            self._ms(),
            lease_ms=round(self.lease_s * 1000),
            limit=BATCH,
            outputs=list(self.outputs),
        )
        if not rows:
            return 0
        outcomes = await asyncio.gather(*(self._attempt(r) for r in rows))
        noted = False
        for row, outcome in zip(rows, outcomes, strict=True):
            noted |= await self._record(row, outcome)
        if noted and self.on_event is not None:
            self.on_event()
        return len(rows)

    async def _attempt(self, row: OutboxRow) -> Outcome:
        output = self.outputs[row.output]
        message = Message(
            id=f"tocsin-{self.uid}-{row.id}",
            alerts=row.alerts,
            recipient=row.recipient,
            address=row.address,
            incident_id=row.incident_id,
            desk=self.desk,
            journal_uid=self.uid,
        )
        try:
            async with asyncio.timeout(self.timeout_s):
                return await output.send(message)
        except TimeoutError:
            return Outcome(False, f"no answer within {self.timeout_s:g} s")
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug in one output must not stop the others
            log.exception("output %s failed", row.output)
            return Outcome(False, f"internal error ({type(exc).__name__})")

    async def _record(self, row: OutboxRow, outcome: Outcome) -> bool:
        now = self.clock.now()
        if outcome.ok:
            events = await self.outbox.delivered(row, self.worker, self._ms(), now)
            self.sent += 1
            return bool(events)
        error = outcome.error or "failed"
        tries = row.attempts + 1
        self.last_error = f"{row.output}: {error}"
        if outcome.permanent or tries >= MAX_ATTEMPTS:
            why = error if outcome.permanent else f"{error} ({tries} tries)"
            events = await self.outbox.failed(row, self.worker, why, now, retry_at_ms=None)
            self.gave_up += 1
            self._problem(_("alert to {output} given up: {why}").format(output=row.output, why=why))
            return bool(events)
        delay = backoff_s(tries, outcome.retry_after, self._rand)
        await self.outbox.failed(row, self.worker, error, now, retry_at_ms=self._ms() + round(delay * 1000))
        self.retried += 1
        said = _("alert to {output} failed ({error}); it stays in the outbox and is retried")
        self._problem(said.format(output=row.output, error=error))
        return False

    def _problem(self, message: str) -> None:
        log.warning("%s", message)
        if self.on_problem is not None:
            try:
                self.on_problem(message)
            except Exception:  # a listener's bug must not stop deliveries
                log.exception("problem listener failed")


def http_session_factory(timeout_s: float = SEND_TIMEOUT_S) -> tuple[Callable[[], Any], Callable[[], Any]]:
    """A lazily created aiohttp session (made on the loop at first use) and its closer."""
    holder: dict[str, Any] = {}

    def get() -> Any:
        http = holder.get("http")
        if http is None or http.closed:
            import aiohttp

            from tocsin.sources.net import USER_AGENT

            http = holder["http"] = aiohttp.ClientSession(
                headers={"User-Agent": USER_AGENT},
                timeout=aiohttp.ClientTimeout(total=timeout_s),
                trust_env=True,
            )
        return http

    async def close() -> None:
        http = holder.pop("http", None)
        if http is not None:
            await http.close()

    return get, close
