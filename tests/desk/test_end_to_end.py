"""The real thing: config file → registry → jsonl source → sentiment service → Desk → headless lines."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tocsin.config.loader import load_settings
from tocsin.desk.cli import main
from tocsin.desk.desk import SWITCH_INTERVAL_S, Desk

from .headless_schema import check_mention, check_snapshot, parse_lines

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
TEXTS = [
    ("Maison Brioche c'est vraiment nul, quelle honte #BriocheGate", "fr", "negative"),
    ("J'adore Maison Brioche, délicieux", "fr", "positive"),
    ("Maison Brioche ouvre à Lyon", "fr", "neutral"),
    ("I love @maisonbrioche, great coffee", "en", "positive"),
    ("maison brioche is disgusting, never again", "en", "negative"),
    ("rien à voir avec le sujet", "fr", None),  # no topic: dropped
]


def write_replay(tmp_path: Path, n: int = 60) -> tuple[Path, Path]:
    """A jsonl file of ``n`` mentions a minute apart, and a config replaying it fast."""
    lines = []
    for i in range(n):
        text, lang, _ = TEXTS[i % len(TEXTS)]
        obj = {
            "uid": f"m{i}",
            "text": text,
            "lang": lang,
            "created_at": (T0 + timedelta(minutes=i)).isoformat().replace("+00:00", "Z"),
            "author": {"handle": f"user{i % 9}", "followers": 10 * i, "verified": False},
            "engagement": {"likes": i},
        }
        lines.append(json.dumps(obj, ensure_ascii=False))
    lines.insert(5, "{not json")  # a broken line is counted, not fatal
    lines.append(json.dumps({"uid": "m3", "text": "the same uid again: a duplicate"}))
    data = tmp_path / "storm.jsonl"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = tmp_path / "desk.yaml"
    config.write_text(
        f"""
desk: {{name: test desk, journal: {tmp_path / "journal.sqlite"}}}
topics:
  - id: brioche
    name: Maison Brioche
    keywords: [maison brioche, "#briochegate", "@maisonbrioche"]
sources:
  - {{type: jsonl, id: replay, path: "{data}", speed: 6000}}
""",
        encoding="utf-8",
    )
    return data, config


def expected_topic_mentions(n: int) -> int:
    return sum(1 for i in range(n) if TEXTS[i % len(TEXTS)][2] is not None)


@pytest.mark.parametrize("inline", [True, False], ids=["inline", "worker"])
async def test_desk_scores_a_jsonl_replay_to_the_end(tmp_path, inline):
    _, config = write_replay(tmp_path)
    desk = Desk(load_settings(config), inline_scoring=inline)
    batches = []
    desk.add_batch_listener(batches.append)
    switch = sys.getswitchinterval()
    await desk.start()
    # with its workers, threads of the desk's process give the interpreter back to the loop within 1 ms
    assert sys.getswitchinterval() == (switch if inline else SWITCH_INTERVAL_S)
    try:
        for _ in range(3000):  # 30 s at most
            if desk.finished:
                break
            await asyncio.sleep(0.01)
        assert desk.finished
    finally:
        await desk.stop()
    snap = desk.snapshot()
    n = expected_topic_mentions(60)
    assert snap.topics["brioche"].mentions == n
    assert snap.sources["replay"].state == "finished"
    assert snap.sources["replay"].malformed == 1
    feed = desk.feed_since(0, limit=10_000)
    assert len(feed) == n == sum(len(b) for b in batches)
    by_text = {sm.mention.text: sm.sentiment.label for sm in feed}
    for text, _, label in TEXTS:
        if label is not None:
            assert by_text[text] == label, text
    assert all(sm.sentiment.engine == "lexicon" for sm in feed)
    assert desk.pipeline.counters.duplicates == 1
    assert snap.engine == "lexicon"
    assert multiprocessing.active_children() == []  # the worker is gone
    assert sys.getswitchinterval() == switch


def test_cli_headless_run_writes_the_fixed_json_forms(tmp_path, capsys):
    _, config = write_replay(tmp_path)
    argv = ["run", "--headless", "--config", str(config), "--emit", "snapshots,mentions", "--duration", "60"]
    code = main(argv)
    assert code == 0
    objs = parse_lines(capsys.readouterr().out)
    mentions = [o for o in objs if o["type"] == "mention"]
    snapshots = [o for o in objs if o["type"] == "snapshot"]
    assert len(mentions) == expected_topic_mentions(60)
    for o in mentions:
        check_mention(o)
        assert o["source"] == "replay" and o["topics"] == ["brioche"]
    assert snapshots and objs[-1]["type"] == "snapshot"
    for o in snapshots:
        check_snapshot(o, {"brioche"}, {"replay"})
    final = snapshots[-1]
    assert final["topics"]["brioche"]["mentions"] == expected_topic_mentions(60)
    assert final["sources"]["replay"]["state"] == "finished"
    negative = final["topics"]["brioche"]["sentiment"]["negative"]
    assert 0.3 < negative < 0.5  # 2 of the 5 kinds of mention on topic are negative


def test_cli_headless_bad_config_is_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("topics: [{id: x, keywords: [x]}]\nsourcez: []\n", encoding="utf-8")
    assert main(["run", "--headless", "--config", str(bad)]) == 2
    assert "sourcez" in capsys.readouterr().err


def test_cli_headless_sources_that_cannot_share_a_clock_is_exit_2(tmp_path, capsys):
    mixed = tmp_path / "mixed.yaml"
    mixed.write_text(
        "topics: [{id: b, keywords: [brioche]}]\n"
        "sources:\n  - {type: demo, id: demo}\n  - {type: jsonl, id: live, path: /dev/null}\n",
        encoding="utf-8",
    )
    assert main(["run", "--headless", "--config", str(mixed), "--duration", "5"]) == 2
    err = capsys.readouterr().err
    assert "clock" in err and "internal error" not in err
