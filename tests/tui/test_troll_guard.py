"""Troll guard: the mention detail and the respond form advise against answering a bot, a copy-paste wave
member or an account on the team's block list, with the reasons, first; a person is left alone. Answering
a bot publicly anyway is allowed, and the journal keeps it (in English, whatever the desk speaks)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from textual.widgets import Input, Static, TextArea

from tocsin.config.i18n import use
from tocsin.desk.answer_guard import guard_for
from tocsin.journal.model import EventKind, TrollGuard
from tocsin.scoring.troll import troll_reasons
from tocsin.sources.model import ScoredMention
from tocsin.tui.screens.incident_forms import RespondForm
from tocsin.tui.screens.mention import detail_content

from ._incident_wall import SIZE, build, ready, settle
from .test_mention_detail import rich_mention

BOT = {"bot": {"score": 0.81, "reasons": ["account 3 days old", "posts 140 times an hour"]}}


def test_reasons_from_scores_and_the_block_list() -> None:
    assert troll_reasons(BOT, "x", bot_flag=0.6) == [
        "looks like a bot (0.81: account 3 days old; posts 140 times an hour)"
    ]
    assert troll_reasons({"bot": {"score": 0.3, "reasons": []}}, "lea", bot_flag=0.6) == []
    assert troll_reasons({"cluster": {"id": 1, "size": 48, "authors": 31}}, "a", bot_flag=0.6) == [
        "part of a copy-paste wave (48 posts from 31 accounts)"
    ]
    assert troll_reasons({}, "@Troll_42", bot_flag=0.6, block_list=["troll_42"]) == [
        "the account is on the team's block list"
    ]


def test_the_detail_warns_before_anything_else(kit: Any) -> None:
    text = detail_content(rich_mention(kit, scores=BOT), tz=None, now=kit.T0).plain
    first = text.splitlines()[0]
    assert first.startswith("⚠ Do not answer publicly: looks like a bot (0.81: account 3 days old")
    calm = detail_content(rich_mention(kit, scores={}), tz=None, now=kit.T0).plain
    assert "Do not answer" not in calm
    blocked = detail_content(
        rich_mention(kit, scores={}, handle="troll_42"), tz=None, now=kit.T0, block_list=("troll_42",)
    ).plain
    assert "block list" in blocked.splitlines()[0]


# --- the respond form (r) ------------------------------------------------------------------------------


def _bot_post(kit: Any) -> ScoredMention:
    """The post an incident was opened about: a fresh account posting in a copy-paste wave."""
    scored = rich_mention(
        kit,
        uid="m-bot",
        handle="brioche_truth_88",
        name=None,
        text="Boycott Maison Brioche until they answer!",
        scores={"bot": {"score": 0.91, "reasons": ["account 3 days old", "140 posts in the last hour"]}},
    )
    return scored


async def _respond_to_a_bot_trigger(tmp_path: Path, kit: Any, language: str) -> tuple[str, dict[str, Any]]:
    """Open an incident about a bot's post, press r, read the form, answer anyway: what the form said and
    the payload the journal kept."""
    app, _desk, session = build(tmp_path, kit)
    app.settings = dataclasses.replace(
        app.settings, desk=dataclasses.replace(app.settings.desk, language=language)
    )
    use(language)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        inc = await session.open_incident("brioche", "sev2", "boycott wave", evidence=[_bot_post(kit)])
        await session.poll()
        await settle(app, pilot)
        await pilot.press("r")
        await settle(app, pilot)  # the trigger post's scores are read from the journal once the form is open
        form = app.screen
        assert isinstance(form, RespondForm)
        warning = form.query_one("#troll-guard", Static)
        assert warning.display and warning.region.height >= 2  # on screen, above the fields
        said = str(warning.content)
        form.query_one("#channel", Input).value = "x"
        form.query_one("#text", TextArea).load_text("We hear you.")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert not isinstance(app.screen, RespondForm)
        journal = session.journal
        assert journal is not None
        [ev] = [e for e in await journal.events(inc.id) if e.kind is EventKind.RESPONSE_LOGGED]
        return said, dict(ev.payload)


async def test_the_respond_form_warns_about_a_bot_trigger_and_answering_anyway_is_kept(
    tmp_path: Path, kit: Any
) -> None:
    said, payload = await _respond_to_a_bot_trigger(tmp_path, kit, "en")
    assert "⚠ Do not answer publicly: looks like a bot (0.91: account 3 days old; 140 posts in the" in said
    assert "Answering @brioche_truth_88 publicly anyway is recorded as such" in said
    assert payload["troll_guard"] == {
        "author": "@brioche_truth_88",
        "reasons": ["looks like a bot (0.91: account 3 days old; 140 posts in the last hour)"],
    }


async def test_the_respond_form_warns_in_french(tmp_path: Path, kit: Any) -> None:
    said, payload = await _respond_to_a_bot_trigger(tmp_path, kit, "fr")
    assert "⚠ Ne répondez pas publiquement : ressemble à un bot (0,91 : compte créé il y a 3 jours ;" in said
    assert "Répondre quand même publiquement à @brioche_truth_88 est noté comme tel" in said
    assert "Do not answer" not in said
    # the journal keeps English, whatever the desk speaks
    assert payload["troll_guard"]["reasons"] == [
        "looks like a bot (0.91: account 3 days old; 140 posts in the last hour)"
    ]


async def test_no_warning_for_a_person_and_nothing_kept(tmp_path: Path, kit: Any) -> None:
    app, _desk, session = build(tmp_path, kit)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        inc = await session.open_incident(
            "brioche", "sev2", "mould photo", evidence=[rich_mention(kit, scores={})]
        )
        await session.poll()
        await settle(app, pilot)
        await pilot.press("r")
        await settle(app, pilot)
        form = app.screen
        assert isinstance(form, RespondForm) and form.guard is None
        assert not form.query_one("#troll-guard", Static).display
        assert "Do not answer" not in kit.screen_text(app)
        form.query_one("#channel", Input).value = "x"
        form.query_one("#text", TextArea).load_text("We are on it.")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        journal = session.journal
        assert journal is not None
        [ev] = [e for e in await journal.events(inc.id) if e.kind is EventKind.RESPONSE_LOGGED]
        assert "troll_guard" not in ev.payload


def test_the_guard_on_a_chosen_post_is_the_details(kit: Any) -> None:
    """The respond form judges the feed's chosen post with the detail's own function and settings."""
    settings = kit.settings()
    bots = dataclasses.replace(settings.scoring.bots, block_list=("troll_42",))
    settings = dataclasses.replace(settings, scoring=dataclasses.replace(settings.scoring, bots=bots))
    guard = guard_for(settings, BOT, "x_user")
    assert guard is not None and guard.author == "@x_user"
    assert list(guard.reasons) == troll_reasons(BOT, "x_user", bot_flag=bots.flag_at)
    assert guard_for(settings, {}, "@Troll_42") == TrollGuard(
        "@Troll_42", ("the account is on the team's block list",)
    )
    assert guard_for(settings, {"bot": {"score": 0.1, "reasons": []}}, "lea") is None
