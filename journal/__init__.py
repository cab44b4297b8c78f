"""tocsin.journal: the incident journal (aiosqlite), SLA clocks, the mentions archive, reports.

``from tocsin.journal import Journal`` — imported lazily, so ``tocsin --help`` does not load SQLite.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tocsin.journal.api import Journal, journal_path

__all__ = ["Journal", "journal_path"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from tocsin.journal import api

        return getattr(api, name)
    raise AttributeError(name)
