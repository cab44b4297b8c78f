"""Where post-mortem exports go, and how they are written: owner-only, like the journal.

A post-mortem carries what the journal holds (pinned posts, who did what, notes that may name people),
so it gets the journal's permissions (0600, in a 0700 folder when tocsin creates it) instead of the
umask's world-readable 0644. It goes to ``desk.exports``, else an ``exports`` folder beside the
journal (in the platform's data folder for a journal on PostgreSQL): never the current folder, which
on a shared wall machine is wherever the desk was started.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from tocsin.config.settings import Settings

if TYPE_CHECKING:
    from tocsin.journal.api import Journal

EXTENSIONS = {"md": "md", "html": "html", "json": "json", "csv": "csv"}


def export_dir(settings: Settings, journal_path: Path | None) -> Path:
    """``desk.exports`` (``~`` expanded), else ``exports/`` beside the journal file, else (a journal on
    a database server, no file to stand beside) ``exports/`` in the platform's data folder."""
    if settings.desk.exports:
        return Path(settings.desk.exports).expanduser()
    if journal_path is None:
        import platformdirs

        return platformdirs.user_data_path("tocsin") / "exports"
    return journal_path.parent / "exports"


def export_name(incident_id: int, fmt: str) -> str:
    """``tocsin-incident-12-postmortem.html``: one file per incident and format (a new export replaces
    the last, as the post-mortem of a reopened incident supersedes the earlier one)."""
    return f"tocsin-incident-{incident_id}-postmortem.{EXTENSIONS[fmt]}"


def write_private(path: Path, text: str, *, make_folder: bool = False) -> Path:
    """Write ``text`` to ``path`` readable by its owner only (0600), whatever the umask, and atomically:
    a reader never sees half a report, and a world-readable file already there is replaced, not kept.
    ``make_folder``: create a missing folder (0700), for the export folder tocsin chose; a folder the
    user named that does not exist is their typo, said as an error. Raises ``OSError``."""
    path = path.expanduser()
    parent = path.parent
    if make_folder and not parent.exists():
        parent.mkdir(parents=True, mode=0o700, exist_ok=True)
        os.chmod(parent, 0o700)  # mkdir's mode is filtered by the umask
    fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{path.name}.", suffix=".tmp")  # mkstemp: 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


async def export_postmortem(
    journal: Journal, incident_id: int, fmt: str, directory: Path | None = None
) -> Path:
    """Build, render and write an incident's post-mortem into ``directory`` (default: the desk's export
    folder); returns the file's path. Raises ``JournalError`` or ``OSError``."""
    from tocsin.journal.reports import build_postmortem, render

    pm = await build_postmortem(journal, incident_id)
    text = await asyncio.to_thread(render, pm, fmt)  # thousands of pinned posts take a while
    folder = directory if directory is not None else export_dir(journal.settings, journal.path)
    path = folder / export_name(pm.record.incident.id, fmt)
    return await asyncio.to_thread(write_private, path, text, make_folder=True)
