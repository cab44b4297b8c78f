"""``tocsin score-volume IN.csv OUT.csv``: the volume detector offline, over a ``timestamp,value`` series.

Writes ``timestamp,value,anomaly_score`` with one row per input row. Causal: the score of row i is
computed from rows ≤ i only (the detector is fed in order and never looks ahead). The bucket size is
inferred from the timestamps (the most common step between rows). Bad input exits 2 with
``FILE:LINE: message``.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tocsin.scoring.detector import DetectorParams, SpikeDetector

EXIT_OK, EXIT_BAD_INPUT = 0, 2
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f")


class SeriesError(ValueError):
    """A problem in the input series, located as ``FILE:LINE: message``."""


@dataclass(frozen=True, slots=True)
class Point:
    line: int
    raw_time: str
    raw_value: str
    at: datetime
    value: float


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``score-volume`` subcommand to the ``tocsin`` parser."""
    p = sub.add_parser(
        "score-volume",
        help="run the volume detector over a timestamp,value CSV (writes timestamp,value,anomaly_score)",
    )
    p.add_argument("input", metavar="IN.csv")
    p.add_argument("output", metavar="OUT.csv")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    import sys

    try:
        points = read_series(Path(args.input))
    except SeriesError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    scores = score_series(points)
    try:
        write_scores(Path(args.output), points, scores)
    except OSError as exc:
        print(f"{args.output}: cannot write: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return EXIT_OK


def read_series(path: Path) -> list[Point]:
    """Read a ``timestamp,value`` CSV with a header row. Raises SeriesError naming file and line."""
    try:
        f = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise SeriesError(f"{path}:0: cannot read: {exc.strerror or exc}") from None
    with f:
        try:
            return _parse(path, csv.reader(f))
        except UnicodeDecodeError:
            raise SeriesError(f"{path}:0: not UTF-8 text") from None
        except csv.Error as exc:
            raise SeriesError(f"{path}:0: bad CSV: {exc}") from None


def _parse(path: Path, rows: Iterable[list[str]]) -> list[Point]:
    points: list[Point] = []
    it = iter(rows)
    header = next(it, None)
    if header is None:
        raise SeriesError(f"{path}:1: empty file (expected a timestamp,value header)")
    names = [h.strip().lower() for h in header]
    if "timestamp" not in names or "value" not in names:
        raise SeriesError(f"{path}:1: header must name the columns timestamp and value")
    ti, vi = names.index("timestamp"), names.index("value")
    last: datetime | None = None
    for line, row in enumerate(it, start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) <= max(ti, vi):
            raise SeriesError(f"{path}:{line}: expected {len(names)} columns, got {len(row)}")
        at = _parse_time(row[ti])
        if at is None:
            raise SeriesError(f"{path}:{line}: not a timestamp: {_show(row[ti])}")
        try:
            value = float(row[vi])
        except ValueError:
            raise SeriesError(f"{path}:{line}: not a number: {_show(row[vi])}") from None
        if not math.isfinite(value) or value < 0:
            raise SeriesError(f"{path}:{line}: value must be a non-negative count, got {_show(row[vi])}")
        if last is not None and at <= last:
            raise SeriesError(f"{path}:{line}: timestamps must increase: {_show(row[ti])}")
        last = at
        points.append(Point(line, row[ti], row[vi], at, value))
    if not points:
        raise SeriesError(f"{path}:2: no data rows")
    return points


def infer_bucket(points: Sequence[Point]) -> timedelta:
    """The most common step between consecutive rows (1 minute when there is a single row)."""
    steps = Counter(b.at - a.at for a, b in itertools.pairwise(points))
    if not steps:
        return timedelta(minutes=1)
    return steps.most_common(1)[0][0]


def score_series(points: Sequence[Point], params: DetectorParams | None = None) -> list[float]:
    """Anomaly score per point, causal, from a fresh detector sized to the series' step."""
    detector = SpikeDetector(infer_bucket(points), params)
    return [detector.update(p.at, p.value).score for p in points]


def write_scores(path: Path, points: Sequence[Point], scores: Sequence[float]) -> None:
    """Write ``timestamp,value,anomaly_score`` keeping the input's timestamp and value text."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["timestamp", "value", "anomaly_score"])
        for p, s in zip(points, scores, strict=True):
            w.writerow([p.raw_time.strip(), p.raw_value.strip(), f"{s:.6g}"])


def _parse_time(s: str) -> datetime | None:
    s = s.strip()
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(s, fmt).replace(tzinfo=UTC)
        except ValueError:
            pass
    try:
        from tocsin.sources.model import parse_time

        return parse_time(s)
    except ValueError:
        return None


def _show(s: str) -> str:
    return repr(s[:40])
