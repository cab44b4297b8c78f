"""Who matters now: reach weighted by hostility, the watchlist always listed, a bounded table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tocsin.config.settings import InfluenceSettings
from tocsin.scoring.influence import InfluenceScorer
from tocsin.scoring.voices import AuthorTable
from tocsin.sources.model import Author, Mention

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
SCORER = InfluenceScorer(InfluenceSettings(watchlist=("claire",), roles={"claire": "journalist"}))


def add(
    table: AuthorTable,
    handle: str,
    followers: int,
    at: datetime,
    *,
    negative: bool,
    text: str = "maison brioche",
    source: str = "demo",
    bot: float = 0.1,
) -> None:
    m = Mention(
        uid=f"{handle}{at}",
        source=source,
        text=text,
        created_at=at,
        received_at=at,
        author=Author(handle=handle, name=handle.title(), followers=followers),
    )
    table.add(m, at, SCORER.score_mention(m), bot, negative)


def test_hostile_reach_ranks_first_and_the_watchlist_is_always_listed() -> None:
    table = AuthorTable()
    add(table, "bigfan", 400_000, T0, negative=False)
    add(table, "bigangry", 400_000, T0, negative=True)
    add(table, "claire", 900, T0, negative=False)  # a journalist with a small audience here
    for i in range(30):
        add(table, f"crowd{i}", 200, T0, negative=True)
    rows = table.top(T0 + timedelta(minutes=1), 3)
    assert [r.handle for r in rows] == ["bigangry", "claire", "bigfan"]
    assert rows[1].watch_role == "journalist"
    assert (rows[0].tier, rows[0].negative, rows[0].mentions) == ("macro", 1, 1)


def test_counts_cover_the_window_and_the_last_words_win() -> None:
    table = AuthorTable(window=timedelta(hours=1))
    add(table, "karim", 3_000, T0, negative=True, text="first")
    add(table, "karim", 3_000, T0 + timedelta(minutes=50), negative=False, text="second")
    add(table, "karim", 3_000, T0 + timedelta(minutes=20), negative=True, text="late arrival")
    (row,) = table.top(T0 + timedelta(minutes=55), 5)
    assert (row.mentions, row.negative, row.last_text) == (3, 2, "second")
    assert row.last_at == T0 + timedelta(minutes=50)
    (row,) = table.top(T0 + timedelta(minutes=75), 5)  # the first post is out of the hour
    assert (row.mentions, row.negative) == (2, 1)
    assert table.top(T0 + timedelta(hours=3), 5) == [] and len(table) == 0


def test_same_handle_on_two_platforms_is_two_people() -> None:
    table = AuthorTable()
    add(table, "alex", 50_000, T0, negative=True, source="mastodon")
    add(table, "alex", 500, T0, negative=False, source="bluesky")
    rows = table.top(T0, 5)
    assert sorted((r.source, r.followers) for r in rows) == [("bluesky", 500), ("mastodon", 50_000)]


def test_the_table_stays_bounded_and_keeps_who_matters() -> None:
    table = AuthorTable(max_authors=100)
    add(table, "claire", 900, T0, negative=False)
    for i in range(1_000):
        add(table, f"u{i}", 100 + i, T0 + timedelta(seconds=i), negative=i % 2 == 0)
    assert len(table) <= 200
    handles = [r.handle for r in table.top(T0 + timedelta(seconds=1_000), 10)]
    assert handles[0] == "claire" and "u998" in handles
