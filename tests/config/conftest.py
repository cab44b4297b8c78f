"""Helpers for the config tests: write a settings file, read back its problems as printed lines."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from tocsin.config.loader import check_config


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """``write(text, name="site.yaml")`` → the path of a dedented settings file in tmp_path."""

    def _write(text: str, name: str = "site.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return _write


@pytest.fixture
def problems(write: Callable[..., Path]) -> Callable[..., list[str]]:
    """``problems(text, env={...})`` → the ``FILE:LINE: key: message`` lines, FILE shown as ``site.yaml``."""

    def _problems(text: str, env: dict[str, str] | None = None) -> list[str]:
        path = write(text)
        return [str(p).replace(str(path), "site.yaml", 1) for p in check_config(path, env=env or {})]

    return _problems
