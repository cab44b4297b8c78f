"""Headless mode (``tocsin run --headless``, ``tocsin demo --headless``): the desk without a screen,
writing JSON Lines, one object per line, each with a ``"type"``:

- ``snapshot``: the desk's figures (``Snapshot.to_json``), at most once per second of real time,
  and a final one when the run ends; its ``"blind"`` is not null while the desk cannot see (which
  sources, since when, why), whatever the topics' levels say;
- ``mention``: every scored mention (``ScoredMention.to_json``), written batch by batch, when
  ``mentions`` is emitted;
- ``alert``: a topic's level changed (``{"type":"alert","event":"level_change","at","topic","name",
  "from","to","since","reasons"}``), as the desk's level listener reports it, when ``alerts`` is emitted;
  with the journal (below) also ``sla_breach``, ``ack_timeout``, ``new_incident`` and resurgence
  reopenings (``tocsin.desk.alerts.Alert.to_json``); ``{"type":"alert","event":"blind",…}`` when the desk
  stops seeing (every source still meant to deliver failed, cut off or silent: ``Snapshot.blind``) and
  ``"event":"sight_back"`` when a source sees again;
- ``incident``: an incident as it now stands (``{"type":"incident", **Incident.to_json()}``), the open
  ones at the start and each one again whenever it changes (any desk's action), when ``incidents`` is
  emitted.

The incident journal (``tocsin.desk.session``: archive, SLA clocks, level notes, alerts, source cursors)
runs when incidents are emitted or when alerts go beyond the screen (webhook, desktop); a plain JSON
pipe leaves the journal alone. With the journal, the desk is its ingest desk: it takes the journal's
ingest lease before its sources open, and while another desk holds it, it says so on stderr and waits
to take over (``desk/ingest.py`` says why: one desk ingests per journal).

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
from typing import TYPE_CHECKING, Any, TextIO

from tocsin.config.i18n import _
from tocsin.config.settings import Settings
from tocsin.desk.desk import Desk, DeskLike
from tocsin.scoring.levels import LevelState
from tocsin.scoring.snapshot import Blindness
from tocsin.sources.base import SourceState
from tocsin.sources.model import ScoredMention, format_time

if TYPE_CHECKING:
    from tocsin.desk.alerts import Alert
    from tocsin.desk.session import JournalSession
    from tocsin.journal.model import Incident

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
) -> bool:
    """Run a desk and write JSON Lines to ``out`` until ``duration`` real seconds have passed or the
    desk is finished (a file read to its end, the demo played out), whichever comes first.

    A source that fails is said on stderr as it happens (not only inside a snapshot); returns False
    when one did, so the command can exit non-zero."""
    writer = JsonLinesWriter(out)
    if desk is None:
        try:
            desk = Desk(settings)
        except ValueError as exc:  # sources that cannot run together (e.g. live and replayed clocks)
            from tocsin.desk.cli import BadInput

            raise BadInput(str(exc)) from None
    session = await _start_session(settings, desk, emit, writer)
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
    failed: set[str] = set()
    sight = _Sight(writer if "alerts" in emit else None)
    try:
        await desk.start()
        while not writer.closed and not desk.finished:
            _say_failed_sources(desk, failed)
            sight.check(desk.snapshot().blind)
            now = loop.time()
            if end is not None and now >= end:
                break
            await asyncio.sleep(POLL_S if end is None else max(0.0, min(POLL_S, end - now)))
            if "snapshots" in emit and loop.time() - last_snapshot_line >= SNAPSHOT_EVERY_S:
                last_snapshot_line = loop.time()
                writer.write([desk.snapshot().to_json()])
    finally:
        await desk.stop()  # its final snapshot reports a last level change, if any, to the listener
        if session is not None:
            await session.stop()  # after the desk: its last batches are archived
    if "snapshots" in emit:
        writer.write([desk.snapshot().to_json()])
    writer.flush()
    _say_failed_sources(desk, failed)
    return not failed


class _Sight:
    """Says once on stderr (and as an alert line) when the desk goes blind, and when it sees again."""

    def __init__(self, writer: JsonLinesWriter | None) -> None:
        self._writer = writer
        self._blind: Blindness | None = None

    def check(self, blind: Blindness | None) -> None:
        was, self._blind = self._blind, blind
        if (was is None) == (blind is None):
            return
        if blind is not None:
            said = _("the desk is blind, no source is delivering: {why}").format(why=blind.why())
            print(f"tocsin: {said}", file=sys.stderr)
            event = {"type": "alert", "event": "blind", "at": format_time(blind.since), **blind.to_json()}
        elif was is not None:
            print("tocsin: " + _("a source delivers again, the desk sees"), file=sys.stderr)
            event = {"type": "alert", "event": "sight_back", "blind_since": format_time(was.since)}
        if self._writer is not None:
            self._writer.write([event])


def _say_failed_sources(desk: DeskLike, said: set[str]) -> None:
    """One stderr line per source that failed (cannot open its file, cannot listen, gave up)."""
    for source in desk.sources:
        status = source.status()
        if status.state is SourceState.FAILED and status.id not in said:
            said.add(status.id)
            reason = status.last_error or _("no reason given")
            message = _("source {source} failed: {why}").format(source=status.id, why=reason)
            print(f"tocsin: {message}", file=sys.stderr)


def _mentions(batch: Sequence[ScoredMention]) -> Iterable[dict[str, Any]]:
    return (sm.to_json() for sm in batch)


def wants_journal(settings: Settings, emit: tuple[str, ...]) -> bool:
    """Whether headless mode runs the journal session (see the module docstring)."""
    return "incidents" in emit or any(a.type in ("webhook", "desktop") for a in settings.alerts)


async def _start_session(
    settings: Settings, desk: Desk, emit: tuple[str, ...], writer: JsonLinesWriter
) -> JournalSession | None:
    """Open the journal session before the desk starts (sources resume from their cursors)."""
    if not wants_journal(settings, emit):
        return None
    from tocsin.desk.session import JournalSession
    from tocsin.journal.errors import JournalError

    session = JournalSession(settings, desk, standby=True)  # writes nothing before it holds the lease
    session.add_problem_listener(lambda message: print(f"tocsin: {message}", file=sys.stderr))
    if "incidents" in emit:
        session.add_change_listener(lambda _events, incidents: writer.write(_incidents(incidents)))
    if "alerts" in emit:

        def alert(a: Alert) -> None:
            # level changes are written from the desk's own listener; a resurgence reopening is news
            if a.event != "level_change" or a.data.get("reopened") or a.data.get("reopen_offered"):
                writer.write([a.to_json()])

        session.add_alert_listener(alert)
    try:
        await session.start()
    except JournalError as exc:
        print("tocsin: " + _("no incident journal: {error}").format(error=exc), file=sys.stderr)
        await session.stop()
        return None

    def waiting(holder: str) -> None:
        said = _("standby: {who} ingests on this journal; waiting to take over").format(who=holder)
        print(f"tocsin: {said}", file=sys.stderr)

    await session.lead_ingest(waiting)
    if "incidents" in emit:
        writer.write(_incidents(session.incidents))  # where things stand as the desk starts
    return session


def _incidents(incidents: Iterable[Incident]) -> list[dict[str, Any]]:
    return [{"type": "incident", **inc.to_json()} for inc in incidents]
