"""What an attached desk reads back from the journal, turned into what the wall shows.

- The ingest desk's snapshot travels as JSON: ``Snapshot.to_json`` (the public form: ARCHITECTURE.md
  fixes its names, and extra ones are allowed) plus what the panes draw and the public form leaves out
  (each topic's sparkline series), the desk clock's speed and whether every source has finished.
  ``snapshot_from_wire`` rebuilds the ``Snapshot``; its blind state follows from the sources, as on
  the ingest desk.
- The archive's rows (``journal.archive.ArchivedMention``: the journal does not know scoring) become
  the feed's ``ScoredMention``s, a deletion or an edit marked as the ingest desk's feed marks them.

Both are hostile text all the way through, like every snapshot: the wall displays them through
``tui/safe_text.py`` as it does the ingest desk's own.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal, cast

from tocsin.journal.archive import ArchivedMention
from tocsin.scoring.snapshot import Behind, ClusterRow, InfluencerRow, Snapshot, TermRow, TopicSnapshot
from tocsin.sources.base import SourceState, SourceStatus
from tocsin.sources.model import ScoredMention, SentimentLabel, SentimentScore, parse_time

SERIES = ("volume", "negative_trend", "unique_volume")
"""The per-topic series the public JSON form leaves out and the panes need."""
_LABELS = ("negative", "neutral", "positive")


class WireError(ValueError):
    """A published snapshot that cannot be read (written by another version of tocsin, or damaged)."""


@dataclass(frozen=True, slots=True)
class Published:
    """A snapshot as the ingest desk published it."""

    snapshot: Snapshot
    speed: float
    """The ingest desk's clock speed (desk seconds per real second: 1 live, more for the demo)."""
    finished: bool
    """Every source of the ingest desk has ended (played out, failed or stopped)."""


def snapshot_to_wire(snapshot: Snapshot, *, speed: float = 1.0, finished: bool = False) -> str:
    """The JSON text an ingest desk publishes (see the module docstring)."""
    obj = snapshot.to_json()
    for topic_id, topic in snapshot.topics.items():
        shown = obj["topics"][topic_id]
        shown["volume"] = list(topic.volume)
        shown["negative_trend"] = [round(v, 4) for v in topic.negative_trend]
        shown["unique_volume"] = list(topic.unique_volume)
    obj["clock_speed"] = speed
    obj["finished"] = finished
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def snapshot_from_wire(text: str) -> Published:
    """The snapshot an ingest desk published; ``WireError`` when it cannot be read."""
    try:
        obj = json.loads(text)
        snapshot = Snapshot(
            at=_time(obj["at"]),
            seq=int(obj.get("seq") or 0),
            topics={tid: _topic(tid, t) for tid, t in obj["topics"].items()},
            sources={sid: _source(sid, s) for sid, s in obj["sources"].items()},
            engine=str(obj.get("engine") or "?"),
            engine_note=obj.get("engine_note"),
            behind=_behind(obj.get("behind")),
        )
        return Published(snapshot, float(obj.get("clock_speed") or 1.0), bool(obj.get("finished")))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise WireError(f"a published snapshot could not be read: {type(exc).__name__}: {exc}") from None


def _time(value: Any) -> datetime:
    parsed = parse_time(value) if isinstance(value, str) else None
    if parsed is None:
        raise ValueError(f"not a time: {value!r}")
    return parsed


def _maybe_time(value: Any) -> datetime | None:
    return None if value is None else _time(value)


def _maybe_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _topic(topic_id: str, t: Mapping[str, Any]) -> TopicSnapshot:
    return TopicSnapshot(
        id=topic_id,
        name=str(t["name"]),
        rate_per_min=float(t["rate_per_min"]),
        baseline_per_min=_maybe_float(t.get("baseline_per_min")),
        mentions=int(t["mentions"]),
        unique_authors=int(t["unique_authors"]),
        sentiment={str(k): float(v) for k, v in t["sentiment"].items()},
        volume=tuple(int(v) for v in t.get("volume") or ()),
        negative_trend=tuple(float(v) for v in t.get("negative_trend") or ()),
        level=t["level"],
        reasons=tuple(str(r) for r in t.get("reasons") or ()),
        anomaly=float(t.get("anomaly") or 0.0),
        surprise=t.get("surprise"),
        ratio=_maybe_float(t.get("ratio")),
        storm_since=_maybe_time(t.get("storm_since")),
        unique_volume=tuple(int(v) for v in t.get("unique_volume") or ()),
        influencers=tuple(_influencer(r) for r in t.get("influencers") or ()),
        terms=tuple(_term(r) for r in t.get("terms") or ()),
        clusters=tuple(_cluster(r) for r in t.get("clusters") or ()),
        copy_paste_share=float(t.get("copy_paste_share") or 0.0),
        level_since=_maybe_time(t.get("level_since")),
    )


def _influencer(r: Mapping[str, Any]) -> InfluencerRow:
    followers = r.get("followers")
    return InfluencerRow(
        handle=str(r["handle"]),
        name=r.get("name"),
        source=str(r["source"]),
        tier=r.get("tier"),
        followers=None if followers is None else int(followers),
        influence=int(r["influence"]),
        bot=float(r["bot"]),
        negative=int(r["negative"]),
        mentions=int(r["mentions"]),
        last_text=str(r["last_text"]),
        last_at=_time(r["last_at"]),
        watch_role=r.get("watch_role"),
    )


def _term(r: Mapping[str, Any]) -> TermRow:
    kind: Literal["hashtag", "word"] = "hashtag" if r.get("kind") == "hashtag" else "word"
    return TermRow(str(r["term"]), kind, float(r["count"]), float(r["usual"]), float(r["surge"]))


def _cluster(r: Mapping[str, Any]) -> ClusterRow:
    return ClusterRow(
        id=int(r["id"]),
        size=int(r["size"]),
        authors=int(r["authors"]),
        first_seen=_time(r["first_seen"]),
        last_seen=_time(r["last_seen"]),
        text=str(r["text"]),
        bot_mean=float(r["bot_mean"]),
    )


def _source(source_id: str, s: Mapping[str, Any]) -> SourceStatus:
    typical = s.get("typical_gap_s")
    return SourceStatus(
        id=source_id,
        kind=str(s["kind"]),
        state=SourceState(s["state"]),
        rate_per_min=float(s["rate_per_min"]),
        events=int(s["events"]),
        malformed=int(s["malformed"]),
        reconnects=int(s["reconnects"]),
        last_event_at=_maybe_time(s.get("last_event_at")),
        last_error=s.get("last_error"),
        gap_warning=s.get("gap_warning"),
        typical_gap_s=None if typical is None else float(typical),
        blind_since=_maybe_time(s.get("blind_since")),
        blind_reason=s.get("blind_reason"),
    )


def _behind(obj: Mapping[str, Any] | None) -> Behind | None:
    if not obj:
        return None
    return Behind(mentions=int(obj["mentions"]), seconds=float(obj["seconds"]))


def scored_from_archive(archived: ArchivedMention, seq: int) -> ScoredMention:
    """An archived mention as the feed shows it, numbered ``seq`` in this desk's feed: deleted or
    edited as the archive learnt (``Mention.revision``, so the feed replaces its line in place), with
    the judgement the ingest desk archived (``unscored`` where it had none)."""
    row = archived.row
    mention = row.mention
    if archived.edited_at is not None and not mention.deleted:
        mention = replace(mention, extra={**mention.extra, "update": "edit"})
    label = row.sentiment_label if row.sentiment_label in _LABELS else "unscored"
    sentiment = SentimentScore(
        cast(SentimentLabel, label), row.sentiment_score or 0.0, row.sentiment_engine or ""
    )
    return ScoredMention(seq=seq, mention=mention, topics=row.topics, sentiment=sentiment, scores=row.scores)
