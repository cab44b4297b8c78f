"""`tocsin score-volume`: CSV in, scored CSV out, causal, clear errors."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from tocsin.desk.cli import main


def write_series(path: Path, values: list[float], step: timedelta = timedelta(minutes=5)) -> None:
    t0 = datetime(2015, 2, 26, 21, 42, 53)
    lines = ["timestamp,value"] + [f"{(t0 + i * step):%Y-%m-%d %H:%M:%S},{v:g}" for i, v in enumerate(values)]
    path.write_text("\n".join(lines) + "\n")


def read_scores(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def series() -> list[float]:
    rng = np.random.default_rng(11)
    values = [float(v) for v in rng.poisson(15.0, 1400)]
    values[1200:1215] = [250.0] * 15  # a storm after four days of ordinary volume
    return values


def test_scores_one_row_per_input_row_in_range(tmp_path: Path, series: list[float]) -> None:
    src, dst = tmp_path / "in.csv", tmp_path / "sub" / "out.csv"
    write_series(src, series)
    assert main(["score-volume", str(src), str(dst)]) == 0
    rows = read_scores(dst)
    assert list(rows[0]) == ["timestamp", "value", "anomaly_score"]
    assert len(rows) == len(series)
    assert rows[0]["timestamp"] == "2015-02-26 21:42:53" and rows[0]["value"] == f"{series[0]:g}"
    scores = [float(r["anomaly_score"]) for r in rows]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert max(scores[1200:1203]) > 0.9
    assert max(scores[300:1200]) < 0.3


def test_causal_row_i_uses_rows_up_to_i(tmp_path: Path, series: list[float]) -> None:
    write_series(tmp_path / "short.csv", series[:1205])
    write_series(tmp_path / "full.csv", series)
    main(["score-volume", str(tmp_path / "short.csv"), str(tmp_path / "a.csv")])
    main(["score-volume", str(tmp_path / "full.csv"), str(tmp_path / "b.csv")])
    a = [r["anomaly_score"] for r in read_scores(tmp_path / "a.csv")]
    b = [r["anomaly_score"] for r in read_scores(tmp_path / "b.csv")]
    assert a == b[:1205]


def test_bucket_size_inferred_from_timestamps(tmp_path: Path) -> None:
    from tocsin.scoring.volume_cli import infer_bucket, read_series

    src = tmp_path / "in.csv"
    write_series(src, [1.0] * 50, step=timedelta(minutes=15))
    assert infer_bucket(read_series(src)) == timedelta(minutes=15)


@pytest.mark.parametrize(
    ("body", "where", "message"),
    [
        ("timestamp,value\n2015-02-26 21:42:53,3\n2015-02-26 21:47:53,lots\n", ":3:", "not a number"),
        ("timestamp,value\nyesterday,3\n", ":2:", "not a timestamp"),
        ("timestamp,value\n2015-02-26 21:42:53,-4\n", ":2:", "non-negative"),
        ("timestamp,value\n2015-02-26 21:42:53,4\n2015-02-26 21:42:53,5\n", ":3:", "must increase"),
        ("time,count\n2015-02-26 21:42:53,4\n", ":1:", "header"),
        ("timestamp,value\n2015-02-26 21:42:53\n", ":2:", "columns"),
        ("", ":1:", "empty"),
        ("timestamp,value\n", ":2:", "no data rows"),
    ],
)
def test_bad_input_exits_2_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, where: str, message: str
) -> None:
    src = tmp_path / "bad.csv"
    src.write_text(body)
    assert main(["score-volume", str(src), str(tmp_path / "out.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"{src}{where}") and message in err
    assert not (tmp_path / "out.csv").exists()


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score-volume", str(tmp_path / "nope.csv"), str(tmp_path / "out.csv")]) == 2
    assert capsys.readouterr().err.startswith(f"{tmp_path / 'nope.csv'}:0: cannot read")
