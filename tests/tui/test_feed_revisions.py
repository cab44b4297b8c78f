"""Revisions on the wall: a mention sent again with the same (source, uid) — deleted, edited, its author's
profile arrived late, or a plain duplicate — replaces its line in place instead of adding one."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tocsin.desk.feed import FeedBuffer, author_updated, edited, merge
from tocsin.sources.model import Author, ScoredMention, SentimentScore
from tocsin.tui.app import WallApp
from tocsin.tui.panes.feed import FeedView

from .test_app import MANUAL, SIZE, flush, ready

UNSCORED = SentimentScore("unscored", 0.0, "lexicon")


def revise(
    desk: Any, old: ScoredMention, revision: str | None, *, judged: bool = True, **changes: Any
) -> ScoredMention:
    """``old`` sent again by the desk with a new seq, as the pipeline hands revisions on: ``deleted``,
    ``edit`` or ``author`` (None: the same post again). ``judged=False``: unscored, no scores (a deletion)."""
    desk._seq += 1
    m = old.mention
    if revision == "deleted":
        mention = replace(m, deleted=True, **changes)
    else:
        extra = {**m.extra, "update": revision} if revision else dict(m.extra)
        mention = replace(m, extra=extra, **changes)
    item = ScoredMention(
        seq=desk._seq,
        mention=mention,
        topics=old.topics,
        sentiment=old.sentiment if judged else UNSCORED,
        scores=old.scores if judged else {},
    )
    desk.mentions.append(item)
    return item


def texts(buffer: FeedBuffer) -> list[str]:
    return [buffer.entry(i).item.mention.text for i in range(len(buffer))]


# --- the buffer ---------------------------------------------------------------------------------------


def test_an_edit_replaces_its_line_in_place(kit: Any) -> None:
    desk = kit.FakeDesk()
    buffer = FeedBuffer(capacity=10)
    a, b, c = desk.push("first"), desk.push("second"), desk.push("third")
    buffer.extend([a, b, c])
    fixed = revise(desk, b, "edit", text="second, corrected")
    assert buffer.extend([fixed]) == (0, 0, [1], 0)  # no line added, none evicted: the tail does not move
    assert texts(buffer) == ["first", "second, corrected", "third"]
    kept = buffer.entry(1).item
    assert kept.seq == fixed.seq and edited(kept.mention) and not kept.mention.deleted
    assert buffer.total == 3 and buffer.dropped == 0


def test_a_late_author_profile_updates_only_the_author(kit: Any) -> None:
    desk = kit.FakeDesk()
    buffer = FeedBuffer(capacity=10)
    post = desk.push("Boycott now", handle="did:plc:abc", followers=None, label="negative")
    buffer.extend([post])
    edit = revise(desk, post, "edit", text="Boycott now!!")
    # the profile lookup answered for the first version, queued before the edit: its text is the old one
    late = revise(desk, post, "author", author=Author(handle="angry_baker", followers=15_200))
    rescored = {"influence": {"score": 55}}
    late = replace(late, sentiment=SentimentScore("neutral", 0.5, "lexicon"), scores=rescored)
    buffer.extend([edit, late])
    kept = buffer.entry(0).item
    assert len(buffer) == 1
    assert kept.mention.author.followers == 15_200 and kept.mention.author.handle == "angry_baker"
    assert kept.mention.text == "Boycott now!!" and edited(kept.mention)  # the edit stays
    assert kept.sentiment.label == "negative"  # judged on a text the feed does not show: not taken
    assert kept.scores == {"influence": {"score": 55}}  # the influence follows the new profile


def test_an_author_revision_says_so_and_an_edit_keeps_the_known_profile(kit: Any) -> None:
    desk = kit.FakeDesk()
    post = desk.push("hello", handle="did:plc:abc", followers=None)
    late = revise(desk, post, "author", author=Author(handle="lea", followers=2_300))
    kept = merge(post, late)
    assert author_updated(kept.mention) and not edited(kept.mention)
    assert kept.mention.revision == "author"
    # an edit from the firehose carries the bare DID again: the profile already known is kept
    edit = revise(desk, post, "edit", text="hello again")
    kept = merge(kept, edit)
    assert kept.mention.author.handle == "lea" and kept.mention.author.followers == 2_300
    assert kept.mention.text == "hello again" and edited(kept.mention)


def test_a_deletion_keeps_the_judgement_and_takes_the_flag(kit: Any) -> None:
    desk = kit.FakeDesk()
    buffer = FeedBuffer(capacity=10)
    bot = {"bot": {"score": 0.9, "reasons": ["new account"]}}
    post = desk.push("margarine!!", label="negative", scores=bot)
    buffer.extend([desk.push("before"), post, desk.push("after")])
    gone = revise(desk, post, "deleted", judged=False)
    added, evicted, replaced, _ = buffer.extend([gone])
    assert (added, evicted, replaced) == (0, 0, [1])
    kept = buffer.entry(1).item
    assert kept.mention.deleted and kept.mention.text == "margarine!!"
    assert kept.sentiment.label == "negative" and kept.sentiment.score == 0.8
    assert kept.scores == bot
    # deleted stays deleted when the author's profile turns up afterwards
    buffer.extend([revise(desk, post, "author", author=Author(handle="someone", followers=99))])
    kept = buffer.entry(1).item
    assert kept.mention.deleted and kept.mention.author.followers == 99 and len(buffer) == 3


def test_a_duplicate_replaces_rather_than_adding_a_line(kit: Any) -> None:
    desk = kit.FakeDesk()
    buffer = FeedBuffer(capacity=10)
    post = desk.push("same post")
    edit = revise(desk, post, "edit", text="same post, edited")
    again = revise(desk, post, None, text="same post")  # seen again through another stream, stale
    assert buffer.extend([post, edit]) == (1, 0, [0], 0)  # original and revision in one batch
    assert buffer.extend([again]) == (0, 0, [0], 0)
    assert len(buffer) == 1 and edited(buffer.entry(0).item.mention)


def test_a_revision_of_a_mention_no_longer_kept_is_dropped(kit: Any) -> None:
    desk = kit.FakeDesk()
    buffer = FeedBuffer(capacity=3)
    first = desk.push("m0")
    buffer.extend([first, desk.push("m1"), desk.push("m2"), desk.push("m3")])  # m0 falls off
    assert texts(buffer) == ["m1", "m2", "m3"]
    assert len(buffer._index) == 3 and ("demo", first.mention.uid) not in buffer._index
    for revision in ("edit", "author", "deleted"):
        assert buffer.extend([revise(desk, first, revision, text="m0 again")]) == (0, 0, [], 0)
    assert texts(buffer) == ["m1", "m2", "m3"] and buffer.dropped == 3
    never = desk.push("never shown")
    buffer.extend([revise(desk, never, "edit")])  # its original never made it into the feed
    assert texts(buffer) == ["m1", "m2", "m3"] and buffer.dropped == 4
    # the ring keeps replacing and evicting by key as it turns
    buffer.extend([revise(desk, buffer.entry(0).item, "edit", text="m1 edited"), desk.push("m4")])
    assert texts(buffer) == ["m2", "m3", "m4"] and len(buffer._index) == 3


def test_a_replaced_entry_enters_and_leaves_the_filter(kit: Any) -> None:
    desk = kit.FakeDesk()
    buffer = FeedBuffer(capacity=4)
    a, b, c = desk.push("all fine"), desk.push("refund now"), desk.push("quiet")
    buffer.extend([a, b, c])
    buffer.set_filter("refund")
    assert texts(buffer) == ["refund now"]
    added, evicted, replaced, reshaped = buffer.extend([revise(desk, a, "edit", text="refund please")])
    assert (added, evicted, replaced, reshaped) == (0, 0, [0], 1)
    assert texts(buffer) == ["refund please", "refund now"]  # in its place, not at the bottom
    assert buffer.line_at(1) == 1 and buffer.line_at(2) == 2  # "quiet" hidden: the line after it
    assert buffer.extend([revise(desk, b, "edit", text="never mind")]).reshaped == 1
    assert texts(buffer) == ["refund please"]
    assert buffer.extend([revise(desk, c, "edit", text="still quiet")]).reshaped == 0
    # an author revision can match too: the handle is searched
    buffer.set_filter("@angry")
    assert len(buffer) == 0
    buffer.extend([revise(desk, c, "author", author=Author(handle="angry_baker", followers=10))])
    assert texts(buffer) == ["still quiet"]
    # the index list stays consistent as they fall off
    buffer.extend([desk.push("x"), desk.push("y"), desk.push("angry_baker fan", handle="angry_bakery")])
    assert texts(buffer) == ["still quiet", "angry_baker fan"]
    buffer.extend([desk.push("z")])
    assert texts(buffer) == ["angry_baker fan"]
    buffer.set_filter("")
    assert texts(buffer) == ["x", "y", "angry_baker fan", "z"]


def test_a_full_ring_of_revisions_adds_nothing(kit: Any) -> None:
    """Every kept mention revised once: found by key, each in its own place, the ring unchanged."""
    desk = kit.FakeDesk()
    buffer = FeedBuffer(capacity=10_000)
    posts = [desk.push(f"post {i}") for i in range(10_000)]
    buffer.extend(posts)
    result = buffer.extend([revise(desk, p, "edit", text=f"{p.mention.text} (fixed)") for p in posts])
    assert (result.added, result.evicted, len(result.replaced)) == (0, 0, 10_000)
    assert result.replaced == list(range(10_000))
    assert len(buffer) == 10_000 and len(buffer._index) == 10_000
    assert buffer.entry(0).item.mention.text == "post 0 (fixed)"
    assert buffer.entry(9_999).item.mention.text == "post 9999 (fixed)"


# --- the wall -----------------------------------------------------------------------------------------


async def test_revisions_change_their_line_on_the_wall_without_adding_one(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        feed = app.query_one(FeedView)
        desk.push("Maison Brioche rue Oberkampf still great", handle="paulo", followers=88)
        post = desk.push(
            "Boycott @maisonbrioche until they answer", handle="did:plc:x7", followers=None, label="negative"
        )
        desk.push("Statement expected at noon", handle="boulangerie_news", followers=8_700)
        await flush(app, pilot)
        before = feed.rendered_lines()
        assert len(before) == 3 and "Boycott" in before[1] and "(" not in before[1].split("Boycott")[0]

        revise(desk, post, "author", author=Author(handle="angry_baker", followers=15_200))
        await flush(app, pilot)
        lines = feed.rendered_lines()
        assert len(lines) == 3 and lines[0] == before[0] and lines[2] == before[2]
        assert "@angry_baker (15.2k)" in lines[1] and "Boycott" in lines[1]
        assert "(15.2k)" in kit.screen_text(app)  # on the screen, not just in the cache

        revise(desk, post, "deleted", judged=False)
        await flush(app, pilot)
        lines = feed.rendered_lines()
        assert len(lines) == 3 and len(feed.buffer) == 3
        assert "[deleted] Boycott" in lines[1] and "(15.2k)" in lines[1]
        assert lines[1].split()[2] == "−"  # the sentiment sign it had, not "unscored"
        assert feed.tail and feed.selected_mention is not None
        assert feed.selected_mention.mention.text == "Statement expected at noon"

        await pilot.press("up", "enter")
        await pilot.pause()
        detail = kit.screen_text(app)
        assert "DELETED by its author" in detail
        assert "followers 15,200 (updated after the post) · following" in detail
        assert "negative" in detail


async def test_an_edit_is_marked_and_the_detail_says_so(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        feed = app.query_one(FeedView)
        post = desk.push("Maison Brioche uses margarine", handle="gourmand75")
        await flush(app, pilot)
        revise(desk, post, "edit", text="Maison Brioche uses [b]butter[/b] after all")
        await flush(app, pilot)
        (line,) = feed.rendered_lines()
        assert "(edited) Maison Brioche uses [b]butter[/b] after all" in line  # literal, never markup
        await pilot.press("enter")
        await pilot.pause()
        detail = kit.screen_text(app)
        assert "edited by its author" in detail and "[b]butter[/b]" in detail


async def test_a_paused_reader_keeps_their_mention_when_a_filter_match_changes_above(kit: Any) -> None:
    desk = kit.FakeDesk(kit.settings(**MANUAL))
    app = WallApp(desk.settings, desk)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        feed = app.query_one(FeedView)
        posts = [desk.push(f"refund {i}" if i % 2 else f"calm {i}") for i in range(120)]
        await flush(app, pilot)
        feed.set_filter("refund")
        await pilot.pause()
        assert len(feed.buffer) == 60
        for _ in range(10):
            await pilot.press("up")
        chosen = feed.selected_mention
        assert chosen is not None and not feed.tail
        top = feed.rendered_lines()[0]
        # above the reader: one line appears, another vanishes, one more appears
        revise(desk, posts[0], "edit", text="refund 0 now")
        revise(desk, posts[1], "edit", text="calm 1 now")
        revise(desk, posts[2], "edit", text="refund 2 now")
        await flush(app, pilot)
        assert len(feed.buffer) == 61
        assert feed.selected_mention is not None
        assert feed.selected_mention.mention.uid == chosen.mention.uid
        assert feed.rendered_lines()[0] == top and not feed.tail and feed.waiting == 0
