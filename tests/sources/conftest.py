"""Fixtures for the source tests. The fake platform servers live in ``tests/sources/servers/``."""

from __future__ import annotations

import sys
from pathlib import Path

# pytest runs with --import-mode=importlib: make the fake servers importable as ``servers.*``.
_HERE = str(Path(__file__).parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
