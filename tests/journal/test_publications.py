"""The journal's side of publishing: an approved response the desk posts waits, intact, until the
platform has it; the intent is durable before the call, a second attempt while one runs is refused
(a dead desk's is taken over once its lease runs out, with the same key), the outcome and the URL are
events, and the post-mortem says what became of each draft. No network here: the desk's side is
tests/desk/test_publishing.py."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

import pytest

from tocsin.config.settings import Settings
from tocsin.journal.api import Journal
from tocsin.journal.errors import AlreadyDone, IncidentClosed, UnknownDraft
from tocsin.journal.fold import fold
from tocsin.journal.model import EventKind
from tocsin.journal.reports import build_postmortem, render, to_text
from tocsin.sources.clock import ManualClock

from .conftest import mention
from .test_approval import approving, as_

MASTODON = {"platform": "mastodon", "account": "brand"}
LEASE = timedelta(minutes=2)


async def approved(alice: Journal, *, reply: bool = True) -> tuple[int, int]:
    """An incident with a draft answering a post, approved by chloe to be posted on Mastodon."""
    inc = await alice.open_incident("brioche", "sev2", "Mould photo")
    post = mention("https://elsewhere.example/users/lea/statuses/42") if reply else None
    _, draft = await alice.respond(inc.id, "holding_statement", "mastodon", "On it.", reply_to=post)
    assert draft is not None
    await as_(alice, "chloe").approve(inc.id, draft, text="We are on it.", publish=MASTODON)
    return inc.id, draft


async def test_approved_to_be_posted_waits_intact_with_its_clock_running(
    settings: Settings, clock: ManualClock
) -> None:
    async with await Journal.open(approving(settings), clock=clock) as alice:
        iid, draft = await approved(alice)
        inc = await alice.incident(iid)
        assert inc.first_response_at is None and inc.responses == 0 and inc.drafts == {}
        [job] = await alice.unsent_drafts()
        assert (job.incident_id, job.draft, job.text, job.status, job.attempts) == (
            iid,
            draft,
            "We are on it.",
            "approved",
            0,
        )
        assert job.reply_to is not None and job.reply_to["uid"].endswith("/statuses/42")
        assert job.reply_to["platform"] == "demo" and job.reply_to["handle"] == "lea_dupont"
        with pytest.raises(UnknownDraft, match="already approved"):
            await as_(alice, "chloe").approve(iid, draft)


async def test_published_records_the_url_and_stops_the_clock(settings: Settings, clock: ManualClock) -> None:
    async with await Journal.open(approving(settings), clock=clock) as alice:
        iid, draft = await approved(alice)
        clock.advance(30)
        chloe = as_(alice, "chloe")
        job = await chloe.start_publishing(iid, draft, key="tocsin-k1", real_ms=1_000, lease=LEASE)
        assert (job.status, job.attempts, job.key) == ("publishing", 1, "tocsin-k1")
        clock.advance(2)
        url = "https://brand.example/@maisonbrioche/1134"
        inc = await chloe.record_published(iid, draft, url=url, post_id="1134")
        assert inc.first_response_at == clock.now() and inc.responses == 1 and inc.unsent == {}
        events = await alice.events(iid)
        kinds = [e.kind for e in events][-3:]
        assert kinds == [EventKind.PUBLISHING, EventKind.PUBLISHED, EventKind.RESPONSE_LOGGED]
        logged = events[-1].payload
        assert (
            logged["url"] == url and logged["text"] == "We are on it." and logged["published"] == "mastodon"
        )
        assert logged["reply_to"]["uid"].endswith("/statuses/42")
        assert fold(events)[iid] == inc
        with pytest.raises(AlreadyDone, match="already has draft"):
            await chloe.start_publishing(iid, draft, key="again", real_ms=2_000, lease=LEASE)
        pm = await build_postmortem(alice, iid)
        assert f"published on Mastodon at 2026-11-21 10:00 CET: {url}" in to_text(pm)
        assert url in render(pm, "md") and url in render(pm, "html")
        [dr] = json.loads(render(pm, "json"))["drafts"]
        assert (dr["sent"], dr["url"], dr["platform"]) == ("published", url, "mastodon")


async def test_a_failure_leaves_it_intact_and_a_retry_reuses_the_key(
    settings: Settings, clock: ManualClock
) -> None:
    async with await Journal.open(approving(settings), clock=clock) as alice:
        iid, draft = await approved(alice)
        await alice.start_publishing(iid, draft, key="tocsin-first", real_ms=0, lease=LEASE)
        inc = await alice.record_publish_failed(
            iid, draft, problem="auth", status=401, detail="The access token is invalid"
        )
        unsent = inc.unsent[str(draft)]
        assert unsent.status == "failed" and unsent.failure is not None
        assert unsent.failure["problem"] == "auth" and unsent.failure["status"] == 401
        assert inc.first_response_at is None and inc.responses == 0
        text = to_text(await build_postmortem(alice, iid))
        assert "not sent: Mastodon refused the account's credentials (HTTP 401)" in text
        assert f"draft {draft} not sent: Mastodon refused the account's credentials" in text  # the timeline
        job = await alice.start_publishing(iid, draft, key="tocsin-second", real_ms=10, lease=LEASE)
        assert (job.attempts, job.key, job.text) == (2, "tocsin-first", "We are on it.")
        assert fold(await alice.events(iid))[iid] == await alice.incident(iid)


async def test_rate_limit_says_when_to_try_again(settings: Settings, clock: ManualClock) -> None:
    async with await Journal.open(approving(settings), clock=clock) as alice:
        iid, draft = await approved(alice)
        await alice.start_publishing(iid, draft, key="k", real_ms=0, lease=LEASE)
        await alice.record_publish_failed(iid, draft, problem="rate_limited", status=429, retry_after=600)
        text = to_text(await build_postmortem(alice, iid))
        assert "Mastodon limits the account for now (HTTP 429): retry after 2026-11-21 10:10 CET" in text


async def test_one_attempt_at_a_time_and_a_dead_desks_lease_runs_out(
    settings: Settings, clock: ManualClock
) -> None:
    async with await Journal.open(approving(settings), clock=clock) as alice:
        iid, draft = await approved(alice)
        await alice.start_publishing(iid, draft, key="k-dead", real_ms=0, lease=LEASE)
        # the desk that wrote the intent died before it recorded anything: nobody may send meanwhile
        with pytest.raises(AlreadyDone, match="right now"):
            await as_(alice, "chloe").start_publishing(iid, draft, key="k2", real_ms=60_000, lease=LEASE)
        with pytest.raises(AlreadyDone, match="right now"):
            await as_(alice, "chloe").record_sent_by_hand(iid, draft, real_ms=60_000)
        job = await as_(alice, "chloe").start_publishing(iid, draft, key="k2", real_ms=121_000, lease=LEASE)
        assert job.key == "k-dead" and job.attempts == 2  # the key the platform may have seen


async def test_sent_by_hand_logs_it_with_its_link(settings: Settings, clock: ManualClock) -> None:
    async with await Journal.open(approving(settings), clock=clock) as alice:
        iid, draft = await approved(alice, reply=False)
        await alice.start_publishing(iid, draft, key="k", real_ms=0, lease=LEASE)
        await alice.record_publish_failed(
            iid, draft, problem="duplicate", status=403, detail="duplicate content"
        )
        url = "https://brand.example/@maisonbrioche/99"
        inc = await alice.record_sent_by_hand(iid, draft, url=url, real_ms=1)
        assert inc.unsent == {} and inc.first_response_at == clock.now()
        logged = (await alice.events(iid))[-1].payload
        assert logged["by_hand"] is True and logged["url"] == url
        assert "sent by hand at" in to_text(await build_postmortem(alice, iid))
        assert await alice.unsent_drafts() == []


async def test_approved_without_a_target_is_logged_as_sent_by_hand(
    settings: Settings, clock: ManualClock
) -> None:
    async with await Journal.open(approving(settings), clock=clock) as alice:
        inc = await alice.open_incident("brioche", "sev2", "Mould photo")
        _, draft = await alice.respond(inc.id, "holding_statement", "press", "Statement.")
        assert draft is not None
        done = await as_(alice, "chloe").approve(inc.id, draft, publish=lambda payload: None)
        assert done.unsent == {} and done.responses == 1
        assert (await alice.events(inc.id))[-1].payload["by_hand"] is True


async def test_a_resolved_incident_is_not_posted_to(settings: Settings, clock: ManualClock) -> None:
    async with await Journal.open(approving(settings), clock=clock) as alice:
        iid, draft = await approved(alice)
        await alice.resolve(iid)
        with pytest.raises(IncidentClosed):
            await alice.start_publishing(iid, draft, key="k", real_ms=0, lease=LEASE)
        with pytest.raises(UnknownDraft):
            await alice.start_publishing(iid, draft + 100, key="k", real_ms=0, lease=LEASE)


async def test_the_target_is_chosen_from_the_draft_under_the_lock(
    settings: Settings, clock: ManualClock
) -> None:
    settings = dataclasses.replace(approving(settings))
    async with await Journal.open(settings, clock=clock) as alice:
        inc = await alice.open_incident("brioche", "sev2", "Mould photo")
        _, draft = await alice.respond(inc.id, "holding_statement", "bluesky", "On it.")
        assert draft is not None
        seen: list[str] = []

        def pick(payload: object) -> dict[str, str]:
            seen.append(str(payload["channel"]))  # type: ignore[index]
            return {"platform": "bluesky", "account": "bsky"}

        done = await as_(alice, "chloe").approve(inc.id, draft, publish=pick)
        assert "bluesky" in seen and done.unsent[str(draft)].platform == "bluesky"
