"""The jsonl source: mentions as JSON Lines from a file or stdin (``-``), optionally followed or replayed.

One public mention object per line (``Mention.from_json``; only ``text`` is required). A line that cannot
be read — invalid UTF-8, invalid JSON, not an object, a field of the wrong type, absurdly long — is
counted in the source's health with its line number and skipped; it never stops the source.

- ``follow``: like ``tail -F``: keep polling at EOF, reopen the file when it is rotated (a new file at
  the path) and start over when it is truncated.
- ``speed``: replay on a simulated clock: each mention is held until the clock reaches its ``created_at``
  (the gap between mentions divided by the speed, in real time), then the clock is moved to it.
- A line without ``uid`` gets a stable one: a hash of the source id and the line, so reading the same
  file again gives the same uids.

Reading and parsing run in a worker thread, one chunk at a time, so the event loop stays free; a pipe
on stdin is read through a StreamReader, which a stop can interrupt.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import stat
import sys
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import orjson

from tocsin.config.settings import JsonlSourceSettings, Settings
from tocsin.sources.base import Source, SourceState
from tocsin.sources.clock import Clock
from tocsin.sources.model import Mention
from tocsin.sources.pacing import StopWatch, wait_until

CHUNK_BYTES = 1 << 20
MAX_LINE_BYTES = 16 << 20
"""Longer lines are skipped (and reported), so one runaway writer cannot exhaust memory."""
POLL_SECONDS = 0.5


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


# Strict JSON: NaN and Infinity would otherwise slip into counts and timestamps.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
# Lines are parsed by orjson (about three times the standard decoder's speed). What it refuses goes to the
# standard decoder, which either names the error or reads what orjson is stricter about (integers
# beyond 64 bits, a lone surrogate escape, which the mention boundary then replaces): the same mentions and
# the same error messages as before, faster.
_STRICT_FALLBACK = object()

# What hostile lines can raise on the way to a Mention (bad numbers, deep nesting, huge timestamps).
_LINE_ERRORS = (ValueError, TypeError, OverflowError, OSError, RecursionError)


def line_uid(source_id: str, line: str) -> str:
    """The stable uid of a line that brings none (same source and line → same uid)."""
    h = hashlib.blake2b(line.encode("utf-8", "surrogatepass"), digest_size=10, key=source_id.encode()[:64])
    return h.hexdigest()


@dataclass(slots=True)
class ParsedChunk:
    mentions: list[Mention] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class LineParser:
    """Splits a byte stream into lines and parses each into a Mention. Not thread-safe; one user at a time."""

    def __init__(self, source_id: str, *, max_line: int = MAX_LINE_BYTES) -> None:
        self.source_id = source_id
        self.max_line = max_line
        self.line_no = 0
        self._rest = b""
        self._skipping = False  # inside a line already reported as too long

    def reset(self) -> None:
        """Start a new file (after truncation or rotation): line numbers restart."""
        self.line_no = 0
        self._rest = b""
        self._skipping = False

    def feed(self, chunk: bytes, received_at: datetime, *, final: bool = False) -> ParsedChunk:
        """Parse every complete line in ``chunk`` (plus what was left over); ``final`` flushes the rest."""
        out = ParsedChunk()
        data = self._rest + chunk if self._rest else chunk
        cut = data.rfind(b"\n")
        if final:
            body, self._rest = data, b""
        elif cut < 0:
            body, self._rest = b"", data
        else:
            body, self._rest = data[: cut + 1], data[cut + 1 :]
        if self._skipping:
            nl = body.find(b"\n")
            if nl < 0:
                self._rest = b""  # still inside the long line
                if final:
                    self._skipping = False
                return out
            body = body[nl + 1 :]
            self._skipping = False
        if len(self._rest) > self.max_line:
            self._rest = b""
            self._skipping = True
        if body:
            self._parse_body(body, received_at, out)
        if self._skipping:
            self.line_no += 1
            out.errors.append(f"line {self.line_no}: longer than {self.max_line} bytes, skipped")
        return out

    def _parse_body(self, body: bytes, received_at: datetime, out: ParsedChunk) -> None:
        if body.endswith(b"\n"):
            body = body[:-1]
        try:
            lines: list[str] | list[bytes] = body.decode("utf-8").split("\n")
        except UnicodeDecodeError:
            lines = body.split(b"\n")  # decode line by line to find the bad ones
        decode, fast = _DECODER.decode, orjson.loads
        sid, mentions, errors = self.source_id, out.mentions, out.errors
        n = self.line_no
        for raw in lines:
            n += 1
            if isinstance(raw, bytes):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    errors.append(f"line {n}: invalid UTF-8 at byte {e.start}")
                    continue
            else:
                line = raw
            if line.endswith("\r"):
                line = line[:-1]
            if n == 1 and line.startswith("\ufeff"):
                line = line[1:]  # a byte-order mark some editors write
            if not line or line.isspace():
                continue
            try:
                obj = fast(line)
            except orjson.JSONDecodeError:
                obj = _STRICT_FALLBACK  # the standard decoder says why, or reads what orjson refuses
            try:
                if obj is _STRICT_FALLBACK:
                    obj = decode(line)
            except json.JSONDecodeError as e:
                errors.append(f"line {n}: invalid JSON: {e.msg} (column {e.colno})")
                continue
            except _LINE_ERRORS as e:
                why = str(e) if isinstance(e, ValueError) and str(e) else type(e).__name__
                errors.append(f"line {n}: invalid JSON: {why}")
                continue
            if type(obj) is not dict:
                errors.append(f"line {n}: not a JSON object")
                continue
            try:
                mentions.append(
                    Mention.from_json(
                        obj,
                        source=sid,
                        received_at=received_at,
                        default_uid=None if "uid" in obj else line_uid(sid, line),
                    )
                )
            except _LINE_ERRORS as e:
                reason = str(e) if isinstance(e, ValueError) else type(e).__name__
                errors.append(f"line {n}: {reason}")
        self.line_no = n


class _FileReader:
    """Reads a path (or an already open regular file) in chunks, in a worker thread; follows if asked."""

    def __init__(self, path: str | None, fileobj: BinaryIO | None, parser: LineParser, clock: Clock) -> None:
        self.path = path
        self.f = fileobj
        self.parser = parser
        self.clock = clock
        self._ident: tuple[int, int] | None = None

    def open(self) -> None:
        assert self.path is not None
        f = Path(self.path).expanduser().open("rb")
        st = os.fstat(f.fileno())
        self.f, self._ident = f, (st.st_dev, st.st_ino)

    def read(self, size: int) -> tuple[ParsedChunk, bool]:
        """Read and parse one chunk; returns (parsed, at_eof)."""
        assert self.f is not None
        read = getattr(self.f, "read1", self.f.read)  # read1: what is there now, without waiting for more
        chunk = read(size)
        return self.parser.feed(chunk, self.clock.now()), not chunk

    def flush(self) -> ParsedChunk:
        """The last line of a file that does not end with a newline."""
        return self.parser.feed(b"", self.clock.now(), final=True)

    def check_moved(self) -> str | None:
        """At EOF while following: 'rotated' (a new file at the path), 'truncated', or None."""
        if self.path is None or self.f is None:
            return None
        try:
            st = os.stat(Path(self.path).expanduser())
        except OSError:
            return None  # moved away and not recreated yet: keep waiting
        if (st.st_dev, st.st_ino) != self._ident:
            return "rotated"
        if st.st_size < self.f.tell():
            return "truncated"
        return None

    def close(self) -> None:
        if self.f is not None and self.path is not None:  # never close a file we were handed
            self.f.close()
        self.f = None


class JsonlSource(Source):
    """JSON Lines from a file or stdin. See the module docstring for follow and replay."""

    kind = "jsonl"

    def __init__(
        self,
        settings: JsonlSourceSettings,
        clock: Clock,
        *,
        stdin: BinaryIO | None = None,
        poll_interval: float = POLL_SECONDS,
        chunk_size: int = CHUNK_BYTES,
        max_line: int = MAX_LINE_BYTES,
    ) -> None:
        super().__init__(settings.id, clock)
        self.settings = settings
        self._stdin = stdin
        self.poll_interval = poll_interval
        self.chunk_size = chunk_size
        self.parser = LineParser(settings.id, max_line=max_line)

    async def stream(self) -> AsyncIterator[Mention]:
        watch = StopWatch(self._stopping)
        chunks = self._stdin_chunks(watch) if self.settings.path == "-" else self._file_chunks(watch)
        try:
            async with contextlib.aclosing(chunks):  # close the file now, not when collected
                async for m in self._deliver(chunks, watch):
                    yield m
                    if self.stopping:
                        return
            if not self.stopping and self.health.state is not SourceState.FAILED:
                self.health.set_state(SourceState.FINISHED)
        finally:
            watch.close()

    async def _deliver(self, chunks: AsyncIterator[ParsedChunk], watch: StopWatch) -> AsyncIterator[Mention]:
        """Count each chunk's errors; hand out its mentions at once (live) or on the clock (replay)."""
        replay = self.settings.speed is not None
        advance = getattr(self.clock, "advance_to", None)
        first = True
        async for parsed in chunks:
            for err in parsed.errors:
                self.health.bad_event(err)
            if not replay:
                if parsed.mentions:
                    self.health.event(len(parsed.mentions))  # one chunk = one instant of desk time
                for m in parsed.mentions:
                    yield m
                continue
            for m in parsed.mentions:
                if first:  # the clock may start early (stdin): jump, do not sleep through years
                    if advance is not None:
                        advance(m.created_at)
                    first = False
                elif not await wait_until(self.clock, m.created_at, watch):
                    return
                self.health.event()
                yield replace(m, received_at=self.clock.now())

    # -- files ---------------------------------------------------------------------------------

    async def _file_chunks(self, watch: StopWatch) -> AsyncGenerator[ParsedChunk, None]:
        path, follow = self.settings.path, self.settings.follow
        reader = _FileReader(path, None, self.parser, self.clock)
        try:
            while True:
                try:
                    await asyncio.to_thread(reader.open)
                    break
                except OSError as e:
                    reason = f"cannot open {path}: {e.strerror or e}"
                    if not follow or isinstance(e, IsADirectoryError | PermissionError):
                        self.health.set_state(SourceState.FAILED, reason)
                        return
                    self.health.last_error = reason  # like tail -F: wait for it to appear
                    if not await watch.wait(asyncio.sleep(self.poll_interval)):
                        return
            self.health.set_state(SourceState.LIVE)
            async for parsed in self._read_all(reader, watch, follow=follow):
                yield parsed
        finally:
            await asyncio.to_thread(reader.close)

    async def _read_all(
        self, reader: _FileReader, watch: StopWatch, *, follow: bool
    ) -> AsyncIterator[ParsedChunk]:
        while not self.stopping:
            parsed, eof = await asyncio.to_thread(reader.read, self.chunk_size)
            if parsed.mentions or parsed.errors:
                yield parsed
            if not eof:
                continue
            if not follow:
                yield reader.flush()
                return
            moved = await asyncio.to_thread(reader.check_moved)
            if moved == "rotated":
                while True:  # what was written to the old file just before it moved
                    parsed, eof = await asyncio.to_thread(reader.read, self.chunk_size)
                    yield parsed
                    if eof:
                        break
                yield reader.flush()  # its last line, if it had no newline
                await asyncio.to_thread(reader.close)
                try:
                    await asyncio.to_thread(reader.open)
                except OSError:
                    continue  # recreated and gone again: check_moved will see the next one
                self.parser.reset()
            elif moved == "truncated":
                assert reader.f is not None
                await asyncio.to_thread(reader.f.seek, 0)
                self.parser.reset()
            elif not await watch.wait(asyncio.sleep(self.poll_interval)):
                return

    # -- stdin ---------------------------------------------------------------------------------

    async def _stdin_chunks(self, watch: StopWatch) -> AsyncGenerator[ParsedChunk, None]:
        stdin = self._stdin if self._stdin is not None else sys.stdin.buffer
        try:
            mode = os.fstat(stdin.fileno()).st_mode
        except (OSError, ValueError) as e:
            self.health.set_state(SourceState.FAILED, f"cannot read stdin: {e}")
            return
        self.health.set_state(SourceState.LIVE)
        if stat.S_ISREG(mode):  # `tocsin … < file.jsonl`: a plain file, read it like one
            reader = _FileReader(None, stdin, self.parser, self.clock)
            async for parsed in self._read_all(reader, watch, follow=False):
                yield parsed
            return
        loop = asyncio.get_running_loop()
        stream = asyncio.StreamReader(limit=self.chunk_size, loop=loop)
        # a duplicate descriptor, so closing the transport leaves the process's stdin alone
        pipe = os.fdopen(os.dup(stdin.fileno()), "rb", buffering=0)
        try:
            transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stream), pipe)
        except (ValueError, OSError, NotImplementedError):
            pipe.close()
            # not a pipe the loop can watch: blocking reads in a thread (a stop waits for the next line)
            reader = _FileReader(None, stdin, self.parser, self.clock)
            async for parsed in self._read_all(reader, watch, follow=False):
                yield parsed
            return
        try:
            while not self.stopping:
                reading = asyncio.ensure_future(stream.read(self.chunk_size))
                if not await watch.wait(reading):
                    return
                chunk = reading.result()
                if not chunk:
                    yield self.parser.feed(b"", self.clock.now(), final=True)
                    return
                yield await asyncio.to_thread(self.parser.feed, chunk, self.clock.now())
        finally:
            with contextlib.suppress(Exception):
                transport.close()


def build(
    source: JsonlSourceSettings, clock: Clock, settings: Settings | None = None, *, cursor: str | None = None
) -> JsonlSource:
    """The source for a ``type: jsonl`` entry (a file is read whole each run: no cursor)."""
    return JsonlSource(source, clock)
