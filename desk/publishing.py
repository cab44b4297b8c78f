"""Approve → publish → record: the one path the wall (``A``) and the CLI (``tocsin incident approve``,
``tocsin incident publish``) both take once a second person approves a response.

Which account answers is ``config/accounts.py``'s ``account_for``: the platform of the post being
answered, or the one the channel names. A response no account can post (no account for that platform,
a channel like ``press`` or ``email``) is sent by a person: the approved words are handed back to be
copied (the wall puts them in the clipboard, the CLI prints them) and logged as sent by hand.

Durable before shown: the approval is committed, then the intent to post (``publishing``, with the
attempt's key), then the platform is called, then the outcome is committed — only then does the
caller say anything. A crash between the call and the last commit leaves the response "publishing";
the retry reuses the key, and what each platform does with it is in ``sources/publish.py``: Mastodon
answers with the post it already made, Bluesky finds its record, X refuses a duplicate text.

Credentials never leave the settings: the journal gets the account's id and the platform, errors are
the platform's words with any credential removed, log lines name the account.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from tocsin.config.accounts import account_for
from tocsin.config.i18n import _
from tocsin.config.settings import PublishAccount, Settings
from tocsin.journal.api import Journal
from tocsin.journal.display import zone
from tocsin.journal.errors import JournalError
from tocsin.journal.model import EventKind, Incident
from tocsin.journal.narrate import publish_problem
from tocsin.journal.outbox import Outbox
from tocsin.journal.publications import SendJob
from tocsin.sources.publish import (
    SEND_TIMEOUT_S,
    Http,
    Publisher,
    PublishError,
    ReplyTarget,
    build_publisher,
    http_session,
)

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=4 * SEND_TIMEOUT_S)
"""How long an attempt holds its draft: another desk (or a second ``A``) waits this long before it may
try again; a desk that died mid-send is taken over once it runs out. A Bluesky attempt makes up to
four calls of ``SEND_TIMEOUT_S`` each."""


@dataclass(frozen=True, slots=True)
class SendResult:
    """What became of an approved response, for the screen or the shell to say."""

    incident: Incident
    draft: int
    outcome: str
    """``published`` (it is up: ``url``), ``failed`` (``problem`` says why; it waits, intact, for a
    retry) or ``by_hand`` (nobody posts it but a person: ``text`` is to be copied)."""
    text: str
    """The approved words."""
    platform: str | None = None
    account: str | None = None
    url: str | None = None
    problem: str | None = None
    """Why it failed, in the desk's language, with what to do."""
    failure: Mapping[str, Any] | None = None


def reply_target(reply_to: Mapping[str, Any] | None) -> ReplyTarget | None:
    if not reply_to:
        return None
    return ReplyTarget(
        uid=str(reply_to.get("uid") or ""),
        url=reply_to.get("url"),
        handle=str(reply_to.get("handle") or ""),
        platform=str(reply_to.get("platform") or ""),
    )


class Publishing:
    """Approves, posts and records, for one journal. ``close`` releases the HTTP client.

    ``http``: a session factory (tests pass their own); ``real_time``: epoch seconds, for leases and
    the platforms' clocks (the desk's clock may be a simulated one)."""

    def __init__(
        self,
        settings: Settings,
        journal: Journal,
        *,
        http: Http | None = None,
        real_time: Callable[[], float] = time.time,
        lease: timedelta = LEASE,
    ) -> None:
        self.settings = settings
        self.journal = journal
        self._real = real_time
        self._lease = lease
        self._own: aiohttp.ClientSession | None = None
        self._http: Http = http if http is not None else self._session
        self._publishers: dict[str, Publisher] = {}
        self._journal_uid: str | None = None

    def _session(self) -> aiohttp.ClientSession:
        if self._own is None or self._own.closed:
            self._own = http_session()
        return self._own

    async def close(self) -> None:
        own, self._own = self._own, None
        if own is not None:
            await own.close()

    async def __aenter__(self) -> Publishing:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _publisher(self, account: PublishAccount) -> Publisher:
        found = self._publishers.get(account.name)
        if found is None or found.account != account:
            found = self._publishers[account.name] = build_publisher(account, self._http)
        return found

    # --- the decisions ---------------------------------------------------------------------------

    async def approve(
        self, incident_id: int | str, draft: int | str, *, text: str | None = None
    ) -> SendResult:
        """The second person approves: the draft is approved (and, where an account can post it,
        posted and recorded), else handed back to be copied and logged as sent by hand. Approval
        errors (the author, no role, no such draft) are the journal's, raised with nothing changed."""

        def target(payload: Mapping[str, Any]) -> dict[str, str] | None:
            account = account_for(self.settings, payload.get("reply_to"), str(payload.get("channel") or ""))
            return {"platform": account.platform, "account": account.name} if account is not None else None

        inc = await self.journal.approve(incident_id, draft, text=text, publish=target)
        # ours is the newest approval the returned incident has seen (the one or two events it wrote)
        approval = max(
            (
                ev
                for ev in await self.journal.events(inc.id, since=inc.updated_at)
                if ev.kind is EventKind.RESPONSE_APPROVED and ev.id <= inc.last_event_id
            ),
            key=lambda ev: ev.id,
        )
        did, words = int(approval.payload["draft"]), str(approval.payload["text"])
        if str(did) not in inc.unsent:
            return SendResult(inc, did, "by_hand", words)
        return await self.send(inc.id, did)

    async def send(self, incident_id: int | str, draft: int | str) -> SendResult:
        """Post an approved response that is not out yet (the first try after the approval, or a
        retry), and record how it went. Raises ``JournalError`` when it cannot be tried (another desk
        is posting it, it is out already, the incident was resolved), with nothing changed."""
        job = await self.journal.send_job(incident_id, draft)
        account = next((a for a in self.settings.publish if a.name == job.account), None)
        if account is None or account.platform != job.platform:  # the settings changed since
            inc = await self.journal.record_publish_failed(job.incident_id, job.draft, problem="no_account")
            return self._failed(inc, job)
        publisher = self._publisher(account)
        now = datetime.fromtimestamp(self._real(), UTC)
        seed = f"{await self._uid()}:{job.incident_id}:{job.draft}"
        job = await self.journal.start_publishing(
            job.incident_id,
            job.draft,
            key=publisher.new_key(seed, now),
            real_ms=round(self._real() * 1000),
            lease=self._lease,
        )
        assert job.key is not None
        try:
            post = await publisher.publish(
                job.text, reply_target(job.reply_to), job.key, retry=job.attempts > 1
            )
        except PublishError as exc:
            log.warning(
                "draft %s of #%s not posted on %s as %s: %s",
                job.draft,
                job.incident_id,
                job.platform,
                job.account,
                exc,
            )
            inc = await self.journal.record_publish_failed(
                job.incident_id,
                job.draft,
                problem=exc.problem,
                status=exc.status,
                detail=exc.detail,
                retry_after=exc.retry_after,
                maybe_sent=exc.maybe_sent,
            )
            return self._failed(inc, job)
        log.info(
            "draft %s of #%s posted on %s as %s: %s",
            job.draft,
            job.incident_id,
            job.platform,
            job.account,
            post.url,
        )
        try:
            inc = await self.journal.record_published(
                job.incident_id, job.draft, url=post.url, post_id=post.post_id, recovered=post.recovered
            )
        except JournalError as exc:
            # the post is up and the journal refused the record: say both; the retry finds the post
            said = _(
                "draft {draft} of #{id} is up ({url}) but the journal could not record it ({error}): "
                "run `tocsin incident publish {id} {draft}` to record it"
            )
            words = said.format(draft=job.draft, id=job.incident_id, url=post.url, error=exc)
            raise JournalError(words) from None
        return SendResult(inc, job.draft, "published", job.text, job.platform, job.account, url=post.url)

    def _failed(self, inc: Incident, job: SendJob) -> SendResult:
        """What a failure recorded on ``inc`` says, in words."""
        failure = inc.unsent[str(job.draft)].failure or {}
        words = publish_problem(failure, zone(self.settings.desk.timezone))
        return SendResult(
            inc, job.draft, "failed", job.text, job.platform, job.account, problem=words, failure=failure
        )

    async def by_hand(
        self, incident_id: int | str, draft: int | str, *, url: str | None = None
    ) -> SendResult:
        """A person posted an approved response themselves (no account here, or a failure only they
        can resolve): logged as sent by hand, with its link when given."""
        job = await self.journal.send_job(incident_id, draft)
        inc = await self.journal.record_sent_by_hand(
            job.incident_id, job.draft, url=url, real_ms=round(self._real() * 1000)
        )
        return SendResult(inc, job.draft, "by_hand", job.text, job.platform, job.account, url=url)

    async def _uid(self) -> str:
        """The journal's own id: keys never collide with another journal's posting on one account."""
        if self._journal_uid is None:
            self._journal_uid = await Outbox(self.journal.store).journal_uid()
        return self._journal_uid
