"""tocsin.journal: the incident journal (SQLite, or PostgreSQL for a team across machines), SLA
clocks, the mentions archive, reports.

``from tocsin.journal import Journal`` — imported lazily, so ``tocsin --help`` does not load SQLite.
See ``tocsin.journal.api`` for the whole API.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tocsin.journal.api import Journal, journal_location, journal_path
    from tocsin.journal.archive import Archiver
    from tocsin.journal.errors import JournalError

_EXPORTS = {
    "Journal": "tocsin.journal.api",
    "journal_path": "tocsin.journal.api",
    "journal_location": "tocsin.journal.api",
    "Archiver": "tocsin.journal.archive",
    "JournalError": "tocsin.journal.errors",
}
__all__ = ["Archiver", "Journal", "JournalError", "journal_location", "journal_path"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(name)
