"""The Pipeline: match → dedupe → score and judge in batches → aggregate → publish.

Sources put mentions on a bounded queue (back-pressure: a fast source waits rather than filling memory).
A collector drains it, drops mentions about no topic and ones already seen, and forms batches of up to
``scoring.sentiment.batch_size`` (or what arrived within ``BATCH_WAIT_S``). A scorer sends each batch to
the sentiment service and, at the same time, to the ``Judge`` (influence, bots, copy-paste waves, surging
terms), both off the event loop; then it numbers the mentions, counts them in their topics' windows,
appends them to the feed ring and hands the batch to the listeners (archive, headless writer). A publisher
builds an immutable ``Snapshot`` at ``ui.refresh_hz`` on the desk's clock: the windows' figures are read
on the loop, the judge turns them into levels (level changes go to the level listeners) and tables.
Nothing kept per mention grows with the number seen: the dedupe memory, the feed, the windows and the
judge's state are all bounded.

Where the judge runs: judging costs more CPU per mention than anything else the desk does (~100 µs).
The desk (``Desk``, headless and the wall) runs it in a worker process (``judge_worker.JudgeProcess``),
on the second core: batches go to it as they are formed, up to ``IN_FLIGHT`` ahead of the one being
counted, so the worker judges the next batch while the loop counts, feeds and draws this one, and the
loop only ever awaits futures. Tests (and a desk whose worker keeps dying) run the same ``Judge`` in one
dedicated thread of this process, one batch at a time, in exactly the order of calls the worker sees
but for that overlap; being one thread fed in order, it never lets two steps touch the judgement state
at once (the judge also locks itself, for the final snapshot taken from the loop at stop). The
sentiment engine runs at the same time in its own worker (a process, or a thread when inline), so a
batch costs the slower of the two, not the sum.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Coroutine, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Protocol

from tocsin.config.settings import Settings
from tocsin.scoring.judge import Judge, Judged, TopicFigures, TopicJudgement, blank_judgement
from tocsin.scoring.judge_worker import JudgeProcess, RemoteJudged
from tocsin.scoring.levels import LevelState
from tocsin.scoring.recent import RecentKeys
from tocsin.scoring.snapshot import Behind, Snapshot, TopicSnapshot
from tocsin.scoring.topics import TopicMatcher
from tocsin.scoring.windows import TopicWindows
from tocsin.sources.base import SourceStatus
from tocsin.sources.clock import Clock
from tocsin.sources.model import Mention, ScoredMention, SentimentScore

log = logging.getLogger(__name__)

BATCH_WAIT_S = 0.05
"""Real seconds a partial batch waits for more mentions before it is scored anyway."""
JUDGE_STOP_S = 5.0
JUDGE_TIMEOUT_S = 60.0
"""Real seconds a judge worker may take over one batch (~30 ms) before it is taken for hung and ended."""
"""On stop, how long (real seconds) the judge may take to finish what it was given."""
QUEUE_SIZE = 10_000
IN_FLIGHT = 3
"""Batches handed to a judge worker and not yet counted, at most (the thread judge takes one at a time)."""
BEHIND_MENTIONS = 512
"""A backlog of this many mentions (two batches) is a desk falling behind: a replay's clock then moves
only with the data, and the snapshot says how far behind the desk is. With a judge worker, ``IN_FLIGHT
+ 1`` times that: the batches it holds in flight are the pipeline's depth, not a delay (at 5,000 a
second, 2,048 mentions are figures 0.4 s old; a lower line held a replay back to what its depth allowed)."""
BEHIND_HOLD_S = 2.0
"""Real seconds a desk that fell behind still says so while mentions wait (see ``_read``)."""
FEED_SIZE = 10_000

_NO_SCORES: Mapping[str, object] = MappingProxyType({})
_DELETED: tuple[str, ...] = ()  # dedupe value of a mention already reported deleted

BatchListener = Callable[[Sequence[ScoredMention]], None]
LevelListener = Callable[[str, LevelState, datetime], None]
"""``fn(topic id, level state, desk time)``, called on the loop when a topic's level changes."""
_Item = tuple[Mention, tuple[str, ...], str | None]
_Judging = asyncio.Future[Any]
"""A batch's judgement under way: ``list[Judged]`` (thread), ``list[RemoteJudged]`` (worker) or None."""
"""A mention to score: its topics, and its ``Mention.revision`` (None for a new post, counted)."""


def live_items(items: Sequence[_Item]) -> list[tuple[Mention, tuple[str, ...]]]:
    """The items to score and judge: all but deletions (a deletion only marks what was counted)."""
    return [(m, topics) for m, topics, revision in items if revision != "deleted"]


def _scored_mention_maker() -> Callable[..., ScoredMention]:
    """``ScoredMention(seq, mention, topics, sentiment, scores)``, twice as fast.

    A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``; for a desk that
    builds one per mention that is a fifth of the pipeline's own cost. Setting the slots directly does
    the same work; if the class ever gains fields or a ``__post_init__``, the constructor is used.
    """
    names = ("seq", "mention", "topics", "sentiment", "scores")
    if tuple(f.name for f in dataclasses.fields(ScoredMention)) != names or hasattr(
        ScoredMention, "__post_init__"
    ):
        return ScoredMention
    new = object.__new__
    set_seq, set_mention, set_topics, set_sentiment, set_scores = (
        ScoredMention.__dict__[n].__set__ for n in names
    )

    def make(
        seq: int, mention: Mention, topics: tuple[str, ...], sentiment: SentimentScore, scores: Mapping
    ) -> ScoredMention:
        sm = new(ScoredMention)
        set_seq(sm, seq)
        set_mention(sm, mention)
        set_topics(sm, topics)
        set_sentiment(sm, sentiment)
        set_scores(sm, scores)
        return sm

    return make


_new_scored_mention = _scored_mention_maker()


class SentimentScorer(Protocol):
    """What the Pipeline needs of ``tocsin.scoring.sentiment.SentimentService``."""

    engine: str
    note: str | None

    async def score(self, texts: list[str], langs: list[str | None]) -> list[SentimentScore]: ...


@dataclass(slots=True)
class MonitorCounters:
    """Running totals since start (for status lines and tests)."""

    received: int = 0
    unmatched: int = 0
    duplicates: int = 0
    deleted: int = 0
    revised: int = 0
    """Mentions sent again edited or with their author's profile: rescored, rejudged, not counted again."""
    scored: int = 0
    scoring_failures: int = 0
    judgement_failures: int = 0
    listener_errors: int = 0
    task_failures: int = 0
    """The pipeline's own tasks that failed and were started again (``Pipeline.judge_note`` says so)."""


class MentionBuffer:
    """The bounded FIFO between the sources and the collector, with back-pressure.

    It does what ``asyncio.Queue`` does for one consumer, at a tenth of the cost per item (every
    mention of a storm goes through it): ``offer`` adds without waiting when there is room, ``put``
    waits for room, the consumer ``take``s in bulk after ``wait`` says something is there.
    """

    def __init__(self, maxsize: int) -> None:
        self.maxsize = max(1, maxsize)
        self._items: deque[Mention] = deque()
        self._getter: asyncio.Future[None] | None = None
        self._putters: deque[asyncio.Future[None]] = deque()

    def __len__(self) -> int:
        return len(self._items)

    def offer(self, item: Mention) -> bool:
        """Add ``item`` if there is room now; False (and nothing added) when full."""
        if len(self._items) >= self.maxsize:
            return False
        self._items.append(item)
        getter = self._getter
        if getter is not None and not getter.done():
            getter.set_result(None)
        return True

    async def put(self, item: Mention) -> None:
        """Add ``item``, waiting while the buffer is full."""
        while not self.offer(item):
            fut = asyncio.get_running_loop().create_future()
            self._putters.append(fut)
            try:
                await fut
            except BaseException:
                if fut.done() and not fut.cancelled():
                    self._wake_putters()  # this one was given room it will not use: pass it on
                with contextlib.suppress(ValueError):
                    self._putters.remove(fut)
                raise

    def take(self, n: int) -> list[Mention]:
        """Up to ``n`` items, oldest first, without waiting."""
        items = self._items
        popleft = items.popleft
        out = [popleft() for _ in range(min(n, len(items)))]
        if out and self._putters:
            self._wake_putters()
        return out

    def _wake_putters(self) -> None:
        room = self.maxsize - len(self._items)
        while room > 0 and self._putters:
            fut = self._putters.popleft()
            if not fut.done():
                fut.set_result(None)
                room -= 1

    async def wait(self) -> None:
        """Return once there is at least one item (one consumer at a time)."""
        while not self._items:
            self._getter = asyncio.get_running_loop().create_future()
            try:
                await self._getter
            finally:
                self._getter = None


class _Topic:
    __slots__ = ("close_from", "name", "windows")

    def __init__(self, name: str, windows: TopicWindows) -> None:
        self.name = name
        self.windows = windows
        self.close_from: int | None = None
        """The next volume bucket the detector has not been given (absolute bucket number)."""


@dataclass(frozen=True, slots=True)
class _Reading:
    """A topic's figures read from its windows at one instant, on the loop."""

    figures: TopicFigures
    mentions: int
    shares: dict[str, float]
    volume: tuple[int, ...]
    unique_volume: tuple[int, ...]
    negative_trend: tuple[float, ...]


class Pipeline:
    """Runs the pipeline as three tasks on the running loop (``start``/``stop``)."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        scorer: SentimentScorer,
        *,
        sources: Callable[[], Mapping[str, SourceStatus]] = dict,
        platforms: Mapping[str, str] | None = None,
        queue_size: int = QUEUE_SIZE,
        feed_size: int = FEED_SIZE,
        real_time: Callable[[], float] = time.monotonic,
        judge_in_worker: bool = False,
    ) -> None:
        """``platforms``: source id → source type, for influence reach (default: from the settings);
        ``real_time``: monotonic seconds, paces the judge's costlier tables (tests inject it);
        ``judge_in_worker``: judge in a worker process (the desk) rather than in a thread (tests)."""
        self.settings = settings
        self.clock = clock
        self.scorer = scorer
        self._source_status = sources
        self._real_time = real_time
        self.matcher = TopicMatcher(settings.topics)
        now = clock.now()
        started = now.timestamp()
        scoring = settings.scoring
        self._topics = {
            t.id: _Topic(t.label, TopicWindows(scoring.volume, scoring.sentiment.window, started))
            for t in settings.topics
        }
        types = {s.id: s.type for s in settings.sources}
        self._platforms = {**types, **(platforms or {})}
        self.judge: Judge | None = None
        """The judge when it runs in this process (in a thread); None while a worker process runs it."""
        self._worker: JudgeProcess | None = None
        if judge_in_worker:
            self._worker = JudgeProcess(settings, start=now, platforms=self._platforms)
        else:
            self.judge = Judge(settings, start=now, platforms=self._platforms)
        self._judge_note: str | None = None
        self._judgements: dict[str, TopicJudgement] | None = None
        """The last judgements received (a snapshot whose judge failed to answer shows them)."""
        self.counters = MonitorCounters()
        self._recent: RecentKeys[tuple[str, ...]] = RecentKeys()
        self._versions: RecentKeys[int] = RecentKeys()
        """The last revision passed on per mention key: the same version sent twice is a duplicate."""
        self._feed: deque[ScoredMention] = deque(maxlen=feed_size)
        self._listeners: list[BatchListener] = []
        self._level_listeners: list[LevelListener] = []
        self._queue = MentionBuffer(queue_size)
        self._batches: asyncio.Queue[list[_Item]] = asyncio.Queue(maxsize=2)
        self._batch_size = max(1, scoring.sentiment.batch_size)
        self._put = 0
        self._done = 0
        self._hold = getattr(clock, "hold", None)
        self._behind: Behind | None = None
        self._behind_seen: float | None = None
        """Real time the backlog was last over the line (``_behind_at``)."""
        self._release = getattr(clock, "release", None)
        self._seq = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._judging: ThreadPoolExecutor | None = None
        self._scoring: asyncio.Queue[tuple[list[_Item], asyncio.Future[list[SentimentScore]], _Judging]] = (
            asyncio.Queue()
        )
        self._slots = asyncio.Semaphore(IN_FLIGHT if judge_in_worker else 1)
        self._behind_at = BEHIND_MENTIONS * (IN_FLIGHT + 1 if judge_in_worker else 1)
        """The backlog that is a desk falling behind: beyond the batches a judge worker holds in flight."""
        self._received_upto: datetime | None = None
        self._snapshot_at: datetime | None = None
        self._snapshot = self._assemble(*self._read(), fresh=True)

    # --- input ----------------------------------------------------------------------------------

    async def put(self, mention: Mention) -> None:
        """Queue a mention (waits while the queue is full: back-pressure on the source)."""
        self._put += 1  # counted before the wait, so the desk is not idle while a source waits
        self._pace()
        try:
            await self._queue.put(mention)
        except BaseException:
            self._put -= 1
            self._pace()
            raise

    def _pace(self) -> None:
        """On a replay's clock, desk time runs on its own only while the desk keeps up: behind, it moves
        with the data alone (``SimulatedClock.hold``), so it never runs ahead of what was processed."""
        if self._hold is None:
            return
        backlog = self._put - self._done
        if backlog >= self._behind_at:
            self._hold()
        elif backlog <= self._behind_at // 2:  # caught up: read the next batch while this one is judged
            self._release()  # type: ignore[misc]

    @property
    def backlog(self) -> int:
        """Mentions handed to the desk and not yet counted (queued, being scored or judged)."""
        return self._put - self._done

    def offer(self, mention: Mention) -> bool:
        """Queue a mention if there is room now (no wait); False when the queue is full."""
        if self._queue.offer(mention):
            self._put += 1
            if self._hold is not None and self._put - self._done == self._behind_at:
                self._hold()
            return True
        return False

    @property
    def idle(self) -> bool:
        """Every mention put so far has been dropped or scored and counted."""
        return self._done == self._put

    # --- output ---------------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """The latest published snapshot (never blocks)."""
        return self._snapshot

    def feed_since(self, seq: int, limit: int = 2000) -> list[ScoredMention]:
        """The newest ``limit`` scored mentions with ``seq`` above the given one, oldest first."""
        feed = self._feed
        if not feed or feed[-1].seq <= seq:
            return []
        out: list[ScoredMention] = []
        for sm in reversed(feed):
            if sm.seq <= seq or len(out) >= limit:
                break
            out.append(sm)
        out.reverse()
        return out

    def add_batch_listener(self, fn: BatchListener) -> None:
        """Call ``fn(batch)`` once per scored batch, on the loop (keep it quick)."""
        self._listeners.append(fn)

    def add_level_listener(self, fn: LevelListener) -> None:
        """Call ``fn(topic_id, state, at)`` on the loop whenever a topic's level changes (keep it quick)."""
        self._level_listeners.append(fn)

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        if self._tasks:
            return
        if self._worker is not None:
            self._worker.start()
        elif self._judging is None:
            self._judging = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tocsin-judge")
        self._tasks = [
            self._supervised(self._collect, "tocsin-collect"),
            self._supervised(self._score, "tocsin-score"),
            self._supervised(self._count, "tocsin-count"),
            self._supervised(self._publish, "tocsin-publish"),
        ]

    def _supervised(self, run: Callable[[], Coroutine[Any, Any, None]], name: str) -> asyncio.Task[None]:
        """One of the pipeline's tasks, started again (once a second at most) if it ever ends with an
        error, and said: a desk whose counting silently stopped would show a calm that is not."""

        async def supervise() -> None:
            while True:
                try:
                    await run()
                    return
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    self.counters.task_failures += 1
                    self._judge_note = f"{name} failed ({type(exc).__name__}: {exc}); restarted"
                    log.exception("pipeline task %s failed; restarting it", name)
                    await asyncio.sleep(1.0)

        return asyncio.create_task(supervise(), name=name)

    async def drain(self, within: float) -> bool:
        """Wait (real time) until everything queued is processed; False if it took longer."""
        loop = asyncio.get_running_loop()
        end = loop.time() + within
        while not self.idle and any(not t.done() for t in self._tasks[:3]):
            if loop.time() >= end:
                return False
            await asyncio.sleep(0.005)
        return self.idle

    async def stop(self) -> None:
        """Cancel the tasks, let the judge finish what it was given, publish a final snapshot; idempotent."""
        tasks, self._tasks = self._tasks, []
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        while not self._scoring.empty():  # batches sent for scoring and never counted
            _, sentiment, verdicts = self._scoring.get_nowait()
            sentiment.cancel()
            verdicts.cancel()
        worker, self._worker = self._worker, None
        if worker is not None:
            await self._stop_worker(worker)
            return
        judging, self._judging = self._judging, None
        if judging is not None:
            # the judge's thread runs its queue in order: once this no-op has run, everything before has
            try:
                await asyncio.wait_for(asyncio.wrap_future(judging.submit(_nothing)), JUDGE_STOP_S)
            except TimeoutError:
                # a judge that does not finish must not hold the desk open; its lock may be held, so
                # the last published snapshot stays the final one
                log.warning("the judge did not finish within %.0f s; stopping without it", JUDGE_STOP_S)
                judging.shutdown(wait=False, cancel_futures=True)
                return
            judging.shutdown(wait=False)
        self.publish_now()

    # --- the work -------------------------------------------------------------------------------

    def _triage(self, raw: list[Mention], items: list[_Item]) -> None:
        """Drop what is about no topic or already seen; keep the rest (with its topics) in ``items``.

        A mention sent again as a revision (``Mention.revision``: deleted, edited, its author's profile
        arrived) goes on to replace what the feed and the archive hold, in the topics it was counted
        in, and is never counted again: volume, unique authors and sentiment shares count each post
        once, as first seen. A revision of a post the desk does not remember (seen before a restart,
        or longer ago than the dedupe memory) goes on too if it is about a topic, uncounted.
        """
        match = self.matcher.match
        recent = self._recent
        get, put = recent.get, recent.put
        versions = self._versions
        append = items.append
        unmatched = duplicates = deleted = revised = 0
        for m in raw:
            key = hash((m.source, m.uid))
            seen = get(key)
            if seen is None:
                revision = m.revision
                topics = match(m)
                if not topics:
                    unmatched += 1
                    continue
                put(key, _DELETED if revision == "deleted" else topics)
                append((m, topics, revision))
                if revision == "deleted":
                    deleted += 1
                elif revision is not None:
                    revised += 1
            elif not seen:  # reported deleted already: nothing after that counts
                duplicates += 1
            elif (revision := m.revision) is None:
                duplicates += 1
            elif revision == "deleted":
                put(key, _DELETED)
                deleted += 1
                append((m, seen, revision))
            elif versions.get(key) == (version := hash((m.text, m.author))):
                duplicates += 1  # this very version again (a reconnect's catch-up sends edits again)
            else:
                versions.put(key, version)
                revised += 1
                append((m, seen, revision))
        c = self.counters
        c.received += len(raw)
        c.unmatched += unmatched
        c.duplicates += duplicates
        c.deleted += deleted
        c.revised += revised
        self._done += unmatched + duplicates
        self._pace()

    async def _collect(self) -> None:
        buffer = self._queue
        loop = asyncio.get_running_loop()
        size = self._batch_size
        triage = self._triage
        take = buffer.take
        while True:
            items: list[_Item] = []
            deadline: float | None = None
            while len(items) < size:
                if len(buffer):
                    triage(take(size - len(items)), items)
                    continue
                if not items:  # nothing worth scoring yet: wait as long as it takes
                    await buffer.wait()
                    continue
                if deadline is None:
                    deadline = loop.time() + BATCH_WAIT_S
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:  # asyncio.timeout: 3.11's wait_for can swallow a cancel (stop() would hang)
                    async with asyncio.timeout(remaining):
                        await buffer.wait()
                except TimeoutError:
                    break
            await self._batches.put(items)

    async def _score(self) -> None:
        """Send each batch to the sentiment engine and the judge as soon as it is formed (while earlier
        ones are being scored or counted: at most ``IN_FLIGHT`` with a judge worker, one with the thread)."""
        while True:
            items = await self._batches.get()
            await self._slots.acquire()
            live = live_items(items)
            judging = self._start_judging(live)
            sentiment = asyncio.ensure_future(self._sentiment(live))
            self._scoring.put_nowait((items, sentiment, judging))

    async def _count(self) -> None:
        """Count the batches in the order they were formed, each once its sentiment and judgement are in."""
        while True:
            items, sentiment, judging = await self._scoring.get()
            try:
                scores = await sentiment
                judged = await judging
            except BaseException:
                sentiment.cancel()
                judging.cancel()
                raise
            before = self._done
            try:
                self._aggregate(items, scores, judged)
            except Exception:
                if self._done == before:  # the batch is lost, not waiting: the desk must not read as behind
                    self._done += len(items)
                    self._pace()
                raise
            finally:
                self._slots.release()

    def _start_judging(self, live: list[tuple[Mention, tuple[str, ...]]]) -> _Judging:
        """The batch's judgement under way: in the worker process, else in the judge's thread."""
        worker = self._worker
        if worker is not None and worker.broken:
            self._judge_in_process(worker)
            worker = None
        if worker is None:
            return asyncio.get_running_loop().run_in_executor(self._judging, self._judge_batch, live)
        return asyncio.ensure_future(self._judged_remotely(worker.judge(live)))

    async def _judged_remotely(self, fut: Future[list[RemoteJudged]]) -> list[RemoteJudged] | None:
        try:
            async with asyncio.timeout(JUDGE_TIMEOUT_S):
                return await asyncio.wrap_future(fut)
        except asyncio.CancelledError:
            raise
        except TimeoutError:  # a worker that stopped answering is ended, and restarted like a dead one
            self.counters.judgement_failures += 1
            log.error("the judge worker did not answer within %.0f s: restarting it", JUDGE_TIMEOUT_S)
            if self._worker is not None:
                self._worker.kill()
            return None
        except Exception as exc:  # the mentions still count, unjudged (JudgeLost: the worker restarts)
            self.counters.judgement_failures += 1
            log.warning("judging a batch failed: %s", exc)
            return None

    def _judge_in_process(self, worker: JudgeProcess) -> None:
        """The worker kept dying: judge in a thread of this process from now on (a new, empty judge)."""
        self._judge_note = worker.note
        self._worker = None
        threading.Thread(target=worker.close, name="tocsin-judge-close", daemon=True).start()
        self.judge = Judge(self.settings, start=self.clock.now(), platforms=self._platforms)
        self._judging = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tocsin-judge")
        log.error("judging in-process from now on: %s", self._judge_note)

    @property
    def judge_note(self) -> str | None:
        """Why the judgement is not what it should be (its worker restarted, or judging moved
        in-process), until the desk stops; None while all is well."""
        worker = self._worker
        return worker.note if worker is not None and worker.note else self._judge_note

    @property
    def judge_pid(self) -> int | None:
        """The judge worker's process id (None when the judge runs in this process)."""
        return None if self._worker is None else self._worker.pid

    async def _sentiment(self, live: list[tuple[Mention, tuple[str, ...]]]) -> list[SentimentScore]:
        if not live:
            return []
        try:
            scores = await self.scorer.score([m.text for m, _ in live], [m.lang for m, _ in live])
            if len(scores) != len(live):
                raise ValueError(f"{len(scores)} scores for {len(live)} texts")
            return scores
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # a failing engine must not stop the desk: count the mentions, unscored
            self.counters.scoring_failures += 1
            log.warning("sentiment scoring failed: %s", exc)
            return [SentimentScore("unscored", 0.0, self.scorer.engine)] * len(live)

    def _judge_batch(self, live: list[tuple[Mention, tuple[str, ...]]]) -> list[Judged] | None:
        """The judge's per-batch step (in its thread); None if it failed (the mentions still count)."""
        assert self.judge is not None
        try:
            return self.judge.judge_batch(live)
        except Exception:
            self.counters.judgement_failures += 1
            log.exception("judging a batch failed")
            return None

    def _settle(self, batch: list[tuple[Mention, tuple[str, ...], Judged, str]]) -> None:
        assert self.judge is not None
        try:
            self.judge.settle(batch)
        except Exception:
            self.counters.judgement_failures += 1
            log.exception("settling a batch's judgement failed")

    def _aggregate(
        self,
        items: list[_Item],
        scores: list[SentimentScore],
        judged: Sequence[Judged | RemoteJudged] | None,
    ) -> None:
        """Number, count, feed and hand on a batch; ``scores`` and ``judged`` cover its live mentions
        (all but deletions). Revisions get a new number (the feed replaces the line it shows) and are
        settled with the judge (an author's new profile), but are not counted in the windows."""
        out: list[ScoredMention] = []
        append = out.append
        make = _new_scored_mention
        per_topic: dict[str, list[tuple[float, str, str]]] = {}
        settle: list[tuple[Mention, tuple[str, ...], Any, str]] = []
        seq = self._seq
        it = iter(scores)
        verdicts = iter(judged) if judged is not None else None
        unscored: SentimentScore | None = None
        for m, tids, revision in items:
            seq += 1
            if revision == "deleted":
                if unscored is None:
                    unscored = SentimentScore("unscored", 0.0, self.scorer.engine)
                append(make(seq, m, tids, unscored, _NO_SCORES))
                continue
            s = next(it)
            if verdicts is not None:
                verdict = next(verdicts)
                append(make(seq, m, tids, s, verdict.scores))
                settle.append((m, tids, verdict, s.label))
            else:
                append(make(seq, m, tids, s, _NO_SCORES))
            if revision is not None:
                continue
            created, received = m.created_at, m.received_at
            # a post cannot be newer than its arrival: a source's clock skew must not put it in the future
            entry = ((created if created <= received else received).timestamp(), m.author_key, s.label)
            for tid in tids:
                entries = per_topic.get(tid)
                if entries is None:
                    per_topic[tid] = [entry]
                else:
                    entries.append(entry)
        topics = self._topics
        for tid, entries in per_topic.items():
            topics[tid].windows.add_many(entries)
        if settle:
            if self._worker is not None and isinstance(settle[0][2], RemoteJudged):
                self._worker.settle(settle)
            elif self._judging is not None:
                self._judging.submit(self._settle, settle)  # in order, after this batch's judging
            elif self.judge is not None:
                self._settle(settle)
        self._seq = seq
        newest = items[-1][0].received_at if items else None
        if newest is not None and (self._received_upto is None or newest > self._received_upto):
            self._received_upto = newest
        self._feed.extend(out)
        self.counters.scored += len(out)
        self._done += len(out)
        self._pace()
        for fn in self._listeners:
            try:
                fn(out)
            except Exception:
                self.counters.listener_errors += 1
                log.exception("batch listener failed")

    # --- snapshots ------------------------------------------------------------------------------

    async def _publish(self) -> None:
        loop = asyncio.get_running_loop()
        period = 1.0 / max(0.1, self.settings.ui.refresh_hz)
        while True:
            began = loop.time()
            at, readings = self._read()
            judgements = await self._assess(at, readings, fresh=False)
            self._snapshot = self._snapshot_from(at, readings, judgements)
            self._tell_levels()
            # a busy judge delays a snapshot; the pace stays one per period, not one per period + delay
            await asyncio.sleep(max(0.0, period - (loop.time() - began)))

    async def _assess(
        self, at: datetime, readings: dict[str, _Reading], *, fresh: bool
    ) -> dict[str, TopicJudgement]:
        """The judge's word on these figures, without the loop waiting for it."""
        worker, figures, real = self._worker, _figures(readings), self._real_time()
        if worker is None:
            assert self.judge is not None
            assess = functools.partial(self.judge.assess, at, figures, real, fresh=fresh)
            return self._judged(await asyncio.get_running_loop().run_in_executor(self._judging, assess))
        try:
            asked = worker.assess(at, figures, real, fresh=fresh)
            answer: dict[str, TopicJudgement] = await asyncio.wrap_future(asked)
            return self._judged(answer)
        except Exception as exc:  # the worker died: the last word it gave stands until it is back
            log.warning("the judge did not assess: %s", exc)
            return self._judged(None)

    def _judged(self, judgements: dict[str, TopicJudgement] | None) -> dict[str, TopicJudgement]:
        if judgements is None:
            return self._judgements or {tid: blank_judgement(self.clock.now()) for tid in self._topics}
        self._judgements = judgements
        return judgements

    def publish_now(self) -> Snapshot:
        """Build and publish a snapshot from the current figures, every table fresh (the publisher does
        this at refresh_hz, refreshing the costlier tables on their own schedule). With a judge worker
        this waits for its answer (tests; the desk itself never calls it)."""
        self._snapshot = self._assemble(*self._read(), fresh=True)
        return self._snapshot

    def _assemble(self, at: datetime, readings: dict[str, _Reading], *, fresh: bool) -> Snapshot:
        worker = self._worker
        if worker is None:
            assert self.judge is not None
            judgements = self._judged(
                self.judge.assess(at, _figures(readings), self._real_time(), fresh=fresh)
            )
        elif worker.pid is None:  # not started yet (the desk's first snapshot): nothing judged so far
            judgements = {tid: blank_judgement(at) for tid in readings}
        else:
            try:
                asked = worker.assess(at, _figures(readings), self._real_time(), fresh=fresh)
                judgements = self._judged(asked.result(JUDGE_STOP_S))
            except Exception as exc:
                log.warning("the judge did not assess: %s", exc)
                judgements = self._judged(None)
        self._tell_levels()
        return self._snapshot_from(at, readings, judgements)

    def _tell_levels(self) -> None:
        source = self._worker if self._worker is not None else self.judge
        if source is None:
            return
        for tid, state, at in source.take_changes():
            for fn in self._level_listeners:
                try:
                    fn(tid, state, at)
                except Exception:
                    self.counters.listener_errors += 1
                    log.exception("level listener failed")

    async def _stop_worker(self, worker: JudgeProcess) -> None:
        """Let the worker finish what it was given (at most ``JUDGE_STOP_S``), publish the final
        snapshot from it, and stop it."""
        self._judge_note = worker.note
        if worker.pid is None:  # never started: nothing to wait for
            await asyncio.to_thread(worker.close)
            return
        try:
            async with asyncio.timeout(JUDGE_STOP_S):
                await asyncio.wrap_future(worker.flush())
                at, readings = self._read()
                asked = worker.assess(at, _figures(readings), self._real_time(), fresh=True)
                answer: dict[str, TopicJudgement] = await asyncio.wrap_future(asked)
                judgements = self._judged(answer)
                self._snapshot = self._snapshot_from(at, readings, judgements)
                for tid, state, when in worker.take_changes():
                    for fn in self._level_listeners:
                        try:
                            fn(tid, state, when)
                        except Exception:
                            self.counters.listener_errors += 1
                            log.exception("level listener failed")
        except (TimeoutError, Exception) as exc:
            # a judge that does not finish must not hold the desk open: the last published snapshot
            # stays the final one
            log.warning("the judge did not finish (%s); stopping without it", exc or "timeout")
        await asyncio.to_thread(worker.close)

    def _read(self) -> tuple[datetime, dict[str, _Reading]]:
        """The snapshot time and every topic's figures at it, read on the loop."""
        at: datetime = self.clock.now()
        clock_at = at
        # While mentions wait to be scored, the figures are complete only up to the arrival of the last
        # one counted: date the snapshot there. On an accelerated clock (a demo at speed 200 runs
        # two hours a second) the few milliseconds a batch takes would otherwise read as minutes of
        # silence. Idle, the snapshot is as of now; either way desk time never runs backward.
        upto = self._received_upto
        if upto is not None and upto < at and not self.idle:
            at = upto
        if self._snapshot_at is not None and at < self._snapshot_at:
            at = self._snapshot_at
        self._snapshot_at = at
        backlog = self.backlog
        held = getattr(self.clock, "held", False)  # a replay waiting for the desk to catch up
        real = self._real_time()
        if backlog >= self._behind_at or (held and backlog):
            self._behind_seen = real
        # Said steadily: a desk that cannot keep up sees its backlog swing around the line as its replay
        # waits and resumes; it stays "behind" until nothing waits or the backlog stayed under the line
        # for BEHIND_HOLD_S (a header line that came and went twice a second also cost the wall a layout
        # each time).
        seen = self._behind_seen
        self._behind = (
            Behind(backlog, max(0.0, (clock_at - at).total_seconds()))
            if backlog and seen is not None and real - seen < BEHIND_HOLD_S
            else None
        )
        now = at.timestamp()
        return at, {tid: self._reading(topic, now) for tid, topic in self._topics.items()}

    def _reading(self, topic: _Topic, now: float) -> _Reading:
        w = topic.windows
        closed_from, closed = self._closed_buckets(topic, now)
        figures = TopicFigures(
            rate_per_min=w.rate_per_min(now),
            unique_authors=w.unique_authors(now),
            negative_share=w.negative_share(now),
            usual_negative_share=w.usual_negative_share(now),
            closed_from=closed_from,
            closed=closed,
        )
        return _Reading(
            figures=figures,
            mentions=w.mentions,
            shares=w.sentiment_shares(now),
            volume=w.volume(now),
            unique_volume=w.unique_volume(now),
            negative_trend=w.negative_trend(now),
        )

    @staticmethod
    def _closed_buckets(topic: _Topic, now: float) -> tuple[datetime | None, tuple[int, ...]]:
        """The volume buckets that ended since the last reading (for the spike detector), as counted now.

        The detector starts at the first bucket with a mention (a replay's clock may start decades
        before its data) and never gets more than the windows keep: after a long gap it resumes with
        the kept history, not with years of zeros.
        """
        w = topic.windows
        if w.first_bucket is None:
            return None, ()
        now_b = int(now // w.bucket_s)
        first = w.first_bucket if topic.close_from is None else topic.close_from
        first = max(first, now_b - w.size + 1)
        if first >= now_b:
            return None, ()
        topic.close_from = now_b
        return datetime.fromtimestamp(first * w.bucket_s, UTC), tuple(w.counts(first, now_b))

    def _snapshot_from(
        self, at: datetime, readings: Mapping[str, _Reading], judgements: Mapping[str, TopicJudgement]
    ) -> Snapshot:
        topics = {}
        for tid, r in readings.items():
            j = judgements[tid]
            topics[tid] = TopicSnapshot(
                id=tid,
                name=self._topics[tid].name,
                rate_per_min=r.figures.rate_per_min,
                baseline_per_min=j.volume.baseline_per_min,
                ratio=j.volume.ratio,
                mentions=r.mentions,
                unique_authors=r.figures.unique_authors,
                sentiment=r.shares,
                volume=r.volume,
                negative_trend=r.negative_trend,
                level=j.state.level,
                reasons=j.state.reasons,
                anomaly=j.volume.anomaly,
                surprise=j.volume.surprise,
                storm_since=j.volume.storm_since,
                unique_volume=r.unique_volume,
                influencers=j.influencers,
                terms=j.terms,
                clusters=j.clusters,
                copy_paste_share=j.copy_paste_share,
                level_since=j.state.since,
            )
        return Snapshot(
            at=at,
            seq=self._seq,
            topics=topics,
            sources=self._source_status(),
            engine=self.scorer.engine,
            engine_note=self.scorer.note,
            behind=self._behind,
            judge_note=self.judge_note,
        )


def _figures(readings: Mapping[str, _Reading]) -> dict[str, TopicFigures]:
    return {tid: r.figures for tid, r in readings.items()}


def _nothing() -> None:
    """A no-op for the judge's thread: once it has run, everything queued before it has too."""
