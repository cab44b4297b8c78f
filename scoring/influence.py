"""Influence: how far a mention can travel, as a tier and a 0–100 score with its terms.

Tiers, by followers on the platform where the post was seen:

=======  ===================
nano     fewer than 10,000
micro    10,000 – 49,999
mid      50,000 – 99,999
macro    100,000 – 999,999
mega     1,000,000 and more
=======  ===================

Score (0–100), with every term reported by ``Influence.explain()``::

    score = 100 × reach_factor × (0.65·f + 0.20·e + 0.15·v)

    f = clamp((log10(1 + followers) − 2) / 5, 0, 1)     (100 followers → 0, 10k → 0.4, 10 million → 1)
    e = min(1, log10(1 + 1000·engagement / max(followers, 1000)) / log10(201))
                                  (replies + reposts + likes worth 20 % of the audience → 1)
    v = 1 if the platform says the account is verified, else 0
    reach_factor = 0.5 + 0.5 × reach     (reach 0–1 per platform, ``scoring.influence.reach``)

When followers are unknown (Reddit, Hacker News, an unhydrated Bluesky author), ``e`` is taken from the
absolute engagement instead (``min(1, log10(1 + engagement) / 4)``, 10,000 → 1), the weights of the known
terms are rescaled to sum to 1, the tier is None and the result is marked ``followers_known=False``.

Handles on ``scoring.influence.watchlist`` (journalists, activists, officials) always flag, whatever
their score, with their role from ``scoring.influence.roles``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from tocsin.config import reasons as r
from tocsin.config.i18n import N_
from tocsin.config.settings import InfluenceSettings
from tocsin.sources.model import Author, Engagement, Mention

Tier = Literal["nano", "micro", "mid", "macro", "mega"]
TIERS: tuple[tuple[int, Tier], ...] = (
    (1_000_000, "mega"),
    (100_000, "macro"),
    (50_000, "mid"),
    (10_000, "micro"),
)

W_FOLLOWERS, W_ENGAGEMENT, W_VERIFIED = 0.65, 0.20, 0.15
DEFAULT_REACH: Mapping[str, float] = {
    "x": 1.0,
    "rss": 1.0,  # news articles: the press
    "hackernews": 0.8,
    "reddit": 0.7,
    "bluesky": 0.6,
    "mastodon": 0.5,
}
UNKNOWN_REACH = 0.8
"""Reach of a platform that is neither configured nor in the defaults (demo, jsonl, webhook)."""


def tier_for(followers: int | None) -> Tier | None:
    """The tier for a follower count (None when unknown)."""
    if followers is None:
        return None
    for floor, name in TIERS:
        if followers >= floor:
            return name
    return "nano"


def normalise_handle(handle: str) -> str:
    return handle.strip().lstrip("@").casefold()


@dataclass(frozen=True, slots=True)
class Influence:
    """One author's influence on one mention, with the terms that made it."""

    score: int
    """0–100."""
    tier: Tier | None
    """None when followers are unknown."""
    followers_known: bool
    watch_role: str | None
    """The role (``journalist``, ``official``…) when the author is on the watchlist, else None."""
    reach: float
    platform: str | None
    inputs: tuple[int | None, int, bool | None] = (None, 0, None)
    """(followers, engagement, verified) as scored: ``terms`` puts them in words when asked (every
    mention is scored; few are ever explained)."""

    @property
    def watched(self) -> bool:
        return self.watch_role is not None

    @property
    def terms(self) -> tuple[tuple[str, float, float], ...]:
        """(term, value 0–1, weight) for the score's terms, in the formula's order."""
        followers, eng, verified = self.inputs
        out = []
        for kind, value, weight in _formula(followers, eng, verified):
            if kind == "followers":
                name = r.say(r.INFLUENCE_FOLLOWERS, n=f"{followers:,}")
            elif kind == "engagement" and followers is not None:
                share = f"{100 * eng / max(followers, 1):.1f} %"
                name = r.say(r.INFLUENCE_ENGAGEMENT, n=f"{eng:,}", share=share)
            elif kind == "engagement":
                name = r.say(r.INFLUENCE_ENGAGEMENT_ALONE, n=f"{eng:,}")
            else:
                name = N_("verified") if value else N_("not verified")
            out.append((name, value, weight))
        return tuple(out)

    def explain(self) -> list[str]:
        """The formula's terms in words, for the mention detail pane (English: ``reasons.shown`` puts
        each line in the desk's language)."""
        lines = []
        for name, value, weight in self.terms:
            points = f"{100 * value * weight:.1f}"
            lines.append(
                r.say(
                    r.INFLUENCE_TERM, name=name, value=f"{value:.2f}", weight=f"{weight:.2f}", points=points
                )
            )
        factor = f"{0.5 + 0.5 * self.reach:.2f}"
        platform = self.platform or "unknown"
        lines.append(r.say(r.INFLUENCE_REACH, platform=platform, reach=f"{self.reach:.2f}", factor=factor))
        if self.tier:
            lines.append(r.say(r.INFLUENCE_TIER, score=self.score, tier=self.tier))
        else:
            lines.append(r.say(r.INFLUENCE_UNKNOWN, score=self.score))
        if self.watch_role:
            lines.append(r.say(r.INFLUENCE_WATCHED, role=self.watch_role))
        return lines

    def to_json(self) -> dict[str, Any]:
        obj: dict[str, Any] = {"score": self.score, "tier": self.tier}
        if not self.followers_known:
            obj["partial"] = True
        if self.watch_role:
            obj["watchlist"] = self.watch_role
        return obj


class InfluenceScorer:
    """Scores authors by the stated formula; knows the watchlist and each platform's reach."""

    def __init__(self, settings: InfluenceSettings | None = None) -> None:
        s = settings or InfluenceSettings()
        roles = {normalise_handle(h): r for h, r in s.roles.items()}
        self._watch: dict[str, str] = {}
        for handle in (*s.watchlist, *s.roles):
            key = normalise_handle(handle)
            if key:
                self._watch[key] = roles.get(key, "watchlist")
        self._reach = {**DEFAULT_REACH, **{k: min(max(v, 0.0), 1.0) for k, v in s.reach.items()}}

    def watch_role(self, handle: str) -> str | None:
        """Watchlist role of a handle (``user`` matches ``@User``, ``user@host``, ``user.bsky.social``)."""
        h = normalise_handle(handle)
        if not h or not self._watch:
            return None
        for key in (h, h.split("@", 1)[0], h.removesuffix(".bsky.social")):
            role = self._watch.get(key)
            if role is not None:
                return role
        return None

    def reach_of(self, source: str | None, platform: str | None = None) -> float:
        """Reach 0–1: configured for the source id, else for the platform type, else the defaults."""
        for key in (source, platform):
            if key is not None and key in self._reach:
                return self._reach[key]
        return UNKNOWN_REACH

    def score_mention(self, mention: Mention, platform: str | None = None) -> Influence:
        """Score a mention's author; ``platform`` is the source type (``x``, ``mastodon``…) when known."""
        return self.score(mention.author, mention.engagement, source=mention.source, platform=platform)

    def score(
        self,
        author: Author,
        engagement: Engagement,
        *,
        source: str | None = None,
        platform: str | None = None,
    ) -> Influence:
        """Score one author on one post by the module's formula."""
        followers = author.followers
        eng = engagement.total
        reach = self.reach_of(source, platform)
        raw = (0.5 + 0.5 * reach) * sum(v * w for _, v, w in _formula(followers, eng, author.verified))
        return Influence(
            score=round(100 * min(max(raw, 0.0), 1.0)),
            tier=tier_for(followers),
            followers_known=followers is not None,
            watch_role=self.watch_role(author.handle) if self._watch else None,
            reach=reach,
            platform=platform or source,
            inputs=(followers, eng, author.verified),
        )


def _formula(followers: int | None, eng: int, verified: bool | None) -> list[tuple[str, float, float]]:
    """The score's terms: (kind, value 0–1, weight), in the formula's order."""
    terms: list[tuple[str, float, float]] = []
    if followers is not None:
        f = min(max((math.log10(1 + followers) - 2.0) / 5.0, 0.0), 1.0)
        e = min(1.0, math.log10(1 + 1000.0 * eng / max(followers, 1000)) / _LOG_201)
        terms.append(("followers", f, W_FOLLOWERS))
        terms.append(("engagement", e, W_ENGAGEMENT))
    else:
        terms.append(("engagement", min(1.0, math.log10(1 + eng) / 4.0), W_ENGAGEMENT))
    if verified is not None or followers is not None:
        terms.append(("verified", 1.0 if verified else 0.0, W_VERIFIED))
    if followers is None:
        total_weight = sum(w for _, _, w in terms)
        if total_weight:  # rescale the known terms to sum to 1
            terms = [(kind, v, w / total_weight) for kind, v, w in terms]
    return terms


_LOG_201 = math.log10(201)
