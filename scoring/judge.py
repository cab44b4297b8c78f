"""The desk's judgement of what mentions mean: who speaks (influence, bot-likelihood), who copies whom
(copy-paste waves), which words surge, whether the volume is a spike, and the level of each topic.

One ``Judge`` per desk holds that state: desk-wide a ``CopyPasteIndex``, an ``InfluenceScorer`` and a
``BotScorer``; per topic a ``SpikeDetector``, ``SurgingTerms``, a ``LevelTracker``, an ``Involvement``
(who of note took part) and an ``AuthorTable`` (who matters now). The Pipeline drives it in three steps:

- ``judge_batch(items)``, while the batch's sentiment is being scored: per mention O(1) apart from the
  clustering's flat cost (~100 µs); returns the ``scores`` each ScoredMention carries;
- ``settle(batch)``, once the sentiment is known: what depends on it (big accounts that are negative,
  each author's negativity);
- ``assess(at, figures, real)``, per snapshot: the volume buckets closed since the last call go through
  the detector, then the level, the copy-paste waves, and the tables the wall shows. The costly tables
  (surging terms are O(vocabulary), the author ranking O(authors)) are recomputed on a schedule of real
  time (``TERMS_EVERY``, ``VOICES_EVERY``) and cached in between.

A mention sent again (``Mention.revision``: edited, or its author's profile arrived) is judged again
from what it now says of its author, in the wave its first version joined, but is not added again to
what counts posts (clusters, posting rates, surging terms, the copy-paste share): the author table takes
the new profile and the post's new standing in place of the old.

The Pipeline calls all three from one worker thread, in order, so none of this runs on the event loop;
every public method also takes the judge's lock, so a call from another thread (the final snapshot at
stop) never meets a half-updated state.
"""

from __future__ import annotations

import heapq
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from tocsin.config import reasons as r
from tocsin.config.settings import ScoringSettings, Settings, TopicSettings
from tocsin.scoring.bots import BotScore, BotScorer
from tocsin.scoring.clusters import CopyPasteIndex, normalise_plain, without_links
from tocsin.scoring.detector import Anomaly, SpikeDetector
from tocsin.scoring.influence import Influence, InfluenceScorer
from tocsin.scoring.levels import (
    INFLUENCER_NEGATIVE,
    Involvement,
    LevelState,
    LevelTracker,
    TopicSignals,
    volume_ratio,
)
from tocsin.scoring.recent import RecentKeys
from tocsin.scoring.snapshot import ClusterRow, InfluencerRow, TermRow
from tocsin.scoring.trends import SurgingTerms, terms_of_plain
from tocsin.scoring.voices import AuthorTable
from tocsin.sources.model import Mention

INVOLVEMENT_WINDOW = timedelta(hours=1)
ANOMALY_SPAN = timedelta(minutes=15)
"""A topic's anomaly is the detector's highest score over this span of closed buckets."""
COPY_SHARE_WINDOW = timedelta(minutes=15)
PEAK_SPAN = timedelta(hours=3)
"""A topic's peak rate is the highest of this span (a crisis long past its peak steps down)."""
CAMPAIGN_ACTIVE = timedelta(hours=1)
"""A copy-paste wave weighs on the level while it posted within this span (it stays listed for the
clustering window, six hours by default)."""
INFLUENCERS_TOP = 10
CLUSTERS_TOP = 5
BIG_TIERS = frozenset({"macro", "mega"})
TEXT_READ = 2000
"""Characters of a post the waves and the surging terms read (a bounded cost for walls of text)."""


@dataclass(frozen=True, slots=True)
class Schedule:
    """When a cached table is due again: every ``real_s`` real seconds; on a fast desk clock (a replay
    plays hours a second) also after ``desk_s`` of desk time, but not more often than ``min_real_s``."""

    real_s: float
    desk_s: float
    min_real_s: float

    def due(self, last: tuple[float, float] | None, real: float, desk: float) -> bool:
        if last is None:
            return True
        real_gone, desk_gone = real - last[0], desk - last[1]
        return real_gone >= self.real_s or (desk_gone >= self.desk_s and real_gone >= self.min_real_s)


TERMS_EVERY = Schedule(real_s=15.0, desk_s=300.0, min_real_s=0.5)
VOICES_EVERY = Schedule(real_s=1.0, desk_s=60.0, min_real_s=0.1)
"""The influencer table and the copy-paste wave table (and the pruning of finished waves)."""


@dataclass(frozen=True, slots=True)
class Judged:
    """One mention's judgement: the JSON ``scores`` it carries, and what ``settle`` needs back."""

    influence: Influence
    bot: BotScore
    scores: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class TopicFigures:
    """What a topic's windows say at the assessment time (read on the loop, handed to the judge)."""

    rate_per_min: float
    unique_authors: int
    negative_share: float | None
    usual_negative_share: float | None
    closed_from: datetime | None = None
    """Start of the first volume bucket closed since the last assessment (None: none closed)."""
    closed: tuple[int, ...] = ()
    """Mentions in each bucket closed since the last assessment, oldest first (empty buckets as 0)."""


@dataclass(frozen=True, slots=True)
class VolumeJudgement:
    """The detector's word on a topic's volume at one assessment: the one baseline and the one "how
    unusual" the wall, the level and its reasons all use."""

    baseline_per_min: float | None
    """The usual rate now (None while the detector is still learning it)."""
    ratio: float | None
    """The rate now against that baseline (``volume_ratio``), None with it."""
    anomaly: float
    """0–1: the highest score since the storm under way was called, else over ``ANOMALY_SPAN``."""
    surprise: str | None
    """The detector's words for it ("storm since 09:41: above the usual … (last 15 min)")."""
    storm_since: datetime | None
    """When the detector called the storm under way (None: no storm)."""


@dataclass(frozen=True, slots=True)
class TopicJudgement:
    """A topic's judgement at one assessment."""

    state: LevelState
    volume: VolumeJudgement
    influencers: tuple[InfluencerRow, ...]
    terms: tuple[TermRow, ...]
    clusters: tuple[ClusterRow, ...]
    copy_paste_share: float


def blank_judgement(at: datetime) -> TopicJudgement:
    """A topic's judgement before the judge has seen anything: calm since ``at``, nothing to show (the
    desk's first snapshot while the judge worker starts)."""
    return TopicJudgement(
        state=LevelState("calm", (), False, "calm", at),
        volume=VolumeJudgement(None, None, 0.0, None, None),
        influencers=(),
        terms=(),
        clusters=(),
        copy_paste_share=0.0,
    )


@dataclass(slots=True)
class _Wave:
    """What the judge adds to a copy-paste cluster: its topics and its members' bot-likelihood."""

    topics: set[str] = field(default_factory=set)
    bot_sum: float = 0.0
    judged: int = 0
    big: bool = False
    """Reached ``clusters.min_size`` (shown, and counted as a campaign)."""


@dataclass(frozen=True, slots=True)
class _WaveTable:
    """A topic's copy-paste waves as last refreshed: the rows shown, and its likely campaigns."""

    rows: tuple[ClusterRow, ...]
    campaigns: tuple[tuple[datetime, int], ...]
    """(last seen, accounts) of each likely campaign among the topic's live waves."""


_NO_WAVES = _WaveTable((), ())


class _CopyShare:
    """Per-minute (mentions, copies) of one topic over a sliding window."""

    def __init__(self, window: timedelta) -> None:
        self.window_s = window.total_seconds()
        self._minutes: deque[list[float]] = deque()  # [minute start, mentions, copies]

    def add(self, t: float, copy: bool) -> None:
        minute = t - t % 60
        if self._minutes and self._minutes[-1][0] >= minute:
            slot = self._minutes[-1]  # a late arrival counts in the newest minute
        else:
            slot = [minute, 0.0, 0.0]
            self._minutes.append(slot)
            while self._minutes[0][0] < minute - self.window_s - 60:
                self._minutes.popleft()
        slot[1] += 1
        slot[2] += copy

    def share(self, now: float) -> float:
        since = now - self.window_s - 60
        total = copies = 0.0
        for start, n, c in reversed(self._minutes):
            if start < since:
                break
            total += n
            copies += c
        return copies / total if total else 0.0


class _TopicJudge:
    __slots__ = (
        "authors",
        "copies",
        "detector",
        "fed_upto",
        "influencers",
        "involvement",
        "peaks",
        "recent",
        "term_rows",
        "terms",
        "tracker",
    )

    def __init__(self, topic: TopicSettings, scoring: ScoringSettings, tz: tzinfo, start: datetime) -> None:
        self.detector = SpikeDetector(scoring.volume.bucket, tz=tz)
        self.terms = SurgingTerms(scoring.trends, ignore=own_names(topic))
        self.tracker = LevelTracker(scoring.levels, start=start)
        self.involvement = Involvement(INVOLVEMENT_WINDOW)
        self.authors = AuthorTable()
        self.copies = _CopyShare(COPY_SHARE_WINDOW)
        self.recent: deque[Anomaly] = deque()
        self.peaks: deque[list[float]] = deque()  # [bucket start, highest rate seen in it]
        self.fed_upto: datetime | None = None
        self.influencers: tuple[InfluencerRow, ...] = ()
        self.term_rows: tuple[TermRow, ...] = ()

    def feed_detector(self, fig: TopicFigures, bucket: timedelta, at: datetime) -> VolumeJudgement:
        """Judge the newly closed buckets; the baseline, ratio, anomaly and words at ``at``."""
        if fig.closed_from is not None:
            start = fig.closed_from
            for count in fig.closed:
                if self.fed_upto is None or start >= self.fed_upto:  # never a bucket twice, never backward
                    self.recent.append(self.detector.update(start, count))
                    self.fed_upto = start + bucket
                start += bucket
        horizon = at - ANOMALY_SPAN
        while self.recent and self.recent[0].at < horizon:
            self.recent.popleft()
        baseline = self.detector.expected_rate(at)
        ratio = None if baseline is None else volume_ratio(fig.rate_per_min, baseline)
        if not self.recent:
            return VolumeJudgement(baseline, ratio, 0.0, None, None)
        last = self.recent[-1]
        if last.storm_since is not None:
            since = last.storm_since.astimezone(self.detector.tz)
            storm = r.VOLUME_STORM_CALMING if last.ratio < 1.5 else r.VOLUME_STORM
            words = r.say(storm, time=f"{since:%H:%M}", note=last.surprise)
            return VolumeJudgement(baseline, ratio, last.storm_peak, words, last.storm_since)
        # no storm: how close the last minutes came to calling one (a storm just over does not count)
        top = max((a for a in self.recent if a.storm_since is None), key=lambda a: a.score, default=last)
        if top.score <= 0.0 or top.storm_since is not None:  # nothing unusual: the latest bucket's words
            return VolumeJudgement(baseline, ratio, 0.0, last.surprise, None)
        return VolumeJudgement(baseline, ratio, top.score, top.surprise, None)

    def peak(self, rate: float, desk: float, bucket_s: float) -> float:
        """Note the rate now; the highest of the last ``PEAK_SPAN`` (one sample per bucket kept)."""
        start = desk - desk % bucket_s
        peaks = self.peaks
        if peaks and peaks[-1][0] >= start:
            peaks[-1][1] = max(peaks[-1][1], rate)
        else:
            peaks.append([start, rate])
        horizon = desk - PEAK_SPAN.total_seconds()
        while peaks[0][0] < horizon:
            peaks.popleft()
        return max(p[1] for p in peaks)


def own_names(topic: TopicSettings) -> list[str]:
    """The keywords that name the topic itself (its name, its id, their spellings): always in its
    mentions, so never news. Other keywords (a storm's hashtag the desk was told to follow, like
    ``#briochegate``) surge like any term: that they surge is the news."""

    def squash(text: str) -> str:
        return "".join(c for c in text.casefold() if c.isalnum())

    names = {squash(topic.id), squash(topic.label)}
    return [topic.label, *(k for k in topic.keywords if squash(k) in names)]


def desk_zone(name: str | None) -> tzinfo:
    """The desk's time zone (IANA name), else this machine's; UTC if the name is unknown."""
    if name:
        import zoneinfo

        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            return UTC
    return datetime.now().astimezone().tzinfo or UTC


class Judge:
    """All the desk's judgement state; see the module docstring for how it is driven."""

    def __init__(
        self,
        settings: Settings,
        *,
        start: datetime,
        platforms: Mapping[str, str] | None = None,
    ) -> None:
        """``start``: desk time now; ``platforms``: source id → source type (for influence reach)."""
        scoring = settings.scoring
        self.settings = settings
        self.bucket = scoring.volume.bucket
        self.clusters = CopyPasteIndex(scoring.clusters)
        self.influence = InfluenceScorer(scoring.influence)
        self.bots = BotScorer(scoring.bots)
        self._min_size = max(1, scoring.clusters.min_size)
        self._likely_bot = scoring.bots.flag_at
        self._platforms = dict(platforms or {s.id: s.type for s in settings.sources})
        tz = desk_zone(settings.desk.timezone)
        self.topics = {t.id: _TopicJudge(t, scoring, tz, start) for t in settings.topics}
        self._waves: dict[int, _Wave] = {}
        self._wave_of: RecentKeys[int] = RecentKeys()
        """hash((source, uid)) → the wave a recent mention joined, for judging its revisions alike."""
        self._lock = threading.Lock()
        self._last_at: datetime | None = None
        self._terms_done: tuple[float, float] | None = None
        self._voices_done: tuple[float, float] | None = None
        self._wave_rows: dict[str, _WaveTable] | None = None
        # level changes waiting to be told; a deque (atomic appends and pops) so that taking them from
        # the loop never waits for the judge's lock, which a batch being judged may hold for a while
        self._changes: deque[tuple[str, LevelState, datetime]] = deque()

    # --- per batch ----------------------------------------------------------------------------

    def judge_batch(self, items: Sequence[tuple[Mention, tuple[str, ...]]]) -> list[Judged]:
        """Judge each mention (with its topics): influence, bot-likelihood, copy-paste wave, terms."""
        with self._lock:
            out: list[Judged] = []
            run: list[tuple[Mention, tuple[str, ...]]] = []
            for m, tids in items:
                if m.revision is None:
                    run.append((m, tids))
                    continue
                if run:  # the new posts before it, in order (a revision reads the waves as they are now)
                    self._judge_new(run, out)
                    run = []
                created, received = m.created_at, m.received_at
                t = created if created <= received else received
                out.append(self._rejudge(m, tids, f"{m.source}\x1f{m.author_key}", t))
            if run:
                self._judge_new(run, out)
            return out

    def _judge_new(self, items: Sequence[tuple[Mention, tuple[str, ...]]], out: list[Judged]) -> None:
        """Judge new posts (the lock is held): their copy-paste waves found for all of them at once, each
        text read once for the waves and the surging terms."""
        observe, score_bot = self.bots.observe, self.bots.score
        score_influence = self.influence.score_mention
        platforms, topics, waves, min_size = self._platforms, self.topics, self._waves, self._min_size
        times: list[datetime] = []
        whos: list[str] = []
        plains: list[str] = []
        for m, _ in items:
            created, received = m.created_at, m.received_at
            times.append(created if created <= received else received)
            whos.append(f"{m.source}\x1f{m.author_key}")  # the same handle on two platforms is two people
            plains.append(without_links(m.text[:TEXT_READ]))
        infos = self.clusters.add_many(
            [(who, m.text, t) for who, (m, _), t in zip(whos, items, times, strict=True)],
            norms=[normalise_plain(p) for p in plains],
        )
        for (m, tids), t, who, plain, info in zip(items, times, whos, plains, infos, strict=True):
            handle = m.author_key  # a Bluesky author is known by DID before their handle arrives
            wave = info if info is not None and info.size >= min_size else None
            inf = score_influence(m, platform=platforms.get(m.source))
            campaign = wave.authors if wave is not None else None
            bot = score_bot(m.author, t, recent_posts=observe(who, t), campaign_accounts=campaign)
            scores: dict[str, Any] = {"influence": inf.to_json(), "bot": bot.to_json()}
            if wave is not None:
                scores["cluster"] = {"id": wave.id, "size": wave.size, "authors": wave.authors}
            if info is not None:
                self._wave_of.put(hash((m.source, m.uid)), info.id)
                stats = waves.get(info.id)
                if stats is None:
                    stats = waves[info.id] = _Wave()
                stats.topics.update(tids)
                stats.bot_sum += bot.score
                stats.judged += 1
                stats.big = stats.big or wave is not None
            ts = t.timestamp()
            terms = terms_of_plain(plain, m.hashtags)
            author = f"{m.source}:{m.author.handle.casefold()}"
            for tid in tids:
                topic = topics[tid]
                topic.terms.add_terms(terms, ts, author)
                topic.copies.add(ts, info is not None)
                if inf.watch_role:
                    topic.involvement.add(inf.watch_role, handle, t)
            out.append(Judged(inf, bot, scores))

    def _rejudge(self, m: Mention, tids: Sequence[str], who: str, t: datetime) -> Judged:
        """Judge a revision again (the lock is held): its author as now known, its first version's wave."""
        cid = self._wave_of.get(hash((m.source, m.uid)))
        cluster = self.clusters.cluster(cid) if cid is not None else None
        wave = cluster if cluster is not None and cluster.size >= self._min_size else None
        inf = self.influence.score_mention(m, platform=self._platforms.get(m.source))
        bot = self.bots.score(
            m.author,
            t,
            recent_posts=self.bots.recent(who, t),
            campaign_accounts=wave.authors if wave is not None else None,
        )
        scores: dict[str, Any] = {"influence": inf.to_json(), "bot": bot.to_json()}
        if wave is not None:
            scores["cluster"] = {"id": wave.id, "size": wave.size, "authors": wave.authors}
        if inf.watch_role:  # a profile that arrived late may say who this is: the watchlist counts accounts
            for tid in tids:
                self.topics[tid].involvement.add(inf.watch_role, m.author_key, t)
        return Judged(inf, bot, scores)

    def settle(self, batch: Sequence[tuple[Mention, tuple[str, ...], Judged, str]]) -> None:
        """Take in each judged mention's sentiment label: negative big accounts, authors' negativity."""
        with self._lock:
            topics = self.topics
            for m, tids, judged, label in batch:
                created, received = m.created_at, m.received_at
                t = created if created <= received else received
                negative = label == "negative"
                big_negative = negative and judged.influence.tier in BIG_TIERS
                revised = m.revision is not None
                for tid in tids:
                    topic = topics[tid]
                    if revised:
                        topic.authors.revise(m, t, judged.influence, judged.bot.score, negative)
                    else:
                        topic.authors.add(m, t, judged.influence, judged.bot.score, negative)
                    if big_negative:
                        topic.involvement.add(INFLUENCER_NEGATIVE, m.author_key, t)

    # --- per snapshot -------------------------------------------------------------------------

    def assess(
        self, at: datetime, figures: Mapping[str, TopicFigures], real: float, *, fresh: bool = False
    ) -> dict[str, TopicJudgement]:
        """Judge every topic at desk time ``at`` from its figures; ``real`` is a monotonic real time in
        seconds (for the table schedules); ``fresh`` recomputes every table now."""
        with self._lock:
            if self._last_at is not None and at < self._last_at:
                at = self._last_at  # desk time never runs backward for the trackers
            self._last_at = at
            desk = at.timestamp()
            self.clusters.expire(at)
            voices_due = fresh or VOICES_EVERY.due(self._voices_done, real, desk)
            terms_due = fresh or TERMS_EVERY.due(self._terms_done, real, desk)
            if voices_due:
                self._voices_done = (real, desk)
                self._forget_finished_waves()
            if terms_due:
                self._terms_done = (real, desk)
            if voices_due or self._wave_rows is None:
                # the wave table on the tables' schedule, not at every snapshot (it looks at every wave)
                self._wave_rows = self._live_waves()
            waves = self._wave_rows
            out: dict[str, TopicJudgement] = {}
            for tid, fig in figures.items():
                topic = self.topics[tid]
                volume = topic.feed_detector(fig, self.bucket, at)
                roles, influential = topic.involvement.signals(at)
                table = waves.get(tid, _NO_WAVES)
                # A wave weighs on the level when its accounts look automated and it is still posting:
                # people quoting a post word for word (a retweet with its "RT @…") are an echo, not a
                # campaign; they stay listed, after the likely campaigns.
                active = at - CAMPAIGN_ACTIVE
                campaign = max((n for last, n in table.campaigns if last >= active), default=0)
                state = topic.tracker.update(
                    at,
                    TopicSignals(
                        rate_per_min=fig.rate_per_min,
                        baseline_per_min=volume.baseline_per_min,
                        anomaly=volume.anomaly,
                        anomaly_note=volume.surprise,
                        storm=volume.storm_since is not None,
                        unique_authors=fig.unique_authors,
                        negative_share=fig.negative_share,
                        usual_negative_share=fig.usual_negative_share,
                        watchlist=roles,
                        influencers_negative=influential,
                        campaign_accounts=campaign,
                        peak_rate_per_min=topic.peak(fig.rate_per_min, desk, self.bucket.total_seconds()),
                    ),
                )
                if state.changed:
                    self._changes.append((tid, state, at))
                if voices_due:
                    topic.influencers = tuple(topic.authors.top(at, INFLUENCERS_TOP))
                if terms_due:
                    topic.term_rows = tuple(
                        TermRow(
                            term=s.term.removeprefix("#"),
                            kind="hashtag" if s.is_hashtag else "word",
                            count=s.recent,
                            usual=s.expected,
                            surge=s.score,
                        )
                        for s in topic.terms.top(at)
                    )
                out[tid] = TopicJudgement(
                    state=state,
                    volume=volume,
                    influencers=topic.influencers,
                    terms=topic.term_rows,
                    clusters=table.rows,
                    copy_paste_share=topic.copies.share(desk),
                )
            return out

    def take_changes(self) -> list[tuple[str, LevelState, datetime]]:
        """The level changes found since the last call, oldest first: ``(topic id, state, desk time)``.

        Kept by the judge rather than only returned by ``assess``, so that a change is never lost when
        whoever asked for the assessment stopped waiting for it (the publisher cancelled at stop)."""
        changes = []
        while self._changes:
            changes.append(self._changes.popleft())
        return changes

    def _live_waves(self) -> dict[str, _WaveTable]:
        """Each topic's wave table: its ``CLUSTERS_TOP`` live copy-paste waves of at least
        ``clusters.min_size`` — likely campaigns (mean bot-likelihood at ``bots.flag_at`` or more) first,
        then by size — and when each of its likely campaigns last posted, with how many accounts.
        O(waves), with rows made only for the waves shown."""
        likely, min_size, summary = self._likely_bot, self._min_size, self.clusters.summary
        ranked: dict[str, list[tuple[bool, int, int, int]]] = {}
        campaigns: dict[str, list[tuple[datetime, int]]] = {}
        for cid, stats in self._waves.items():
            if not stats.big:
                continue
            found = summary(cid)
            if found is None or found[0] < min_size:
                continue
            size, authors, last_seen = found
            is_campaign = stats.judged > 0 and stats.bot_sum / stats.judged >= likely
            key = (not is_campaign, -size, -authors, cid)
            for tid in stats.topics:
                ranked.setdefault(tid, []).append(key)
                if is_campaign:
                    campaigns.setdefault(tid, []).append((last_seen, authors))
        return {
            tid: _WaveTable(
                tuple(self._wave_row(key[3]) for key in heapq.nsmallest(CLUSTERS_TOP, keys)),
                tuple(campaigns.get(tid, ())),
            )
            for tid, keys in ranked.items()
        }

    def _wave_row(self, cid: int) -> ClusterRow:
        c, stats = self.clusters.cluster(cid), self._waves[cid]
        assert c is not None
        return ClusterRow(
            id=c.id,
            size=c.size,
            authors=c.authors,
            first_seen=c.first_seen,
            last_seen=c.last_seen,
            text=c.representative,
            bot_mean=stats.bot_sum / stats.judged if stats.judged else 0.0,
        )

    def _forget_finished_waves(self) -> None:
        """Drop the judge's notes on clusters whose members have all expired (bounded memory)."""
        alive = self.clusters.summary
        self._waves = {cid: w for cid, w in self._waves.items() if alive(cid) is not None}
