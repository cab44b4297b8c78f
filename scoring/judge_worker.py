"""The judge on the second core: a worker process owns the ``Judge`` and the desk talks to it by messages.

The judge (copy-paste waves, surging terms, influence, bots, the voices table, the detector and the
levels) costs more CPU per mention than everything else the desk does, and in the desk's process it
shares the interpreter lock with the event loop that reads the sources and draws the wall. Here it runs
in a process of its own ("spawn", like the sentiment worker), so both cores work:

- the desk sends each batch as plain tuples (``pack``: the fields the judge reads; ~1.5 µs a mention to
  pickle, where pickling ``Mention`` objects cost 8 µs and 12 µs to unpickle) and gets back each
  mention's ``scores`` mapping; the judge keeps its own ``Judged`` objects until ``settle`` sends the
  batch's sentiment labels;
- ``assess`` sends the windows' figures and gets back the topics' judgements and level changes;
- two threads of the desk's process do the pickling, the sending and the receiving: the event loop only
  awaits futures, it never waits on the worker.

Requests are served in the order they were sent, so the judge sees the same sequence of calls as the
in-process judge, except that ``JudgeProcess`` lets a batch be judged before the previous one is
settled (``Pipeline.in_flight``): that only delays by one batch when an author shows in the voices table.

A worker that dies (killed, out of memory, a crash in a native library) is restarted at once with a new,
empty judge (its waves, terms and the detector's baselines start over) and ``note`` says so until the
desk stops; the requests it had not answered fail with ``JudgeLost`` (the Pipeline counts those
mentions, unjudged, as it does when a judgement fails). After ``MAX_RESTARTS`` deaths within
``RESTART_WINDOW_S`` it is not started again: ``broken`` tells the Pipeline to judge in-process.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import logging
import multiprocessing
import pickle
import queue
import signal
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any

from tocsin.config.settings import Settings
from tocsin.scoring.judge import Judge, Judged, TopicFigures, TopicJudgement
from tocsin.scoring.levels import LevelState
from tocsin.scoring.memory import quiet_collector, trim_in_background
from tocsin.scoring.process_name import name_process
from tocsin.sources.model import NO_ENGAGEMENT, Author, Engagement, Mention

log = logging.getLogger(__name__)

MAX_RESTARTS = 3
RESTART_WINDOW_S = 60.0
CLOSE_S = 2.0
PENDING_BATCHES = 64
"""Judged batches the worker keeps while their sentiment is on its way (``settle``); bounded, in case
a batch is never settled (the desk stopped, or failed between the two steps)."""

_JUDGE, _SETTLE, _ASSESS, _FLUSH, _STOP = range(5)
Changes = list[tuple[str, LevelState, datetime]]


class JudgeLost(RuntimeError):
    """The worker died before answering (it is being restarted, or judging moved in-process)."""


# --- the wire -----------------------------------------------------------------------------------------

Packed = tuple[Any, ...]


def pack(items: Sequence[tuple[Mention, tuple[str, ...]]]) -> list[Packed]:
    """Mentions and their topics as tuples of plain values: what the judge reads, cheap to pickle."""
    out: list[Packed] = []
    append = out.append
    for m, tids in items:
        a, e, extra = m.author, m.engagement, m.extra
        made = a.created_at
        append(
            (
                tids,
                m.uid,
                m.source,
                m.text,
                m.created_at.timestamp(),
                m.received_at.timestamp(),
                m.hashtags,
                a.handle,
                a.name,
                a.followers,
                a.following,
                a.posts,
                None if made is None else made.timestamp(),
                a.verified,
                a.bot,
                None if e is NO_ENGAGEMENT else (e.replies, e.reposts, e.likes),
                m.deleted,
                # the two things the judge reads from ``extra`` (``author_key``, ``revision``)
                {k: extra[k] for k in ("did", "update") if k in extra} if extra else None,
            )
        )
    return out


def _maker(cls: type) -> Callable[..., Any]:
    """``cls(*fields)`` for a frozen slots dataclass, setting the slots directly: a frozen dataclass's
    ``__init__`` goes through ``object.__setattr__`` for each field, most of the cost of ``unpack``.
    Written out as straight-line code for the class's fields (a loop over them cost as much again)."""
    names = [f.name for f in dataclasses.fields(cls)]
    scope: dict[str, Any] = {"new": object.__new__, "cls": cls}
    scope.update({f"set_{n}": cls.__dict__[n].__set__ for n in names})
    body = "".join(f"    set_{n}(obj, {n})\n" for n in names)
    exec(f"def make({', '.join(names)}):\n    obj = new(cls)\n{body}    return obj\n", scope)
    make: Callable[..., Any] = scope["make"]
    return make


_new_author = _maker(Author)
_new_engagement = _maker(Engagement)
_new_mention = _maker(Mention)
_MENTION_FIELDS = tuple(f.name for f in dataclasses.fields(Mention))


def unpack(rows: Sequence[Packed]) -> list[tuple[Mention, tuple[str, ...]]]:
    """``pack``'s inverse (the fields the judge does not read are left empty)."""
    stamp = datetime.fromtimestamp
    out = []
    for (
        tids,
        uid,
        source,
        text,
        created,
        received,
        hashtags,
        handle,
        name,
        followers,
        following,
        posts,
        made,
        verified,
        bot,
        engagement,
        deleted,
        extra,
    ) in rows:
        author = _new_author(
            handle,
            name,
            followers,
            following,
            posts,
            None if made is None else stamp(made, UTC),
            verified,
            bot,
        )
        e = NO_ENGAGEMENT if engagement is None else _new_engagement(*engagement)
        m = _new_mention(
            uid,
            source,
            text,
            stamp(created, UTC),
            stamp(received, UTC),
            None,  # url
            author,
            None,  # lang
            hashtags,
            e,
            None,  # reply_to
            None,  # raw_ref
            deleted,
            extra or {},
        )
        out.append((m, tids))
    return out


if _MENTION_FIELDS != (
    "uid",
    "source",
    "text",
    "created_at",
    "received_at",
    "url",
    "author",
    "lang",
    "hashtags",
    "engagement",
    "reply_to",
    "raw_ref",
    "deleted",
    "extra",
):  # pragma: no cover - a guard for whoever adds a field to Mention: say it here too
    raise ImportError(f"judge_worker.unpack does not know Mention's fields {_MENTION_FIELDS}")


# --- the worker process -------------------------------------------------------------------------------


def serve(conn: Connection, settings: Settings, start: datetime, platforms: Mapping[str, str]) -> None:
    """The worker's loop: one request at a time, in the order sent, until told to stop or the desk's end
    of the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the desk's to handle: it stops us
    name_process("tocsin-judge")
    trim_in_background(threading.Event())  # its freed tables go back to the system (scoring/memory.py)
    judge = Judge(settings, start=start, platforms=platforms)
    quiet_collector()  # full collections took a fifth of the judge's time (scoring/memory.py)
    pending: OrderedDict[int, tuple[list[tuple[Mention, tuple[str, ...]]], list[Judged]]] = OrderedDict()
    while True:
        try:
            op, rid, arg = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):
            return
        ok, result = True, None  # type: bool, Any
        try:
            if op == _JUDGE:
                batch, rows = arg
                items = unpack(rows)
                judged = judge.judge_batch(items)
                pending[batch] = (items, judged)
                while len(pending) > PENDING_BATCHES:
                    pending.popitem(last=False)
                result = [j.scores for j in judged]
            elif op == _SETTLE:
                batch, labels = arg
                found = pending.pop(batch, None)
                if found is not None:
                    items, judged = found
                    judge.settle(
                        [(m, t, j, label) for (m, t), j, label in zip(items, judged, labels, strict=True)]
                    )
            elif op == _ASSESS:
                at, figures, real, fresh = arg
                result = (judge.assess(at, figures, real, fresh=fresh), judge.take_changes())
            elif op == _STOP:
                if rid is not None:
                    conn.send_bytes(pickle.dumps((rid, True, None), protocol=pickle.HIGHEST_PROTOCOL))
                return
        except Exception as exc:  # a failing request must not end the worker: its caller hears of it
            log.exception("judge worker: request %s failed", op)
            ok, result = False, f"{type(exc).__name__}: {exc}"
        if rid is not None:
            conn.send_bytes(pickle.dumps((rid, ok, result), protocol=pickle.HIGHEST_PROTOCOL))


# --- the desk's side ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class RemoteJudged:
    """What the Pipeline holds of a mention judged in the worker: its ``scores``, and its batch (for
    ``settle``)."""

    scores: Mapping[str, Any]
    batch: int


class _Incarnation:
    """One worker process and the desk's end of its pipe."""

    def __init__(self, process: multiprocessing.process.BaseProcess, conn: Connection) -> None:
        self.process = process
        self.conn = conn
        self.waiting: dict[int, Future[Any]] = {}
        self.lost = False


class JudgeProcess:
    """A ``Judge`` in a worker process, for the Pipeline: every method returns at once (a future, or
    nothing); see the module docstring."""

    def __init__(self, settings: Settings, *, start: datetime, platforms: Mapping[str, str]) -> None:
        self._settings = settings
        self._start = start
        self._platforms = dict(platforms)
        self._context = multiprocessing.get_context("spawn")
        self._outbox: queue.SimpleQueue[tuple[int, int | None, Any, Future[Any] | None] | None] = (
            queue.SimpleQueue()
        )
        self._ids = itertools.count(1)
        self._batches = itertools.count(1)
        self._lock = threading.Lock()
        self._current: _Incarnation | None = None
        self._deaths: deque[float] = deque()
        self._changes: deque[tuple[str, LevelState, datetime]] = deque()
        self._sender: threading.Thread | None = None
        self._closing = False
        self.broken = False
        """The worker died ``MAX_RESTARTS`` times within ``RESTART_WINDOW_S``: it is not started again."""
        self.restarts = 0
        self.note: str | None = None
        """Why the judge is not what it should be (a restart and when), for the wall and the snapshot."""
        self.pids: list[int] = []
        """Every worker process started, the live one last (for the benchmarks' CPU figures)."""

    # --- requests (any thread) ------------------------------------------------------------------------

    def start(self) -> None:
        """Start the threads; the worker process is spawned by the sender thread, so the caller (the
        event loop) never waits for it."""
        if self._sender is None:
            self._sender = threading.Thread(target=self._send_loop, name="tocsin-judge-send", daemon=True)
            self._sender.start()

    def judge(self, live: Sequence[tuple[Mention, tuple[str, ...]]]) -> Future[list[RemoteJudged]]:
        """Judge a batch; the future gives one ``RemoteJudged`` per mention, in order."""
        batch = next(self._batches)
        done: Future[list[RemoteJudged]] = Future()
        asked = self._request(_JUDGE, (batch, live))

        def unwrap(f: Future[Any]) -> None:
            if done.done():  # given up on (a timeout cancelled it)
                return
            if f.cancelled():
                done.cancel()
            elif (exc := f.exception()) is not None:
                done.set_exception(exc)
            else:
                done.set_result([RemoteJudged(scores, batch) for scores in f.result()])

        asked.add_done_callback(unwrap)
        return done

    def settle(self, batch: Sequence[tuple[Mention, tuple[str, ...], RemoteJudged, str]]) -> None:
        """Send the sentiment labels of a judged batch (in the order it was judged)."""
        if batch:
            self._send(_SETTLE, None, (batch[0][2].batch, [label for _, _, _, label in batch]))

    def assess(
        self, at: datetime, figures: Mapping[str, TopicFigures], real: float, *, fresh: bool = False
    ) -> Future[dict[str, TopicJudgement]]:
        """``Judge.assess`` in the worker; its level changes go to ``take_changes``."""
        done: Future[dict[str, TopicJudgement]] = Future()
        asked = self._request(_ASSESS, (at, dict(figures), real, fresh))

        def unwrap(f: Future[Any]) -> None:
            if done.done():  # given up on (a timeout cancelled it)
                return
            if f.cancelled():
                done.cancel()
            elif (exc := f.exception()) is not None:
                done.set_exception(exc)
            else:
                judgements, changes = f.result()
                self._changes.extend(changes)
                done.set_result(judgements)

        asked.add_done_callback(unwrap)
        return done

    def take_changes(self) -> Changes:
        """The level changes heard since the last call, oldest first (as ``Judge.take_changes``)."""
        changes = []
        while self._changes:
            changes.append(self._changes.popleft())
        return changes

    def flush(self) -> Future[None]:
        """A future done once everything sent before it has been served."""
        return self._request(_FLUSH, None)

    def close(self) -> None:
        """Stop the worker (at most ``CLOSE_S``, then it is terminated); idempotent. Blocks: call it from
        a thread (``asyncio.to_thread``)."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
            current = self._current
        stopped = self._request(_STOP, None)
        self._outbox.put(None)
        if current is not None:
            with contextlib.suppress(Exception):
                stopped.result(CLOSE_S)
            _end(current.process)
            with contextlib.suppress(OSError):
                current.conn.close()
        if self._sender is not None:
            self._sender.join(CLOSE_S)

    def kill(self) -> None:
        """End the live worker at once (it stopped answering): it is restarted like one that died. What
        is asked from now on goes to its successor, not into the pipe of the one being ended."""
        with self._lock:
            current = self._current
            if current is None or current.lost:
                return
            current.lost = True
            if not self._closing:
                self._count_death("it stopped answering")
        with contextlib.suppress(Exception):
            current.process.kill()

    @property
    def pid(self) -> int | None:
        """The live worker's process id (None before it started)."""
        current = self._current
        return None if current is None else current.process.pid

    def _request(self, op: int, arg: Any) -> Future[Any]:
        fut: Future[Any] = Future()
        self._send(op, fut, arg)
        return fut

    def _send(self, op: int, fut: Future[Any] | None, arg: Any) -> None:
        if self.broken:
            if fut is not None:
                fut.set_exception(JudgeLost("the judge worker is not running"))
            return
        self._outbox.put((op, None if fut is None else next(self._ids), arg, fut))

    # --- the threads ------------------------------------------------------------------------------

    def _send_loop(self) -> None:
        while True:
            request = self._outbox.get()
            if request is None:
                return
            op, rid, arg, fut = request
            if fut is not None and not fut.set_running_or_notify_cancel():
                continue
            try:
                current = self._live()
                if op == _JUDGE:
                    arg = (arg[0], pack(arg[1]))
                data = pickle.dumps((op, rid, arg), protocol=pickle.HIGHEST_PROTOCOL)
                with self._lock:  # a worker found dead from here on has its waiting list failed
                    if current.lost:
                        raise JudgeLost("the judge worker died")
                    if fut is not None and rid is not None:
                        current.waiting[rid] = fut
                current.conn.send_bytes(data)
            except JudgeLost as exc:
                if fut is not None and not fut.done():
                    fut.set_exception(exc)
            except (OSError, ValueError):  # the pipe broke: the receiver reports the death
                if fut is not None and not fut.done():
                    fut.set_exception(JudgeLost("the judge worker died"))
            except Exception as exc:  # a request that cannot be pickled, say: its caller hears of it
                if fut is not None and not fut.done():
                    fut.set_exception(exc)

    def _live(self) -> _Incarnation:
        """The running worker, started (or restarted) if need be; JudgeLost when it cannot be."""
        with self._lock:
            current = self._current
            if current is not None and not current.lost:
                return current
            if self.broken or self._closing:  # never started (or restarted) only to be stopped
                raise JudgeLost("the judge worker is not running")
            parent, child = self._context.Pipe(duplex=True)
            process = self._context.Process(
                target=serve,
                args=(child, self._settings, self._start, self._platforms),
                name="tocsin-judge",
                daemon=True,
            )
            process.start()
            child.close()
            current = self._current = _Incarnation(process, parent)
            if process.pid is not None:
                self.pids.append(process.pid)
        threading.Thread(
            target=self._receive_loop, args=(current,), name="tocsin-judge-receive", daemon=True
        ).start()
        return current

    def _receive_loop(self, current: _Incarnation) -> None:
        conn = current.conn
        while True:
            try:
                rid, ok, result = pickle.loads(conn.recv_bytes())
            except (EOFError, OSError, pickle.UnpicklingError):
                break
            fut = current.waiting.pop(rid, None)
            if fut is None or fut.done():
                continue
            if ok:
                fut.set_result(result)
            else:
                fut.set_exception(RuntimeError(f"judge worker: {result}"))
        self._died(current)

    def _count_death(self, why: str) -> None:
        """A worker's end, counted (the lock is held): restarted, or after too many, judging in-process."""
        now = time.monotonic()
        self._deaths.append(now)
        while self._deaths and self._deaths[0] < now - RESTART_WINDOW_S:
            self._deaths.popleft()
        if len(self._deaths) >= MAX_RESTARTS:
            self.broken = True
            self.note = f"judge worker died {MAX_RESTARTS} times ({why}): judging in-process"
        else:
            self.restarts += 1
            at = datetime.now().astimezone().strftime("%H:%M")
            self.note = f"judge worker restarted at {at} ({why}): waves, terms, baselines anew"
        log.error("the judge worker ended (%s); %s", why, self.note)

    def _died(self, current: _Incarnation) -> None:
        current.process.join(0.5)  # reaped, so that its exit code can be told
        with self._lock:
            if not current.lost and not self._closing:  # (one the desk ended was counted then)
                self._count_death(f"exit {current.process.exitcode}")
            current.lost = True
            waiting = list(current.waiting.values())
            current.waiting.clear()
        for fut in waiting:
            if not fut.done():
                fut.set_exception(JudgeLost("the judge worker died"))
        with contextlib.suppress(OSError):
            current.conn.close()


def _end(process: multiprocessing.process.BaseProcess) -> None:
    process.join(CLOSE_S)
    if process.is_alive():
        process.terminate()
        process.join(CLOSE_S)
    if process.is_alive():
        process.kill()
        process.join(CLOSE_S)
