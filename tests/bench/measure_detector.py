"""Measure the volume detector on the shared real data (not a test; nothing from there ships or enters tests).

    .venv/bin/python tests/bench/measure_detector.py        # the shipped defaults, by `tocsin score-volume`
    .venv/bin/python tests/bench/measure_detector.py --loo  # leave-one-out over a small grid: held-out
    .venv/bin/python tests/bench/measure_detector.py --set z_mid=4.5 --set tail_ref=3  # a variant

Two sets, two scorers, both from ``../shared``:

- ``data/volume-dev`` (NAB realTweets, 5-minute counts) with ``tools/nab_score.py``: standard and low-FP
  profiles, the threshold swept as NAB does;
- ``data/crisis-dev`` (CrisisLex T26, hourly counts of real crises) with ``tools/ramp_score.py`` at its fixed
  threshold 0.5, the desk's watch line: crises caught by their peak, median latency, false alarms before
  the onsets.

``--loo`` chooses the parameters on all but one series (the NAB score of the other files plus the ramps'
caught minus half their false alarms, so that a change that helps one set and hurts the other does not
win) and scores the held-out one with them: for NAB each file held out in turn, its scores then judged
together (the threshold swept over the three held-out files, as on unseen data); for the ramps each crisis
in turn. Writes scored CSVs under ``out/`` (git-ignored).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import re
import shutil
import statistics
import subprocess
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
NAB_ROOT = SHARED / "data" / "volume-dev"
CRISIS = SHARED / "data" / "crisis-dev"
NAB_FILES = ("GOOG", "KO", "UPS")
GRID = {"z_mid": (3.5, 4.0, 4.5), "tail_ref": (1.0, 2.0, 3.0), "min_excess": (20.0, 30.0, 40.0)}


def nab_series(name: str) -> Path:
    return NAB_ROOT / "data" / "realTweets" / f"Twitter_volume_{name}.csv"


def crises() -> list[str]:
    return sorted(json.loads((CRISIS / "labels.json").read_text()))


def score_into(out: Path, sources: Sequence[Path], params: object | None) -> None:
    """Score each series into ``out/<name>.csv``: through the CLI for the shipped defaults, in-process
    for a variant (the CLI always runs the defaults)."""
    out.mkdir(parents=True, exist_ok=True)
    if params is None:
        tocsin = Path(sys.executable).parent / "tocsin"
        for src in sources:
            subprocess.run([str(tocsin), "score-volume", str(src), str(out / src.name)], check=True)
        return
    from tocsin.scoring.volume_cli import read_series, score_series, write_scores

    for src in sources:
        points = read_series(src)
        write_scores(out / src.name, points, score_series(points, params))  # type: ignore[arg-type]


def nab_score(results: Path, files: Sequence[str]) -> tuple[float, float, str]:
    """NAB standard and low-FP scores of ``files`` (a copy of the labels restricted to them)."""
    root = results / "nab-root"  # the labels of these files only, beside their scores
    shutil.rmtree(root, ignore_errors=True)
    (root / "labels").mkdir(parents=True)
    (root / "config").mkdir()
    shutil.copy(NAB_ROOT / "config" / "profiles.json", root / "config")
    (root / "data").symlink_to(NAB_ROOT / "data")
    windows = json.loads((NAB_ROOT / "labels" / "combined_windows.json").read_text())
    keep = {k: v for k, v in windows.items() if any(k.endswith(f"_{f}.csv") for f in files)}
    (root / "labels" / "combined_windows.json").write_text(json.dumps(keep))
    cmd = [sys.executable, str(SHARED / "tools" / "nab_score.py"), "--nab-root", str(root)]
    cmd += ["--results-dir", str(results), "--subset", "realTweets"]
    text = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    standard = re.search(r"^standard .*NAB score=([-\d.]+)", text, re.M)
    low_fp = re.search(r"^reward_low_FP_rate .*NAB score=([-\d.]+)", text, re.M)
    assert standard and low_fp, text
    return float(standard.group(1)), float(low_fp.group(1)), text


def ramp_rows(results: Path) -> tuple[dict[str, tuple[bool, int, int | None]], str]:
    """Per crisis: (caught by the peak, false alarms before the onset, latency in hours)."""
    cmd = [
        sys.executable,
        str(SHARED / "tools" / "ramp_score.py"),
        "--data-dir",
        str(CRISIS / "data"),
        "--labels",
        str(CRISIS / "labels.json"),
        "--results-dir",
        str(results),
        "--per-series",
    ]
    text = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rows = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 6 and parts[0] in set(crises()):
            caught = parts[3] != "-"
            rows[parts[0]] = (caught, int(parts[4]), int(parts[3][1:-1]) if caught else None)
    return rows, text


def variant(sets: Sequence[str]) -> object:
    from tocsin.scoring.detector import DetectorParams

    params = DetectorParams()
    for item in sets:
        key, _, text = item.partition("=")
        current = getattr(params, key)
        if isinstance(current, timedelta):
            unit = {"s": 1, "m": 60, "h": 3600, "d": 86400}[text[-1]]
            value: object = timedelta(seconds=float(text[:-1]) * unit)
        else:
            value = type(current)(text)
        params = dataclasses.replace(params, **{key: value})
    return params


def measure(out: Path, params: object | None) -> None:
    score_into(out / "realTweets", [nab_series(n) for n in NAB_FILES], params)
    score_into(out / "ramps", [CRISIS / "data" / f"{c}.csv" for c in crises()], params)
    print(nab_score(out, NAB_FILES)[2])
    print(ramp_rows(out / "ramps")[1])


def leave_one_out(out: Path) -> None:
    from tocsin.scoring.detector import DetectorParams

    names = list(GRID)
    runs = []
    for values in itertools.product(*GRID.values()):
        params = dataclasses.replace(DetectorParams(), **dict(zip(names, values, strict=True)))
        here = out / "loo" / "-".join(f"{v:g}" for v in values)
        score_into(here / "realTweets", [nab_series(n) for n in NAB_FILES], params)
        score_into(here / "ramps", [CRISIS / "data" / f"{c}.csv" for c in crises()], params)
        subsets = [NAB_FILES, *itertools.combinations(NAB_FILES, 2)]
        nab = {tuple(s): nab_score(here, s)[0] for s in subsets}
        rows, _ = ramp_rows(here / "ramps")
        runs.append((values, here, nab, rows))
        caught = sum(r[0] for r in rows.values())
        alarms = sum(r[1] for r in rows.values())
        print(
            f"{dict(zip(names, values, strict=True))}: NAB {nab[NAB_FILES]:.1f}, ramps {caught}/12, "
            f"{alarms} false alarms",
            flush=True,
        )

    def objective(nab: float, rows: dict[str, tuple[bool, int, int | None]], series: Sequence[str]) -> float:
        caught = sum(rows[s][0] for s in series)
        return nab + 100 * (caught - 0.5 * sum(rows[s][1] for s in series)) / len(series)

    held = out / "loo-held-out"
    shutil.rmtree(held, ignore_errors=True)
    (held / "realTweets").mkdir(parents=True)
    print("\nNAB, each file held out:")
    for name in NAB_FILES:
        train = tuple(f for f in NAB_FILES if f != name)
        values, here, _, _ = max(runs, key=lambda r: objective(r[2][train], r[3], crises()))
        print(f"  {name}: chosen on {'+'.join(train)} and the ramps: {dict(zip(names, values, strict=True))}")
        src = here / "realTweets" / nab_series(name).name
        shutil.copy(src, held / "realTweets" / src.name)
    print(nab_score(held, NAB_FILES)[2])
    print("Crisis ramps, each crisis held out:")
    caught = alarms = 0
    latencies = []
    for c in crises():
        train = [s for s in crises() if s != c]
        values, _, _, rows = max(runs, key=lambda r: objective(r[2][NAB_FILES], r[3], train))
        ok, fa, latency = rows[c]
        caught += ok
        alarms += fa
        if latency is not None:
            latencies.append(latency)
        print(f"  {c:34} chosen {dict(zip(names, values, strict=True))}: caught {ok}, false alarms {fa}")
    median = statistics.median(latencies) if latencies else float("nan")
    print(
        f"held out: caught {caught}/{len(crises())} by the peak, median latency {median:.1f} h, "
        f"{alarms} false alarms before the onsets (threshold 0.5)"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a DetectorParams knob")
    ap.add_argument("--loo", action="store_true", help="leave-one-out over the grid (a few minutes)")
    ap.add_argument("--out", default=str(ROOT / "out"), help="results directory (default: out/)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    if args.loo:
        leave_one_out(out)
    else:
        measure(out, variant(args.set) if args.set else None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
