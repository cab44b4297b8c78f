"""From settings to running parts: the desk's clock and one Source per configured source.

A source type is added by one entry in ``SOURCE_FACTORIES`` (type → factory(source settings, clock,
desk settings); the desk settings carry the topics that live sources subscribe to).
Factories import their module when called, so a desk only loads the adapters it uses.

The clock follows the sources: live sources run on the wall clock; the demo and jsonl replays
(``speed:`` set) on one simulated clock driven by the mentions' timestamps. Both kinds in one desk
cannot share a clock, so that is a configuration error.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from tocsin.config.settings import (
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


def _demo(settings: SourceSettings, clock: Clock, _desk: Settings | None = None) -> Source:
    from tocsin.sources.demo import DemoSource, storm_start_for_clock

    assert isinstance(settings, DemoSourceSettings)
    # the clock was started at the backfill start (build_clock): the same storm is recovered from it
    return DemoSource(settings, clock, storm_start=storm_start_for_clock(settings, clock.now()))


def _jsonl(settings: SourceSettings, clock: Clock, _desk: Settings | None = None) -> Source:
    from tocsin.sources.jsonl import JsonlSource

    assert isinstance(settings, JsonlSourceSettings)
    return JsonlSource(settings, clock)


def _live(module: str, factory: str) -> Callable[[SourceSettings, Clock, Settings | None], Source]:
    """A network source's factory, imported on first use (``tocsin.sources.<module>.<factory>``)."""

    def build(settings: SourceSettings, clock: Clock, desk: Settings | None = None) -> Source:
        import importlib

        return getattr(importlib.import_module(f"tocsin.sources.{module}"), factory)(settings, clock, desk)

    return build


SOURCE_FACTORIES: dict[str, Callable[[SourceSettings, Clock, Settings | None], Source]] = {
    "demo": _demo,
    "jsonl": _jsonl,
    "mastodon": _live("mastodon", "build_mastodon"),
    "bluesky": _live("bluesky", "build_bluesky"),
    "rss": _live("rss", "build_rss"),
    "reddit": _live("reddit", "build_reddit"),
    "hackernews": _live("hackernews", "build_hackernews"),
    "x": _live("x", "build_x"),
    "webhook": _live("webhook", "build_webhook"),
}


def build_sources(settings: Settings, clock: Clock) -> list[Source]:
    """One Source per configured source, in config order; an unknown type is a ValueError."""
    out: list[Source] = []
    for s in settings.sources:
        factory = SOURCE_FACTORIES.get(s.type)
        if factory is None:
            known = ", ".join(sorted(SOURCE_FACTORIES))
            raise ValueError(f"source {s.id!r}: unknown type {s.type!r} (known: {known})")
        out.append(factory(s, clock, settings))
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
    speeds = {r.speed for r in replays}
    if len(speeds) > 1:
        raise ValueError("jsonl replays: every replay on one desk must use the same speed")
    speed = speeds.pop()
    assert speed is not None
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
