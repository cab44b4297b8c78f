"""End to end as a user hits it (``make bench``): a varied storm replay through ``tocsin run --headless``.

200,000 generated mentions (``tests/bench/replay.py``: French and English, copy-paste campaigns, echoes, a
Zipf spread of authors) in a jsonl file read as fast as it goes, every judgement on, snapshots emitted:

- ``e2e_headless_mentions_per_s``: mentions counted ÷ real seconds from launch to exit (start-up
  included, as a user waits for it);
- ``e2e_headless_cpu_s_per_100k``: CPU seconds of the desk and its worker processes per 100k mentions
  (both cores' work, so a figure that parallelism does not hide);
- ``e2e_rss_mb_at_200k``: peak resident memory of the desk process.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path


def _replay_writer() -> Callable[[Path, int], Path]:
    """``replay.write`` from beside this file (the bench folder is not a package)."""
    import importlib.util

    path = Path(__file__).with_name("replay.py")
    spec = importlib.util.spec_from_file_location("tocsin_bench_replay", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.write

N = 200_000


def test_e2e_headless_replay(tmp_path: Path, bench_record: Callable[[str, float], None]) -> None:
    data = _replay_writer()(tmp_path / "replay.jsonl", N)
    config = tmp_path / "replay.yaml"
    config.write_text(
        "desk: {name: bench, journal: " + str(tmp_path / "journal.sqlite") + "}\n"
        "topics:\n  - {id: brioche, name: Maison Brioche, keywords: [maison brioche, maisonbrioche,"
        " '#maisonbrioche', '#briochegate', '@maisonbrioche']}\n"
        "sources:\n  - {type: jsonl, id: replay, path: " + str(data) + "}\n"
    )
    tocsin = Path(sys.executable).parent / "tocsin"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run(
        [str(tocsin), "run", "--headless", "--config", str(config), "--emit", "snapshots",
         "--duration", "600"],
        capture_output=True, text=True, check=True,
    ).stdout
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    last = json.loads(out.strip().splitlines()[-1])
    counted = last["topics"]["brioche"]["mentions"]
    assert counted > 0.9 * N  # the replay's texts all name the brand; a few have it only in a link
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    bench_record("e2e_headless_mentions_per_s", N / elapsed)
    bench_record("e2e_headless_cpu_s_per_100k", cpu / N * 100_000)
    bench_record("e2e_rss_mb_at_200k", after.ru_maxrss / 1024)


def test_judge_us_per_mention_varied(tmp_path: Path, bench_record: Callable[[str, float], None]) -> None:
    """``judge_us_per_mention_varied``: ``Judge.judge_batch`` and ``settle`` on the replay's varied texts
    (campaigns, echoes, a Zipf spread of authors), in batches of 256, per mention."""
    import orjson
    from tocsin.config.settings import Settings, TopicSettings
    from tocsin.scoring.judge import Judge
    from tocsin.sources.model import Mention, parse_time

    data = _replay_writer()(tmp_path / "replay.jsonl", 60_000)
    objs = [orjson.loads(line) for line in data.open("rb")]
    mentions = [Mention.from_json(o, source="replay", received_at=parse_time(o["created_at"])) for o in objs]
    topic = TopicSettings(id="brioche", name="Maison Brioche", keywords=("maison brioche", "#briochegate"))
    judge = Judge(Settings(topics=(topic,)), start=mentions[0].created_at)
    items = [(m, ("brioche",)) for m in mentions]
    warm, timed = items[:10_000], items[10_000:]
    for k in range(0, len(warm), 256):
        judge.judge_batch(warm[k : k + 256])
    t0 = time.perf_counter()
    for k in range(0, len(timed), 256):
        batch = timed[k : k + 256]
        judged = judge.judge_batch(batch)
        judge.settle([(m, t, j, "negative") for (m, t), j in zip(batch, judged, strict=True)])
    bench_record("judge_us_per_mention_varied", (time.perf_counter() - t0) / len(timed) * 1e6)
