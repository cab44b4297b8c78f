"""What the pipeline publishes: scored mentions and immutable snapshots (~10 Hz).

The TUI and the headless writer only read these; they never reach into the pipeline's state.
The JSON forms are the public ones fixed by ARCHITECTURE.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal

from tocsin.sources.base import SourceStatus
from tocsin.sources.model import Mention, format_time

SentimentLabel = Literal["negative", "neutral", "positive", "unscored"]
Level = Literal["calm", "watch", "alert", "crisis"]
LEVELS: tuple[Level, ...] = ("calm", "watch", "alert", "crisis")


@dataclass(frozen=True, slots=True)
class SentimentScore:
    label: SentimentLabel
    score: float
    """Confidence in the label, 0–1."""
    engine: str
    """Which engine judged it: ``lexicon`` or ``flair``."""

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "score": round(self.score, 3), "engine": self.engine}


@dataclass(frozen=True, slots=True)
class ScoredMention:
    seq: int
    """Monotonic per desk: the feed reads ``feed_since(seq)``."""
    mention: Mention
    topics: tuple[str, ...]
    sentiment: SentimentScore
    scores: Mapping[str, Any] = field(default_factory=dict)
    """Further judgements by name (``influence``, ``bot``…), each a JSON-ready mapping."""

    def to_json(self) -> dict[str, Any]:
        obj = {"type": "mention", **self.mention.to_json(), "topics": list(self.topics)}
        obj["scores"] = {"sentiment": self.sentiment.to_json(), **self.scores}
        return obj


@dataclass(frozen=True, slots=True)
class TopicSnapshot:
    id: str
    name: str
    rate_per_min: float
    """Mentions per minute over the rate window, on the desk's clock."""
    baseline_per_min: float | None
    """What is normal at this time (None until there is enough history)."""
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

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "rate_per_min": round(self.rate_per_min, 2),
            "baseline_per_min": None if self.baseline_per_min is None else round(self.baseline_per_min, 2),
            "mentions": self.mentions,
            "unique_authors": self.unique_authors,
            "sentiment": {k: round(v, 3) for k, v in self.sentiment.items()},
            "level": self.level,
            "reasons": list(self.reasons),
        }


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

    def __post_init__(self) -> None:
        object.__setattr__(self, "topics", MappingProxyType(dict(self.topics)))
        object.__setattr__(self, "sources", MappingProxyType(dict(self.sources)))

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "snapshot",
            "at": format_time(self.at),
            "seq": self.seq,
            "engine": self.engine,
            "engine_note": self.engine_note,
            "topics": {k: t.to_json() for k, t in self.topics.items()},
            "sources": {k: s.to_json() for k, s in self.sources.items()},
        }
