"""Revisions of archived mentions: a deletion marks the row and keeps what the desk judged, an edit keeps
the first words, a late author profile refreshes the row, pinned evidence is only marked, and the
post-mortem says what happened to a pinned post (md, html, json, csv, terminal). Also: a journal
written by schema 1 migrates in place."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tocsin.journal.api import Journal
from tocsin.journal.archive import Archiver
from tocsin.journal.reports import build_postmortem, render, to_text
from tocsin.journal.store import MIGRATIONS, SCHEMA_VERSION
from tocsin.sources.clock import ManualClock
from tocsin.sources.model import Mention, ScoredMention, SentimentScore

from .conftest import T0, mention, team_settings

FIRST = "Une souris dans ma brioche ! #BriocheGate"
SCORES = {"influence": {"score": 64, "tier": "macro"}, "bot": {"score": 0.1}}


def scored(m: Mention, label: str = "negative", scores: dict[str, Any] | None = None) -> ScoredMention:
    return ScoredMention(
        seq=1,
        mention=m,
        topics=("brioche",),
        sentiment=SentimentScore(label, 0.91, "lexicon"),  # type: ignore[arg-type]
        scores=SCORES if scores is None else scores,
    )


def deletion(m: Mention, at: datetime) -> ScoredMention:
    """What the pipeline hands out for a deleted post: unscored, no scores, learnt at ``at``."""
    gone = dataclasses.replace(m, deleted=True, received_at=at)
    return ScoredMention(
        seq=9, mention=gone, topics=("brioche",), sentiment=SentimentScore("unscored", 0, "")
    )


def edit(m: Mention, text: str, at: datetime, label: str = "neutral") -> ScoredMention:
    new = dataclasses.replace(m, text=text, received_at=at, extra={"update": "edit"})
    return scored(new, label, {"influence": {"score": 64, "tier": "macro"}, "bot": {"score": 0.5}})


def author_arrived(m: Mention, followers: int, at: datetime) -> ScoredMention:
    author = dataclasses.replace(m.author, followers=followers, verified=True)
    new = dataclasses.replace(m, author=author, received_at=at, extra={"update": "author"})
    return scored(new, scores={"influence": {"score": 90, "tier": "mega"}, "bot": {"score": 0.0}})


# --- the archive ----------------------------------------------------------------------------------


async def test_a_deletion_marks_the_row_and_keeps_what_was_judged(journal: Journal) -> None:
    m = mention("m1", FIRST)
    await journal.archive([scored(m)])
    learnt = T0 + timedelta(minutes=5)
    assert await journal.archive([deletion(m, learnt)]) == 1
    got = await journal.archived_mention("demo", "m1")
    assert got is not None and got.deleted_at == learnt and got.mention.deleted
    assert got.mention.text == FIRST and got.mention.received_at == m.received_at
    assert (got.row.sentiment_label, got.row.sentiment_score, got.row.scores) == ("negative", 0.91, SCORES)
    assert got.edited_at is None and got.original_text is None
    # the platform saying it again (a replay) does not move the time the desk learnt it
    await journal.archive([deletion(m, learnt + timedelta(hours=1))])
    again = await journal.archived_mention("demo", "m1")
    assert again is not None and again.deleted_at == learnt
    assert await journal.archived_count() == 1


async def test_a_deletion_of_a_mention_never_archived_adds_no_row(journal: Journal) -> None:
    await journal.archive([deletion(mention("ghost"), T0)])
    assert await journal.archived_mention("demo", "ghost") is None
    assert await journal.archived_count() == 0


async def test_an_edit_replaces_the_words_and_keeps_the_first_ones(journal: Journal) -> None:
    m = mention("m1", FIRST)
    await journal.archive([scored(m)])
    first_edit = T0 + timedelta(minutes=3)
    await journal.archive([edit(m, "Une souris ? Non, un raisin sec. Désolée !", first_edit)])
    got = await journal.archived_mention("demo", "m1")
    assert got is not None and got.mention.text == "Une souris ? Non, un raisin sec. Désolée !"
    assert got.original_text == FIRST and got.edited_at == first_edit and got.deleted_at is None
    assert got.row.sentiment_label == "neutral" and got.row.scores["bot"] == {"score": 0.5}
    assert got.mention.created_at == m.created_at and got.mention.received_at == first_edit
    # a second edit keeps the words first archived, not the first edit's
    second_edit = first_edit + timedelta(minutes=10)
    await journal.archive([edit(m, "Raisin sec. Bonne journée", second_edit)])
    got = await journal.archived_mention("demo", "m1")
    assert got is not None and got.mention.text == "Raisin sec. Bonne journée"
    assert got.original_text == FIRST and got.edited_at == second_edit


async def test_an_edit_that_keeps_the_words_records_no_first_version(journal: Journal) -> None:
    m = mention("m1", FIRST)
    await journal.archive([scored(m)])
    await journal.archive([edit(m, FIRST, T0 + timedelta(minutes=1))])  # e.g. only the picture changed
    got = await journal.archived_mention("demo", "m1")
    assert got is not None and got.edited_at == T0 + timedelta(minutes=1) and got.original_text is None


async def test_an_edit_of_an_unknown_mention_is_archived_without_an_original(journal: Journal) -> None:
    m = mention("m1", FIRST)
    await journal.archive([edit(m, "edited before we saw it", T0)])
    got = await journal.archived_mention("demo", "m1")
    assert got is not None and got.mention.text == "edited before we saw it"
    assert got.edited_at == T0 and got.original_text is None


async def test_a_late_author_profile_refreshes_the_row_and_keeps_the_marks(journal: Journal) -> None:
    m = mention("m1", FIRST, followers=None)  # type: ignore[arg-type]
    await journal.archive([scored(m)])
    await journal.archive([edit(m, "edited", T0 + timedelta(minutes=1))])
    await journal.archive([author_arrived(m, 250_000, T0 + timedelta(minutes=2))])
    got = await journal.archived_mention("demo", "m1")
    assert got is not None and got.mention.author.followers == 250_000 and got.mention.author.verified
    assert got.row.scores["influence"] == {"score": 90, "tier": "mega"}
    assert got.edited_at == T0 + timedelta(minutes=1) and got.original_text == FIRST  # still known
    assert await journal.archived_count() == 1


async def test_pinned_evidence_is_marked_never_rewritten(journal: Journal) -> None:
    m = mention("m1", FIRST)
    inc = await journal.open_incident("brioche", "sev2", "Mouse photo", evidence=[scored(m)])
    await journal.archive([edit(m, "nothing to see here", T0 + timedelta(minutes=2))])
    await journal.archive([deletion(m, T0 + timedelta(minutes=4))])
    got = await journal.archived_mention("demo", "m1")
    assert got is not None and got.pinned
    assert got.mention.text == FIRST and got.row.sentiment_label == "negative"  # as pinned
    assert got.edited_at == T0 + timedelta(minutes=2) and got.original_text is None
    assert got.deleted_at == T0 + timedelta(minutes=4)
    marks = await journal.pinned_revisions(inc.id)
    assert marks[("demo", "m1")].deleted_at == T0 + timedelta(minutes=4)


async def test_one_batch_applies_originals_and_revisions_in_order(journal: Journal) -> None:
    a, b, c = mention("a", "first words of a"), mention("b", "b as posted"), mention("c", "c")
    batch = [
        scored(a),
        scored(b),
        edit(a, "a, edited", T0 + timedelta(seconds=1)),
        scored(c),
        deletion(b, T0 + timedelta(seconds=2)),
        edit(a, "a, edited twice", T0 + timedelta(seconds=3)),
    ]
    assert await journal.archive(batch) == 6
    got_a = await journal.archived_mention("demo", "a")
    got_b = await journal.archived_mention("demo", "b")
    got_c = await journal.archived_mention("demo", "c")
    assert got_a is not None and got_a.mention.text == "a, edited twice"
    assert got_a.original_text == "first words of a" and got_a.edited_at == T0 + timedelta(seconds=3)
    assert got_b is not None and got_b.deleted_at == T0 + timedelta(seconds=2)
    assert got_b.mention.text == "b as posted" and got_b.row.sentiment_label == "negative"
    assert got_c is not None and got_c.deleted_at is None and got_c.edited_at is None


async def test_a_big_mixed_batch_is_converted_off_the_loop_with_the_same_result(journal: Journal) -> None:
    originals = [mention(f"m{i}", f"post {i}") for i in range(200)]
    batch: list[Any] = [scored(m) for m in originals]
    batch += [deletion(m, T0) for m in originals[:50]]
    batch += [edit(m, f"post {i}, edited", T0) for i, m in enumerate(originals[50:100], 50)]
    await journal.archive(batch)
    assert await journal.archived_count() == 200
    deleted = await journal.archived_mention("demo", "m10")
    edited = await journal.archived_mention("demo", "m60")
    assert deleted is not None and deleted.deleted_at == T0 and deleted.row.sentiment_label == "negative"
    assert (
        edited is not None and edited.mention.text == "post 60, edited" and edited.original_text == "post 60"
    )


async def test_json_mentions_carry_their_revision(journal: Journal) -> None:
    m = mention("m1", FIRST)
    await journal.archive([scored(m).to_json()])
    await journal.archive([edit(m, "edited in JSON", T0 + timedelta(minutes=1)).to_json()])
    gone = deletion(m, T0 + timedelta(minutes=2)).to_json()
    gone["received_at"] = "2026-11-21T09:02:00Z"
    await journal.archive([gone])
    got = await journal.archived_mention("demo", "m1")
    assert got is not None and got.mention.text == "edited in JSON" and got.original_text == FIRST
    assert got.deleted_at == T0 + timedelta(minutes=2) and got.row.sentiment_label == "neutral"


async def test_the_background_archiver_writes_revisions(journal: Journal) -> None:
    m = mention("m1", FIRST)
    archiver = Archiver(journal)
    archiver.add([scored(m)])
    archiver.add([edit(m, "edited", T0 + timedelta(minutes=1)), deletion(m, T0 + timedelta(minutes=2))])
    await archiver.close()
    got = await journal.archived_mention("demo", "m1")
    assert got is not None and got.original_text == FIRST and got.deleted_at == T0 + timedelta(minutes=2)
    assert archiver.failed == 0


async def test_archived_between_reads_the_marks(journal: Journal) -> None:
    m = mention("m1", FIRST, at=T0)
    await journal.archive([scored(m), deletion(m, T0 + timedelta(minutes=9))])
    [got] = await journal.archived_between(T0 - timedelta(minutes=1), T0 + timedelta(minutes=1))
    assert got.deleted_at == T0 + timedelta(minutes=9) and got.mention.deleted


# --- migration ------------------------------------------------------------------------------------


def _v1_journal(path: Path) -> None:
    """A journal as schema 1 wrote it: the v1 statements, one archived mention, one incident."""
    version, statements = MIGRATIONS[0]
    assert version == 1
    db = sqlite3.connect(path)
    try:
        for sql in statements:
            db.execute(sql)
        db.execute(
            "INSERT INTO mentions (source, uid, created_at, received_at, topics, author, text, "
            "sentiment_label, scores, pinned) VALUES ('demo', 'old1', 1795251600000, 1795251602000, "
            "'[\"brioche\"]', '{\"handle\": \"lea\"}', 'from before the upgrade', 'negative', "
            '\'{"bot": {"score": 0.2}}\', 1)'
        )
        db.execute(
            "INSERT INTO incidents (id, topic, state, severity, opened_at, updated_at, last_event_id, data) "
            "VALUES (1, 'brioche', 'open', 'sev2', 1795251600000, 1795251600000, 0, '{}')"
        )
        db.execute("PRAGMA user_version = 1")
        db.commit()
    finally:
        db.close()


async def test_a_schema_1_journal_migrates_in_place_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "v1.sqlite"
    _v1_journal(path)
    journal = await Journal.open(team_settings(path), clock=ManualClock(T0))
    try:
        assert SCHEMA_VERSION >= 2
        assert await journal.store.scalar("PRAGMA user_version") == SCHEMA_VERSION
        old = await journal.archived_mention("demo", "old1")
        assert old is not None and old.pinned and old.mention.text == "from before the upgrade"
        assert old.mention.author.handle == "lea" and old.row.scores == {"bot": {"score": 0.2}}
        assert (old.deleted_at, old.edited_at, old.original_text) == (None, None, None)
        assert await journal.store.scalar("SELECT count(*) FROM incidents") == 1
        # the new columns work on the old row
        gone = dataclasses.replace(old.mention, deleted=True, received_at=T0 + timedelta(hours=1))
        await journal.archive([gone])
        marked = await journal.archived_mention("demo", "old1")
        assert marked is not None and marked.deleted_at == T0 + timedelta(hours=1)
        assert marked.row.sentiment_label == "negative"
    finally:
        await journal.close()
    again = await Journal.open(team_settings(path), clock=ManualClock(T0))  # nothing left to apply
    try:
        kept = await again.archived_mention("demo", "old1")
        assert kept is not None and kept.deleted_at == T0 + timedelta(hours=1)
    finally:
        await again.close()


# --- the post-mortem ------------------------------------------------------------------------------

HOSTILE_FIRST = '=HYPERLINK("http://evil")<script>x</script> *boom* \x1b[2J souris'


@pytest.fixture
async def revised_storm(journal: Journal, clock: ManualClock) -> int:
    """Three pinned posts: one edited before it was pinned (then deleted), one edited after, one untouched."""
    edited_first = mention("e1", HOSTILE_FIRST, handle="lea_dupont", at=T0 - timedelta(minutes=20))
    later = mention("e2", "La brioche était moisie", handle="marc", at=T0 - timedelta(minutes=15))
    calm = mention("e3", "Rien à signaler", handle="zoe", at=T0 - timedelta(minutes=10))
    await journal.archive([scored(edited_first), scored(later), scored(calm)])
    fixed = edit(edited_first, "Finalement un raisin sec, pardon", T0 - timedelta(minutes=5))
    await journal.archive([fixed])
    inc = await journal.open_incident("brioche", "sev2", "Mouse photo", evidence=[fixed, scored(later)])
    await journal.pin_evidence(inc.id, scored(calm))
    await journal.archive(
        [
            edit(later, "La brioche était un peu sèche", T0 + timedelta(minutes=25)),
            deletion(edited_first, T0 + timedelta(minutes=42)),
        ]
    )
    clock.advance(3600)
    return inc.id


async def test_markdown_says_which_evidence_was_deleted_or_edited(
    journal: Journal, revised_storm: int
) -> None:
    md = render(await build_postmortem(journal, revised_storm), "md")
    lines = md.split("## Key mentions (3 pinned)")[1].split("## Lessons")[0].strip().splitlines()
    first, later, calm = lines
    assert "“Finalement un raisin sec, pardon”" in first
    assert "*edited by its author at 09:55 CET; first version: “" in first
    assert "*deleted by its author at 10:42 CET*" in first
    # the hostile first version is escaped like any mention text
    assert "\\<script\\>x\\</script\\> \\*boom\\*" in first and "\x1b" not in md
    assert "*edited by its author at 10:25 CET, after it was pinned (the words above are as pinned)*" in later
    assert "“La brioche était moisie”" in later and "deleted" not in later
    assert "edited" not in calm and "deleted" not in calm


async def test_html_marks_revised_evidence_escaped(journal: Journal, revised_storm: int) -> None:
    page = render(await build_postmortem(journal, revised_storm), "html")
    assert '<div class="rev">deleted by its author at 10:42 CET</div>' in page
    assert (
        '<div class="rev">edited by its author at 09:55 CET; first version: '
        "“=HYPERLINK(&quot;http://evil&quot;)&lt;script&gt;x&lt;/script&gt; *boom* [2J souris”</div>"
    ) in page
    assert page.count('class="rev"') == 3 and "<script>x" not in page and "\x1b" not in page


async def test_json_gives_the_revision_fields(journal: Journal, revised_storm: int) -> None:
    data = json.loads(render(await build_postmortem(journal, revised_storm), "json"))
    ev = {e["uid"]: e for e in data["evidence"]}
    assert (
        ev["e1"]["deleted_at"] == "2026-11-21T09:42:00Z" and ev["e1"]["edited_at"] == "2026-11-21T08:55:00Z"
    )
    assert (
        ev["e1"]["original_text"] == HOSTILE_FIRST and ev["e1"]["text"] == "Finalement un raisin sec, pardon"
    )
    assert ev["e2"]["edited_at"] == "2026-11-21T09:25:00Z" and ev["e2"]["deleted_at"] is None
    assert ev["e2"]["original_text"] is None and ev["e2"]["text"] == "La brioche était moisie"
    assert (ev["e3"]["deleted_at"], ev["e3"]["edited_at"], ev["e3"]["original_text"]) == (None, None, None)


async def test_csv_gives_the_revision_columns_without_formulas(journal: Journal, revised_storm: int) -> None:
    rows = list(csv.DictReader(io.StringIO(render(await build_postmortem(journal, revised_storm), "csv"))))
    pins = [r for r in rows if r["kind"] == "evidence_pinned"]
    assert len(pins) == 3
    first, later, calm = pins
    assert first["mention_deleted_at_utc"] == "2026-11-21T09:42:00Z"
    assert first["mention_edited_at_utc"] == "2026-11-21T08:55:00Z"
    assert first["mention_first_version"].startswith("'=HYPERLINK(")  # neutralised, escape sequence gone
    assert "\x1b" not in first["mention_first_version"]
    assert later["mention_edited_at_utc"] == "2026-11-21T09:25:00Z" and later["mention_deleted_at_utc"] == ""
    assert (calm["mention_deleted_at_utc"], calm["mention_edited_at_utc"], calm["mention_first_version"]) == (
        "",
        "",
        "",
    )
    assert all(r["mention_deleted_at_utc"] == "" for r in rows if r["kind"] != "evidence_pinned")


async def test_terminal_view_says_it_too(journal: Journal, revised_storm: int) -> None:
    text = to_text(await build_postmortem(journal, revised_storm))
    assert "    deleted by its author at 10:42 CET" in text
    assert "    edited by its author at 10:25 CET, after it was pinned" in text
    assert "\x1b" not in text


async def test_a_revision_days_later_carries_its_date(journal: Journal) -> None:
    m = mention("d1", FIRST, at=T0)
    inc = await journal.open_incident("brioche", "sev3", "Slow burn", evidence=[scored(m)])
    await journal.archive([deletion(m, T0 + timedelta(days=2))])
    md = render(await build_postmortem(journal, inc.id, now=T0 + timedelta(days=3)), "md")
    assert "*deleted by its author at 2026-11-23 10:00 CET*" in md


async def test_author_revision_alone_says_nothing_in_the_export(journal: Journal) -> None:
    m = mention("a1", FIRST, at=T0)
    inc = await journal.open_incident("brioche", "sev3", "x", evidence=[scored(m)])
    await journal.archive([author_arrived(m, 90_000, T0 + timedelta(minutes=1))])
    pm = await build_postmortem(journal, inc.id)
    assert pm.revisions == {}
    assert "by its author" not in render(pm, "md")
