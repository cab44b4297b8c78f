"""Measure the volume detector with the NAB scorer on the shared realTweets series (not a test).

    .venv/bin/python tests/bench/measure_nab.py              # shipped defaults, via `tocsin score-volume`
    .venv/bin/python tests/bench/measure_nab.py --set memory_halflife=12h --set level_halflife=3h  # a variant

Writes one scored CSV per series under ``out/realTweets/`` (git-ignored) and prints the scorer's output.
Uses ``../shared/data/volume-dev`` and ``../shared/tools/nab_score.py`` next to the repository: measurement
only, nothing from there ships or enters the tests.
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
NAB_ROOT = SHARED / "data" / "volume-dev"
SCORER = SHARED / "tools" / "nab_score.py"
SERIES = ("GOOG", "KO", "UPS")


def _value(text: str, current: object) -> object:
    if isinstance(current, timedelta):
        unit = {"s": 1, "m": 60, "h": 3600, "d": 86400}[text[-1]]
        return timedelta(seconds=float(text[:-1]) * unit)
    return type(current)(text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--set", action="append", default=[], metavar="PARAM=VALUE", help="override a DetectorParams field"
    )
    ap.add_argument("--out", default=str(ROOT / "out"), help="results directory (default: out/)")
    ap.add_argument("--per-file", action="store_true", help="per-file scorer lines")
    args = ap.parse_args(argv)

    out = Path(args.out)
    if args.set:
        # In-process with overridden parameters (the CLI always runs the shipped defaults).
        from tocsin.scoring.detector import DetectorParams
        from tocsin.scoring.volume_cli import read_series, score_series, write_scores

        params = DetectorParams()
        for item in args.set:
            key, _, text = item.partition("=")
            params = dataclasses.replace(params, **{key: _value(text, getattr(params, key))})
        print(params)
        for name in SERIES:
            src = NAB_ROOT / "data" / "realTweets" / f"Twitter_volume_{name}.csv"
            points = read_series(src)
            write_scores(out / "realTweets" / src.name, points, score_series(points, params))
    else:
        tocsin = Path(sys.executable).parent / "tocsin"
        for name in SERIES:
            src = NAB_ROOT / "data" / "realTweets" / f"Twitter_volume_{name}.csv"
            dst = out / "realTweets" / src.name
            subprocess.run([str(tocsin), "score-volume", str(src), str(dst)], check=True)
    cmd = [sys.executable, str(SCORER), "--nab-root", str(NAB_ROOT), "--results-dir", str(out)]
    cmd += ["--subset", "realTweets"]
    if args.per_file:
        cmd.append("--per-file")
    return subprocess.run(cmd, check=False).returncode


if __name__ == "__main__":
    raise SystemExit(main())
