"""Benchmark plumbing: ``record(name, value)`` merges one figure into ``bench.json`` at the repository root.

``make bench`` runs ``tests/bench``; each benchmark calls ``record`` (or the ``bench_record`` fixture)
with a figure name from ARCHITECTURE.md and a number. Existing figures from other benchmarks are kept.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import pytest

BENCH_JSON = Path(__file__).resolve().parents[2] / "bench.json"


def record(name: str, value: float) -> None:
    """Merge ``{name: value}`` into bench.json (created if missing)."""
    if not math.isfinite(value):
        raise ValueError(f"bench figure {name} is not a finite number: {value!r}")
    try:
        figures = json.loads(BENCH_JSON.read_text())
    except (OSError, ValueError):
        figures = {}
    if not isinstance(figures, dict):
        figures = {}
    figures[name] = round(float(value), 4)
    tmp = BENCH_JSON.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    tmp.replace(BENCH_JSON)
    print(f"\nbench: {name} = {figures[name]}")


@pytest.fixture(scope="session")
def bench_record() -> Callable[[str, float], None]:
    """The ``record`` helper as a fixture."""
    return record
