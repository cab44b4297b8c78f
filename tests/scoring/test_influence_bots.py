"""Influence tiers and score by the stated formula; bot-likelihood with reasons."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from tocsin.config.settings import BotSettings, InfluenceSettings
from tocsin.scoring.bots import BotScorer, PostingRate, handle_looks_default
from tocsin.scoring.influence import InfluenceScorer, tier_for
from tocsin.sources.model import Author, Engagement, Mention

NOW = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("followers", "tier"),
    [
        (None, None),
        (0, "nano"),
        (9_999, "nano"),
        (10_000, "micro"),
        (50_000, "mid"),
        (100_000, "macro"),
        (250_000, "macro"),
        (999_999, "macro"),
        (1_000_000, "mega"),
    ],
)
def test_tier_bounds(followers: int | None, tier: str | None) -> None:
    assert tier_for(followers) == tier


def test_verified_250k_account_is_macro_and_scores_by_the_formula() -> None:
    scorer = InfluenceScorer()
    inf = scorer.score(
        Author("bigvoice", followers=250_000, verified=True), Engagement(20, 300, 1680), platform="x"
    )
    f = (math.log10(250_001) - 2) / 5
    e = math.log10(1 + 1000 * 2000 / 250_000) / math.log10(201)
    assert inf.tier == "macro"
    assert inf.score == round(100 * (0.65 * f + 0.20 * e + 0.15))
    lines = inf.explain()
    assert lines[0].startswith("followers 250,000") and "verified" in lines[2]
    assert inf.to_json() == {"score": inf.score, "tier": "macro"}


def test_small_unverified_account_scores_low_and_reach_scales() -> None:
    scorer = InfluenceScorer(InfluenceSettings(reach={"fedi": 0.0}))
    small = scorer.score(Author("someone", followers=120, verified=False), Engagement(0, 0, 1), platform="x")
    assert small.tier == "nano" and small.score < 10
    big = Author("bigvoice", followers=250_000, verified=True)
    on_x = scorer.score(big, Engagement(), platform="x")
    on_fedi = scorer.score(big, Engagement(), source="fedi", platform="mastodon")
    assert on_fedi.score == round(on_x.score * 0.5)  # reach 0 → factor 0.5
    assert "platform reach (mastodon): 0.00" in on_fedi.explain()[-2]


def test_missing_followers_scored_from_what_is_known_and_marked() -> None:
    scorer = InfluenceScorer()
    inf = scorer.score(Author("redditor"), Engagement(replies=40, likes=960), platform="reddit")
    assert inf.tier is None and not inf.followers_known
    assert inf.score == round(100 * 0.85 * math.log10(1001) / 4)
    assert inf.to_json()["partial"] is True
    assert "followers unknown" in inf.explain()[-1]


def test_watchlist_always_flags_with_role() -> None:
    settings = InfluenceSettings(watchlist=("@LeMondeFr", "ufcquechoisir"), roles={"jdupont": "journalist"})
    scorer = InfluenceScorer(settings)
    tiny = Author("jdupont@mastodon.social", followers=3, verified=False)
    assert scorer.score(tiny, Engagement(), platform="mastodon").watch_role == "journalist"
    assert scorer.watch_role("lemondefr") == "watchlist"
    assert scorer.watch_role("ufcquechoisir.bsky.social") == "watchlist"
    assert scorer.watch_role("someone_else") is None
    m = Mention(uid="1", source="demo", text="x", created_at=NOW, received_at=NOW, author=tiny)
    assert scorer.score_mention(m).to_json()["watchlist"] == "journalist"


def test_three_day_old_default_handle_follow_spammer_is_a_likely_bot() -> None:
    scorer = BotScorer()
    author = Author("user83920174", followers=2, following=900, created_at=NOW - timedelta(days=3))
    bot = scorer.score(author, NOW)
    assert bot.score >= 0.6 and bot.likely
    assert bot.reasons == ("account 3 days old", "follows 900, followed by 2", "default-looking handle")
    expected = 1 - (1 - 0.35 * 0.9) * (1 - 0.30) * (1 - 0.30)
    assert bot.score == pytest.approx(expected)


def test_established_person_is_not_a_bot_and_unknowns_are_not_evidence() -> None:
    scorer = BotScorer()
    person = Author(
        "claire_martin", followers=800, following=400, posts=5200, created_at=NOW - timedelta(days=2000)
    )
    assert scorer.score(person, NOW).score == 0.0
    assert scorer.score(Author("anon"), NOW).score == 0.0


def test_platform_flag_rate_campaign_and_lifetime_rate() -> None:
    scorer = BotScorer(BotSettings(flag_at=0.5))
    assert scorer.score(Author("newsbot", bot=True), NOW).score == pytest.approx(0.9)
    for i in range(25):
        n = scorer.observe("blaster", NOW + timedelta(minutes=i))
    blaster = Author("blaster", posts=90_000, created_at=NOW - timedelta(days=100))
    bot = scorer.score(blaster, NOW + timedelta(minutes=25), recent_posts=n, campaign_accounts=23)
    assert bot.reasons == (
        "25 posts in the last hour",
        "900 posts a day since joining",
        "part of a copy-paste wave (23 accounts)",
    )
    assert bot.likely


def test_handle_patterns() -> None:
    assert handle_looks_default("@user83920174") == 0.30
    assert handle_looks_default("a1234567b") == 0.30
    assert handle_looks_default("marie_1234") == 0.15
    assert handle_looks_default("marie.dupont") == 0.0
    assert handle_looks_default("brioche2026fan") == 0.0


def test_posting_rate_is_windowed_and_bounded() -> None:
    rates = PostingRate(timedelta(hours=1), max_authors=100)
    assert rates.add("a", NOW) == 1
    assert rates.add("a", NOW + timedelta(minutes=30)) == 2
    assert rates.add("a", NOW + timedelta(minutes=95)) == 1
    for i in range(1000):
        rates.add(f"u{i}", NOW)
    assert len(rates) == 100
