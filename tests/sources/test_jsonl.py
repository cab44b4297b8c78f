"""The jsonl source: bad lines are counted and skipped, files are followed, replays run on the clock."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tocsin.config.settings import JsonlSourceSettings
from tocsin.sources.base import SourceState
from tocsin.sources.clock import ManualClock, SimulatedClock
from tocsin.sources.jsonl import JsonlSource, LineParser, line_uid
from tocsin.sources.model import Mention

T0 = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)


def line(text: str = "hello", **fields: Any) -> bytes:
    return json.dumps({"text": text, **fields}, ensure_ascii=False).encode() + b"\n"


def source(path: str | Path, clock: Any = None, **kw: Any) -> JsonlSource:
    opts = {k: kw.pop(k) for k in ("follow", "speed") if k in kw}
    settings = JsonlSourceSettings(type="jsonl", id="feed", path=str(path), **opts)
    return JsonlSource(settings, clock or ManualClock(T0), **kw)


async def read_all(src: JsonlSource) -> list[Mention]:
    return [m async for m in src.stream()]


async def take(it: AsyncIterator[Mention], n: int) -> list[Mention]:
    """The next ``n`` mentions, failing (not hanging) if they never come."""
    return [await asyncio.wait_for(anext(it), timeout=5) for _ in range(n)]


# --- malformed input ----------------------------------------------------------------------------


async def test_bad_lines_are_counted_with_their_line_number_and_skipped(tmp_path: Path) -> None:
    p = tmp_path / "mixed.jsonl"
    p.write_bytes(
        line("one")  # 1
        + b"{not json\n"  # 2
        + b'{"text": "caf\xe9 latin-1"}\n'  # 3: invalid UTF-8
        + b"\n"  # 4: empty, ignored
        + b"[1, 2, 3]\n"  # 5: not an object
        + b"   \t \n"  # 6: blank, ignored
        + line("two", author={"handle": "a", "followers": "many"})  # 7: wrong field type
        + b'"just a string"\n'  # 8
        + line("three", lang="fr").replace(b"\n", b"\r\n")  # 9: CRLF is fine
        + b'{"text": "nan", "author": {"followers": NaN}}\n'  # 10: not JSON
        + b"[" * 100_000
        + b"\n"  # 11: nesting bomb
        + b'{"text": 42}\n'  # 12: text must be a string
        + b'{"text": "big", "created_at": 1e300}\n'  # 13: a timestamp out of range
        + line("four")  # 14
    )
    src = source(p)
    got = await read_all(src)
    assert [m.text for m in got] == ["one", "three", "four"]
    assert got[1].lang == "fr"
    status = src.status()
    assert status.state is SourceState.FINISHED
    assert status.malformed == 9
    assert status.events == 3
    errors = []
    src2 = source(p)
    src2.health.bad_event = errors.append  # type: ignore[method-assign]
    await read_all(src2)
    assert [e.split(":")[0] for e in errors] == [f"line {n}" for n in (2, 3, 5, 7, 8, 10, 11, 12, 13)]
    assert "invalid UTF-8" in errors[1]
    assert "author.followers" in errors[3]
    assert "not a JSON object" in errors[2]
    assert "text" in errors[7]


async def test_a_100_kb_line_and_a_last_line_without_newline(tmp_path: Path) -> None:
    big = "é" * 50_000 + " #BriocheGate"  # ~100 kB of UTF-8
    p = tmp_path / "big.jsonl"
    p.write_bytes(line(big) + line("last").rstrip(b"\n"))
    got = await read_all(source(p))
    assert [m.text for m in got] == [big, "last"]
    assert got[0].hashtags == ("briochegate",)


async def test_overlong_lines_are_skipped_without_buffering_them(tmp_path: Path) -> None:
    p = tmp_path / "long.jsonl"
    p.write_bytes(line("before") + line("x" * 5000) + line("after") + line("y" * 5000).rstrip(b"\n"))
    src = source(p, chunk_size=512, max_line=1000)
    errors: list[str] = []
    src.health.bad_event = errors.append  # type: ignore[method-assign]
    got = await read_all(src)
    assert [m.text for m in got] == ["before", "after"]
    assert errors == ["line 2: longer than 1000 bytes, skipped", "line 4: longer than 1000 bytes, skipped"]


@pytest.mark.parametrize("chunk", [1, 3, 7, 64, 1 << 20])
def test_chunk_boundaries_do_not_change_the_result(chunk: int) -> None:
    data = (
        "\ufeff".encode()  # a byte-order mark on the first line
        + line("crème brûlée 🥐", lang="fr")
        + line("second\u2028line sep", created_at="2026-11-21T10:00:00Z")
        + b"\xff oops\n"
        + line("end 🔥").rstrip(b"\n")
    )
    parser = LineParser("feed")
    mentions, errors = [], []
    for i in range(0, len(data), chunk):
        out = parser.feed(data[i : i + chunk], T0)
        mentions += out.mentions
        errors += out.errors
    out = parser.feed(b"", T0, final=True)
    mentions += out.mentions
    errors += out.errors
    assert [m.text for m in mentions] == ["crème brûlée 🥐", "second\u2028line sep", "end 🔥"]
    assert errors == ["line 3: invalid UTF-8 at byte 0"]
    assert mentions[1].created_at == datetime(2026, 11, 21, 10, tzinfo=UTC)


# --- uids ---------------------------------------------------------------------------------------


async def test_uids_are_stable_across_reads_and_line_endings(tmp_path: Path) -> None:
    lf = tmp_path / "lf.jsonl"
    lf.write_bytes(line("a") + line("b") + line("a", uid="given-1") + line("c", uid=77))
    crlf = tmp_path / "crlf.jsonl"
    crlf.write_bytes(lf.read_bytes().replace(b"\n", b"\r\n"))
    first, second = await read_all(source(lf)), await read_all(source(lf))
    third = await read_all(source(crlf))
    uids = [m.uid for m in first]
    assert uids == [m.uid for m in second] == [m.uid for m in third]
    assert len(set(uids)) == 4
    assert uids[2:] == ["given-1", "77"]
    assert uids[0] == line_uid("feed", '{"text": "a"}')
    assert line_uid("other-source", '{"text": "a"}') != uids[0]


# --- stdin --------------------------------------------------------------------------------------


async def test_stdin_pipe_is_read_as_it_arrives() -> None:
    r, w = os.pipe()
    with os.fdopen(r, "rb") as stdin:
        src = source("-", stdin=stdin)
        it = src.stream()
        os.write(w, line("first") + b'{"text": "sec')
        assert [m.text for m in await take(it, 1)] == ["first"]
        os.write(w, b'ond"}\n' + b"garbage\n" + line("third"))
        assert [m.text for m in await take(it, 2)] == ["second", "third"]
        os.close(w)
        rest = [m async for m in it]
    assert rest == []
    assert src.status().state is SourceState.FINISHED
    assert src.status().malformed == 1


async def test_stop_interrupts_a_silent_pipe() -> None:
    r, w = os.pipe()
    try:
        with os.fdopen(r, "rb") as stdin:
            src = source("-", stdin=stdin)
            waiting = asyncio.ensure_future(anext(src.stream()))
            for _ in range(5):
                await asyncio.sleep(0)
            assert not waiting.done()
            await src.stop()
            with pytest.raises(StopAsyncIteration):
                await asyncio.wait_for(waiting, timeout=2)
            assert src.status().state is SourceState.STOPPED
    finally:
        os.close(w)


async def test_stdin_redirected_from_a_file(tmp_path: Path) -> None:
    p = tmp_path / "in.jsonl"
    p.write_bytes(line("a") + line("b"))
    with p.open("rb") as stdin:
        got = await read_all(source("-", stdin=stdin))
    assert [m.text for m in got] == ["a", "b"]


def test_real_stdin_through_a_pipe() -> None:
    script = (
        "import asyncio\n"
        "from tocsin.config.settings import JsonlSourceSettings\n"
        "from tocsin.sources.clock import WallClock\n"
        "from tocsin.sources.jsonl import JsonlSource\n"
        "async def main():\n"
        "    src = JsonlSource(JsonlSourceSettings(type='jsonl', id='in', path='-'), WallClock())\n"
        "    async for m in src.stream():\n"
        "        print(m.uid, m.text)\n"
        "    print(src.status().state, src.status().malformed)\n"
        "asyncio.run(main())\n"
    )
    data = line("un", uid="u1") + b"oops\n" + line("deux", uid="u2")
    done = subprocess.run(
        [sys.executable, "-c", script], input=data, capture_output=True, timeout=60, check=True
    )
    assert done.stdout.decode().splitlines() == ["u1 un", "u2 deux", "finished 1"]


# --- files and follow ---------------------------------------------------------------------------


async def test_missing_file_fails_the_source_without_raising(tmp_path: Path) -> None:
    src = source(tmp_path / "nope.jsonl")
    assert await read_all(src) == []
    assert src.status().state is SourceState.FAILED
    assert "nope.jsonl" in (src.status().last_error or "")


async def test_follow_picks_up_appended_lines_truncation_and_rotation(tmp_path: Path) -> None:
    p = tmp_path / "live.jsonl"
    p.write_bytes(line("a") + line("b"))
    src = source(p, follow=True, poll_interval=0.01)
    it = src.stream()
    assert [m.text for m in await take(it, 2)] == ["a", "b"]
    with p.open("ab") as f:  # appended, the last line in two writes
        f.write(line("c") + b'{"text": "d')
        f.flush()
        await asyncio.sleep(0.05)
        f.write(b'"}\n')
    assert [m.text for m in await take(it, 2)] == ["c", "d"]
    assert src.status().state is SourceState.LIVE
    p.write_bytes(line("e"))  # truncated and rewritten (shorter than what was read)
    assert [m.text for m in await take(it, 1)] == ["e"]
    p.rename(tmp_path / "live.jsonl.1")  # rotated: the old file gets a last line, a new one appears
    with (tmp_path / "live.jsonl.1").open("ab") as f:
        f.write(line("f"))
    p.write_bytes(line("g") + line("h"))
    assert [m.text for m in await take(it, 3)] == ["f", "g", "h"]
    await src.stop()
    assert [m async for m in it] == []
    assert src.status().state is SourceState.STOPPED


async def test_follow_waits_for_the_file_to_appear(tmp_path: Path) -> None:
    p = tmp_path / "later.jsonl"
    src = source(p, follow=True, poll_interval=0.01)
    it = src.stream()
    waiting = asyncio.ensure_future(anext(it))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    assert src.status().state is SourceState.CONNECTING
    p.write_bytes(line("here"))
    assert (await asyncio.wait_for(waiting, timeout=5)).text == "here"
    await src.stop()


# --- live and replay timing ---------------------------------------------------------------------


async def test_live_lines_arrive_now_and_default_their_time_to_it(tmp_path: Path) -> None:
    p = tmp_path / "live.jsonl"
    p.write_bytes(line("undated") + line("dated", created_at="2020-01-01T00:00:00Z"))
    clock = ManualClock(T0)
    undated, dated = await read_all(source(p, clock))
    assert undated.created_at == undated.received_at == T0
    assert dated.created_at == datetime(2020, 1, 1, tzinfo=UTC) and dated.received_at == T0
    assert clock.sleeps == []  # live: nothing waits


def replay_file(tmp_path: Path, offsets: list[float]) -> Path:
    p = tmp_path / "replay.jsonl"
    p.write_bytes(
        b"".join(
            line(f"m{i}", created_at=(T0 + timedelta(seconds=s)).isoformat()) for i, s in enumerate(offsets)
        )
    )
    return p


async def test_replay_waits_on_the_clock_for_each_gap(tmp_path: Path) -> None:
    p = replay_file(tmp_path, [0, 10, 10, 70, 65, 3670])
    clock = ManualClock(T0 - timedelta(hours=1))
    got = await read_all(source(p, clock, speed=60))
    assert clock.sleeps == [10, 60, 3600]  # desk seconds; out-of-order lines do not wait
    assert [m.received_at for m in got] == [
        T0, T0 + timedelta(seconds=10), T0 + timedelta(seconds=10), T0 + timedelta(seconds=70),
        T0 + timedelta(seconds=70), T0 + timedelta(seconds=3670),
    ]  # fmt: skip
    assert clock.now() == T0 + timedelta(seconds=3670)


class FakeRealTime(SimulatedClock):
    """A simulated clock whose real time is fake: sleeps advance it and are recorded in real seconds."""

    def __init__(self, start: datetime, speed: float) -> None:
        self.real = 0.0
        self.real_sleeps: list[float] = []
        super().__init__(start, speed, monotonic=lambda: self.real)

    async def sleep(self, seconds: float) -> None:
        self.real_sleeps.append(max(0.0, seconds) / self.speed)
        self.real += self.real_sleeps[-1]
        await asyncio.sleep(0)


async def test_replay_speed_divides_the_gaps_in_real_time(tmp_path: Path) -> None:
    p = replay_file(tmp_path, [0, 10, 70, 670])
    clock = FakeRealTime(datetime(1970, 1, 1, tzinfo=UTC), speed=10)  # how build_clock starts stdin replays
    got = await read_all(source(p, clock, speed=10))
    assert clock.real_sleeps == pytest.approx([1.0, 6.0, 60.0])  # the first line jumps, no 56-year nap
    assert [m.text for m in got] == ["m0", "m1", "m2", "m3"]
    assert clock.now() == T0 + timedelta(seconds=670)


async def test_stop_interrupts_a_replay_gap(tmp_path: Path) -> None:
    p = replay_file(tmp_path, [0, 3600])
    src = source(p, SimulatedClock(T0, speed=1), speed=1)  # real time: the second line is an hour away
    it = src.stream()
    assert [m.text for m in await take(it, 1)] == ["m0"]
    waiting = asyncio.ensure_future(anext(it))
    for _ in range(5):
        await asyncio.sleep(0)
    assert not waiting.done()
    await src.stop()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(waiting, timeout=2)


def test_what_orjson_refuses_is_read_or_refused_as_the_standard_decoder_would() -> None:
    """Lines go through orjson first; what it is stricter about still reads as before, and the
    errors name the same problem."""
    now = datetime(2026, 11, 21, tzinfo=UTC)
    lines = [
        '{"uid": "a", "text": "plain"}',
        '{"uid": "b", "text": "lone \\ud800 surrogate"}',  # orjson refuses; the boundary replaces it later
        '{"uid": "c", "text": "n", "engagement": {"likes": 1e999}}',  # Infinity by overflow: refused
        '{"uid": "d", "text": NaN}',
        '{"uid": "e", "text": "x",',
    ]
    out = LineParser("s").feed(("\n".join(lines) + "\n").encode(), now, final=True)
    assert [m.uid for m in out.mentions] == ["a", "b"]
    assert out.mentions[1].text.startswith("lone ")
    assert [e.split(":")[0] for e in out.errors] == ["line 3", "line 4", "line 5"]
    assert "NaN is not valid JSON" in out.errors[1]
