"""What an attached desk rebuilds from the journal: the ingest desk's snapshot (everything the panes
draw, the blind state included) and archived mentions as the feed's lines."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from tests.fake_desk import T0, source_status, topic
from tocsin.desk.wire import SERIES, WireError, scored_from_archive, snapshot_from_wire, snapshot_to_wire
from tocsin.journal.archive import ArchivedMention, MentionRow
from tocsin.scoring.snapshot import Behind, ClusterRow, InfluencerRow, Snapshot, TermRow, TopicSnapshot
from tocsin.sources.base import SourceState, SourceStatus
from tocsin.sources.model import Author, Mention


def judged_topic() -> TopicSnapshot:
    """A topic with every field set to a value the JSON form keeps exactly."""
    return dataclasses.replace(
        topic("crisis"),
        ratio=13.5,
        anomaly=0.93,
        surprise="storm since 09:41",
        storm_since=T0 - timedelta(minutes=19),
        level_since=T0 - timedelta(minutes=5),
        copy_paste_share=0.25,
        unique_volume=(1, 2, 3),
        negative_trend=(0.125, 0.5),
        influencers=(
            InfluencerRow(
                "lemonde", "Le Monde", "masto", "macro", 412_000, 78, 0.02, 2, 3, "a [b]", T0, "journalist"
            ),
        ),
        terms=(TermRow("briochegate", "hashtag", 41.5, 2.25, 9.5),),
        clusters=(ClusterRow(7, 12, 9, T0 - timedelta(minutes=3), T0, "copy me", 0.5),),
    )


def test_a_published_snapshot_comes_back_whole() -> None:
    blind = source_status(SourceState.RECONNECTING, id="masto", kind="mastodon")
    blind = dataclasses.replace(blind, blind_since=T0 - timedelta(minutes=2), blind_reason="no network")
    snapshot = Snapshot(
        at=T0,
        seq=1234,
        topics={"brioche": judged_topic()},
        sources={"masto": blind},
        engine="flair",
        engine_note="warming up",
        behind=Behind(3400, 12.0),
    )
    published = snapshot_from_wire(snapshot_to_wire(snapshot, speed=10.0, finished=True))
    back = published.snapshot
    assert published.speed == 10.0 and published.finished
    assert back.topics["brioche"] == snapshot.topics["brioche"]  # every field, the sparklines included
    assert back.sources["masto"] == blind
    assert (back.at, back.seq, back.engine, back.engine_note, back.behind) == (
        T0,
        1234,
        "flair",
        "warming up",
        Behind(3400, 12.0),
    )
    assert (
        back.blind is not None and back.blind.why() == "masto: no network"
    )  # blind on the attached desk too


def test_every_field_of_a_topic_travels() -> None:
    """A field added to TopicSnapshot and left out of the wire would show as its default on attached
    desks: the public form plus ``SERIES`` must name them all."""
    carried = set(judged_topic().to_json()) | set(SERIES) | {"id"}
    assert {f.name for f in dataclasses.fields(TopicSnapshot)} <= carried


def test_a_damaged_snapshot_is_said() -> None:
    with pytest.raises(WireError, match="could not be read"):
        snapshot_from_wire('{"at": "yesterday"}')
    with pytest.raises(WireError):
        snapshot_from_wire("not json")


def archived(**marks: object) -> ArchivedMention:
    mention = Mention(
        uid="m1",
        source="masto",
        text="souris",
        created_at=T0,
        received_at=T0,
        author=Author("lea"),
        deleted=marks.get("deleted_at") is not None,
    )
    row = MentionRow(mention, ("brioche",), "negative", 0.9, "lexicon", {"bot": {"score": 0.1}})
    return ArchivedMention(row, False, seq=12, **marks)  # type: ignore[arg-type]


def test_an_archived_mention_is_a_feed_line_with_its_judgement_and_revision() -> None:
    line = scored_from_archive(archived(), 3)
    assert line.seq == 3 and line.topics == ("brioche",) and line.scores == {"bot": {"score": 0.1}}
    assert (line.sentiment.label, line.sentiment.score, line.sentiment.engine) == ("negative", 0.9, "lexicon")
    assert line.mention.revision is None
    assert scored_from_archive(archived(edited_at=T0), 4).mention.revision == "edit"
    assert scored_from_archive(archived(deleted_at=T0), 5).mention.revision == "deleted"
    bare = dataclasses.replace(archived(), row=dataclasses.replace(archived().row, sentiment_label=None))
    assert scored_from_archive(bare, 6).sentiment.label == "unscored"


def test_source_states_travel_as_their_names() -> None:
    for state in SourceState:
        status = SourceStatus("s", "rss", state, 1.0, 1, 0, 0, None, None)
        snapshot = Snapshot(at=T0, seq=0, topics={}, sources={"s": status}, engine="lexicon")
        assert snapshot_from_wire(snapshot_to_wire(snapshot)).snapshot.sources["s"].state is state
