"""The journal stands alone: no screen (textual, rich), no scoring, and ``tocsin --help`` stays light."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
import tocsin.journal.api, tocsin.journal.cli, tocsin.journal.reports, tocsin.journal.handover
bad = sorted(m for m in sys.modules if m.split(".")[0] in ("textual", "rich")
             or m.startswith(("tocsin.scoring", "tocsin.tui")))
print(",".join(bad))
"""

LIGHT = """
import sys
import tocsin.journal.cli
print(",".join(sorted(m for m in sys.modules if m.startswith(("aiosqlite", "sqlite3", "tocsin.journal.")))))
"""


def run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_journal_imports_neither_the_screen_nor_scoring() -> None:
    assert run(CHECK) == ""


def test_registering_the_commands_loads_no_database_code() -> None:
    assert run(LIGHT) == "tocsin.journal.cli"
