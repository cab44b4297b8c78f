"""What the pipeline publishes: immutable snapshots (~10 Hz), beside the scored mentions (the shared
model, ``sources/model.py``: the journal archives them and attached desks read them back).

The TUI and the headless writer only read these; they never reach into the pipeline's state.
The JSON forms are the public ones fixed by ARCHITECTURE.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal

from tocsin.config.i18n import _, number
from tocsin.config.reasons import shown
from tocsin.config.settings import Level
from tocsin.sources.base import SourceState, SourceStatus
from tocsin.sources.model import format_time


@dataclass(frozen=True, slots=True)
class InfluencerRow:
    """One author who matters in a topic now: reach × negativity over the recent window."""

    handle: str
    """Hostile text, like every field taken from a mention: display through tui/safe_text.py."""
    name: str | None
    source: str
    tier: str | None
    """``nano``…``mega``, None when the platform gives no follower count."""
    followers: int | None
    influence: int
    """0–100, the author's highest influence score in the window."""
    bot: float
    """0–1, the author's latest bot-likelihood."""
    negative: int
    """The author's negative mentions in the window."""
    mentions: int
    """The author's mentions in the window."""
    last_text: str
    last_at: datetime
    watch_role: str | None
    """``journalist``, ``activist``, ``official``… when on the watchlist."""

    def to_json(self) -> dict[str, Any]:
        return {
            "handle": self.handle,
            "name": self.name,
            "source": self.source,
            "tier": self.tier,
            "followers": self.followers,
            "influence": self.influence,
            "bot": round(self.bot, 3),
            "negative": self.negative,
            "mentions": self.mentions,
            "last_text": self.last_text,
            "last_at": format_time(self.last_at),
            "watch_role": self.watch_role,
        }


@dataclass(frozen=True, slots=True)
class TermRow:
    """A hashtag or word surging in a topic against its own usual use."""

    term: str
    """The word, or the hashtag without its ``#`` (hostile text)."""
    kind: Literal["hashtag", "word"]
    count: float
    """Recent uses (decayed, over about the last 15 minutes)."""
    usual: float
    """Uses expected over the same time from the term's usual rate."""
    surge: float
    """How far above usual (a Poisson-style z: higher grows faster)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "term": self.term,
            "kind": self.kind,
            "count": round(self.count, 1),
            "usual": round(self.usual, 2),
            "surge": round(self.surge, 2),
        }


@dataclass(frozen=True, slots=True)
class ClusterRow:
    """A copy-paste wave: near-identical mentions from many accounts."""

    id: int
    size: int
    """Live members (within the clustering window)."""
    authors: int
    """Distinct accounts among them."""
    first_seen: datetime
    last_seen: datetime
    text: str
    """The first member's text (hostile)."""
    bot_mean: float
    """Mean bot-likelihood of the members, 0–1."""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "size": self.size,
            "authors": self.authors,
            "first_seen": format_time(self.first_seen),
            "last_seen": format_time(self.last_seen),
            "text": self.text,
            "bot_mean": round(self.bot_mean, 3),
        }


@dataclass(frozen=True, slots=True)
class TopicSnapshot:
    id: str
    name: str
    rate_per_min: float
    """Mentions per minute over the rate window, on the desk's clock."""
    baseline_per_min: float | None
    """What is usual at this time: the volume detector's baseline (None while it learns)."""
    mentions: int
    """Matched mentions since the desk started (backfill included)."""
    unique_authors: int
    """Distinct authors over the last hour."""
    sentiment: Mapping[str, float]
    """Shares of negative / neutral / positive over the sentiment window (scored mentions only)."""
    volume: tuple[int, ...]
    """Mentions per bucket, oldest first, the last hour (the sparkline)."""
    negative_trend: tuple[float, ...]
    """Negative share per 5-minute step over the last hour, oldest first."""
    level: Level
    reasons: tuple[str, ...]
    anomaly: float = 0.0
    """The volume detector's score (0–1): the highest since the storm under way was called, else the
    highest of the last 15 minutes."""
    surprise: str | None = None
    """The detector's words for it ("storm since 09:41: above the usual for a Saturday 09:41 (last 15
    min)")."""
    ratio: float | None = None
    """The rate against ``baseline_per_min`` (``levels.volume_ratio``): the gauge and the reasons share it."""
    storm_since: datetime | None = None
    """When the volume detector called the storm under way (None: no storm)."""
    unique_volume: tuple[int, ...] = ()
    """Distinct authors per bucket, oldest first, the last hour (aligned with ``volume``)."""
    influencers: tuple[InfluencerRow, ...] = ()
    """The authors who matter most now, by influence × negativity, strongest first."""
    terms: tuple[TermRow, ...] = ()
    """Surging hashtags and words, strongest first."""
    clusters: tuple[ClusterRow, ...] = ()
    """Live copy-paste waves of at least ``clusters.min_size`` mentions, largest first."""
    copy_paste_share: float = 0.0
    """Share of the recent mentions that repeat another one."""
    level_since: datetime | None = None
    """When the current level was entered (desk time)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "rate_per_min": round(self.rate_per_min, 2),
            "baseline_per_min": None if self.baseline_per_min is None else round(self.baseline_per_min, 2),
            "mentions": self.mentions,
            "unique_authors": self.unique_authors,
            "sentiment": {k: round(v, 3) for k, v in self.sentiment.items()},
            "level": self.level,
            "level_since": None if self.level_since is None else format_time(self.level_since),
            "reasons": list(self.reasons),
            "ratio": None if self.ratio is None else round(self.ratio, 2),
            "anomaly": round(self.anomaly, 3),
            "surprise": self.surprise,
            "storm_since": None if self.storm_since is None else format_time(self.storm_since),
            "copy_paste_share": round(self.copy_paste_share, 3),
            "influencers": [r.to_json() for r in self.influencers],
            "terms": [r.to_json() for r in self.terms],
            "clusters": [r.to_json() for r in self.clusters],
        }


@dataclass(frozen=True, slots=True)
class Blindness:
    """The desk cannot see: every source still meant to deliver has stopped seeing (failed, cut off,
    never connected, or silent past its gap alarm). It stands above every level: a calm level from a
    blind desk only means that nothing arrived."""

    since: datetime
    """When the last source that still saw stopped seeing (desk time, aware UTC)."""
    sources: tuple[SourceStatus, ...]
    """The blind sources, each with its ``blind_since`` and ``blind_reason``."""
    last_mention_at: datetime | None
    """The newest arrival from any source (None: nothing has arrived since the desk started)."""

    def why(self) -> str:
        """``masto: no network · rss: server error 503`` in the desk's language, for people (source ids
        and errors are hostile text; ``to_json`` keeps the reasons in English)."""
        return " · ".join(f"{s.id}: {shown(s.blind_reason or '')}" for s in self.sources)

    def to_json(self) -> dict[str, Any]:
        return {
            "since": format_time(self.since),
            "last_mention_at": None if self.last_mention_at is None else format_time(self.last_mention_at),
            "sources": {
                s.id: {"since": format_time(s.blind_since), "reason": s.blind_reason}
                for s in self.sources
                if s.blind_since is not None
            },
        }


@dataclass(frozen=True, slots=True)
class Behind:
    """How far the desk is behind its sources: its figures are as of ``seconds`` of desk time ago."""

    mentions: int
    """Mentions handed to the desk and not yet counted."""
    seconds: float
    """Desk time between now and the newest mention counted (what the figures are as of)."""

    def words(self) -> str:
        """ "behind: 3,400 mentions waiting, figures 12 s old" (plain words for the header)."""
        late = f"{self.seconds:.0f} s" if self.seconds < 120 else f"{self.seconds / 60:.0f} min"
        return _("behind: {mentions} mentions waiting, figures {late} old").format(
            mentions=number(self.mentions, 0, grouped=True), late=late
        )

    def to_json(self) -> dict[str, Any]:
        return {"mentions": self.mentions, "seconds": round(self.seconds, 1)}


_DONE = (SourceState.FINISHED, SourceState.STOPPED)


def blindness(sources: Mapping[str, SourceStatus]) -> Blindness | None:
    """Whether the desk is blind, from its sources' health (None: at least one still sees, or every
    source has finished or been stopped, which the wall says in its own words)."""
    active = [s for s in sources.values() if s.state not in _DONE]
    if not active or any(s.blind_since is None for s in active):
        return None
    arrivals = [s.last_event_at for s in sources.values() if s.last_event_at is not None]
    return Blindness(
        since=max(s.blind_since for s in active if s.blind_since is not None),
        sources=tuple(active),
        last_mention_at=max(arrivals, default=None),
    )


@dataclass(frozen=True, slots=True)
class Snapshot:
    at: datetime
    """Desk time of the snapshot (aware UTC)."""
    seq: int
    """The last ScoredMention.seq included in these figures."""
    topics: Mapping[str, TopicSnapshot]
    sources: Mapping[str, SourceStatus]
    engine: str
    """The sentiment engine now live (``lexicon`` or ``flair``)."""
    engine_note: str | None = None
    """Why that engine (e.g. "flair loading", "model not found: …, lexicon fallback")."""
    behind: Behind | None = None
    """The desk is falling behind what its sources hand it (None: it keeps up)."""
    judge_note: str | None = None
    """Why the judgement is not what it should be (its worker process died and was restarted, with
    waves, terms and baselines starting over; or judging moved in-process), until the desk stops."""
    blind: Blindness | None = field(default=None, init=False)
    """Set from ``sources``: the desk cannot see (``blindness``), above every topic's level."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "topics", MappingProxyType(dict(self.topics)))
        object.__setattr__(self, "sources", MappingProxyType(dict(self.sources)))
        object.__setattr__(self, "blind", blindness(self.sources))

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "snapshot",
            "at": format_time(self.at),
            "seq": self.seq,
            "engine": self.engine,
            "engine_note": self.engine_note,
            "judge_note": self.judge_note,
            "blind": None if self.blind is None else self.blind.to_json(),
            "behind": None if self.behind is None else self.behind.to_json(),
            "topics": {k: t.to_json() for k, t in self.topics.items()},
            "sources": {k: s.to_json() for k, s in self.sources.items()},
        }
