"""The mention detail: Enter on a feed line shows everything known about it — author, engagement,
sentiment and engine, influence with its formula terms, bot reasons, the copy-paste wave — with hostile
text shown literally."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from tests.fake_desk import open_wall
from tocsin.scoring.snapshot import ClusterRow
from tocsin.sources.model import Author, Engagement, Mention, ScoredMention, SentimentScore
from tocsin.tui.app import WallApp
from tocsin.tui.panes.feed import FeedView
from tocsin.tui.screens.mention import MentionScreen, account_age, detail_content, influence_lines

SIZE = (120, 40)
POST = "Boycott @maisonbrioche until they answer #BriocheGate\nSecond line of the post."
MANUAL = {"refresh_hz": 0.001}
EXPLAIN = [
    "followers: 0.60 × 0.65 = 39.0 pts",
    "engagement: 0.31 × 0.20 = 6.2 pts",
    "verified: 0.00 × 0.15 = 0.0 pts",
    "platform reach (demo): 0.80 → × 0.90",
    "influence 41/100 (macro tier)",
]
SCORES: dict[str, Any] = {
    "influence": {"score": 41, "tier": "macro", "watchlist": "journalist", "explain": EXPLAIN},
    "bot": {"score": 0.72, "reasons": ["account 3 days old", "posts 140 times an hour", "default handle"]},
    "cluster": {"id": 7, "size": 48, "authors": 31},
}


def rich_mention(kit: Any, **kw: Any) -> ScoredMention:
    at = kit.T0 - timedelta(minutes=12)
    mention = Mention(
        uid=kw.get("uid", "m-detail"),
        source="demo",
        text=kw.get("text", POST),
        created_at=at,
        received_at=at,
        url="https://social.example/@lemonde_conso/113",
        author=Author(
            handle=kw.get("handle", "lemonde_conso"),
            name=kw.get("name", "Le Monde Conso"),
            followers=412_000,
            following=310,
            posts=5_021,
            created_at=kit.T0 - timedelta(days=3 * 365 + 40),
            verified=True,
            bot=False,
        ),
        lang="fr",
        hashtags=("briochegate",),
        engagement=Engagement(replies=12, reposts=340, likes=1_200),
    )
    return ScoredMention(
        seq=1,
        mention=mention,
        topics=("brioche",),
        sentiment=SentimentScore("negative", 0.82, "flair"),
        scores=kw.get("scores", SCORES),
    )


def wave(kit: Any) -> ClusterRow:
    return ClusterRow(
        7, 52, 33, kit.T0 - timedelta(minutes=20), kit.T0, "Boycott Maison Brioche until they answer!", 0.74
    )


async def test_enter_opens_the_selected_mention_with_its_reasons(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await open_wall(pilot, app)
        kit.tell_story(desk)
        scored = rich_mention(kit)
        desk.mentions.append(replace(scored, seq=len(desk.mentions) + 1))
        desk._seq += 1
        desk.push("a later, unrelated mention")
        desk.publish(replace(kit.topic(), clusters=(wave(kit),)))
        app.wall.flush()
        await pilot.pause()
        await pilot.press("up")  # the line above the newest
        assert app.query_one(FeedView).selected_mention.mention.uid == "m-detail"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, MentionScreen)
        text = kit.screen_text(app)
        for needle in (
            "@lemonde_conso  Le Monde Conso",
            "Sat 21 Nov 10:18:00 CET",  # local time (Paris)
            "(12 min ago)",
            "https://social.example/@lemonde_conso/113",
            "Maison Brioche",
            "#briochegate",
            "Second line of the post.",
            "followers 412,000 · following 310 · posts 5,021",
            "age 3 years",
            "verified yes",
            "replies 12 · reposts 340 · likes 1,200",
            "negative  confidence 0.82  engine flair",
            "41/100  macro tier",
            "watchlist: journalist",
            "followers: 0.60 × 0.65 = 39.0 pts",
            "platform reach (demo): 0.80 → × 0.90",
            "0.72  likely a bot",
            "account 3 days old",
            "posts 140 times an hour",
            "in a copy-paste wave: 48 mentions from 31 accounts",
            "since 10:10 · now 52 live from 33 accounts · mean bot 74% ⚠ likely a campaign",
        ):
            assert needle in text, needle
        await pilot.press("escape")
        assert not isinstance(app.screen, MentionScreen)
        assert app.query_one(FeedView).has_focus


async def test_hostile_mention_shows_literally_in_the_detail(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    hostile = "[@click=app.quit]press[/] [/foo] \x1b]0;pwned\x07\x1b[2J\u202eevil"
    scores = {
        "influence": {"score": 3, "tier": None, "explain": [hostile]},
        "bot": {"score": 0.1, "reasons": [hostile]},
    }
    async with app.run_test(size=SIZE) as pilot:
        await open_wall(pilot, app)
        scored = rich_mention(kit, text=hostile, handle=hostile, name=hostile, scores=scores)
        desk.mentions.append(scored)
        app.wall.flush()
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, MentionScreen)
        text = kit.screen_text(app)
        assert text.count("[@click=app.quit]press[/] [/foo]") >= 4  # handle, name, text, explain, reason
        assert "\x1b" not in text and "\u202e" not in text and "pwned" not in text
        await pilot.click("#mention-detail", offset=(2, 1))
        await pilot.pause()
        assert app.is_running


def test_without_scores_the_detail_says_so(kit: Any) -> None:
    scored = rich_mention(kit, scores={})
    text = detail_content(scored, tz=None, now=kit.T0).plain
    assert "Influence   not scored" in text and "Bot         not scored" in text
    assert "not part of a copy-paste wave" in text


def test_influence_terms_from_raw_terms_when_no_explain_lines() -> None:
    lines = influence_lines(
        {"score": 40, "terms": [["followers", 0.6, 0.65], {"name": "verified", "value": 1, "weight": 0.15}]}
    )
    assert lines == ["followers: 0.60 × 0.65 = 39.0 pts", "verified: 1.00 × 0.15 = 15.0 pts"]
    assert influence_lines({"score": 40}) == []


def test_account_age_reads_naturally(kit: Any) -> None:
    now = kit.T0
    assert account_age(None, now) is None
    assert account_age(now - timedelta(days=3), now) == "3 days"
    assert account_age(now - timedelta(hours=5), now) == "5 h 00"
    assert account_age(now - timedelta(days=90), now) == "3 months"
    assert account_age(now - timedelta(days=800), now) == "2 years"


async def test_influence_terms_are_recomputed_when_the_score_does_not_carry_them(kit: Any) -> None:
    """The mention JSON carries the score and tier; the detail scores the author again by the desk's
    own formula and settings for the terms, and says so when today's settings give another score."""
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    scores = {"influence": {"score": 61, "tier": "macro"}, "bot": {"score": 0.1, "reasons": []}}
    async with app.run_test(size=SIZE) as pilot:
        await open_wall(pilot, app)
        desk.mentions.append(rich_mention(kit, scores=scores))
        stale = {"influence": {"score": 20, "tier": "macro"}, "bot": {"score": 0.1, "reasons": []}}
        desk.mentions.append(replace(rich_mention(kit, scores=stale, uid="m-detail-2"), seq=2))
        app.wall.flush()
        await pilot.pause()
        await pilot.press("up", "enter")
        await pilot.pause()
        text = kit.screen_text(app)
        assert "followers 412,000: 0.72 × 0.65 = 47.0 pts" in text
        assert "verified: 1.00 × 0.15 = 15.0 pts" in text
        assert "influence 61/100 (macro tier)" in text
        assert "no signal fired" in text
        assert "by today's settings" not in text
        await pilot.press("escape", "down", "enter")
        await pilot.pause()
        assert "scored 20 then; by today's settings 61:" in kit.screen_text(app)
