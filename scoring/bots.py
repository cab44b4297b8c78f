"""Bot-likelihood: a 0–1 score with its reasons in words.

Each signal that fires contributes a weight ``w`` in [0, 1]; they combine as a noisy OR,
``score = 1 − Π (1 − w)``, so no single weak sign makes a bot and signs add up without passing 1.
The weights (deterministic, no learning):

==========================================  ======================================================
signal                                      weight
==========================================  ======================================================
the platform marks the account as a bot     0.90
account younger than ``bots.young_account``  0.35 × (1 − age / young_account)
follows ≥ 100, followed by < 1/20 of that    0.30   (< 1/5 of that: 0.15)
default-looking handle                      0.30   (``user83920174``, 6+ digit runs; ``name_1234``: 0.15)
posts seen in ``bots.rate_window``          0.35 at 20 or more, 0.15 at 8 or more
lifetime rate > 144 posts a day             0.25   (one every 10 minutes, round the clock)
fewer than 5 posts ever                     0.10
in a copy-paste wave                        0.25
==========================================  ======================================================

Unknown fields (None) contribute nothing: a missing follower count is not evidence.
The per-author posting-rate tracker is bounded (``bots.max_authors``, least recently seen dropped;
at most 64 timestamps per author).
"""

from __future__ import annotations

import re
from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tocsin.config import reasons as r
from tocsin.config.i18n import N_
from tocsin.config.settings import BotSettings
from tocsin.sources.model import Author

W_PLATFORM_FLAG = 0.90
W_YOUNG = 0.35
W_RATIO_STRONG, W_RATIO = 0.30, 0.15
W_HANDLE_STRONG, W_HANDLE = 0.30, 0.15
W_RATE_STRONG, W_RATE = 0.35, 0.15
RATE_STRONG, RATE = 20, 8
W_LIFETIME_RATE, LIFETIME_POSTS_PER_DAY = 0.25, 144
W_FEW_POSTS, FEW_POSTS = 0.10, 5
W_CAMPAIGN = 0.25
_MAX_STAMPS_PER_AUTHOR = 64

_DEFAULT_HANDLE = re.compile(r"^(?:user|usr|u|id)[_.-]?\d{4,}$|\d{6,}")
_NAME_DIGITS = re.compile(r"^[a-z]+[_.-]?\d{4,5}$")


def handle_looks_default(handle: str) -> float:
    """Weight of the handle signal: platform-generated-looking handles score, chosen names do not."""
    local = handle.strip().lstrip("@").split("@", 1)[0].casefold()
    local = local.removesuffix(".bsky.social")
    if _DEFAULT_HANDLE.search(local):
        return W_HANDLE_STRONG
    if _NAME_DIGITS.match(local):
        return W_HANDLE
    return 0.0


@dataclass(frozen=True, slots=True)
class BotScore:
    score: float
    """0–1, the noisy OR of the weights of the signals that fired."""
    reasons: tuple[str, ...]
    """The signals that fired, strongest first, in words."""
    likely: bool
    """``score >= bots.flag_at``."""

    def to_json(self) -> dict[str, Any]:
        return {"score": round(self.score, 3), "reasons": list(self.reasons)}


class PostingRate:
    """How many posts each author made in the last ``window`` (as seen by the desk). Bounded memory."""

    def __init__(self, window: timedelta, max_authors: int) -> None:
        self.window = window
        self.max_authors = max_authors
        self._seen: OrderedDict[str, deque[datetime]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def add(self, author: str, at: datetime) -> int:
        """Record a post; returns the author's posts within the window (this one included)."""
        stamps = self._seen.get(author)
        if stamps is None:
            stamps = self._seen[author] = deque(maxlen=_MAX_STAMPS_PER_AUTHOR)
            if len(self._seen) > self.max_authors:
                self._seen.popitem(last=False)
        else:
            self._seen.move_to_end(author)
        stamps.append(at)
        horizon = at - self.window
        while stamps and stamps[0] < horizon:
            stamps.popleft()
        return len(stamps)

    def count(self, author: str, at: datetime) -> int:
        """The author's posts within the window ending at ``at``, recording nothing."""
        stamps = self._seen.get(author)
        if not stamps:
            return 0
        horizon = at - self.window
        return sum(1 for s in stamps if horizon <= s <= at)


class BotScorer:
    """Scores an author's bot-likelihood from the account, its handle, its posting and campaigns."""

    def __init__(self, settings: BotSettings | None = None) -> None:
        self.settings = s = settings or BotSettings()
        self.rates = PostingRate(s.rate_window, s.max_authors)

    def observe(self, author: str, at: datetime) -> int:
        """Count a post by ``author`` at ``at`` for the posting-rate signal; returns posts in the window."""
        return self.rates.add(author, at)

    def recent(self, author: str, at: datetime) -> int:
        """Posts by ``author`` in the window ending at ``at`` as already observed (counts nothing)."""
        return self.rates.count(author, at)

    def score(
        self,
        author: Author,
        now: datetime,
        *,
        recent_posts: int | None = None,
        campaign_accounts: int | None = None,
    ) -> BotScore:
        """Judge ``author`` at desk time ``now``.

        ``recent_posts``: posts by this author in ``bots.rate_window`` (from ``observe``);
        ``campaign_accounts``: accounts in the copy-paste wave this mention belongs to, if any.
        """
        s = self.settings
        signals: list[tuple[float, str]] = []
        if author.bot:
            signals.append((W_PLATFORM_FLAG, N_("marked as a bot by the platform")))
        if author.created_at is not None:
            age = now - author.created_at
            if age < s.young_account:
                w = W_YOUNG * (1 - max(age, timedelta(0)) / s.young_account)
                signals.append((w, r.say(r.BOT_YOUNG, age=_age(age))))
        following, followers = author.following, author.followers
        if following is not None and followers is not None and following >= 100 and followers * 5 < following:
            said = r.say(r.BOT_FOLLOWS, following=f"{following:,}", followers=f"{followers:,}")
            signals.append((W_RATIO_STRONG if followers * 20 < following else W_RATIO, said))
        w = handle_looks_default(author.handle)
        if w:
            signals.append((w, N_("default-looking handle")))
        if recent_posts is not None and recent_posts >= RATE:
            w = W_RATE_STRONG if recent_posts >= RATE_STRONG else W_RATE
            signals.append((w, r.say(r.BOT_RATE, n=recent_posts, window=_age(s.rate_window))))
        if author.posts is not None:
            if author.created_at is not None:
                days = max((now - author.created_at).total_seconds() / 86400, 1.0)
                if author.posts / days > LIFETIME_POSTS_PER_DAY:
                    signals.append(
                        (W_LIFETIME_RATE, r.say(r.BOT_LIFETIME, rate=f"{author.posts / days:,.0f}"))
                    )
            if author.posts < FEW_POSTS:
                signals.append((W_FEW_POSTS, r.say(r.BOT_FEW_POSTS, n=author.posts)))
        if campaign_accounts is not None and campaign_accounts >= 2:
            signals.append((W_CAMPAIGN, r.say(r.BOT_CAMPAIGN, n=campaign_accounts)))
        signals.sort(key=lambda sig: -sig[0])
        keep = 1.0
        for w, _ in signals:
            keep *= 1.0 - w
        score = 1.0 - keep
        return BotScore(score=score, reasons=tuple(r for _, r in signals), likely=score >= s.flag_at)


def _age(delta: timedelta) -> str:
    seconds = max(delta.total_seconds(), 0.0)
    if seconds >= 2 * 86400:
        return r.say(r.SPAN_DAYS, n=f"{seconds / 86400:.0f}")
    if seconds >= 2 * 3600:
        return r.say(r.SPAN_HOURS, n=f"{seconds / 3600:.0f}")
    if seconds >= 3600:
        return N_("hour")
    return r.say(r.SPAN_MINUTES, n=f"{max(seconds / 60, 1):.0f}")
