"""The mentions archive: every scored mention kept for the review, batched, pruned after a while.

Takes what the pipeline hands out without depending on ``tocsin.scoring``: any object with
``.mention`` (a ``Mention``), ``.topics``, ``.sentiment`` (``.label``, ``.score``, ``.engine``) and
``.scores``; a bare ``Mention``; or the public JSON mention object (a dict, as ``--emit mentions``
writes it). A batch is one transaction.

A mention sent again with the same (source, uid) is a revision (``Mention.revision``), and the archive
keeps what a post-mortem needs to tell the story: a deletion only marks the row (``deleted_at``; its
sentiment and scores stay as they were judged); an edit replaces the words and their scores but keeps
the first archived words (``original_text``) and marks ``edited_at``; a later author profile refreshes
the row. Pinned evidence is never rewritten, only marked deleted or edited.

**How it is stored, and why.** A storm is hundreds of thousands of mentions a day, and a desk keeps a
month of them: stored as they were in schema 6 (a text column a field, keyed JSON for the author and
the scores, a second copy of source and uid in the primary key's index) a mention took ~800 bytes, a
busy month tens of gigabytes. Since schema 7 a row is (``journal/archive_format.py``)::

    id | key | created_at | seq | topics | pinned | deleted_at | edited_at | dict | body

- ``body``: everything the mention was (source, uid, words, link, author and their counts at the
  time, engagement, language, hashtags, sentiment, every score, reply_to, raw_ref, the first words of
  an edited post) as one JSON array with no key names, compressed alone with zstd and a **dictionary
  trained on this journal's own mentions** (``mention_dicts``; the row's ``dict`` says which, 0 for
  none). Posts are short: compressed alone they shrink ~1.5x, with a dictionary that already holds
  their brand, hashtags, handles' shapes, URLs, score names and bot reasons ~4x (540 → 127 bytes on the
  bench's mentions). The first dictionary is trained once the archive has ``TRAIN_AFTER`` mentions (the
  rows written before it are compressed again with it), a new one every ``RETRAIN_EVERY`` writes on
  what is said now; each is 32 kB, immutable and kept, so every row stays readable.
- ``key``: a 64-bit hash of (source, uid) with a plain index (8 bytes instead of a second copy of a
  ~60-byte Bluesky URI); rows that share a key (a collision) are told apart by the source and uid in
  their records, so lookups read a key's rows and compare.
- ``created_at``, ``seq``, ``topics``, ``pinned`` and the revision marks stay columns: what the
  queries select on (a time window, an attached desk's cursor, a topic, pinned evidence, prune).

Measured (``make bench``, ``journal_bytes_per_100k_mentions``, and a headless replay of
``tests/bench/replay.py``): 800 → ~230 bytes a mention on the bench's mentions, 620 → ~226 on the
varied replay, nothing of a mention dropped. Not done, and why: an authors table (a profile kept once
per author) saves at most the ~20 bytes an author costs in a compressed record, and only for authors
who post many times with the same counts; the followers at the time of a post are part of its
judgement (influence) and change, so they would stay in the record anyway. Compressing many mentions
together would shrink more, but a revision or a prune would rewrite whole blocks.

Retention (``desk.archive_retention``, 30 days unless set; the desk prunes every hour) forgets older
mentions but keeps pinned evidence and the mentions of an incident's topic posted in its window (6 h
before it opened to 6 h after it was resolved), marked ``KEPT`` so later prunes pass them by.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tocsin.journal import archive_format
from tocsin.journal.archive_format import (
    Codecs,
    codecs_in,
    codecs_of,
    encode,
    mention_key,
    train,
)
from tocsin.journal.errors import InvalidValue, JournalBusy, JournalUnavailable
from tocsin.journal.store import MENTIONS, Store, Tx, from_ms, to_ms
from tocsin.sources.clock import Clock
from tocsin.sources.model import Mention, MentionFormatError, ScoredMention, format_time, parse_time

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
    """Read a ScoredMention, a Mention, or a JSON mention dict; InvalidValue if none."""
    if isinstance(obj, MentionRow):
        return obj
    if isinstance(obj, Mention):
        return MentionRow(obj, (), None, None, None, {})
    if isinstance(obj, ScoredMention):
        sentiment = obj.sentiment
        return MentionRow(
            obj.mention,
            tuple(obj.topics),
            sentiment.label,
            _float(sentiment.score),
            sentiment.engine,
            dict(obj.scores),
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


_COLUMNS = "id, key, created_at, seq, topics, pinned, deleted_at, edited_at, dict, body"
"""A row as read: ``_archived`` takes them in this order."""
INSERT_SQL = (
    "INSERT INTO mentions (key, created_at, seq, topics, pinned, deleted_at, edited_at, dict, body) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
UPDATE_SQL = (
    "UPDATE mentions SET topics = ?, seq = ?, pinned = ?, deleted_at = ?, edited_at = ?, dict = ?, body = ? "
    "WHERE id = ?"
)
PINNED = 1
"""``mentions.pinned``: evidence pinned to an incident (never rewritten, never pruned)."""
KEPT = 2
"""``mentions.pinned``: kept past retention because an incident of one of its topics was open around
it (see ``prune``); rewritten like any other row."""
_LOOKUP_SIZES = (1, 16, 256)
"""Keys asked for in one statement: a few fixed sizes (padded), so each is prepared once."""


def _lookup_sql(size: int, condition: str) -> str:
    marks = ", ".join("?" * size)
    return f"SELECT {_COLUMNS} FROM mentions WHERE key IN ({marks}){condition}"


async def _by_keys(tx: Tx, keys: Sequence[int], condition: str = "") -> list[tuple[Any, ...]]:
    """Every row whose key is one of ``keys`` (collisions included: tell them apart by their record)."""
    rows: list[tuple[Any, ...]] = []
    i = 0
    while i < len(keys):
        size = next((n for n in _LOOKUP_SIZES if n >= len(keys) - i), _LOOKUP_SIZES[-1])
        chunk = list(keys[i : i + size])
        chunk += [chunk[-1]] * (size - len(chunk))
        rows += await tx.fetchall(_lookup_sql(size, condition), chunk)
        i += size
    return rows


@dataclass(slots=True)
class _Item:
    """One mention of a batch, ready to write: what it is (``kind``: None for a new post or an author's
    profile, ``edit``, ``deleted``, ``pin``, ``keep``), its key and its record, compressed with
    ``dict_id`` (none for a deletion, which writes only its mark)."""

    kind: str | None
    row: MentionRow
    key: int
    created_ms: int
    received_ms: int
    topics: str
    dict_id: int
    body: bytes | None


def _prepare(batch: Sequence[Any], codecs: Codecs, dict_id: int, kind: str | None = None) -> list[_Item]:
    """The batch's mentions encoded and compressed (``kind`` for all, else each one's revision)."""
    items = []
    for obj in batch:
        row = mention_row(obj)
        m = row.mention
        what = kind if kind is not None else m.revision
        if what == "author":
            what = None  # an author's profile refreshes the row like the post seen again
        created = to_ms(m.created_at)
        body = None if what == "deleted" else codecs.compress(dict_id, encode(row, created))
        key = mention_key(m.source, m.uid)
        items.append(
            _Item(what, row, key, created, to_ms(m.received_at), _dumps(list(row.topics)), dict_id, body)
        )
    return items


@dataclass(slots=True)
class _Slot:
    """A mention's row as a batch leaves it: read from the journal (``id``) or new."""

    id: int | None
    key: int
    created_ms: int
    seq: int | None
    topics: str
    pinned: int
    deleted_at: int | None
    edited_at: int | None
    dict_id: int
    body: bytes
    text: str
    original: str | None
    changed: bool = False


def _later(a: int | None, b: int) -> int:
    return b if a is None or b >= a else a


def _apply(item: _Item, slots: dict[tuple[str, str], _Slot], seq: int, codecs: Codecs) -> None:
    """What one mention does to its row (the rules in the module docstring), in the batch's order."""
    m = item.row.mention
    who = (m.source, m.uid)
    slot = slots.get(who)
    if item.kind == "deleted":  # marks the row, pinned or not; the first time the desk learnt it stays
        if slot is not None and slot.deleted_at is None:
            slot.deleted_at, slot.seq, slot.changed = item.received_ms, seq, True
        return
    assert item.body is not None
    if slot is None:
        slots[who] = _Slot(
            None,
            item.key,
            item.created_ms,
            None if item.kind in ("pin", "keep") else seq,
            item.topics,
            PINNED if item.kind == "pin" else 0,
            None,
            item.received_ms if item.kind == "edit" else None,
            item.dict_id,
            item.body,
            m.text,
            None,
            True,
        )
        return
    if item.kind == "keep":
        return
    if item.kind == "pin":
        if slot.pinned != PINNED:
            slot.pinned, slot.changed = PINNED, True
        return
    if slot.pinned == PINNED:  # pinned evidence keeps its words; it only learns it was edited
        if item.kind == "edit":
            slot.edited_at, slot.changed = _later(slot.edited_at, item.received_ms), True
        return
    original = slot.original
    if item.kind == "edit":
        if original is None and slot.text != m.text:
            original = slot.text  # the first archived words, kept the first time they change
        slot.edited_at = _later(slot.edited_at, item.received_ms)
    if original is None and slot.created_ms == item.created_ms:
        slot.body, slot.dict_id = item.body, item.dict_id
    else:
        slot.body = codecs.compress(item.dict_id, encode(item.row, slot.created_ms, original))
        slot.dict_id = item.dict_id
    slot.topics, slot.text, slot.original, slot.seq, slot.changed = item.topics, m.text, original, seq, True


async def _write_items(tx: Tx, items: Sequence[_Item], first_seq: int | None) -> None:
    """Write prepared mentions in one transaction: the rows they touch read once, then each mention
    applied in order (the n-th taking seq ``first_seq + n``), then one INSERT or UPDATE a row."""
    codecs = codecs_of(tx)
    slots: dict[tuple[str, str], _Slot] = {}
    existing = await _by_keys(tx, sorted({item.key for item in items}))
    if existing:
        await codecs.load(tx, {r[8] for r in existing})
    for r in existing:
        rid, key, created, seq, topics, pinned, deleted_at, edited_at, dict_id, body = r
        record = codecs.read(dict_id, body)
        slots[(record.source, record.uid)] = _Slot(
            rid, key, created, seq, topics, pinned, deleted_at, edited_at, dict_id, body,
            record.text, record.original_text,
        )  # fmt: skip
    for n, item in enumerate(items):
        _apply(item, slots, (first_seq or 0) + n, codecs)
    inserts, updates = [], []
    for s in slots.values():
        if s.id is None:
            inserts.append(
                (s.key, s.created_ms, s.seq, s.topics, s.pinned, s.deleted_at, s.edited_at, s.dict_id, s.body)
            )
        elif s.changed:
            updates.append((s.topics, s.seq, s.pinned, s.deleted_at, s.edited_at, s.dict_id, s.body, s.id))
    if inserts:
        await tx.executemany(INSERT_SQL, inserts)
    if updates:
        await tx.executemany(UPDATE_SQL, updates)


async def _writing_dict(tx: Tx) -> int:
    """The dictionary to write with, asking the journal for a newer one now and then."""
    codecs = codecs_of(tx)
    if codecs.stale():
        await codecs.refresh(tx)
    return codecs.latest


async def pin_in(tx: Tx, row: MentionRow) -> None:
    """Archive a mention as pinned evidence (inside a caller's transaction); its row, if it has one
    already, is only marked pinned."""
    dict_id = await _writing_dict(tx)
    await _write_items(tx, _prepare([row], codecs_of(tx), dict_id, "pin"), None)


async def keep_in(tx: Tx, row: MentionRow) -> None:
    """Archive a mention unless it is already (inside a caller's transaction)."""
    dict_id = await _writing_dict(tx)
    await _write_items(tx, _prepare([row], codecs_of(tx), dict_id, "keep"), None)


_CONVERT_INLINE = 64


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


WINDOW_MARGIN_MS = 6 * 3600 * 1000
"""An incident's window: from this long before it opened to this long after it was resolved."""


class ArchiveCommands:
    """The archive part of ``Journal`` (needs ``store``, ``clock`` and ``settings``)."""

    store: Store
    clock: Clock
    retention: timedelta

    def _codecs(self) -> Codecs:
        return codecs_in(self.store.cache)

    async def archive(self, mentions: Sequence[Any], *, durable: bool = False) -> int:
        """Archive a batch in one transaction, revisions included; returns how many mentions it took
        (a deletion of a mention never archived is taken and changes nothing).

        ``durable=False`` commits with ``synchronous=NORMAL``: safe if the process dies, and a power cut
        loses at most the last batches, which the sources can replay from their cursors. Listeners on
        ``MENTIONS`` are woken when it commits (payload: how many mentions). The archive's first
        compression dictionary is trained after the batch that reaches ``TRAIN_AFTER`` writes.
        """
        if not mentions:
            return 0
        batch = list(mentions)
        codecs = self._codecs()
        if codecs.checked_at == float("-inf"):  # a process's first batch: the journal's dictionary
            await self.store.read(codecs.refresh)
        dict_id = codecs.latest
        if len(batch) > _CONVERT_INLINE:
            # ~10 µs a mention: a big batch converted on the loop would stall the screen for milliseconds
            items = await asyncio.to_thread(_prepare, batch, codecs, dict_id)
        else:
            items = _prepare(batch, codecs, dict_id)

        async def insert(tx: Tx) -> int:
            first = await take_seqs(tx, len(items))
            await _write_items(tx, items, first)
            if codecs.stale():
                await codecs.refresh(tx)
            tx.notify(MENTIONS, str(len(batch)))
            return first + len(items) - 1

        last = await self.store.write(insert, durable=durable)
        if training_due(codecs, last):
            await self.train_archive(last)
        return len(batch)

    async def train_archive(self, seq: int | None = None) -> int | None:
        """Train a new compression dictionary on the latest archived records and write with it from now
        on (the first one also recompresses the rows written before it); returns its id, or None when
        there is too little to train on or another desk trained one meanwhile. ``archive`` calls this
        when it is due (``TRAIN_AFTER``, ``RETRAIN_EVERY``); a failure is logged, never raised."""
        codecs = self._codecs()
        seq = seq if seq is not None else await self.archive_seq()
        codecs.next_training = seq + archive_format.TRAIN_AFTER  # whatever happens, not again before then
        try:

            async def sample(tx: Tx) -> list[tuple[Any, ...]]:
                rows = await tx.fetchall(
                    "SELECT dict, body FROM mentions ORDER BY id DESC LIMIT ?", (archive_format.TRAIN_SAMPLE,)
                )
                await codecs.load(tx, {r[0] for r in rows})
                return rows

            rows = await self.store.read(sample)
            before = codecs.latest

            def trained() -> bytes | None:
                return train([codecs.decompress(d, bytes(b)) for d, b in rows])

            body = await asyncio.to_thread(trained)
            if body is None:
                return None

            async def keep(tx: Tx) -> int | None:
                await codecs.refresh(tx)
                if codecs.latest != before:
                    return None  # another desk trained one meanwhile: write with theirs
                dict_id = await _insert_dict(tx, body, seq, len(rows))
                if before == 0:
                    await _recompress_undictionaried(tx, dict_id, body)
                return dict_id

            dict_id = await self.store.write(keep, durable=False)
            if dict_id is not None:  # known to this process once it is in the journal, not before
                codecs.add(dict_id, body, seq)
            return dict_id
        except Exception:  # a dictionary is an economy: the archive works without a new one
            log.exception("archive: could not train a compression dictionary")
            return None

    async def _read_rows(self, sql: str, params: Sequence[Any]) -> list[ArchivedMention]:
        codecs = self._codecs()

        async def q(tx: Tx) -> list[tuple[Any, ...]]:
            rows = await tx.fetchall(sql, params)
            await codecs.load(tx, {r[8] for r in rows})
            return rows

        rows = await self.store.read(q)
        if len(rows) > _CONVERT_INLINE:  # a catch-up of thousands would stall the screen's loop
            return await asyncio.to_thread(lambda: [_archived(r, codecs) for r in rows])
        return [_archived(r, codecs) for r in rows]

    async def archived_mention(self, source: str, uid: str) -> ArchivedMention | None:
        """One archived mention, as stored."""
        rows = await self._read_rows(
            f"SELECT {_COLUMNS} FROM mentions WHERE key = ?", (mention_key(source, uid),)
        )
        return next((a for a in rows if (a.mention.source, a.mention.uid) == (source, uid)), None)

    async def archived_between(
        self, start: datetime, end: datetime, *, topic: str | None = None, limit: int = 10_000
    ) -> list[ArchivedMention]:
        """Archived mentions posted in [start, end), oldest first (optionally of one topic)."""
        where = "created_at >= ? AND created_at < ?"
        params: list[Any] = [to_ms(start), to_ms(end)]
        if topic is not None:
            where += " AND " + self.store.dialect.json_array_has("mentions.topics")
            params.append(topic)
        return await self._read_rows(
            f"SELECT {_COLUMNS} FROM mentions WHERE {where} ORDER BY created_at, id LIMIT ?",
            (*params, limit),
        )

    async def pinned_revisions(self, incident_id: int) -> dict[tuple[str, str], MentionRevisions]:
        """The evidence pinned to an incident that was deleted or edited since: (source, uid) → marks."""
        codecs = self._codecs()

        async def q(tx: Tx) -> tuple[set[tuple[str, str]], list[tuple[Any, ...]]]:
            pins = {(s, u) for s, u in await tx.fetchall(
                "SELECT source, uid FROM pins WHERE incident_id = ?", (incident_id,)
            )}  # fmt: skip
            keys = sorted({mention_key(s, u) for s, u in pins})
            rows = await _by_keys(tx, keys, " AND (deleted_at IS NOT NULL OR edited_at IS NOT NULL)")
            await codecs.load(tx, {r[8] for r in rows})
            return pins, rows

        pins, rows = await self.store.read(q)
        found = {}
        for r in rows:
            record = codecs.read(r[8], r[9])
            if (record.source, record.uid) in pins:
                found[(record.source, record.uid)] = MentionRevisions(
                    _time(r[6]), _time(r[7]), record.original_text
                )
        return found

    async def archived_count(self) -> int:
        return int(await self.store.scalar("SELECT count(*) FROM mentions"))

    async def archived_since(self, seq: int, *, limit: int = 2000) -> list[ArchivedMention]:
        """The mentions written to the archive after ``seq`` (new ones, revisions, deletions), in the
        order they were written, at most ``limit``: an attached desk's feed, read from its cursor (the
        last one's ``seq``). A mention written again comes again, as it now stands."""
        return await self._read_rows(
            f"SELECT {_COLUMNS} FROM mentions WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)
        )

    async def archive_seq(self) -> int:
        """The last ``seq`` the archive gave (0 for none): where a new reader starts."""
        value = await self.store.scalar("SELECT value FROM journal_meta WHERE key = ?", (SEQ_KEY,))
        return int(value or 0)

    async def prune(self, now: datetime | None = None) -> PruneResult:
        """Forget mentions posted before ``now - desk.archive_retention``, except pinned evidence and
        the mentions of an incident's topic posted in its window (6 h before it opened to 6 h after it
        was resolved, or now), which the post-mortem may still want (marked ``KEPT``, so later prunes
        pass them by); and volume history older than that which no incident's chart needs."""
        now = now or self.clock.now()
        cutoff = to_ms(now - self.retention)
        margin = WINDOW_MARGIN_MS
        in_window = (
            "EXISTS (SELECT 1 FROM incidents i WHERE mentions.created_at BETWEEN i.opened_at - ? "
            "AND coalesce(i.resolved_at, ?) + ? AND "
            + self.store.dialect.json_array_has("mentions.topics", "i.topic")
            + ")"
        )

        async def delete(tx: Tx) -> PruneResult:
            await tx.execute(
                f"UPDATE mentions SET pinned = {KEPT} WHERE created_at < ? AND pinned = 0 AND {in_window}",
                (cutoff, margin, to_ms(now), margin),
            )
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


def training_due(codecs: Codecs, seq: int) -> bool:
    """Whether the archive, at ``seq``, should train a compression dictionary (see archive_format)."""
    if seq < codecs.next_training:
        return False
    if codecs.latest == 0:
        return seq >= archive_format.TRAIN_AFTER
    return seq - codecs.latest_seq >= archive_format.RETRAIN_EVERY


_RECOMPRESS_MAX = 20_000


async def _insert_dict(tx: Tx, body: bytes, seq: int, samples: int) -> int:
    return int(
        await tx.scalar(
            "INSERT INTO mention_dicts (seq, samples, trained_at, body) VALUES (?, ?, ?, ?) RETURNING id",
            (seq, samples, int(time.time() * 1000), body),
        )
    )


async def _recompress_undictionaried(tx: Tx, dict_id: int, dictionary: bytes) -> None:
    """The rows written before the journal had a dictionary, compressed again with its first (a few
    thousand: the dictionary's own sample)."""
    codecs = Codecs()  # not the store's: the dictionary is not the journal's until this commits
    codecs.add(dict_id, dictionary, 0)
    rows = await tx.fetchall("SELECT id, body FROM mentions WHERE dict = 0 LIMIT ?", (_RECOMPRESS_MAX,))
    await tx.executemany(
        "UPDATE mentions SET dict = ?, body = ? WHERE id = ?",
        [(dict_id, codecs.compress(dict_id, codecs.decompress(0, bytes(b))), rid) for rid, b in rows],
    )


def _archived(r: tuple[Any, ...], codecs: Codecs) -> ArchivedMention:
    _id, _key, created, seq, topics, pinned, deleted_at, edited_at, dict_id, body = r
    record = codecs.read(dict_id, body)
    row = record.row(created, json.loads(topics), deleted_at is not None)
    order = None if seq is None else int(seq)
    return ArchivedMention(
        row, pinned == PINNED, _time(deleted_at), _time(edited_at), record.original_text, order
    )


def _time(ms: int | None) -> datetime | None:
    return None if ms is None else from_ms(ms)


# --- migration 7: the archive as schema 6 kept it, into the compact archive -------------------------

_V6_COLUMNS = (
    "source, uid, created_at, received_at, topics, author, text, url, lang, hashtags, engagement, "
    "sentiment_label, sentiment_score, sentiment_engine, scores, pinned, reply_to, raw_ref, "
    "deleted_at, edited_at, original_text, seq"
)
_V6_PAGE = 2000


def _v6_row(r: tuple[Any, ...]) -> tuple[MentionRow, str | None]:
    """A row of schema 6's ``mentions`` (JSON columns) as a MentionRow and its original words."""
    from tocsin.sources.model import Author, Engagement

    source, uid, created, received, topics, author, text, url, lang, hashtags, engagement = r[:11]
    label, score, engine, scores = r[11:15]
    reply_to, raw_ref, deleted_at, original_text = r[16], r[17], r[18], r[20]
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
    return row, original_text


async def convert_archive_v7(tx: Tx) -> None:
    """Migration 7's step (frozen with it): schema 6's ``mentions`` rows into ``archive_v7``, the first
    dictionary trained on the latest of them when there are enough, every mark and seq kept."""
    total = int(await tx.scalar("SELECT count(*) FROM mentions"))
    if not total:
        return
    codecs = Codecs()  # not the store's: nothing here is the journal's until the migration commits
    dict_id = 0
    if total >= archive_format.TRAIN_AFTER:
        sample = await tx.fetchall(
            f"SELECT {_V6_COLUMNS} FROM mentions ORDER BY created_at DESC LIMIT ?",
            (archive_format.TRAIN_SAMPLE,),
        )
        records = []
        for r in sample:
            row, original = _v6_row(r)
            records.append(encode(row, int(r[2]), original))
        body = train(records)
        if body is not None:
            seq = int(await tx.scalar("SELECT value FROM journal_meta WHERE key = ?", (SEQ_KEY,)) or 0)
            dict_id = await _insert_dict(tx, body, seq, len(records))
            codecs.add(dict_id, body, seq)
    after: tuple[Any, ...] | None = None
    done = 0
    while True:
        page = "WHERE source > ? OR (source = ? AND uid > ?) " if after else ""
        params: tuple[Any, ...] = (after[0], after[0], after[1]) if after else ()
        rows = await tx.fetchall(
            f"SELECT {_V6_COLUMNS} FROM mentions {page}ORDER BY source, uid LIMIT {_V6_PAGE}", params
        )
        if not rows:
            break
        values = []
        for r in rows:
            row, original = _v6_row(r)
            created = int(r[2])
            body = codecs.compress(dict_id, encode(row, created, original))
            m = row.mention
            key = mention_key(m.source, m.uid)
            values.append((key, created, r[21], _dumps(list(row.topics)), r[15], r[18], r[19], dict_id, body))
        await tx.executemany(INSERT_SQL.replace("INTO mentions", "INTO archive_v7"), values)
        done += len(rows)
        after = (rows[-1][0], rows[-1][1])
    log.info("archive: %d mentions converted to the compact archive (dictionary %d)", done, dict_id)


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
                encode(mention_row(m), 0)  # refuses what cannot be stored before touching the journal
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
