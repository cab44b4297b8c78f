"""Publishing from the wall (Pilot), against a local Mastodon write API: ``r`` on a post chosen in the
feed drafts a reply to it; ``A`` at the approver's wall posts it and says where; a refused token says
why on the wall and on the incident, and ``A`` again tries it once the token works; with no account the
approved words land in the clipboard, logged as sent by hand."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from textual.widgets import Checkbox, Input, Select

from tests.desk._incident_kit import team_settings, with_operator
from tests.sources.servers.writes import FakeMastodonWrites
from tocsin.config.settings import PublishAccount, ResponseTemplate, Settings
from tocsin.desk.session import JournalSession
from tocsin.journal.model import EventKind
from tocsin.tui.app import WallApp
from tocsin.tui.panes.feed import FeedView
from tocsin.tui.screens.publishing import ReplyForm, UnsentForm

from ._incident_wall import SIZE, choose, pane_text, ready, settle

POST_URL = "https://demo.example/@julie_goute_tout/42"
LIBRARY = (ResponseTemplate("hold-fr", "holding_statement", "Nous enquêtons. — {agent}", "fr"),)


def settings_for(tmp_path: Path, *accounts: PublishAccount) -> Settings:
    base = team_settings(tmp_path / "journal.sqlite")
    team = dataclasses.replace(base.team, approval={"sev2": ("head-of-comms",)})
    return dataclasses.replace(base, team=team, responses=LIBRARY, publish=tuple(accounts))


def wall_of(settings: Settings, kit: Any, clock: Any = None) -> tuple[WallApp, Any, JournalSession]:
    desk = kit.FakeDesk(settings)
    if clock is not None:
        desk.clock = clock
    session = JournalSession(settings, desk, background=False)
    return WallApp(settings, desk, session=session), desk, session


async def draft_from_the_wall(
    app: WallApp, pilot: Any, desk: Any, session: JournalSession, *, reply: bool
) -> int:
    """camille chooses the trigger post in the feed, opens the incident, and answers it with r."""
    desk.push("De la moisissure dans une brioche Maison Brioche !", handle="julie_goute_tout", url=POST_URL)
    desk.push("a later mention", handle="someone")
    app.wall.flush()
    await pilot.pause()
    inc = await session.open_incident("brioche", "sev2", "Mould video")
    await session.poll()
    await settle(app, pilot)
    app.query_one(FeedView).focus()
    await pilot.press("up")  # the trigger post, above the newest line
    assert app.query_one(FeedView).selected_mention.mention.url == POST_URL
    await pilot.press("r")
    await pilot.pause()
    form = app.screen
    assert isinstance(form, ReplyForm)
    channel = form.query_one("#channel", Input)
    assert channel.value == ("mastodon" if app.settings.publish else "demo")  # the post's platform
    if not reply:
        form.query_one("#reply", Checkbox).value = False
        channel.value = "instagram"
    form.query_one("#template", Select).value = "hold-fr"
    await pilot.pause()
    await pilot.press("ctrl+s")
    await settle(app, pilot)
    drafts = await session.journal.pending_drafts(inc.id)  # type: ignore[union-attr]
    return drafts[-1].id


async def test_reply_drafted_on_one_wall_published_from_the_approvers(tmp_path: Path, kit: Any) -> None:
    async with FakeMastodonWrites(token="new-token") as server:
        server.add_remote("https://demo.example/users/julie_goute_tout/statuses/42", POST_URL)
        account = PublishAccount(
            "mastodon", id="brand", base_url=server.url, token="old-token", answers=("demo",)
        )
        settings = settings_for(tmp_path, account)
        app, desk, session = wall_of(settings, kit)
        async with app.run_test(size=SIZE) as pilot:
            await ready(app, pilot)
            draft = await draft_from_the_wall(app, pilot, desk, session, reply=True)
            [ev] = await session.journal.pending_drafts()  # type: ignore[union-attr]
            assert ev.payload["reply_to"]["url"] == POST_URL
            assert (
                ev.payload["text"] == "@julie_goute_tout Nous enquêtons. — Camille"
            )  # a Mastodon reply names them

        hugo_settings = with_operator(settings, "hugo")
        hugo_app, _hugo_desk, hugo_session = wall_of(hugo_settings, kit, desk.clock)
        async with hugo_app.run_test(size=SIZE) as hugo:
            await ready(hugo_app, hugo)
            await hugo_session.poll()
            await settle(hugo_app, hugo)
            await hugo.press("A")
            await settle(hugo_app, hugo)
            await choose(hugo_app, hugo, f"approve:{draft}")
            await hugo_session.poll()
            await settle(hugo_app, hugo)
            said = [n.message for n in hugo_app._notifications]
            assert any(
                "approved, not sent: Mastodon refused the account's credentials (HTTP 401)" in s for s in said
            )
            assert "✖ approved, not sent (A) · Mould video" in pane_text(hugo_app)
            assert not server.posted

            server.token = "old-token"  # the instance accepts the token again
            await hugo.press("A")
            await settle(hugo_app, hugo)
            assert isinstance(hugo_app.screen, UnsentForm)
            await choose(hugo_app, hugo, f"retry:{draft}")
            await hugo_session.poll()
            await settle(hugo_app, hugo)
            [made] = server.posted
            said = [n.message for n in hugo_app._notifications]
            assert f"#1 draft {draft} published on Mastodon: {made['url']}" in said
            assert "not sent" not in pane_text(hugo_app)
            kinds = [e.kind for e in await hugo_session.journal.events(1)]  # type: ignore[union-attr]
            assert kinds[-2:] == [EventKind.PUBLISHED, EventKind.RESPONSE_LOGGED]


async def test_no_account_puts_the_words_in_the_clipboard(tmp_path: Path, kit: Any) -> None:
    settings = settings_for(tmp_path)
    app, desk, session = wall_of(settings, kit)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        draft = await draft_from_the_wall(app, pilot, desk, session, reply=False)
    hugo_app, _, hugo_session = wall_of(with_operator(settings, "hugo"), kit, desk.clock)
    async with hugo_app.run_test(size=SIZE) as hugo:
        await ready(hugo_app, hugo)
        await hugo_session.poll()
        await settle(hugo_app, hugo)
        await hugo.press("A")
        await settle(hugo_app, hugo)
        await choose(hugo_app, hugo, f"approve:{draft}")
        assert hugo_app.clipboard == "Nous enquêtons. — Camille"
        said = [n.message for n in hugo_app._notifications]
        assert f"#1 draft {draft}: in your clipboard, to post yourself (logged as sent by hand)" in said
        logged = (await hugo_session.journal.events(1))[-1]  # type: ignore[union-attr]
        assert logged.kind is EventKind.RESPONSE_LOGGED and logged.payload["by_hand"] is True
