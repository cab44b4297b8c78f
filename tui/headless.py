"""Headless mode (``tocsin run --headless``, ``tocsin demo --headless``): the desk without a screen,
writing JSON Lines, one object per line, each with a ``"type"``:

- ``snapshot``: the desk's figures (``Snapshot.to_json``), at most once per second of real time,
  and a final one when the run ends;
- ``mention``: every scored mention (``ScoredMention.to_json``), written batch by batch, when
  ``mentions`` is emitted;
- ``alert``: a topic's level changed (``{"type":"alert","event":"level_change","at","topic","name",
  "from","to","since","reasons"}``), as the desk's level listener reports it, when ``alerts`` is emitted.

Output is ASCII-only JSON (non-ASCII escaped), so hostile mention text cannot reach a terminal as
control sequences. No textual import here: this runs where there is no terminal at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, TextIO

from tocsin.config.settings import Settings
from tocsin.scoring.levels import LevelState
from tocsin.scoring.runtime import Desk
from tocsin.scoring.snapshot import ScoredMention
from tocsin.sources.model import format_time

SNAPSHOT_EVERY_S = 1.0
"""Real seconds between snapshot lines: JSON readers want a pulse, not the screen's 10 Hz."""
POLL_S = 0.05


class JsonLinesWriter:
    """Writes objects as JSON Lines; goes quiet (``closed``) once the reader has gone away."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.closed = False

    def write(self, objs: Iterable[dict[str, Any]]) -> None:
        if self.closed:
            return
        dumps = json.dumps
        text = "".join(dumps(o, ensure_ascii=True, separators=(",", ":")) + "\n" for o in objs)
        if not text:
            return
        try:
            self.out.write(text)
            self.out.flush()
        except BrokenPipeError:
            self._reader_gone()
        except ValueError:  # the stream was closed under us
            self.closed = True

    def flush(self) -> None:
        if self.closed:
            return
        try:
            self.out.flush()
        except BrokenPipeError:
            self._reader_gone()
        except ValueError:
            self.closed = True

    def _reader_gone(self) -> None:
        # `tocsin run --headless | head -3`: the reader left. Stop writing, and point stdout at /dev/null
        # so the interpreter's own flush at exit does not complain about the broken pipe.
        self.closed = True
        if self.out is sys.stdout:
            with contextlib.suppress(OSError, ValueError):
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
                os.close(devnull)


def level_alert(topic: str, name: str, state: LevelState, at: datetime) -> dict[str, Any]:
    """The alert object for one level change."""
    return {
        "type": "alert",
        "event": "level_change",
        "at": format_time(at),
        "topic": topic,
        "name": name,
        "from": state.previous,
        "to": state.level,
        "since": format_time(state.since),
        "reasons": list(state.reasons),
    }


async def run_headless(
    settings: Settings,
    *,
    duration: float | None,
    emit: tuple[str, ...],
    out: TextIO,
    desk: Desk | None = None,
) -> None:
    """Run a desk and write JSON Lines to ``out`` until ``duration`` real seconds have passed or the
    desk is finished (a file read to its end, the demo played out), whichever comes first."""
    writer = JsonLinesWriter(out)
    if desk is None:
        try:
            desk = Desk(settings)
        except ValueError as exc:  # sources that cannot run together (e.g. live and replayed clocks)
            from tocsin.tui.cli import BadInput

            raise BadInput(str(exc)) from None
    if "incidents" in emit:
        print("tocsin: --emit incidents: the incident journal is not wired into headless mode yet",
              file=sys.stderr)
    if "mentions" in emit:
        desk.add_batch_listener(lambda batch: writer.write(_mentions(batch)))
    if "alerts" in emit:
        names = {t.id: t.label for t in desk.settings.topics}

        def alert(topic: str, state: LevelState, at: datetime) -> None:
            writer.write([level_alert(topic, names.get(topic, topic), state, at)])

        desk.add_level_listener(alert)
    loop = asyncio.get_running_loop()
    started = loop.time()
    end = None if duration is None else started + duration
    last_snapshot_line = started
    try:
        await desk.start()
        while not writer.closed and not desk.finished:
            now = loop.time()
            if end is not None and now >= end:
                break
            await asyncio.sleep(POLL_S if end is None else max(0.0, min(POLL_S, end - now)))
            if "snapshots" in emit and loop.time() - last_snapshot_line >= SNAPSHOT_EVERY_S:
                last_snapshot_line = loop.time()
                writer.write([desk.snapshot().to_json()])
    finally:
        await desk.stop()  # its final snapshot reports a last level change, if any, to the listener
    if "snapshots" in emit:
        writer.write([desk.snapshot().to_json()])
    writer.flush()


def _mentions(batch: Sequence[ScoredMention]) -> Iterable[dict[str, Any]]:
    return (sm.to_json() for sm in batch)
