"""The judge in its worker process: the same judgement as in-process, a dead worker restarted and said."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.fakes import T0, FakeSentiment, mention, settings_with
from tocsin.scoring.judge import Judge
from tocsin.scoring.judge_worker import JudgeLost, JudgeProcess, pack, unpack
from tocsin.scoring.pipeline import Pipeline, _figures
from tocsin.sources.clock import ManualClock
from tocsin.sources.model import Author, Engagement, Mention

WAVE = "Boycott Maison Brioche now, they lied about the flour #BriocheGate"


def storm(n: int = 60) -> list[Mention]:
    out = []
    for i in range(n):
        text = WAVE if i % 3 == 0 else f"maison brioche {['moisi', 'super', 'nul', 'bof'][i % 4]} numero {i}"
        out.append(
            mention(text, uid=str(i), at=T0 + timedelta(seconds=i), handle=f"user{10_000_000 + i % 17}")
        )
    return out


def test_packing_keeps_what_the_judge_reads() -> None:
    made = datetime(2019, 3, 4, 5, 6, 7, 891_234, tzinfo=UTC)
    m = Mention(
        uid="u1",
        source="bsky",
        text="maison brioche ✨",
        created_at=datetime(2026, 11, 21, 9, 59, 59, 999_999, tzinfo=UTC),
        received_at=datetime(2026, 11, 21, 10, 0, 0, 1, tzinfo=UTC),
        author=Author("ana.bsky.social", "Ana", 12, 340, 5, made, True, False),
        hashtags=("briochegate",),
        engagement=Engagement(1, None, 3),
        extra={"did": "did:plc:abc", "update": "author", "other": "dropped"},
    )
    plain = mention("maison brioche", deleted=True)
    (back, tids), (back_plain, _) = unpack(pack([(m, ("brioche",)), (plain, ())]))
    assert tids == ("brioche",)
    assert (back.uid, back.source, back.text, back.hashtags) == (m.uid, m.source, m.text, m.hashtags)
    assert back.created_at == m.created_at and back.received_at == m.received_at  # to the microsecond
    assert back.author == m.author and back.engagement == m.engagement
    assert back.author_key == "did:plc:abc" and back.revision == "author"
    assert back_plain.revision == "deleted" and back_plain.author == plain.author


def test_the_worker_judges_as_the_judge_does() -> None:
    settings = settings_with()
    local = Judge(settings, start=T0)
    worker = JudgeProcess(settings, start=T0, platforms={})
    worker.start()
    try:
        items = [(m, ("brioche",)) for m in storm()]
        for k in range(0, len(items), 16):
            batch = items[k : k + 16]
            here = local.judge_batch(batch)
            there = worker.judge(batch).result(30)
            assert [r.scores for r in there] == [j.scores for j in here]
            local.settle([(m, t, j, "negative") for (m, t), j in zip(batch, here, strict=True)])
            worker.settle([(m, t, r, "negative") for (m, t), r in zip(batch, there, strict=True)])
        at = T0 + timedelta(minutes=2)
        figures = Pipeline(settings, ManualClock(at), FakeSentiment())._read()[1]
        assert worker.assess(at, _figures(figures), 0.0, fresh=True).result(30) == local.assess(
            at, _figures(figures), 0.0, fresh=True
        )
        assert worker.take_changes() == local.take_changes()
        assert worker.note is None and worker.restarts == 0
    finally:
        worker.close()


def test_a_killed_worker_is_restarted_and_said() -> None:
    worker = JudgeProcess(settings_with(), start=T0, platforms={})
    worker.start()
    try:
        batch = [(m, ("brioche",)) for m in storm(10)]
        assert len(worker.judge(batch).result(30)) == 10
        first = worker.pid
        assert first is not None
        os.kill(first, signal.SIGSTOP)  # busy, as it were: the next request waits for an answer
        pending = worker.flush()
        while not worker._current.waiting:  # type: ignore[union-attr]
            time.sleep(0.01)
        os.kill(first, signal.SIGKILL)
        with pytest.raises(JudgeLost):  # what it had not answered fails; the desk counts it unjudged
            pending.result(30)
        assert len(worker.judge(batch).result(30)) == 10  # a new worker, a new (empty) judge
        assert worker.pid != first and worker.restarts == 1
        assert worker.note is not None and "restarted" in worker.note
    finally:
        worker.close()


async def test_a_pipeline_judging_in_a_worker_counts_judges_and_tells_levels() -> None:
    clock = ManualClock(T0 + timedelta(minutes=5))
    mon = Pipeline(settings_with(), clock, FakeSentiment(), judge_in_worker=True)
    heard = []
    mon.add_level_listener(lambda tid, state, at: heard.append(state.level))
    mon.start()
    for m in storm():
        await mon.put(m)
    assert await mon.drain(30.0)
    await mon.stop()
    feed = mon.feed_since(0)
    assert len(feed) == 60 and mon.counters.judgement_failures == 0
    assert all("influence" in sm.scores for sm in feed)
    assert max(sm.scores.get("cluster", {}).get("size", 0) for sm in feed) == 20
    topic = mon.snapshot().topics["brioche"]
    assert topic.mentions == 60 and [c.size for c in topic.clusters] == [20]
    assert topic.influencers  # settled in the worker: the voices table has them
    assert mon.judge is None and mon.judge_note is None and mon.snapshot().judge_note is None


async def test_a_pipeline_whose_worker_dies_keeps_counting_and_says_so() -> None:
    clock = ManualClock(T0 + timedelta(minutes=5))
    mon = Pipeline(settings_with(), clock, FakeSentiment(), judge_in_worker=True)
    mon.start()
    ms = storm()
    for m in ms[:30]:
        await mon.put(m)
    assert await mon.drain(30.0)
    pid = mon.judge_pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    await asyncio.sleep(0.2)
    for m in ms[30:]:
        await mon.put(m)
    assert await mon.drain(30.0)
    await mon.stop()
    assert mon.snapshot().topics["brioche"].mentions == 60  # every mention counted, judged or not
    assert mon.judge_note is not None and "restarted" in mon.judge_note
    assert mon.snapshot().to_json()["judge_note"] == mon.judge_note  # headless and the wall say it


async def test_a_pipeline_task_that_fails_is_started_again_and_said(clock, monkeypatch) -> None:
    mon = Pipeline(settings_with(), clock, FakeSentiment())
    aggregate, calls = mon._aggregate, []

    def once_broken(*args):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("aggregate bug")
        aggregate(*args)

    monkeypatch.setattr(mon, "_aggregate", once_broken)
    mon.start()
    await mon.put(mention("maison brioche 1", uid="1"))
    assert await mon.drain(5.0)  # the lost batch does not leave the desk waiting
    await mon.put(mention("maison brioche 2", uid="2"))
    assert await mon.drain(5.0)
    await mon.stop()
    assert mon.counters.task_failures == 1 and mon.snapshot().topics["brioche"].mentions == 1
    assert (
        mon.judge_note is not None and "tocsin-count failed (RuntimeError: aggregate bug)" in mon.judge_note
    )


async def test_a_worker_that_stops_answering_is_ended_and_restarted(monkeypatch) -> None:
    import tocsin.scoring.pipeline as pipeline

    monkeypatch.setattr(pipeline, "JUDGE_TIMEOUT_S", 1.0)
    clock = ManualClock(T0 + timedelta(minutes=5))
    mon = Pipeline(settings_with(), clock, FakeSentiment(), judge_in_worker=True)
    mon.start()
    ms = storm(20)
    for m in ms[:10]:
        await mon.put(m)
    assert await mon.drain(30.0)
    pid = mon.judge_pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)  # hung, as it were
    for m in ms[10:]:
        await mon.put(m)
    assert await mon.drain(30.0)
    await mon.stop()
    assert mon.snapshot().topics["brioche"].mentions == 20 and mon.counters.judgement_failures >= 1
    assert mon.judge_note is not None and "restarted" in mon.judge_note
