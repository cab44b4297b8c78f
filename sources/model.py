"""The Mention: one post about the brand, as a source saw it.

Sources fill what the platform gives and leave the rest ``None``, never a made-up value.
The JSON form (``to_json``/``from_json``) is the public one fixed by ARCHITECTURE.md: it is what
``--emit mentions`` writes and what the ``jsonl`` and ``webhook`` sources read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal


class MentionFormatError(ValueError):
    """A mention object that cannot be read (names the field at fault)."""


@dataclass(frozen=True, slots=True)
class Author:
    handle: str
    name: str | None = None
    followers: int | None = None
    following: int | None = None
    posts: int | None = None
    created_at: datetime | None = None
    verified: bool | None = None
    bot: bool | None = None


@dataclass(frozen=True, slots=True)
class Engagement:
    replies: int | None = None
    reposts: int | None = None
    likes: int | None = None

    @property
    def total(self) -> int:
        return (self.replies or 0) + (self.reposts or 0) + (self.likes or 0)


NO_ENGAGEMENT = Engagement()
REVISIONS = frozenset({"edit", "author"})
"""The values of ``Mention.extra["update"]``: see ``Mention.revision``."""
ANONYMOUS = Author(handle="")


@dataclass(frozen=True, slots=True)
class Mention:
    uid: str
    """Source-scoped stable id (the same post seen twice has the same uid)."""
    source: str
    """Id of the configured source that produced it."""
    text: str
    """Plain text, HTML already stripped. Hostile: display only through tui/safe_text.py."""
    created_at: datetime
    """When the author posted it, aware UTC."""
    received_at: datetime
    """When the desk received it, aware UTC (on the desk's clock)."""
    url: str | None = None
    author: Author = ANONYMOUS
    lang: str | None = None
    hashtags: tuple[str, ...] = ()
    """Lower-case, without '#'."""
    engagement: Engagement = NO_ENGAGEMENT
    reply_to: str | None = None
    raw_ref: str | None = None
    """A pointer back to the raw record (platform id or URI), for audits."""
    deleted: bool = False
    """The platform reported this post deleted after we saw it."""
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def author_key(self) -> str:
        """Who wrote it, as a key that stays the same across the author's posts: the account id a source
        gives when the handle may come later (Bluesky's DID, ``extra["did"]``), else the handle."""
        did = self.extra.get("did") if self.extra else None
        return did if isinstance(did, str) and did else self.author.handle

    @property
    def revision(self) -> str | None:
        """What this mention revises of one sent before with the same uid, or None for a new post:
        ``"deleted"`` (the platform deleted it), ``"edit"`` (the author edited it) or ``"author"`` (its
        author's profile arrived later). Consumers replace what they hold; the desk never counts a
        revision as a new mention."""
        if self.deleted:
            return "deleted"
        update = self.extra.get("update") if self.extra else None
        return update if update in REVISIONS else None

    def to_json(self) -> dict[str, Any]:
        """The public JSON mention object (without ``type``, ``topics`` and ``scores``)."""
        a, e = self.author, self.engagement
        return {
            "uid": self.uid,
            "source": self.source,
            "url": self.url,
            "created_at": format_time(self.created_at),
            "received_at": format_time(self.received_at),
            "text": self.text,
            "lang": self.lang,
            "hashtags": list(self.hashtags),
            "author": {
                "handle": a.handle,
                "name": a.name,
                "followers": a.followers,
                "following": a.following,
                "posts": a.posts,
                "created_at": format_time(a.created_at) if a.created_at else None,
                "verified": a.verified,
                "bot": a.bot,
            },
            "engagement": {"replies": e.replies, "reposts": e.reposts, "likes": e.likes},
            "reply_to": self.reply_to,
            "raw_ref": self.raw_ref,
            "deleted": self.deleted,
            **({"revision": revision} if (revision := self.revision) in REVISIONS else {}),
        }

    @classmethod
    def from_json(
        cls,
        obj: Any,
        *,
        source: str,
        received_at: datetime,
        default_uid: str | None = None,
    ) -> Mention:
        """Read a mention object; only ``text`` is required. Raises MentionFormatError naming the field.

        ``created_at`` defaults to ``received_at``; ``uid`` to ``default_uid`` (e.g. a line number or a
        content hash chosen by the caller). ``revision`` (``"edit"`` or ``"author"``, as ``to_json``
        writes it) marks a new version of a mention sent before. Unknown fields are ignored.
        """
        if not isinstance(obj, Mapping):
            raise MentionFormatError(f"expected a JSON object, got {type(obj).__name__}")
        text = obj.get("text")
        if not isinstance(text, str):
            raise MentionFormatError("text: required, must be a string")
        uid = obj.get("uid", default_uid)
        if uid is None:
            raise MentionFormatError("uid: required")
        if not isinstance(uid, (str, int)) or isinstance(uid, bool):
            raise MentionFormatError("uid: must be a string")
        latest = latest_time(received_at)
        created = _time_field(obj, "created_at", latest=latest) or received_at
        author_obj = obj.get("author") or {}
        if isinstance(author_obj, str):
            author_obj = {"handle": author_obj}
        if not isinstance(author_obj, Mapping):
            raise MentionFormatError("author: must be an object or a handle string")
        author = Author(
            handle=_str_field(author_obj, "handle", "author.") or "",
            name=_str_field(author_obj, "name", "author."),
            followers=_count_field(author_obj, "followers", "author."),
            following=_count_field(author_obj, "following", "author."),
            posts=_count_field(author_obj, "posts", "author."),
            created_at=_author_since(author_obj, latest),
            verified=_bool_field(author_obj, "verified", "author."),
            bot=_bool_field(author_obj, "bot", "author."),
        )
        eng_obj = obj.get("engagement") or {}
        if not isinstance(eng_obj, Mapping):
            raise MentionFormatError("engagement: must be an object")
        engagement = Engagement(
            replies=_count_field(eng_obj, "replies", "engagement."),
            reposts=_count_field(eng_obj, "reposts", "engagement."),
            likes=_count_field(eng_obj, "likes", "engagement."),
        )
        tags = obj.get("hashtags") or []
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise MentionFormatError("hashtags: must be a list of strings")
        return cls(
            uid=valid_text(str(uid)),
            source=source,
            text=valid_text(text),
            created_at=created,
            received_at=received_at,
            url=_str_field(obj, "url"),
            author=author,
            lang=_str_field(obj, "lang"),
            hashtags=normalise_hashtags([valid_text(t) for t in tags]) if tags else extract_hashtags(text),
            engagement=engagement,
            reply_to=_str_field(obj, "reply_to"),
            raw_ref=_str_field(obj, "raw_ref"),
            deleted=bool(_bool_field(obj, "deleted")),
            extra=_revision_extra(obj),
        )


def _revision_extra(obj: Mapping[str, Any]) -> dict[str, Any]:
    revision = obj.get("revision")
    if revision is None:
        return {}
    if not isinstance(revision, str) or revision not in REVISIONS:  # a list is unhashable: TypeError
        raise MentionFormatError(f"revision: must be one of {', '.join(sorted(REVISIONS))}")
    return {"update": revision}


def utc(dt: datetime) -> datetime:
    """Make a datetime aware UTC (naive ones are taken as UTC)."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def format_time(dt: datetime) -> str:
    """ISO-8601 UTC with a ``Z``; milliseconds only when present."""
    dt = utc(dt)
    if dt.microsecond:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str) -> datetime:
    """Parse an ISO-8601 timestamp (``Z`` or offset; naive taken as UTC) to aware UTC."""
    s = value.strip()
    if s.endswith(("Z", "z")):
        s = s[:-1] + "+00:00"
    return utc(datetime.fromisoformat(s))


def normalise_hashtags(tags: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for t in tags:
        t = t.strip().lstrip("#").lower()
        if t:
            seen.setdefault(t, None)
    return tuple(seen)


_HASHTAG = re.compile(r"(?<![\w#])#(\w+)")


def extract_hashtags(text: str) -> tuple[str, ...]:
    """Hashtags written in the text (``#Word``), lower-cased, in order, without duplicates."""
    if "#" not in text:
        return ()
    return normalise_hashtags([t for t in _HASHTAG.findall(text) if not t.isdigit()])


def _str_field(obj: Mapping[str, Any], key: str, prefix: str = "") -> str | None:
    v = obj.get(key)
    if v is None:
        return None
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return str(v)
    if not isinstance(v, str):
        raise MentionFormatError(f"{prefix}{key}: must be a string")
    return valid_text(v)


def _count_field(obj: Mapping[str, Any], key: str, prefix: str = "") -> int | None:
    v = obj.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= MAX_COUNT:
        # NaN fails the comparison too; a count past MAX_COUNT is a forgery or a bug, not a platform
        raise MentionFormatError(f"{prefix}{key}: must be a whole number from 0 to {MAX_COUNT:,}")
    return int(v)


def _bool_field(obj: Mapping[str, Any], key: str, prefix: str = "") -> bool | None:
    v = obj.get(key)
    if v is None:
        return None
    if not isinstance(v, bool):
        raise MentionFormatError(f"{prefix}{key}: must be true or false")
    return v


def _time_field(
    obj: Mapping[str, Any], key: str, prefix: str = "", *, latest: datetime | None = None
) -> datetime | None:
    """A timestamp field (ISO-8601 text or Unix seconds), checked against ``sane_time``."""
    v = obj.get(key)
    if v is None:
        return None
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        try:
            when = datetime.fromtimestamp(v, UTC)
        except (ValueError, OverflowError, OSError):  # NaN, infinities, beyond year 9999
            raise MentionFormatError(f"{prefix}{key}: not a Unix time: {v!r:.40}") from None
    elif isinstance(v, str):
        try:
            when = parse_time(v)
        except (ValueError, OverflowError):  # OverflowError: year 9999 with a negative offset
            raise MentionFormatError(f"{prefix}{key}: not an ISO-8601 timestamp: {v[:40]!r}") from None
    else:
        raise MentionFormatError(f"{prefix}{key}: must be an ISO-8601 timestamp")
    if not sane_time(when, latest):
        raise MentionFormatError(f"{prefix}{key}: {format_time(when)} is outside {_range(latest)}")
    return when


def _author_since(author_obj: Mapping[str, Any], latest: datetime) -> datetime | None:
    """``author.created_at``: optional, so an absurd or unreadable one is left out, not fatal to the
    mention (the post itself is fine; only the profile's date is not to be believed)."""
    try:
        return _time_field(author_obj, "created_at", "author.", latest=latest)
    except MentionFormatError:
        return None


# --- the boundary: what every mention passes before the desk uses it -----------------------------

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
"""No post the desk watches is older; a date before is a placeholder (``0001-01-01``) or a bug."""
FUTURE_SLACK = timedelta(days=1)
"""How far past now a timestamp may be (clocks disagree, time zones get mislabelled)."""
MAX_COUNT = 10**12
"""Above any real follower or like count, far below what SQLite and float arithmetic can carry."""
_SURROGATE = re.compile("[\ud800-\udfff]")


def latest_time(received_at: datetime) -> datetime:
    """The latest believable timestamp for a mention received at ``received_at``.

    Relative to the wall clock as well as the desk clock: a replay's simulated clock may start in 1970
    (stdin) or trail the data it reads, and a replay of a past storm must not lose its later mentions.
    """
    return max(received_at, datetime.now(UTC)) + FUTURE_SLACK


def sane_time(when: datetime, latest: datetime | None = None) -> bool:
    """Whether a timestamp can be a real post's: from 2000 to ``latest`` (default: now + 1 day).

    Outside that, times break what reads them: a year-9999 date overflows when shown in a local time
    zone, a year-1 date when windows subtract from it."""
    return EARLIEST <= when <= (latest or latest_time(EARLIEST))


def _range(latest: datetime | None) -> str:
    end = format_time(latest) if latest else "now + 1 day"
    return f"{format_time(EARLIEST)} … {end}"


def valid_text(s: str) -> str:
    """``s`` as valid Unicode: lone surrogates (which JSON's ``\\ud800`` escapes can carry, and which
    no encoder, SQLite or terminal accepts) become U+FFFD. Pairs written as two escapes are joined."""
    if s.isascii() or not _SURROGATE.search(s):
        return s
    return s.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def admit(m: Mention) -> Mention:
    """The one boundary for untrusted data: ``m`` checked and normalised, or MentionFormatError.

    Every mention from every source passes here once (``Desk`` does it as they arrive), so nothing
    past it needs to defend itself: ``created_at`` lies in ``sane_time`` (else the mention is refused:
    without a believable time it cannot be placed in a window), text fields are valid Unicode, counts
    are whole numbers from 0 to ``MAX_COUNT`` (else ``None``, as for a platform that does not say), an
    absurd ``author.created_at`` is ``None``. The common mention is only looked at, never copied.
    """
    changes: dict[str, Any] = {}
    if m.received_at.tzinfo is None or m.created_at.tzinfo is None:  # a source's slip: naive means UTC
        m = replace(m, received_at=utc(m.received_at), created_at=utc(m.created_at))
    latest = latest_time(m.received_at)
    if not sane_time(m.created_at, latest):
        raise MentionFormatError(f"created_at: {format_time(m.created_at)} is outside {_range(latest)}")
    if not sane_time(m.received_at, latest):
        raise MentionFormatError(f"received_at: {format_time(m.received_at)} is outside {_range(latest)}")
    for name in ("uid", "text", "url", "lang", "reply_to", "raw_ref"):
        v = getattr(m, name)
        if v is not None and not v.isascii() and _SURROGATE.search(v):
            changes[name] = valid_text(v)
    if any(not t.isascii() and _SURROGATE.search(t) for t in m.hashtags):
        changes["hashtags"] = tuple(valid_text(t) for t in m.hashtags)
    author = _admit_author(m.author, latest)
    if author is not m.author:
        changes["author"] = author
    engagement = m.engagement
    if engagement is not NO_ENGAGEMENT and not all(
        _count_ok(c) for c in (engagement.replies, engagement.reposts, engagement.likes)
    ):
        changes["engagement"] = Engagement(
            *(_count_or_none(c) for c in (engagement.replies, engagement.reposts, engagement.likes))
        )
    return replace(m, **changes) if changes else m


def _count_ok(c: int | None) -> bool:
    return c is None or (type(c) is int and 0 <= c <= MAX_COUNT)


def _count_or_none(c: Any) -> int | None:
    """A count a source computed as a float kept as a whole number; anything unbelievable dropped."""
    if c is None or _count_ok(c):
        return None if c is None else int(c)
    if isinstance(c, float) and math.isfinite(c) and 0 <= c <= MAX_COUNT:
        return int(c)
    return None


def _admit_author(a: Author, latest: datetime) -> Author:
    changes: dict[str, Any] = {}
    for name in ("handle", "name"):
        v = getattr(a, name)
        if v is not None and not v.isascii() and _SURROGATE.search(v):
            changes[name] = valid_text(v)
    for name in ("followers", "following", "posts"):
        c = getattr(a, name)
        if not _count_ok(c):
            changes[name] = _count_or_none(c)
    if a.created_at is not None and not sane_time(a.created_at, latest):
        changes["created_at"] = None
    return replace(a, **changes) if changes else a


# --- what scoring makes of a mention ---------------------------------------------------------------
# Kept here, beside the Mention, because every layer above shares them: scoring makes them, the journal
# archives them, the desk and the wall show them.

SentimentLabel = Literal["negative", "neutral", "positive", "unscored"]


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
    """Further judgements by name, each a JSON-ready mapping: ``influence`` (``score`` 0–100, ``tier``,
    ``watchlist`` role when on it), ``bot`` (``score`` 0–1, ``reasons``) and, for a mention in a copy-paste
    wave of at least ``clusters.min_size``, ``cluster`` (``id``, ``size``, ``authors``)."""

    def to_json(self) -> dict[str, Any]:
        obj = {"type": "mention", **self.mention.to_json(), "topics": list(self.topics)}
        obj["scores"] = {"sentiment": self.sentiment.to_json(), **self.scores}
        return obj
