"""Per-topic sliding windows on the desk's clock: volume buckets, rates,
unique authors (per hour and per bucket), sentiment shares, their trend and their usual value.

Mentions are counted in fixed buckets (``scoring.volume.bucket``) keyed by the time the author posted
them, floored on the bucket, in a ring that keeps ``scoring.volume.history``. Adding a mention is O(1)
and memory does not grow with the number seen: every figure is a sum over a few buckets, computed when
a snapshot is built, not per mention.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import timedelta

from tocsin.config.settings import VolumeSettings

DAY_S = 86_400
AUTHORS_SPAN_S = 3_600
TREND_STEP_S = 300
TREND_SPAN_S = 3_600
VOLUME_SPAN_S = 3_600
USUAL_SPAN_S = DAY_S
"""The usual negative share is measured over the day before the sentiment window."""
USUAL_MIN_SCORED = 20
"""Fewer scored mentions than this in that day: the usual share is unknown (None)."""
_LABEL_INDEX = {"negative": 0, "neutral": 1, "positive": 2}
_AUTHORS_MIN_SWEEP = 4096
_AUTHORS_SWEEP_GROWTH = 0.25
"""The authors table is swept once it has grown by this share: a storm's hour holds ~10⁵ authors, and
letting it double first (2 × the live authors, each a handle and a slot) was a quarter of the desk
process's growth over a long shift; sweeping at +25 % costs ~5 dict steps a new author instead of ~2."""


class TopicWindows:
    """The counting state of one topic. Times are epoch seconds (UTC) on the desk's clock."""

    def __init__(
        self,
        volume: VolumeSettings,
        sentiment_window: timedelta,
        started_at: float,
    ) -> None:
        self.bucket_s = max(1, int(volume.bucket.total_seconds()))
        # keep at least what the widest view needs (an hour of sparkline, the rate window)
        span = max(volume.history.total_seconds(), VOLUME_SPAN_S, volume.rate_window.total_seconds())
        self.size = math.ceil(span / self.bucket_s) + 1
        self.rate_window_s = max(float(self.bucket_s), volume.rate_window.total_seconds())
        self.sentiment_window_s = max(float(self.bucket_s), sentiment_window.total_seconds())
        n = self.size
        self._ids = [-1] * n  # the absolute bucket number each slot holds
        self._count = [0] * n
        self._unique = [0] * n  # distinct authors per slot (counted in posting order)
        self._label = ([0] * n, [0] * n, [0] * n)  # negative, neutral, positive per slot
        self._newest = -1
        self.history_start = started_at
        """Since when the counts are known: desk start, or earlier with backfilled mentions."""
        self.mentions = 0
        """Matched mentions since the desk started."""
        self._author_last: dict[str, int] = {}  # handle → bucket where last seen
        self._author_buckets: dict[int, int] = {}  # bucket → authors last seen in it
        self._author_sweep_at = _AUTHORS_MIN_SWEEP
        self._bucket = -1
        """The bucket number last made in ``add_many``: the table of authors keeps that one object as the
        bucket of every author last seen in it (a storm hour holds ~10⁵ authors in ~60 buckets: an int
        object each was a fifth of the table's memory)."""
        self._usual_cache: tuple[int, float | None] = (-1, None)
        self.first_bucket: int | None = None
        """The earliest bucket any mention was counted in (None before the first)."""

    # --- ingest ---------------------------------------------------------------------------------

    def add(self, t: float, author: str, label: str) -> None:
        """Count one mention posted at ``t`` by ``author`` with sentiment ``label``. O(1)."""
        self.add_many([(t, author, label)])

    def add_many(self, entries: Sequence[tuple[float, str, str]]) -> None:
        """Count mentions given as ``(posted at, author handle, sentiment label)``; O(1) each."""
        bs, size = self.bucket_s, self.size
        ids, count, unique, labels = self._ids, self._count, self._unique, self._label
        newest = self._newest
        last_seen = self._author_last
        seen_get = last_seen.get
        per_bucket = self._author_buckets
        in_bucket = per_bucket.get
        label_index = _LABEL_INDEX.get
        oldest_t = self.history_start
        first = self.first_bucket
        shared = self._bucket  # the last bucket number made, one int object for all its authors
        self.mentions += len(entries)
        for t, author, label in entries:
            b = int(t // bs)
            if b == shared:
                b = shared
            else:
                shared = b
            if b > newest:
                newest = b
            elif b <= newest - size:
                continue  # older than the kept history: counted in ``mentions`` only
            i = b % size
            if ids[i] != b:
                # the slot holds a bucket one ring-turn older: reuse it
                ids[i] = b
                count[i] = 0
                unique[i] = 0
                for arr in labels:
                    arr[i] = 0
            count[i] += 1
            li = label_index(label)
            if li is not None:
                labels[li][i] += 1
            if t < oldest_t:
                oldest_t = t
            if first is None or b < first:
                first = b
            if author:
                # each author counts once, in the bucket where last seen (late posts never move it back);
                # per bucket, an author counts once in each bucket they post in, in posting order (a
                # late post into a bucket before their latest one is not told apart, so not counted)
                was = seen_get(author)
                if was is None or b > was:
                    last_seen[author] = b
                    per_bucket[b] = in_bucket(b, 0) + 1
                    unique[i] += 1
                    if was is not None:
                        per_bucket[was] -= 1
        self._newest = newest
        self._bucket = shared
        self.history_start = oldest_t
        self.first_bucket = first
        if len(last_seen) >= self._author_sweep_at:
            self._sweep_authors()

    def _sweep_authors(self) -> None:
        """Forget authors not seen for an hour; runs when the table has grown by ``_AUTHORS_SWEEP_GROWTH``
        since the last sweep (amortised O(1)).

        When it runs changes no figure: an author forgotten or not differs only in buckets over an hour
        older than the newest mention, and every figure of authors (``unique_authors``,
        ``unique_volume``) reads the hour before ``now``, never before the newest mention."""
        horizon = self._newest - AUTHORS_SPAN_S // self.bucket_s
        self._author_last = {a: b for a, b in self._author_last.items() if b > horizon}
        self._author_buckets = {b: n for b, n in self._author_buckets.items() if b > horizon and n}
        kept = len(self._author_last)
        self._author_sweep_at = max(_AUTHORS_MIN_SWEEP, kept + int(kept * _AUTHORS_SWEEP_GROWTH))

    # --- figures --------------------------------------------------------------------------------

    def _sum(self, arr: list[int], t0: float, t1: float) -> float:
        """Sum of ``arr`` over [t0, t1]; the buckets at either end count for the part inside."""
        if t1 <= t0:
            return 0.0
        bs = self.bucket_s
        b0, b1 = int(t0 // bs), int(t1 // bs)
        lo = max(b0, self._newest - self.size + 1)
        ids, size = self._ids, self.size
        total = 0.0
        for b in range(lo, b1 + 1):
            i = b % size
            if ids[i] != b:
                continue
            v = arr[i]
            if not v:
                continue
            start, end = b * bs, (b + 1) * bs
            if start >= t0 and end <= t1:
                total += v
            else:
                total += v * (min(end, t1) - max(start, t0)) / bs
        return total

    def rate_per_min(self, now: float) -> float:
        """Mentions per minute over the last rate window."""
        return self._sum(self._count, now - self.rate_window_s, now) * 60.0 / self.rate_window_s

    def unique_authors(self, now: float) -> int:
        """Distinct authors seen in the last hour (to the bucket)."""
        now_b = int(now // self.bucket_s)
        n = max(1, AUTHORS_SPAN_S // self.bucket_s)
        in_bucket = self._author_buckets.get
        return sum(in_bucket(b, 0) for b in range(now_b - n + 1, now_b + 1))

    def negative_share(self, now: float) -> float | None:
        """Negative share over the sentiment window; None when nothing there was scored."""
        t0 = now - self.sentiment_window_s
        neg, neu, pos = (self._sum(arr, t0, now) for arr in self._label)
        total = neg + neu + pos
        return neg / total if total > 0 else None

    def usual_negative_share(self, now: float) -> float | None:
        """The negative share over the day before the sentiment window (what "souring" is measured
        against); None with fewer than ``USUAL_MIN_SCORED`` scored mentions there. Cached per bucket."""
        now_b = int(now // self.bucket_s)
        cached_b, cached = self._usual_cache
        if cached_b == now_b:
            return cached
        t1 = now - self.sentiment_window_s
        t0 = max(t1 - USUAL_SPAN_S, self.history_start)
        neg, neu, pos = (self._sum(arr, t0, t1) for arr in self._label)
        total = neg + neu + pos
        value = neg / total if total >= USUAL_MIN_SCORED else None
        self._usual_cache = (now_b, value)
        return value

    def sentiment_shares(self, now: float) -> dict[str, float]:
        """Shares of negative / neutral / positive over the sentiment window (scored mentions only)."""
        t0 = now - self.sentiment_window_s
        neg, neu, pos = (self._sum(arr, t0, now) for arr in self._label)
        total = neg + neu + pos
        if total <= 0:
            return {"negative": 0.0, "neutral": 0.0, "positive": 0.0}
        return {"negative": neg / total, "neutral": neu / total, "positive": pos / total}

    def negative_trend(self, now: float) -> tuple[float, ...]:
        """Negative share per 5-minute step over the last hour, oldest first (0 where nothing was scored)."""
        out = []
        steps = TREND_SPAN_S // TREND_STEP_S
        for k in range(steps, 0, -1):
            t0, t1 = now - k * TREND_STEP_S, now - (k - 1) * TREND_STEP_S
            neg, neu, pos = (self._sum(arr, t0, t1) for arr in self._label)
            total = neg + neu + pos
            out.append(neg / total if total > 0 else 0.0)
        return tuple(out)

    def volume(self, now: float) -> tuple[int, ...]:
        """Mentions per bucket over the last hour, oldest first, ending with the current bucket."""
        return self._last_hour(self._count, now)

    def unique_volume(self, now: float) -> tuple[int, ...]:
        """Distinct authors per bucket over the last hour, aligned with ``volume``."""
        return self._last_hour(self._unique, now)

    def _last_hour(self, arr: list[int], now: float) -> tuple[int, ...]:
        now_b = int(now // self.bucket_s)
        n = max(1, VOLUME_SPAN_S // self.bucket_s)
        ids, size = self._ids, self.size
        return tuple(arr[b % size] if ids[b % size] == b else 0 for b in range(now_b - n + 1, now_b + 1))

    def counts(self, first: int, stop: int) -> list[int]:
        """Mentions in buckets ``first`` … ``stop - 1`` (absolute bucket numbers; 0 where none is kept)."""
        ids, counts, size = self._ids, self._count, self.size
        return [counts[b % size] if ids[b % size] == b else 0 for b in range(first, stop)]
