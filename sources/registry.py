"""From settings to running parts: the desk's clock and one Source per configured source.

Adding a source type: its settings dataclass, with one line in ``SOURCE_TYPES`` (``config/settings.py``,
the one registry of source types), and its module here, ``tocsin.sources.<type>``, with a ``build``
function (``SourceModule``). Nothing else names it: the loader validates ``type:`` against
``SOURCE_TYPES``, and ``build_sources`` imports the module of that name when a desk uses it, so a desk
only loads the adapters it runs. (The settings live in config, not in the module: config is the lowest
layer and validates a whole file, ``tocsin check-config``, without importing any adapter.)

The clock follows the sources: live sources run on the wall clock; the demo and jsonl replays
(``speed:`` set) on one simulated clock driven by the mentions' timestamps. Both kinds in one desk
cannot share a clock, so that is a configuration error.
"""

from __future__ import annotations

import importlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, cast

from tocsin.config.settings import (
    SOURCE_TYPES,
    DemoSourceSettings,
    JsonlSourceSettings,
    Settings,
    SourceSettings,
    replays_on_simulated_clock,
)
from tocsin.sources.base import Source
from tocsin.sources.clock import Clock, SimulatedClock, WallClock
from tocsin.sources.model import Mention

# A replay whose start cannot be peeked (stdin, no dated line near the top) starts the clock here; the
# first mention's ``advance_to`` then jumps it forward (a simulated clock never runs backward, so any
# later start could leave older mentions behind it).
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_PEEK_BYTES = 256 * 1024


class SourceModule(Protocol):
    """What ``tocsin.sources.<type>`` offers the registry."""

    def build(self, source: SourceSettings, clock: Clock, settings: Settings | None = None) -> Source:
        """The source for one ``sources:`` entry; ``settings``: the desk's, whose topics live sources
        subscribe to. (Each module's ``build`` takes its own settings type and a keyword-only
        ``cursor`` too, for tests that resume.)"""
        ...


def source_module(source_type: str) -> SourceModule:
    """The module of a registered source type, imported on first use."""
    if source_type not in SOURCE_TYPES:
        raise KeyError(source_type)
    return cast(SourceModule, importlib.import_module(f"tocsin.sources.{source_type}"))


def build_sources(settings: Settings, clock: Clock) -> list[Source]:
    """One Source per configured source, in config order; an unknown type is a ValueError."""
    out: list[Source] = []
    for s in settings.sources:
        if s.type not in SOURCE_TYPES:
            known = ", ".join(sorted(SOURCE_TYPES))
            raise ValueError(f"source {s.id!r}: unknown type {s.type!r} (known: {known})")
        out.append(source_module(s.type).build(s, clock, settings))
    return out


_is_simulated = replays_on_simulated_clock


def build_clock(settings: Settings, *, now: datetime | None = None) -> Clock:
    """The desk's clock for these sources (see the module docstring).

    Demo: starts at the backfill start and runs at the scenario's pace × ``speed``. jsonl replay: starts
    at the earliest timestamp near the top of the files (else at the epoch, for the first mention to move
    it forward) and runs at ``speed``. ``now`` (default: real time) fixes
    which day the demo storm falls on.
    """
    simulated = [s for s in settings.sources if _is_simulated(s)]
    if not simulated:
        return WallClock()
    live = [s for s in settings.sources if not _is_simulated(s)]
    if live:
        raise ValueError(
            f"sources {', '.join(repr(s.id) for s in live)} run in real time but "
            f"{', '.join(repr(s.id) for s in simulated)} replay on a simulated clock; "
            "one desk has one clock: configure them in separate desks"
        )
    demos = [s for s in simulated if isinstance(s, DemoSourceSettings)]
    replays = [s for s in simulated if isinstance(s, JsonlSourceSettings)]
    if demos and replays:
        raise ValueError(
            f"demo source {demos[0].id!r} and jsonl replay {replays[0].id!r} would each drive the simulated "
            "clock to their own timeline; use one or the other"
        )
    if demos:
        from tocsin.sources.demo import scenario_timeline

        timelines = [(scenario_timeline(d, now=now), d) for d in demos]
        speeds = {tl.pace * d.speed for tl, d in timelines}
        if len(speeds) > 1:
            raise ValueError("demo sources: every demo on one desk must play at the same pace and speed")
        return SimulatedClock(min(tl.backfill_start for tl, _ in timelines), speed=speeds.pop())
    replay_speeds = {r.speed for r in replays}
    if len(replay_speeds) > 1:
        raise ValueError("jsonl replays: every replay on one desk must use the same speed")
    speed = replay_speeds.pop()
    assert speed is not None  # a replay without speed: is not a replay (see above)
    starts = [first_timestamp(r.path) for r in replays]
    if any(s is None for s in starts):
        return SimulatedClock(_EARLIEST, speed=speed)
    return SimulatedClock(min(s for s in starts if s is not None), speed=speed)


def first_timestamp(path: str) -> datetime | None:
    """The earliest ``created_at`` in the first lines of a JSON Lines file (None: stdin, unreadable, none)."""
    if path == "-":
        return None
    try:
        with Path(path).expanduser().open("rb") as f:
            head = f.read(_PEEK_BYTES)
    except OSError:
        return None
    earliest: datetime | None = None
    for line in head.split(b"\n")[:-1] if len(head) == _PEEK_BYTES else head.split(b"\n"):
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict) or "created_at" not in obj:
                continue
            t = Mention.from_json(obj, source="", received_at=_EARLIEST, default_uid="").created_at
        except ValueError:  # MentionFormatError and JSON errors included
            continue
        if earliest is None or t < earliest:
            earliest = t
    return earliest
