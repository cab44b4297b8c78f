"""Publishing from the desk, end to end against local servers speaking each platform's write API: a
draft answering a post, approved by a second operator, is posted as a reply and its URL recorded (shown
by ``tocsin journal show`` and the post-mortem); a failure leaves the draft intact and a retry works;
a crash between the send and the record never posts twice on Mastodon; no account means the words are
handed back to copy; and the account's credential is nowhere in the journal, its exports or the log."""

from __future__ import annotations

import dataclasses
import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest

from tests.desk._incident_kit import T0, team_settings
from tests.sources.servers.base import Fail
from tests.sources.servers.writes import DROP_AFTER, FakeMastodonWrites, FakePds, FakeXWrites
from tocsin.config.settings import PublishAccount, Settings, SourceSettings
from tocsin.desk.cli import main
from tocsin.desk.publishing import Publishing
from tocsin.journal.api import Journal
from tocsin.journal.errors import AlreadyDone
from tocsin.journal.model import EventKind
from tocsin.journal.reports import build_postmortem, render, to_text
from tocsin.sources.clock import ManualClock
from tocsin.sources.model import Author, Mention

POST_URI = "https://elsewhere.example/users/julie/statuses/42"
POST_URL = "https://elsewhere.example/@julie/42"


def desk_settings(tmp_path: Path, *accounts: PublishAccount) -> Settings:
    """camille at the keyboard, hugo approves SEV1–2; a Mastodon source the posts come from."""
    base = team_settings(tmp_path / "journal.sqlite")
    team = dataclasses.replace(base.team, approval={"sev1": ("head-of-comms",), "sev2": ("head-of-comms",)})
    sources = (
        *base.sources,
        SourceSettings(type="mastodon", id="masto"),
        SourceSettings(type="bluesky", id="bsky"),
        SourceSettings(type="x", id="xs"),
    )
    return dataclasses.replace(base, team=team, sources=sources, publish=tuple(accounts))


def masto_account(server: FakeMastodonWrites, token: str | None = None) -> PublishAccount:
    return PublishAccount("mastodon", id="brand", base_url=server.url, token=token or server.token)


def post(
    source: str = "masto",
    uid: str = POST_URI,
    url: str | None = POST_URL,
    handle: str = "julie@elsewhere.example",
) -> Mention:
    return Mention(
        uid=uid,
        source=source,
        text="De la moisissure dans une brioche Maison Brioche !",
        created_at=T0 - timedelta(minutes=10),
        received_at=T0 - timedelta(minutes=10),
        url=url,
        author=Author(handle=handle, followers=248_300),
        raw_ref="7",
    )


async def draft_reply(
    settings: Settings, clock: ManualClock, answering: Mention | None = None, channel: str = "mastodon"
) -> tuple[int, int]:
    """camille opens a SEV2 incident and drafts a holding statement answering ``answering``."""
    async with await Journal.open(settings, clock=clock) as camille:
        inc = await camille.open_incident(
            "brioche", "sev2", "Mould video", evidence=[answering] if answering else []
        )
        _, draft = await camille.respond(
            inc.id,
            "holding_statement",
            channel,
            "Nous avons vu la vidéo et nous enquêtons.",
            reply_to=answering,
        )
        assert draft is not None
        return inc.id, draft


async def test_approved_by_a_second_operator_the_reply_is_published_and_recorded(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    async with FakeMastodonWrites() as server:
        server.add_remote(POST_URI, POST_URL)
        settings = desk_settings(tmp_path, masto_account(server))
        iid, draft = await draft_reply(settings, clock, post())
        clock.advance(240)
        async with await Journal.open(settings, clock=clock, operator="hugo") as hugo:
            async with Publishing(settings, hugo) as publishing:
                result = await publishing.approve(iid, draft)
            assert result.outcome == "published" and result.platform == "mastodon"
            [made] = server.posted
            assert result.url == made["url"] and made["text"] == "Nous avons vu la vidéo et nous enquêtons."
            parent = next(s["id"] for s in server.statuses.values() if s["uri"] == POST_URI)
            assert made["in_reply_to_id"] == parent
            inc = await hugo.incident(iid)
            assert inc.first_response_at == clock.now() and inc.responses == 1 and inc.unsent == {}
            kinds = [e.kind for e in await hugo.events(iid)][-4:]
            assert kinds == [
                EventKind.RESPONSE_APPROVED,
                EventKind.PUBLISHING,
                EventKind.PUBLISHED,
                EventKind.RESPONSE_LOGGED,
            ]
            pm = await build_postmortem(hugo, iid)
            text = to_text(pm)
            assert "approved by hugo" in text and "4m later" in text and result.url in text
            assert f"published on Mastodon at 2026-11-21 10:34 CET: {result.url}" in text
            assert result.url in render(pm, "html") and result.url in render(pm, "md")


async def test_a_refused_token_leaves_the_draft_intact_and_the_retry_publishes_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    clock = ManualClock(T0)
    async with FakeMastodonWrites(token="the-new-token") as server:
        server.add_remote(POST_URI, POST_URL)
        settings = desk_settings(tmp_path, masto_account(server, token="old-revoked-token"))
        iid, draft = await draft_reply(settings, clock, post())
        async with await Journal.open(settings, clock=clock, operator="hugo") as hugo:
            async with Publishing(settings, hugo) as publishing:
                failed = await publishing.approve(iid, draft)
            assert failed.outcome == "failed" and not server.posted
            assert failed.problem == (
                "Mastodon refused the account's credentials (HTTP 401): renew the token or app password"
            )
            [job] = await hugo.unsent_drafts(iid)
            assert job.text == "Nous avons vu la vidéo et nous enquêtons." and job.status == "failed"
            assert (await hugo.incident(iid)).first_response_at is None
            # the team renews the token; A (or tocsin incident publish) tries again
            fixed = desk_settings(tmp_path, masto_account(server, token="the-new-token"))
            async with Publishing(fixed, hugo) as publishing:
                done = await publishing.send(iid, draft)
                assert done.outcome == "published" and len(server.posted) == 1
                with pytest.raises(AlreadyDone, match="already has draft"):
                    await publishing.send(iid, draft)
            assert (await hugo.incident(iid)).unsent == {}
        assert "old-revoked-token" not in caplog.text and "the-new-token" not in caplog.text


async def test_an_account_removed_since_the_approval_says_to_send_it_by_hand(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    async with FakeMastodonWrites() as server:
        server.add_remote(POST_URI, POST_URL)
        settings = desk_settings(tmp_path, masto_account(server))
        iid, draft = await draft_reply(settings, clock, post())
        async with await Journal.open(settings, clock=clock, operator="hugo") as hugo:
            await hugo.approve(iid, draft, publish={"platform": "mastodon", "account": "brand"})
            async with Publishing(desk_settings(tmp_path), hugo) as publishing:  # publish: emptied
                result = await publishing.send(iid, draft)
                assert result.outcome == "failed" and not server.posted
                assert (
                    result.problem
                    == "no Mastodon account in the settings (publish:) any more: send it by hand"
                )
                assert (await hugo.events(iid))[-1].kind is EventKind.PUBLISH_FAILED
                done = await publishing.by_hand(
                    iid, draft, url="https://brand.social.example/@maisonbrioche/9"
                )
            assert done.outcome == "by_hand" and (await hugo.incident(iid)).unsent == {}


async def test_a_crash_between_send_and_record_never_posts_twice_on_mastodon(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    real = [1_000_000.0]
    async with FakeMastodonWrites() as server:
        server.add_remote(POST_URI, POST_URL)
        settings = desk_settings(tmp_path, masto_account(server))
        iid, draft = await draft_reply(settings, clock, post())
        async with await Journal.open(settings, clock=clock, operator="hugo") as hugo:
            # the answer is lost after the post was made: the desk cannot know it went out
            server.plan = [DROP_AFTER]
            async with Publishing(settings, hugo, real_time=lambda: real[0]) as publishing:
                lost = await publishing.approve(iid, draft)
            assert lost.outcome == "failed" and lost.failure is not None
            assert lost.failure["problem"] == "unknown_outcome" and len(server.posted) == 1
            assert "a retry will not post it twice" in (lost.problem or "")
            # a desk killed right after its intent: the draft stays "publishing" until the lease runs out
            await hugo.start_publishing(
                iid, draft, key="ignored", real_ms=int(real[0] * 1000), lease=timedelta(minutes=2)
            )
            async with Publishing(settings, hugo, real_time=lambda: real[0] + 30) as publishing:
                with pytest.raises(AlreadyDone, match="right now"):
                    await publishing.send(iid, draft)
            async with Publishing(settings, hugo, real_time=lambda: real[0] + 600) as publishing:
                done = await publishing.send(iid, draft)
            assert done.outcome == "published" and len(server.posted) == 1  # the same status, recorded
            assert done.url == server.posted[0]["url"]
            attempts = [e.payload for e in await hugo.events(iid) if e.kind is EventKind.PUBLISHING]
            assert [a["attempt"] for a in attempts] == [1, 2, 3] and len({a["key"] for a in attempts}) == 1


async def test_no_account_for_the_platform_hands_the_words_back(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    settings = desk_settings(tmp_path)  # no publish: at all
    iid, draft = await draft_reply(settings, clock, post())
    async with await Journal.open(settings, clock=clock, operator="hugo") as hugo:
        async with Publishing(settings, hugo) as publishing:
            result = await publishing.approve(iid, draft)
        assert result.outcome == "by_hand" and result.text == "Nous avons vu la vidéo et nous enquêtons."
        logged = (await hugo.events(iid))[-1]
        assert logged.kind is EventKind.RESPONSE_LOGGED and logged.payload["by_hand"] is True
        assert (await hugo.incident(iid)).first_response_at == clock.now()


async def test_a_reply_goes_out_only_on_the_channel_of_its_platform(tmp_path: Path) -> None:
    """A press statement written while a post was chosen stays a press statement: a person sends it."""
    clock = ManualClock(T0)
    async with FakeMastodonWrites() as server:
        server.add_remote(POST_URI, POST_URL)
        settings = desk_settings(tmp_path, masto_account(server))
        iid, draft = await draft_reply(settings, clock, post(), channel="press")
        async with await Journal.open(settings, clock=clock, operator="hugo") as hugo:
            async with Publishing(settings, hugo) as publishing:
                result = await publishing.approve(iid, draft)
        assert result.outcome == "by_hand" and not server.posted


async def test_bluesky_and_x_replies_through_the_desk(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    async with FakePds() as pds, FakeXWrites() as xapi:
        parent = pds.add_post("did:plc:julie", "3lroot", "La vidéo…")
        accounts = (
            PublishAccount("bluesky", base_url=pds.url, handle=pds.handle, password=pds.password),
            PublishAccount("x", base_url=xapi.url, handle="maisonbrioche", token=xapi.token),
        )
        settings = desk_settings(tmp_path, *accounts)
        on_bsky = post("bsky", uid=parent, url="https://bsky.app/profile/did:plc:julie/post/3lroot")
        on_x = post("xs", uid="1859000000000000001", url="https://x.com/julie/status/1859000000000000001")
        results = []
        for answering, channel in ((on_bsky, "bsky"), (on_x, "twitter")):
            iid, draft = await draft_reply(settings, clock, answering, channel=channel)
            async with await Journal.open(settings, clock=clock, operator="hugo") as hugo:
                async with Publishing(settings, hugo) as publishing:
                    results.append(await publishing.approve(iid, draft))
        bsky, x = results
        assert (
            bsky.outcome == "published"
            and bsky.url is not None
            and bsky.url.startswith(f"https://bsky.app/profile/{pds.handle}/post/")
        )
        assert pds.posted[-1]["record"]["reply"]["parent"]["uri"] == parent
        assert (
            x.outcome == "published"
            and x.url == f"https://x.com/maisonbrioche/status/{xapi.posted[-1]['id']}"
        )
        assert xapi.posted[-1]["reply"] == {"in_reply_to_tweet_id": "1859000000000000001"}


async def test_credentials_are_nowhere_in_the_journal_exports_or_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    clock = ManualClock(T0)
    async with FakeMastodonWrites() as server, FakePds() as pds:
        server.add_remote(POST_URI, POST_URL)
        accounts = (
            masto_account(server),
            PublishAccount("bluesky", base_url=pds.url, handle=pds.handle, password=pds.password),
        )
        settings = desk_settings(tmp_path, *accounts)
        iid, draft = await draft_reply(settings, clock, post())
        # the server echoes the token in its refusal: the journal keeps the words, never the token
        server.plan = [Fail(400, {"error": f"invalid request from Bearer {server.token}"})]
        async with await Journal.open(settings, clock=clock, operator="hugo") as hugo:
            async with Publishing(settings, hugo) as publishing:
                failed = await publishing.approve(iid, draft)
                assert failed.outcome == "failed" and "***" in (failed.problem or "")
                assert (await publishing.send(iid, draft)).outcome == "published"
        async with await Journal.open(settings, clock=clock) as camille:
            _, bdraft = await camille.respond(iid, "official_statement", "bluesky", "Le lot est retiré.")
            assert bdraft is not None
        async with await Journal.open(settings, clock=clock, operator="hugo") as hugo:
            async with Publishing(settings, hugo) as publishing:
                assert (await publishing.approve(iid, bdraft)).outcome == "published"
            pm = await build_postmortem(hugo, iid)
            exports = "".join(render(pm, f) for f in ("md", "html", "json", "csv")) + to_text(pm)
            rows = await hugo.store.fetchall("SELECT payload FROM events")
            rows += await hugo.store.fetchall("SELECT data FROM incidents")
            rows += await hugo.store.fetchall("SELECT alerts FROM outbox")
        stored = json.dumps(rows) + (tmp_path / "journal.sqlite").read_bytes().decode("latin-1")
        secrets = (server.token, pds.password, *pds.sessions)
        for secret in secrets:
            assert secret not in stored and secret not in exports and secret not in caplog.text
        assert server.token in server.transcript()  # it did travel, to the platform only


CLI_CONFIG = """\
desk: {name: Test desk, operator: camille, timezone: Europe/Paris}
topics: [{id: brioche, name: Maison Brioche, keywords: [maison brioche]}]
sources: [{type: mastodon, id: masto, token: "${TOCSIN_TEST_READ_TOKEN}"}]
team:
  roster:
    - {id: camille, name: Camille Roux, role: community-manager}
    - {id: hugo, name: Hugo Marchand, role: head-of-comms}
  approval: {sev2: [head-of-comms]}
responses:
  - {id: holding-en, kind: holding_statement, text: "We have seen the video and are looking into it. {agent}"}
publish:
  - {platform: mastodon, id: brand, base_url: "URL", token: "${TOCSIN_TEST_PUBLISH_TOKEN}"}
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


async def test_the_cli_answers_a_pinned_post_and_retries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with FakeMastodonWrites(token="cli-publish-secret") as server:
        server.add_remote(POST_URI, POST_URL)
        config = tmp_path / "config.yaml"
        config.write_text(CLI_CONFIG.replace("URL", server.url))
        journal = tmp_path / "journal.sqlite"
        monkeypatch.setenv("TOCSIN_JOURNAL", str(journal))
        monkeypatch.setenv("TOCSIN_CONFIG", str(config))
        monkeypatch.setenv("TOCSIN_TEST_READ_TOKEN", "read-token")
        monkeypatch.setenv("TOCSIN_TEST_PUBLISH_TOKEN", "wrong-token")
        from tocsin.config.loader import load_settings

        settings = load_settings(config)
        async with await Journal.open(settings) as j:  # the wall pinned the post (p)
            inc = await j.open_incident("brioche", "sev2", "Mould video", evidence=[post()])
        # each CLI call runs its own event loop, in a thread: this loop keeps serving the platform
        code, out, err = await _in_thread(
            run,
            capsys,
            "incident",
            "respond",
            str(inc.id),
            "--channel",
            "mastodon",
            "--template",
            "holding-en",
            "--reply-to",
            POST_URL,
        )
        assert code == 0, err
        draft = int(out.split("drafted as draft ")[1].split(",")[0])
        code, out, err = await _in_thread(
            run, capsys, "incident", "approve", "1", str(draft), "--operator", "hugo"
        )
        assert code == 1 and not server.posted
        assert f"tocsin incident publish 1 {draft}" in err and "renew the token" in err
        assert "wrong-token" not in err + out
        code, out, _ = await _in_thread(run, capsys, "incident", "drafts")
        assert f"#1 draft {draft} approved, not sent: Mastodon refused the account's credentials" in out
        monkeypatch.setenv("TOCSIN_TEST_PUBLISH_TOKEN", "cli-publish-secret")
        code, out, err = await _in_thread(
            run, capsys, "incident", "publish", "1", str(draft), "--operator", "hugo"
        )
        assert code == 0, err
        [made] = server.posted
        assert made["text"].startswith("@julie@elsewhere.example ")  # a Mastodon reply names its author
        assert f"published on Mastodon: {made['url']}" in out
        for command in (("journal", "show", "1"), ("incident", "show", "1")):
            code, out, _ = await _in_thread(run, capsys, *command)
            assert code == 0 and made["url"] in out and "cli-publish-secret" not in out
        code, out, err = await _in_thread(run, capsys, "incident", "publish", "1", str(draft))
        assert code == 2 and "already has draft" in err
    assert b"cli-publish-secret" not in journal.read_bytes() and b"wrong-token" not in journal.read_bytes()


async def _in_thread(fn, *args):  # type: ignore[no-untyped-def]
    """Run a CLI call (which makes its own event loop) off this test's loop."""
    import asyncio

    return await asyncio.to_thread(fn, *args)
