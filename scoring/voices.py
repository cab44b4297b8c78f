"""Who matters in a topic right now: a bounded table of recent authors, ranked by reach and hostility.

Each author seen in the window (``WINDOW``, an hour) keeps a few facts (name, tier, followers, latest
bot-likelihood, last words) and their recent posts as ``(time, negative, influence)``. The ranking, in
words: influence (0–100, the author's highest in the window) weighted by how negative they are, and
watchlist accounts (journalists, officials…) lifted so they always make the list::

    rank = influence × (0.5 + negative share) + WATCH_BONUS if on the watchlist

So a hostile account counts up to three times a neutral one of the same reach. Adding a post is O(1);
``top`` is O(authors) and meant to run about once a second, not per frame. The table is bounded: authors
silent for the window are forgotten, and past ``max_authors`` the lowest ranked are dropped.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from tocsin.scoring.influence import Influence
from tocsin.scoring.snapshot import InfluencerRow
from tocsin.sources.model import Mention

WINDOW = timedelta(hours=1)
MAX_AUTHORS = 5_000
WATCH_BONUS = 50.0
_MAX_POSTS = 64  # per author: enough to count a heavy poster's hour, bounded for a spammer
_TEXT_CHARS = 280


@dataclass(slots=True)
class _Author:
    handle: str
    name: str | None
    source: str
    tier: str | None
    followers: int | None
    watch_role: str | None
    bot: float
    last_text: str
    last_at: datetime
    posts: list[tuple[float, bool, int]]
    """(posted at, epoch seconds; negative; influence), in arrival order. A list, not a deque: a deque
    costs ~600 bytes even when nearly empty, and a desk tracks thousands of authors per topic."""
    peak: int = 0
    """The highest influence of any post recorded: ``top`` skips authors who cannot reach the table."""


@dataclass(frozen=True, slots=True)
class _Tally:
    author: _Author
    mentions: int
    negative: int
    influence: int
    rank: float


class AuthorTable:
    """Recent authors of one topic and their standing; bounded memory."""

    def __init__(self, window: timedelta = WINDOW, max_authors: int = MAX_AUTHORS) -> None:
        self.window = window
        self.max_authors = max(1, max_authors)
        self._authors: dict[tuple[str, str], _Author] = {}

    def __len__(self) -> int:
        return len(self._authors)

    def add(self, mention: Mention, at: datetime, influence: Influence, bot: float, negative: bool) -> None:
        """Count one post by ``mention.author`` at desk time ``at``. O(1) amortised."""
        a = mention.author
        key = (mention.source, mention.author_key.casefold())
        rec = self._authors.get(key)
        if rec is None:
            if len(self._authors) >= 2 * self.max_authors:
                self._prune(at)
            rec = self._authors[key] = _Author(
                handle=a.handle,
                name=a.name,
                source=mention.source,
                tier=influence.tier,
                followers=a.followers,
                watch_role=influence.watch_role,
                bot=bot,
                last_text=mention.text[:_TEXT_CHARS],
                last_at=at,
                posts=[],
            )
        elif at >= rec.last_at:
            # the latest post speaks for the author: their name, audience and words as of now
            rec.handle, rec.name, rec.tier, rec.followers = a.handle, a.name, influence.tier, a.followers
            rec.watch_role, rec.bot = influence.watch_role, bot
            rec.last_text, rec.last_at = mention.text[:_TEXT_CHARS], at
        posts = rec.posts
        posts.append((at.timestamp(), negative, influence.score))
        if influence.score > rec.peak:
            rec.peak = influence.score
        if len(posts) > 2 * _MAX_POSTS:
            del posts[:-_MAX_POSTS]  # trimmed in bulk: amortised O(1)

    def revise(
        self, mention: Mention, at: datetime, influence: Influence, bot: float, negative: bool
    ) -> None:
        """A post already counted by ``add`` came again (edited, or its author's profile arrived): the
        author's facts and that post's standing are brought up to date; nothing is counted twice. A
        post the table no longer holds (its author fell silent for the window) is left alone."""
        a = mention.author
        rec = self._authors.get((mention.source, mention.author_key.casefold()))
        if rec is None:
            return
        if at >= rec.last_at:
            rec.handle, rec.name, rec.tier, rec.followers = a.handle, a.name, influence.tier, a.followers
            rec.watch_role, rec.bot = influence.watch_role, bot
            if mention.text:
                rec.last_text = mention.text[:_TEXT_CHARS]
        elif a.followers is not None and rec.followers is None:
            rec.followers, rec.tier = a.followers, influence.tier  # a later post knew less of them
        stamp = at.timestamp()
        posts = rec.posts
        for i in range(len(posts) - 1, -1, -1):  # at most 2 × _MAX_POSTS, newest first: the post is recent
            if posts[i][0] == stamp:
                posts[i] = (stamp, negative, influence.score)
                rec.peak = max(rec.peak, influence.score)
                break

    def top(self, now: datetime, n: int) -> list[InfluencerRow]:
        """The ``n`` authors who matter most over the window ending at ``now``, strongest first."""
        self._forget_silent(now)
        # A bounded heap of the best so far; an author whose best possible rank (every post negative, at
        # their peak influence) cannot beat the weakest of them is not tallied: in a storm of thousands
        # of small accounts, most are skipped, and this runs about once a second in the judge's thread.
        heap: list[tuple[tuple[float, datetime], int, _Tally]] = []
        tally = self._tally
        for i, a in enumerate(self._authors.values()):
            if len(heap) >= n and a.peak * 1.5 + (WATCH_BONUS if a.watch_role else 0.0) < heap[0][0][0]:
                continue
            t = tally(a, now)
            if t is None:
                continue
            entry = ((t.rank, a.last_at), i, t)
            if len(heap) < n:
                heapq.heappush(heap, entry)
            elif entry[0] > heap[0][0]:
                heapq.heapreplace(heap, entry)
        best = [t for _, _, t in sorted(heap, key=lambda e: e[0], reverse=True)] if n > 0 else []
        return [
            InfluencerRow(
                handle=t.author.handle,
                name=t.author.name,
                source=t.author.source,
                tier=t.author.tier,
                followers=t.author.followers,
                influence=t.influence,
                bot=t.author.bot,
                negative=t.negative,
                mentions=t.mentions,
                last_text=t.author.last_text,
                last_at=t.author.last_at,
                watch_role=t.author.watch_role,
            )
            for t in best
        ]

    def _tally(self, rec: _Author, now: datetime) -> _Tally | None:
        horizon = (now - self.window).timestamp()
        # late posts may sit after newer ones: filter rather than cut at the first recent one
        posts = rec.posts = [p for p in rec.posts[-_MAX_POSTS:] if p[0] >= horizon]
        if not posts:
            return None
        mentions = len(posts)
        negative = sum(p[1] for p in posts)
        influence = max(p[2] for p in posts)
        rank = influence * (0.5 + negative / mentions) + (WATCH_BONUS if rec.watch_role else 0.0)
        return _Tally(rec, mentions, negative, influence, rank)

    def _forget_silent(self, now: datetime) -> None:
        horizon = now - self.window
        self._authors = {k: a for k, a in self._authors.items() if a.last_at >= horizon}

    def _prune(self, now: datetime) -> None:
        """Forget the silent; if still over the bound, keep the ``max_authors`` best ranked."""
        self._forget_silent(now)
        if len(self._authors) <= self.max_authors:
            return
        horizon = (now - self.window).timestamp()
        ranks = []
        for rec in self._authors.values():
            posts = rec.posts
            if len(posts) == 1:  # most authors of a storm post once: their rank without a tally
                at, negative, influence = posts[0]
                bonus = WATCH_BONUS if rec.watch_role else 0.0
                ranks.append(influence * (0.5 + negative) + bonus if at >= horizon else -1.0)
            else:
                tally = self._tally(rec, now)
                ranks.append(tally.rank if tally else -1.0)
        # the max_authors best ranked, ties at the cut going to the larger key (as a heap of
        # (rank, key) pairs would keep them): the cut found by a partition, not a heap over every author
        values = np.array(ranks)
        cut = float(np.partition(values, len(values) - self.max_authors)[len(values) - self.max_authors])
        above = values > cut
        room = self.max_authors - int(above.sum())
        keys = list(self._authors)
        at_cut = sorted((keys[i] for i in np.flatnonzero(values == cut)), reverse=True)[:room]
        keep = {keys[i] for i in np.flatnonzero(above)} | set(at_cut)
        self._authors = {k: a for k, a in self._authors.items() if k in keep}
