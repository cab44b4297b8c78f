"""Troll guard: the mention detail advises against answering a bot, a copy-paste wave member or an
account on the team's block list, with the reasons, first; a person is left alone."""

from __future__ import annotations

from typing import Any

from tocsin.scoring.troll import troll_reasons
from tocsin.tui.screens.mention import detail_content

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
