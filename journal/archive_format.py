"""How an archived mention is stored: one small compressed record a row, found by a hash of its key.

``journal/archive.py`` says why the archive is laid out this way; this module is the layout itself:

- ``mention_key(source, uid)``: the row's lookup key, a signed 64-bit hash (BLAKE2b) of the two. Two
  mentions may share a key (a collision): every lookup reads all rows of a key and tells them apart by
  the (source, uid) in their records, so a collision costs a comparison, never a mix-up.
- ``encode``/``decode``: the record, a JSON array (orjson) in a fixed field order, its first element
  the format (``FORMAT``), trailing empty fields left out. Times are epoch milliseconds, received_at as
  milliseconds after created_at (a column of the row).
- ``Codecs``: zstd, level 3, magicless frames with their size and without checksum or dictionary id
  (the row says which dictionary: its ``dict`` column), one a record. Dictionary 0 is none; others are
  trained on the journal's own records (``train``) and kept in ``mention_dicts``, immutable, never
  reused, so any of them can still be read and any can be written with.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
import zstandard as zstd

from tocsin.journal.store import Tx, from_ms, to_ms
from tocsin.sources.model import Author, Engagement, Mention

if TYPE_CHECKING:
    from tocsin.journal.archive import MentionRow

FORMAT = 1
"""The record's layout (its first element); a reader refuses one it does not know."""
LEVEL = 3
"""zstd's level: 2–3 µs a record; level 6 saves 3 % more at three times the time."""
DICT_SIZE = 32 * 1024
TRAIN_AFTER = 2000
"""The archive's first dictionary is trained once it has given this many seqs (written this many times)."""
TRAIN_SAMPLE = 4000
"""How many of the latest records a dictionary is trained on."""
MIN_SAMPLES = 500
"""Fewer records than this (a pruned archive) and training waits for more."""
RETRAIN_EVERY = 500_000
"""A new dictionary after this many more writes, trained on what is said now: the words of a storm
change (a new brand, another language), and a dictionary costs 32 kB once."""
LATEST_CHECK_S = 60.0
"""How long a process writes with the newest dictionary it knows before asking the journal again (one
another desk trained meanwhile; writing with an older one is correct, only a little bigger)."""

_PARAMS = zstd.ZstdCompressionParameters.from_level(
    LEVEL,
    source_size=64 * 1024,  # tables sized for small records: half the memory, the same ratio
    format=zstd.FORMAT_ZSTD1_MAGICLESS,
    write_checksum=0,
    write_dict_id=0,
    write_content_size=1,
)
_FIELDS = 17
_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY  # a score may be a numpy number


def mention_key(source: str, uid: str) -> int:
    """The row's lookup key: a signed 64-bit hash of (source, uid), the same on every machine."""
    digest = hashlib.blake2b(f"{source}\x00{uid}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _default(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return dict(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=str)
    raise TypeError(f"{type(obj).__name__} cannot be archived")


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)


def encode(row: MentionRow, created_ms: int, original_text: str | None = None) -> bytes:
    """The record of ``row`` (its ``created_at`` is the row's column ``created_ms``)."""
    m, a, e = row.mention, row.mention.author, row.mention.engagement
    author: list[Any] = [
        a.handle,
        a.name,
        a.followers,
        a.following,
        a.posts,
        to_ms(a.created_at) if a.created_at else None,
        a.verified,
        a.bot,
    ]
    while author and author[-1] is None:
        author.pop()
    engagement = [e.replies, e.reposts, e.likes]
    fields: list[Any] = [
        FORMAT,
        m.source,
        m.uid,
        to_ms(m.received_at) - created_ms,
        m.text,
        m.url,
        m.lang,
        list(m.hashtags) or None,
        None if engagement == [None, None, None] else engagement,
        author,
        row.sentiment_label,
        row.sentiment_score,
        row.sentiment_engine,
        dict(row.scores) or None,
        m.reply_to,
        m.raw_ref,
        original_text,
    ]
    while fields[-1] is None:
        fields.pop()
    try:
        return orjson.dumps(fields, default=_default, option=_OPTIONS)
    except orjson.JSONEncodeError:
        for s in _strings(fields):  # say which words cannot be stored, as the database would
            s.encode()
        raise


@dataclass(frozen=True, slots=True)
class Record:
    """A decoded record: who it is (``source``, ``uid``) and its fields, read whole only when asked."""

    source: str
    uid: str
    fields: list[Any]

    @property
    def text(self) -> str:
        return str(self.fields[4])

    @property
    def original_text(self) -> str | None:
        value = self.fields[16]
        return None if value is None else str(value)

    def row(self, created_ms: int, topics: Sequence[str], deleted: bool) -> MentionRow:
        from tocsin.journal.archive import MentionRow

        f = self.fields
        a = list(f[9] or ()) + [None] * (8 - len(f[9] or ()))
        e = f[8] or (None, None, None)
        mention = Mention(
            uid=self.uid,
            source=self.source,
            text=f[4],
            created_at=from_ms(created_ms),
            received_at=from_ms(created_ms + f[3]),
            url=f[5],
            author=Author(
                handle=a[0] or "",
                name=a[1],
                followers=a[2],
                following=a[3],
                posts=a[4],
                created_at=from_ms(a[5]) if a[5] is not None else None,
                verified=a[6],
                bot=a[7],
            ),
            lang=f[6],
            hashtags=tuple(f[7] or ()),
            engagement=Engagement(*e),
            reply_to=f[14],
            raw_ref=f[15],
            deleted=deleted,
        )
        return MentionRow(mention, tuple(topics), f[10], f[11], f[12], f[13] or {})


def decode(record: bytes) -> Record:
    fields = orjson.loads(record)
    if not isinstance(fields, list) or not fields or fields[0] != FORMAT:
        raise ValueError(f"an archived mention in an unknown format: {str(fields)[:40]}")
    fields.extend([None] * (_FIELDS - len(fields)))
    return Record(str(fields[1]), str(fields[2]), fields)


class Codecs:
    """The archive's dictionaries of one journal as this process knows them, with its compressors (one
    set per thread: a zstd context serves one thread at a time). Kept in the store's ``cache``."""

    def __init__(self) -> None:
        self._dicts: dict[int, zstd.ZstdCompressionDict | None] = {0: None}
        self._local = threading.local()
        self.latest = 0
        """The newest dictionary known: the one new records are written with."""
        self.latest_seq = 0
        """The archive's seq when ``latest`` was trained (0 for none)."""
        self.checked_at = float("-inf")
        """When (monotonic) the journal was last asked for its newest dictionary."""
        self.next_training = 0
        """The seq from which training is worth trying again (after one that could not be done)."""

    def knows(self, dict_id: int) -> bool:
        return dict_id in self._dicts

    def add(self, dict_id: int, body: bytes, seq: int) -> None:
        self._dicts[dict_id] = zstd.ZstdCompressionDict(body)
        if dict_id > self.latest:
            self.latest, self.latest_seq = dict_id, seq

    def _contexts(self) -> tuple[dict[int, zstd.ZstdCompressor], dict[int, zstd.ZstdDecompressor]]:
        local = self._local
        if not hasattr(local, "c"):
            local.c, local.d = {}, {}
        return local.c, local.d

    def compress(self, dict_id: int, record: bytes) -> bytes:
        compressors, _ = self._contexts()
        cctx = compressors.get(dict_id)
        if cctx is None:
            d = self._dicts[dict_id]
            cctx = zstd.ZstdCompressor(dict_data=d, compression_params=_PARAMS)
            compressors[dict_id] = cctx
        return cctx.compress(record)

    def decompress(self, dict_id: int, body: bytes) -> bytes:
        _, decompressors = self._contexts()
        dctx = decompressors.get(dict_id)
        if dctx is None:
            d = self._dicts[dict_id]
            dctx = zstd.ZstdDecompressor(dict_data=d, format=zstd.FORMAT_ZSTD1_MAGICLESS)
            decompressors[dict_id] = dctx
        return dctx.decompress(body)

    def read(self, dict_id: int, body: bytes) -> Record:
        return decode(self.decompress(dict_id, bytes(body)))

    async def load(self, tx: Tx, ids: Iterable[int]) -> None:
        """Make sure the dictionaries ``ids`` are known (read in ``tx``, the reader's own view)."""
        for dict_id in sorted({int(i) for i in ids} - self._dicts.keys()):
            row = await tx.fetchone("SELECT body, seq FROM mention_dicts WHERE id = ?", (dict_id,))
            if row is None:
                raise ValueError(f"the archive's dictionary {dict_id} is missing")
            self.add(dict_id, bytes(row[0]), int(row[1]))

    async def refresh(self, tx: Tx) -> None:
        """Learn the journal's newest dictionary (another desk may have trained one)."""
        newest = await tx.scalar("SELECT max(id) FROM mention_dicts")
        self.checked_at = time.monotonic()
        if newest is not None:
            await self.load(tx, (int(newest),))

    def stale(self) -> bool:
        return time.monotonic() - self.checked_at > LATEST_CHECK_S


CACHE_KEY = "archive.codecs"


def codecs_in(cache: dict[str, Any]) -> Codecs:
    """The codecs kept in a store's ``cache`` (one set per open journal)."""
    codecs = cache.get(CACHE_KEY)
    if not isinstance(codecs, Codecs):
        codecs = cache[CACHE_KEY] = Codecs()
    return codecs


def codecs_of(tx: Tx) -> Codecs:
    """The codecs of the journal ``tx`` belongs to."""
    return codecs_in(tx.cache)


def train(records: Sequence[bytes]) -> bytes | None:
    """A dictionary trained on ``records`` (uncompressed), or None when zstd cannot make one of them
    (too few, too alike)."""
    if len(records) < MIN_SAMPLES:
        return None
    try:
        return zstd.train_dictionary(DICT_SIZE, list(records), level=LEVEL).as_bytes()
    except zstd.ZstdError:
        return None
