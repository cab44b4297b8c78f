"""The feed's bounded ring and its filter view."""

from __future__ import annotations

from typing import Any

import pytest

from tocsin.desk.feed import FeedBuffer


def texts(buffer: FeedBuffer) -> list[str]:
    return [buffer.entry(i).item.mention.text for i in range(len(buffer))]


def test_ring_keeps_the_newest_in_order(kit: Any) -> None:
    desk = kit.FakeDesk()
    buffer = FeedBuffer(capacity=5)
    assert buffer.extend([desk.push(f"m{i}") for i in range(3)]) == (3, 0, [], 0)
    assert buffer.extend([desk.push(f"m{i}") for i in range(3, 9)]) == (6, 4, [], 0)
    assert texts(buffer) == ["m4", "m5", "m6", "m7", "m8"]
    assert buffer.total == 5
    with pytest.raises(IndexError):
        buffer.entry(5)


def test_filter_matches_text_handle_and_hashtags(kit: Any) -> None:
    desk = kit.FakeDesk()
    buffer = FeedBuffer(capacity=100)
    buffer.extend(
        [
            desk.push("La CRÈME brûlée est froide"),
            desk.push("nothing here", handle="Creme_Lover"),
            desk.push("tagged", hashtags=("briochegate",)),
            desk.push("plain"),
        ]
    )
    assert buffer.set_filter("creme")
    assert texts(buffer) == ["La CRÈME brûlée est froide", "nothing here"]
    assert buffer.set_filter("#BriocheGate")
    assert texts(buffer) == ["tagged"]
    assert buffer.set_filter("@creme")
    assert texts(buffer) == ["nothing here"]
    assert not buffer.set_filter("  @Crème ")  # same query once folded: nothing to redo
    assert buffer.set_filter("")
    assert len(buffer) == 4


def test_filter_does_not_match_across_fields(kit: Any) -> None:
    desk = kit.FakeDesk()
    buffer = FeedBuffer()
    buffer.extend([desk.push("ends with ab", handle="cd")])
    buffer.set_filter("ab@cd")
    assert len(buffer) == 0


def test_filter_view_counts_additions_and_evictions(kit: Any) -> None:
    desk = kit.FakeDesk()
    buffer = FeedBuffer(capacity=4)
    buffer.extend([desk.push("hit 0"), desk.push("miss 1"), desk.push("hit 2"), desk.push("miss 3")])
    buffer.set_filter("hit")
    assert texts(buffer) == ["hit 0", "hit 2"]
    added, evicted, _, _ = buffer.extend([desk.push("hit 4"), desk.push("miss 5")])
    assert (added, evicted) == (1, 1)  # "hit 0" fell off; "miss 1" fell off unseen
    assert texts(buffer) == ["hit 2", "hit 4"]
    assert buffer.total == 4


def test_long_filtered_run_stays_bounded(kit: Any) -> None:
    desk = kit.FakeDesk()
    buffer = FeedBuffer(capacity=50)
    buffer.set_filter("x")
    for i in range(5000):
        buffer.extend([desk.push(f"x {i}")])
    assert len(buffer) == 50
    assert texts(buffer)[-1] == "x 4999" and texts(buffer)[0] == "x 4950"
    assert len(buffer._matches) < 2 * 50 + 1100  # the index list is trimmed as it goes


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError):
        FeedBuffer(capacity=0)


def test_from_handle_filters_by_author_not_by_mention(kit: Any) -> None:
    """Issue 12: ``@handle`` also matches the posts that mention the handle; ``from:`` is the author."""
    desk = kit.FakeDesk()
    buffer = FeedBuffer(capacity=100)
    buffer.extend(
        [
            desk.push("Look what @julie_goute_tout found", handle="lea"),
            desk.push("Mould in my brioche", handle="Julie_Goute_Tout"),
            desk.push("me too", handle="julie_goute_tout_fan"),
        ]
    )
    buffer.set_filter("@julie_goute_tout")
    assert len(buffer) == 3  # text, author and a longer handle: what a substring finds
    assert buffer.set_filter("from:@julie_goute_tout")
    assert texts(buffer) == ["Mould in my brioche"]
    assert buffer.query == "from:@julie_goute_tout"  # the feed's title says what was typed
    assert not buffer.set_filter("FROM:@Julie_Goute_Tout")  # folded: the same query
    buffer.set_filter("from:lea")  # the @ is optional
    assert texts(buffer) == ["Look what @julie_goute_tout found"]
    buffer.extend([desk.push("again", handle="@lea"), desk.push("lea said", handle="paulo")])
    assert texts(buffer) == ["Look what @julie_goute_tout found", "again"]  # arrivals filtered too
