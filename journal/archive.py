"""The mentions archive: every scored mention kept for the review, batched, pruned after a while.

Takes what the pipeline hands out without depending on ``tocsin.scoring``: any object with
``.mention`` (a ``Mention``), ``.topics``, ``.sentiment`` (``.label``, ``.score``, ``.engine``) and
``.scores``; a bare ``Mention``; or the public JSON mention object (a dict, as ``--emit mentions``
writes it). A batch is one transaction. Pinned evidence is never pruned.

A mention sent again with the same (source, uid) is a revision (``Mention.revision``), and the archive
keeps what a post-mortem needs to tell the story: a deletion only marks the row (``deleted_at``; its
sentiment and scores stay as they were judged); an edit replaces the words and their scores but keeps
the first archived words (``original_text``) and marks ``edited_at``; a later author profile refreshes
the row. Pinned evidence is never rewritten, only marked deleted or edited.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tocsin.journal.errors import InvalidValue, JournalBusy, JournalUnavailable
from tocsin.journal.store import MENTIONS, Store, Tx, from_ms, to_ms
from tocsin.sources.clock import Clock
from tocsin.sources.model import Mention, MentionFormatError, format_time, parse_time

log = logging.getLogger(__name__)


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class MentionRow:
    """A mention with its scores, flattened for the archive (and for pinned evidence)."""

    mention: Mention
    topics: tuple[str, ...]
    sentiment_label: str | None
    sentiment_score: float | None
    sentiment_engine: str | None
    scores: Mapping[str, Any]

    def values(self, pinned: bool = False) -> tuple[Any, ...]:
        m, a, e = self.mention, self.mention.author, self.mention.engagement
        author = {
            k: v
            for k, v in (
                ("handle", a.handle),
                ("name", a.name),
                ("followers", a.followers),
                ("following", a.following),
                ("posts", a.posts),
                ("created_at", format_time(a.created_at) if a.created_at else None),
                ("verified", a.verified),
                ("bot", a.bot),
            )
            if v is not None
        }
        engagement = [e.replies, e.reposts, e.likes]
        return (
            m.source,
            m.uid,
            to_ms(m.created_at),
            to_ms(m.received_at),
            _dumps(list(self.topics)),
            _dumps(author),
            m.text,
            m.url,
            m.lang,
            _dumps(list(m.hashtags)) if m.hashtags else None,
            None if engagement == [None, None, None] else _dumps(engagement),
            self.sentiment_label,
            self.sentiment_score,
            self.sentiment_engine,
            _dumps(dict(self.scores)) if self.scores else None,
            1 if pinned else 0,
            m.reply_to,
            m.raw_ref,
        )

    def snapshot(self) -> dict[str, Any]:
        """What an ``evidence_pinned`` event keeps: the mention as it was, original time and text."""
        m, a = self.mention, self.mention.author
        return {
            "uid": m.uid,
            "source": m.source,
            "created_at": format_time(m.created_at),
            "text": m.text,
            "url": m.url,
            "author": {"handle": a.handle, "name": a.name, "followers": a.followers},
            "lang": m.lang,
            "sentiment": self.sentiment_label,
            "topics": list(self.topics),
        }


def mention_row(obj: Any) -> MentionRow:
    """Read a ScoredMention-like object, a Mention, or a JSON mention dict; InvalidValue if none."""
    if isinstance(obj, MentionRow):
        return obj
    if isinstance(obj, Mention):
        return MentionRow(obj, (), None, None, None, {})
    inner = getattr(obj, "mention", None)
    if isinstance(inner, Mention):
        sentiment = getattr(obj, "sentiment", None)
        return MentionRow(
            inner,
            tuple(getattr(obj, "topics", ()) or ()),
            getattr(sentiment, "label", None),
            _float(getattr(sentiment, "score", None)),
            getattr(sentiment, "engine", None),
            dict(getattr(obj, "scores", None) or {}),
        )
    if isinstance(obj, Mapping):
        return _row_from_json(obj)
    raise InvalidValue(
        "mention", type(obj).__name__, ["a Mention", "a scored mention", "a JSON mention object"]
    )


def _float(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _row_from_json(obj: Mapping[str, Any]) -> MentionRow:
    try:
        raw_received = obj.get("received_at") or obj.get("created_at")
        received = parse_time(raw_received) if isinstance(raw_received, str) else None
        if received is None:
            raise MentionFormatError("created_at: required to archive a mention")
        mention = Mention.from_json(obj, source=str(obj.get("source") or "unknown"), received_at=received)
    except (MentionFormatError, ValueError) as exc:
        raise InvalidValue("mention", str(exc), ["a valid JSON mention object"]) from None
    scores = dict(obj.get("scores") or {})
    sentiment = scores.pop("sentiment", None) or {}
    return MentionRow(
        mention,
        tuple(str(t) for t in obj.get("topics") or ()),
        sentiment.get("label"),
        _float(sentiment.get("score")),
        sentiment.get("engine"),
        scores,
    )


_COLUMNS = (
    "source, uid, created_at, received_at, topics, author, text, url, lang, hashtags, engagement, "
    "sentiment_label, sentiment_score, sentiment_engine, scores, pinned, reply_to, raw_ref"
)
_READ_COLUMNS = f"{_COLUMNS}, deleted_at, edited_at, original_text, seq"
_PLACEHOLDERS = ", ".join("?" * 18)
_REFRESH = (
    "received_at = excluded.received_at, topics = excluded.topics, "
    "author = excluded.author, text = excluded.text, url = excluded.url, lang = excluded.lang, "
    "hashtags = excluded.hashtags, engagement = excluded.engagement, "
    "sentiment_label = excluded.sentiment_label, sentiment_score = excluded.sentiment_score, "
    "sentiment_engine = excluded.sentiment_engine, scores = excluded.scores, "
    "reply_to = excluded.reply_to, raw_ref = excluded.raw_ref, seq = excluded.seq"
)
# A new mention, or one seen again (replayed, or its author's profile arrived), refreshes its row,
# except a pinned one, which stays as pinned; marks of deletion and edits stay. Every statement that
# writes what attached desks should see again takes the next ``seq`` as its last value.
ARCHIVE_SQL = (
    f"INSERT INTO mentions ({_COLUMNS}, seq) VALUES ({_PLACEHOLDERS}, ?) "
    f"ON CONFLICT(source, uid) DO UPDATE SET {_REFRESH} WHERE mentions.pinned = 0"
)
# An edit: the new words and their scores, the first archived words kept the first time they change
# (in an UPDATE every right-hand side reads the row as it was, so ``mentions.text`` is the old text).
# A mention first seen as an edit is inserted with no original: the desk never saw its first words.
EDIT_SQL = (
    f"INSERT INTO mentions ({_COLUMNS}, edited_at, seq) VALUES ({_PLACEHOLDERS}, ?, ?) "
    f"ON CONFLICT(source, uid) DO UPDATE SET {_REFRESH}, "
    "original_text = CASE WHEN mentions.original_text IS NULL AND mentions.text <> excluded.text "
    "THEN mentions.text ELSE mentions.original_text END, "
    "edited_at = CASE WHEN coalesce(mentions.edited_at, 0) > excluded.edited_at THEN mentions.edited_at "
    "ELSE excluded.edited_at END WHERE mentions.pinned = 0"
)
# Pinned evidence keeps its words (the post-mortem quotes what was pinned) but learns it was edited.
# (The later of two times is a CASE: SQLite spells it max(a, b), PostgreSQL greatest(a, b).)
EDIT_PINNED_SQL = (
    "UPDATE mentions SET edited_at = CASE WHEN coalesce(edited_at, 0) > ?1 THEN edited_at ELSE ?1 END "
    "WHERE source = ?2 AND uid = ?3 AND pinned = 1"
)
# A deletion marks the row, pinned or not, and changes nothing else: the deleted post arrives unscored,
# and its words and judgement as the desk saw them are the evidence. A mention never archived gets no
# row (there would be nothing to show but "deleted"). The first time the desk learnt it is kept.
DELETE_SQL = "UPDATE mentions SET deleted_at = ?, seq = ? WHERE source = ? AND uid = ? AND deleted_at IS NULL"
_INSERT = f"INSERT INTO mentions ({_COLUMNS}) VALUES ({_PLACEHOLDERS}) ON CONFLICT(source, uid) DO"
KEEP_SQL = f"{_INSERT} NOTHING"
PIN_SQL = f"{_INSERT} UPDATE SET pinned = 1"


async def pin_in(tx: Tx, row: MentionRow) -> None:
    """Archive a mention as pinned evidence (inside a caller's transaction)."""
    await tx.execute(PIN_SQL, row.values(pinned=True))


_CONVERT_INLINE = 64


_Run = tuple[str | None, list[tuple[Any, ...]]]


def _runs(batch: Sequence[Any]) -> list[_Run]:
    """The batch's statement values in runs of one kind (``None``: new mentions and author revisions,
    ``"edit"``, ``"deleted"``), in the batch's order: an edit that follows its original is applied after
    it. A batch without revisions is one run."""
    runs: list[_Run] = []
    kind: str | None = "start"
    rows: list[tuple[Any, ...]] = []
    for obj in batch:
        row = mention_row(obj)
        m = row.mention
        revision = m.revision
        if revision == "deleted":
            values: tuple[Any, ...] = (to_ms(m.received_at), m.source, m.uid)
        elif revision == "edit":
            values = (*row.values(), to_ms(m.received_at))
        else:
            revision = None  # an author revision is an upsert like a new mention
            values = row.values()
        if revision != kind:
            kind, rows = revision, []
            runs.append((kind, rows))
        rows.append(values)
    return runs


SEQ_KEY = "mentions_seq"
"""journal_meta's counter of archive writes: the last ``seq`` given (see ``archived_since``)."""


async def take_seqs(tx: Tx, n: int) -> int:
    """Reserve ``n`` archive ``seq`` values (inside a write: writers are serialised, so seqs follow
    the order of the commits and a reader that saw seq N has seen every write before it); returns
    the first. The counter lives in journal_meta, so pruning never lets a seq be given twice."""
    last = await tx.scalar("SELECT value FROM journal_meta WHERE key = ?", (SEQ_KEY,))
    first = int(last or 0) + 1
    await tx.execute(
        "INSERT INTO journal_meta (key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (SEQ_KEY, str(first + n - 1)),
    )
    return first


async def _write_runs(tx: Tx, runs: Sequence[_Run]) -> None:
    seq = await take_seqs(tx, sum(len(rows) for _, rows in runs))
    for kind, rows in runs:
        numbered = range(seq, seq + len(rows))
        seq += len(rows)
        if kind is None:
            await tx.executemany(ARCHIVE_SQL, [(*r, n) for r, n in zip(rows, numbered, strict=True)])
        elif kind == "edit":
            await tx.executemany(EDIT_SQL, [(*r, n) for r, n in zip(rows, numbered, strict=True)])
            await tx.executemany(EDIT_PINNED_SQL, [(r[-1], r[0], r[1]) for r in rows])
        else:
            deleted = [(at, n, source, uid) for (at, source, uid), n in zip(rows, numbered, strict=True)]
            await tx.executemany(DELETE_SQL, deleted)


@dataclass(frozen=True, slots=True)
class ArchivedMention:
    """An archived mention as stored, with what the desk learnt of it afterwards."""

    row: MentionRow
    pinned: bool
    deleted_at: datetime | None = None
    """When the desk learnt the platform deleted the post (the row keeps its words and scores)."""
    edited_at: datetime | None = None
    """When the desk learnt of the author's last edit (``row`` holds the edited version)."""
    original_text: str | None = None
    """The words first archived, kept on the first edit that changed them."""
    seq: int | None = None
    """Where its last write stands in the archive's order (``archived_since``); None for rows archived
    before schema 6, and for evidence pinned before the archive had it."""

    @property
    def mention(self) -> Mention:
        return self.row.mention


@dataclass(frozen=True, slots=True)
class MentionRevisions:
    """What happened to a pinned mention after the desk saw it, for the post-mortem."""

    deleted_at: datetime | None
    edited_at: datetime | None
    original_text: str | None


@dataclass(frozen=True, slots=True)
class PruneResult:
    mentions: int
    volume_minutes: int


class ArchiveCommands:
    """The archive part of ``Journal`` (needs ``store``, ``clock`` and ``settings``)."""

    store: Store
    clock: Clock
    retention: timedelta

    async def archive(self, mentions: Sequence[Any], *, durable: bool = False) -> int:
        """Archive a batch in one transaction, revisions included; returns how many mentions it took
        (a deletion of a mention never archived is taken and changes nothing).

        ``durable=False`` commits with ``synchronous=NORMAL``: safe if the process dies, and a power cut
        loses at most the last batches, which the sources can replay from their cursors. Listeners on
        ``MENTIONS`` are woken when it commits (payload: how many mentions).
        """
        if not mentions:
            return 0
        batch = list(mentions)
        if len(batch) > _CONVERT_INLINE:
            # ~30 µs a mention: a big batch converted on the loop would stall the screen for milliseconds
            runs = await asyncio.to_thread(_runs, batch)
        else:
            runs = _runs(batch)

        async def insert(tx: Tx) -> None:
            await _write_runs(tx, runs)
            tx.notify(MENTIONS, str(len(batch)))

        await self.store.write(insert, durable=durable)
        return len(batch)

    async def archived_mention(self, source: str, uid: str) -> ArchivedMention | None:
        """One archived mention, as stored."""
        rows = await self.store.fetchall(
            f"SELECT {_READ_COLUMNS} FROM mentions WHERE source = ? AND uid = ?", (source, uid)
        )
        return _archived(rows[0]) if rows else None

    async def archived_between(
        self, start: datetime, end: datetime, *, topic: str | None = None, limit: int = 10_000
    ) -> list[ArchivedMention]:
        """Archived mentions posted in [start, end), oldest first (optionally of one topic)."""
        where = "created_at >= ? AND created_at < ?"
        params: list[Any] = [to_ms(start), to_ms(end)]
        if topic is not None:
            where += " AND " + self.store.dialect.json_array_has("mentions.topics")
            params.append(topic)
        rows = await self.store.fetchall(
            f"SELECT {_READ_COLUMNS} FROM mentions WHERE {where} ORDER BY created_at LIMIT ?",
            (*params, limit),
        )
        return [_archived(r) for r in rows]

    async def pinned_revisions(self, incident_id: int) -> dict[tuple[str, str], MentionRevisions]:
        """The evidence pinned to an incident that was deleted or edited since: (source, uid) → marks."""
        rows = await self.store.fetchall(
            "SELECT m.source, m.uid, m.deleted_at, m.edited_at, m.original_text FROM pins p "
            "JOIN mentions m ON m.source = p.source AND m.uid = p.uid "
            "WHERE p.incident_id = ? AND (m.deleted_at IS NOT NULL OR m.edited_at IS NOT NULL)",
            (incident_id,),
        )
        return {
            (source, uid): MentionRevisions(_time(deleted), _time(edited), original)
            for source, uid, deleted, edited, original in rows
        }

    async def archived_count(self) -> int:
        return int(await self.store.scalar("SELECT count(*) FROM mentions"))

    async def archived_since(self, seq: int, *, limit: int = 2000) -> list[ArchivedMention]:
        """The mentions written to the archive after ``seq`` (new ones, revisions, deletions), in the
        order they were written, at most ``limit``: an attached desk's feed, read from its cursor (the
        last one's ``seq``). A mention written again comes again, as it now stands."""
        rows = await self.store.fetchall(
            f"SELECT {_READ_COLUMNS} FROM mentions WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)
        )
        if len(rows) > _CONVERT_INLINE:  # a catch-up of thousands would stall the screen's loop
            return await asyncio.to_thread(lambda: [_archived(r) for r in rows])
        return [_archived(r) for r in rows]

    async def archive_seq(self) -> int:
        """The last ``seq`` the archive gave (0 for none): where a new reader starts."""
        value = await self.store.scalar("SELECT value FROM journal_meta WHERE key = ?", (SEQ_KEY,))
        return int(value or 0)

    async def prune(self, now: datetime | None = None) -> PruneResult:
        """Forget mentions posted before ``now - desk.archive_retention``, except pinned evidence,
        and volume history older than that which no incident's chart needs."""
        now = now or self.clock.now()
        cutoff = to_ms(now - self.retention)
        margin = 6 * 3600 * 1000

        async def delete(tx: Tx) -> PruneResult:
            mentions = await tx.changed("DELETE FROM mentions WHERE created_at < ? AND pinned = 0", (cutoff,))
            # an incident's chart needs its topic's minutes from 6 h before the opening to 6 h after the end
            minutes = await tx.changed(
                "DELETE FROM volume WHERE minute < ? AND NOT EXISTS (SELECT 1 FROM incidents i "
                "WHERE i.topic = volume.topic AND volume.minute * 60000 BETWEEN i.opened_at - ? AND "
                "coalesce(i.resolved_at, ?) + ?)",
                (cutoff // 60_000, margin, to_ms(now), margin),
            )
            return PruneResult(mentions, minutes)

        result = await self.store.write(delete, durable=False)
        if result.mentions or result.volume_minutes:
            await self.store.vacuum_free_pages()
        return result


def _archived(r: tuple[Any, ...]) -> ArchivedMention:
    from tocsin.sources.model import Author, Engagement

    source, uid, created, received, topics, author, text, url, lang, hashtags, engagement = r[:11]
    label, score, engine, scores, pinned, reply_to, raw_ref = r[11:18]
    deleted_at, edited_at, original_text, seq = r[18:]
    a = json.loads(author)
    e = json.loads(engagement) if engagement else [None, None, None]
    mention = Mention(
        uid=uid,
        source=source,
        text=text,
        created_at=from_ms(created),
        received_at=from_ms(received),
        url=url,
        author=Author(
            handle=a.get("handle", ""),
            name=a.get("name"),
            followers=a.get("followers"),
            following=a.get("following"),
            posts=a.get("posts"),
            created_at=parse_time(a["created_at"]) if a.get("created_at") else None,
            verified=a.get("verified"),
            bot=a.get("bot"),
        ),
        lang=lang,
        hashtags=tuple(json.loads(hashtags)) if hashtags else (),
        engagement=Engagement(*e),
        reply_to=reply_to,
        raw_ref=raw_ref,
        deleted=deleted_at is not None,
    )
    row = MentionRow(
        mention, tuple(json.loads(topics)), label, score, engine, json.loads(scores) if scores else {}
    )
    order = None if seq is None else int(seq)
    return ArchivedMention(row, bool(pinned), _time(deleted_at), _time(edited_at), original_text, order)


def _time(ms: int | None) -> datetime | None:
    return None if ms is None else from_ms(ms)


class Archiver:
    """Archives what the pipeline scores, in the background: give ``add`` to ``Desk.add_batch_listener``.

    ``add`` is synchronous and returns at once; batches arriving while a write is under way are
    coalesced into the next transaction (up to ``max_batch`` mentions). If the journal falls behind by
    more than ``max_pending`` mentions the oldest waiting ones are dropped and counted in ``dropped``
    (memory stays bounded in a storm).

    Nothing is lost in silence: a batch the journal cannot take for now (busy, unavailable) is put back
    and retried after a pause; a batch that fails for any other reason is written one mention at a
    time, so only the mentions that cannot be stored are lost, counted in ``failed`` with
    ``last_error``. The writer task is supervised: if it dies anyway (a bug), the cause is logged,
    counted in ``crashes``, reported through ``on_problem`` and the task restarts with what is pending.
    Call ``close`` (or ``flush``) before closing the journal.
    """

    RETRY_DELAYS: tuple[float, ...] = (0.2, 1.0, 5.0)
    """Pauses (real seconds) before retrying a batch the journal refused as busy or unavailable; after
    the last one the batch is counted as failed, so a journal gone for good cannot hold memory forever."""

    def __init__(
        self,
        journal: ArchiveCommands,
        *,
        max_batch: int = 2000,
        max_pending: int = 200_000,
        on_problem: Callable[[str], None] | None = None,
    ) -> None:
        self._journal = journal
        self._max_batch = max_batch
        self._max_pending = max_pending
        self._pending: deque[Any] = deque()
        self._inflight: list[Any] = []  # the batch being written: put back if the writer dies with it
        self._task: asyncio.Task[None] | None = None
        self._restart: asyncio.TimerHandle | None = None
        self._closing = False
        self.on_problem = on_problem
        """Called with a message fit to show whenever mentions could not be archived."""
        self.written = 0
        self.dropped = 0
        self.failed = 0
        self.retries = 0
        self.crashes = 0
        self.last_error: str | None = None
        self.healthy = True
        """False from a problem until the next batch is written whole (the wall's standing warning)."""

    @property
    def pending(self) -> int:
        return len(self._pending)

    def add(self, batch: Sequence[Any]) -> None:
        """Queue a batch (call on the event loop)."""
        self._pending.extend(batch)
        overflow = len(self._pending) - self._max_pending
        for _ in range(max(0, overflow)):
            self._pending.popleft()
        if overflow > 0:
            self.dropped += overflow
            self._problem(f"archive: {overflow} mentions dropped, the journal is too far behind")
        self._ensure_task()

    def _ensure_task(self) -> None:
        if self._pending and (self._task is None or self._task.done()):
            self._task = asyncio.get_running_loop().create_task(self._drain(), name="journal-archiver")
            self._task.add_done_callback(self._supervise)

    def _supervise(self, task: asyncio.Task[None]) -> None:
        """The writer ended. Fine when nothing is left; otherwise it died (a bug, or a cancel from
        outside): the cause is said, the batch it held is put back, and it restarts after a pause
        that grows with repeated crashes (a bug that crashes every time must not spin)."""
        if self._closing and task.cancelled():
            return
        exc = None if task.cancelled() else task.exception()
        if exc is None and not task.cancelled():
            self._ensure_task()  # a batch added as the drain was finishing
            return
        if self._inflight:
            self._pending.extendleft(reversed(self._inflight))
            self._inflight = []
        self.crashes += 1
        cause = "cancelled" if exc is None else f"{type(exc).__name__}: {exc}"
        log.error("archive writer died (%s); restarting", cause, exc_info=exc)
        self._problem(f"archive writer died ({cause}); restarted, nothing lost")
        delay = min(5.0, 0.05 * 2 ** (self.crashes - 1))
        try:
            self._restart = asyncio.get_running_loop().call_later(delay, self._ensure_task)
        except RuntimeError:  # the loop is gone: nothing can run any more
            log.error("archive writer not restarted: the event loop is closed (%d pending)", self.pending)

    def _problem(self, message: str) -> None:
        self.last_error = message
        self.healthy = False
        if self.on_problem is not None:
            try:
                self.on_problem(message)
            except Exception:  # a broken listener must not take the archive down with it
                log.exception("archive problem listener failed")

    async def _drain(self) -> None:
        while self._pending:
            chunk = [self._pending.popleft() for _ in range(min(self._max_batch, len(self._pending)))]
            self._inflight = chunk
            try:
                self.written += await self._write_retrying(chunk)
                self.healthy = True
            except (JournalBusy, JournalUnavailable) as exc:
                self.failed += len(chunk)
                self._problem(f"archive: {len(chunk)} mentions not archived: {exc}")
            except Exception:  # InvalidValue, or a value the database refuses: find the culprits
                await self._one_by_one(chunk)
            self._inflight = []

    async def _write_retrying(self, chunk: list[Any]) -> int:
        for delay in (*self.RETRY_DELAYS, None):
            try:
                return await self._journal.archive(chunk)
            except (JournalBusy, JournalUnavailable):
                if delay is None:
                    raise
                self.retries += 1
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # the loop returns or raises

    async def _one_by_one(self, chunk: list[Any]) -> None:
        """Write a batch that failed as a whole mention by mention; only those that fail are lost."""
        lost = 0
        for m in chunk:
            try:
                mention_row(m).values()  # refuses what cannot be read before touching the journal
                self.written += await self._write_retrying([m])
            except Exception as exc:
                lost += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
        if lost:
            self.failed += lost
            self._problem(
                f"archive: {lost} of {len(chunk)} mentions could not be archived ({self.last_error})"
            )

    async def flush(self) -> None:
        """Wait until everything queued so far is written, through restarts if the writer dies; a
        writer that dies three times over gives up what is pending (counted as failed), so closing the
        desk cannot hang on a bug."""
        crashes_before = self.crashes
        while self._pending or self._inflight or (self._task is not None and not self._task.done()):
            if self.crashes - crashes_before >= 3:
                lost, self._inflight = len(self._pending), []
                self._pending.clear()
                self.failed += lost
                self._problem(f"archive: {lost} mentions not archived, the writer keeps dying")
                return
            if self._task is None or self._task.done():
                if self._restart is not None:
                    self._restart.cancel()
                self._ensure_task()
            task = self._task
            assert task is not None
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if not task.cancelled() or (current is not None and current.cancelling()):
                    raise  # flush itself is being cancelled
            except Exception:
                pass  # a crash is the supervisor's to report
            await asyncio.sleep(0)  # let the supervisor put back what a crash held

    async def close(self) -> None:
        await self.flush()
        self._closing = True
