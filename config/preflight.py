"""What a run needs, checked before it starts: something to watch, files that exist and can be read,
ports that are free, a journal path that can hold a journal.

The type checks (``checks.py``) say whether a settings file makes sense; these say whether it can run
here and now. ``check-config`` runs both, and so does ``tocsin run`` before starting anything, so a
config that passes the check does not then fail inside a snapshot field or with a traceback from the
journal's thread. Messages never echo a URL or a secret.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path

from tocsin.config import settings as S

Report = Callable[[str, str], None]
"""``report(key_path, message)``, with key paths as the loader writes them (``sources[0].path``)."""


def preflight(settings: S.Settings, report: Report) -> None:
    """Report everything the run would trip over on this machine."""
    # a desk that watches nothing would run, show an empty wall and exit 0: say so before
    if not settings.topics:
        report("topics", "none: a desk needs at least one topic to watch (see config/examples)")
    if not settings.sources:
        report("sources", "none: a desk needs at least one source of mentions (see config/examples)")
    listening: dict[tuple[str, int], str] = {}
    for i, source in enumerate(settings.sources):
        key = f"sources[{i}]"
        if isinstance(source, S.JsonlSourceSettings):
            _check_jsonl_file(source, key, report)
        elif isinstance(source, S.WebhookSourceSettings) and source.port:
            where = (source.host, source.port)
            if where in listening:
                report(f"{key}.port", f"port {source.port} is already taken by source {listening[where]!r}")
                continue
            listening[where] = source.id
            _check_port_free(source.host, source.port, f"{key}.port", report)
    _check_journal_path(settings, report)


def _check_jsonl_file(source: S.JsonlSourceSettings, key: str, report: Report) -> None:
    if source.path == "-":
        return
    path = Path(source.path).expanduser()
    if source.follow and not path.exists():
        return  # like tail -F: the desk waits for the file to appear
    if not path.exists():
        report(f"{key}.path", "no such file (write follow: true to wait for it)")
    elif path.is_dir():
        report(f"{key}.path", "is a directory, not a file")
    elif not os.access(path, os.R_OK):
        report(f"{key}.path", "cannot be read (permission denied)")


def _check_port_free(host: str, port: int, key: str, report: Report) -> None:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        report(key.rsplit(".", 1)[0] + ".host", f"cannot listen on host {host!r}: {exc}")
        return
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp binds: TIME_WAIT is fine
        try:
            probe.bind(address)
        except OSError as exc:
            report(key, f"cannot listen on {host}:{port}: {exc.strerror or exc}")


def _check_journal_path(settings: S.Settings, report: Report) -> None:
    if not settings.desk.journal or S.is_database_url(settings.desk.journal):
        # a team's PostgreSQL journal: the server is checked when the desk connects (and says so plainly)
        return  # the default path in the user's data folder, created on first use
    path = Path(settings.desk.journal).expanduser()
    if path.is_dir():
        report("desk.journal", "is a directory: name a file inside it, e.g. journal.sqlite")
        return
    if path.exists():
        if not os.access(path, os.R_OK | os.W_OK):
            report("desk.journal", "cannot be read and written (permission denied)")
        return
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent  # the journal creates missing folders: the first existing one must allow it
    if not parent.is_dir():
        report("desk.journal", f"cannot be created: {parent} is not a folder")
    elif not os.access(parent, os.W_OK | os.X_OK):
        report("desk.journal", f"cannot be created: {parent} is not writable")
