"""The one boundary for untrusted data (``Mention.from_json`` and ``admit``): absurd dates, lone surrogates,
non-finite and huge numbers are refused or normalised there, so nothing past it has to defend itself.

The regressions of issue 10 first, then property tests: random JSON values (random Unicode with
surrogates and controls, extreme numbers and dates) never make the boundary raise anything but
``MentionFormatError``, and what it lets through can be stored, encoded and shown in any time zone.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin.sources.model import (
    MAX_COUNT,
    Author,
    Engagement,
    Mention,
    MentionFormatError,
    admit,
    sane_time,
    valid_text,
)

NOW = datetime.now(UTC).replace(microsecond=0)
EXTREME_ZONES = [ZoneInfo("Pacific/Kiritimati"), ZoneInfo("Etc/GMT+12"), ZoneInfo("Europe/Paris")]


def read(obj: object) -> Mention:
    return Mention.from_json(obj, source="s", received_at=NOW, default_uid="d")


@pytest.mark.parametrize(
    "created_at",
    [
        "9999-12-31T23:59:59Z",
        "9999-12-31T23:59:59-05:00",  # overflowed while being turned into UTC
        "0001-01-01T00:00:00Z",
        "1999-12-31T23:59:59Z",
        253402300799,  # 9999-12-31 in Unix seconds
        1e300,
        -62135596800,
        (NOW + timedelta(days=2)).isoformat(),
    ],
)
def test_absurd_post_dates_are_refused_naming_the_field(created_at: object) -> None:
    with pytest.raises(MentionFormatError, match="created_at"):
        read({"text": "maison brioche", "created_at": created_at})


def test_believable_dates_pass_including_a_few_hours_ahead() -> None:
    ahead = NOW + timedelta(hours=20)
    assert read({"text": "x", "created_at": ahead.isoformat()}).created_at == ahead
    assert read({"text": "x", "created_at": "2000-01-01T00:00:00Z"}).created_at.year == 2000


def test_an_absurd_author_date_is_dropped_not_the_mention() -> None:
    m = read({"text": "x", "author": {"handle": "a", "created_at": "9999-12-31T23:59:59Z"}})
    assert m.author.created_at is None
    assert m.author.handle == "a"


@pytest.mark.parametrize("count", [-1, 10**13, 10**400, True, "12"])
def test_counts_outside_reason_are_refused(count: object) -> None:
    with pytest.raises(MentionFormatError, match="followers"):
        read({"text": "x", "author": {"handle": "a", "followers": count}})


def test_lone_surrogates_become_replacement_characters_everywhere() -> None:
    obj = json.loads(
        '{"uid": "u\\ud800", "text": "brioche \\ud800 ok", "url": "https://x/\\udfff",'
        ' "author": {"handle": "h\\udfff", "name": "\\udc00"}, "hashtags": ["t\\ud800"]}'
    )
    m = read(obj)
    for value in (m.uid, m.text, m.url, m.author.handle, m.author.name, *m.hashtags):
        assert value is not None
        value.encode("utf-8")  # would raise UnicodeEncodeError on a lone surrogate
        assert "\ufffd" in value
    assert m.text == "brioche \ufffd ok"


def test_a_surrogate_pair_written_as_two_escapes_is_joined() -> None:
    assert valid_text("a\ud83d\ude00b") == "a😀b"


def test_admit_checks_mentions_that_native_sources_built() -> None:
    """Sources that build a Mention themselves (X, Mastodon, RSS…) are held to the same rules."""
    far = datetime(9999, 12, 31, tzinfo=UTC)
    with pytest.raises(MentionFormatError, match="created_at"):
        admit(Mention("1", "s", "x", far, NOW))
    with pytest.raises(MentionFormatError, match="created_at"):
        admit(Mention("1", "s", "x", datetime(1, 1, 1, tzinfo=UTC), NOW))
    odd = Mention(
        "1\ud800",
        "s",
        "t\udfff",
        NOW,
        NOW,
        author=Author("h\ud800", followers=-5, following=10**20, created_at=far),
        engagement=Engagement(likes=float("nan"), replies=3.0),  # type: ignore[arg-type]
    )
    m = admit(odd)
    assert (m.uid, m.text, m.author.handle) == ("1\ufffd", "t\ufffd", "h\ufffd")
    assert (m.author.followers, m.author.following, m.author.created_at) == (None, None, None)
    assert (m.engagement.likes, m.engagement.replies) == (None, 3)


@pytest.mark.parametrize("revision", [[], {}, 3, "delete"])
def test_a_revision_of_the_wrong_kind_is_a_format_error(revision: object) -> None:
    """Found by ``make fuzz``: ``"revision": []`` raised TypeError (a 500 from the webhook)."""
    with pytest.raises(MentionFormatError, match="revision"):
        read({"text": "x", "revision": revision})


def test_a_good_mention_is_passed_through_as_is() -> None:
    m = read({"text": "maison brioche é", "author": {"handle": "a", "followers": 5}})
    assert admit(m) is m


# --- fuzzing -------------------------------------------------------------------------------------

# Unicode of every category, lone surrogates and controls included.
any_text = st.text(st.characters(codec=None, categories=None), max_size=30)
extreme_numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, MAX_COUNT, MAX_COUNT + 1, 253402300799, -62135596800, 1e308]),
)
extreme_dates = st.one_of(
    st.datetimes(timezones=st.sampled_from([UTC, *EXTREME_ZONES])).map(lambda d: d.isoformat()),
    st.sampled_from(["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59-14:00", "", "Z"]),
)
scalars = st.one_of(st.none(), st.booleans(), any_text, extreme_numbers, extreme_dates)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(any_text, inner, max_size=3),
    max_leaves=8,
)
FIELDS = [
    "uid",
    "text",
    "url",
    "lang",
    "created_at",
    "reply_to",
    "raw_ref",
    "deleted",
    "revision",
    "hashtags",
]
AUTHOR = ["handle", "name", "followers", "following", "posts", "created_at", "verified", "bot"]
mention_objects = st.fixed_dictionaries(
    {"text": st.one_of(any_text, scalars)},
    optional={
        **{k: st.one_of(scalars, json_values) for k in FIELDS if k != "text"},
        "hashtags": st.one_of(st.lists(any_text, max_size=3), json_values),
        "author": st.one_of(
            any_text,
            st.fixed_dictionaries({}, optional={k: st.one_of(scalars, extreme_dates) for k in AUTHOR}),
            json_values,
        ),
        "engagement": st.one_of(
            st.fixed_dictionaries({}, optional={k: extreme_numbers for k in ("replies", "reposts", "likes")}),
            json_values,
        ),
    },
)


def assert_safe_downstream(m: Mention) -> None:
    """What the journal, the exports and the wall do with a mention must work on anything admitted."""
    assert admit(m) is m  # the boundary is idempotent: nothing left to fix
    json.dumps(m.to_json(), ensure_ascii=False).encode("utf-8")
    for zone in EXTREME_ZONES:
        m.created_at.astimezone(zone)
        if m.author.created_at is not None:
            m.author.created_at.astimezone(zone)
    assert sane_time(m.created_at)
    for count in (m.author.followers, m.author.following, m.author.posts, m.engagement.total):
        assert count is None or 0 <= count <= 3 * MAX_COUNT
    m.created_at - timedelta(days=7)  # windows look back from a post's time


@given(mention_objects)
def test_fuzz_from_json_raises_only_format_errors_and_lets_through_only_safe_mentions(obj: dict) -> None:
    try:
        m = read(obj)
    except MentionFormatError:
        return
    assert_safe_downstream(m)
    assert m.text == valid_text(obj["text"])


@given(json_values)
def test_fuzz_any_json_value_is_a_mention_or_a_format_error(value: object) -> None:
    try:
        m = read(value)
    except MentionFormatError:
        return
    assert_safe_downstream(m)


@given(
    text=any_text,
    handle=any_text,
    created=st.datetimes(timezones=st.just(UTC)),
    followers=st.one_of(st.none(), st.integers(min_value=-(10**20), max_value=10**20)),
    likes=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
)
def test_fuzz_admit_takes_any_native_mention(
    text: str, handle: str, created: datetime, followers: int | None, likes: float | None
) -> None:
    raw = Mention(
        "u",
        "s",
        text,
        created,
        NOW,
        author=Author(handle, followers=followers, created_at=created),
        engagement=Engagement(likes=likes),  # type: ignore[arg-type]
    )
    try:
        m = admit(raw)
    except MentionFormatError:
        assert not sane_time(created)
        return
    assert_safe_downstream(m)
    assert m.engagement.likes is None or not math.isnan(m.engagement.likes)
