"""``Journal``: the incident journal as the desk, the CLI and the review screen use it.

    journal = await Journal.open(settings, clock=desk.clock)      # or: async with await Journal.open(…)
    archiver = Archiver(journal)
    desk.add_batch_listener(archiver.add)                           # the mentions archive, in the background
    inc = await journal.open_incident("brioche", "sev2", "#BriocheGate: mould photo", evidence=[scored])
    await journal.acknowledge(inc.id)
    await journal.log_response(inc.id, "holding_statement", "x", "We are looking into it.")
    await journal.check_clocks()                                    # periodically: SLA breaches to alert on
    await journal.on_level("brioche", "alert", reasons)             # level changes; resurgence reopens
    for event in await journal.changes_since(last_seen): …          # other desks' actions (poll ~2/s)
    async with journal.store.listen(EVENTS) as wakes: …             # or wake on them (journal/store.py)
    lease = await journal.store.lead("ingest")                      # one ingest desk at a time
    await journal.publish_snapshot(desk_id, body, now)              # what the ingest desk shows…
    for m in await journal.archived_since(seq): …                   # …and scores, for attached desks
    await journal.heartbeat(DeskPresence(…))                        # who is on the journal (desks)
    signal, ack, first_response = journal.clocks(inc)               # live countdowns
    await archiver.close()
    await journal.close()

Actions: open_incident, acknowledge, assign, escalate, log_response (or respond: a draft when
team.approval says so), approve, reject, add_note, pin_evidence, check, set_state / resolve / reopen,
correct_sentiment; for the responses the desk posts itself (``publications.py``; the posting is
``desk/publishing.py``): start_publishing, record_published, record_publish_failed,
record_sent_by_hand. Reads: incident, incidents, incident_record, events, changes_since,
pending_drafts, unsent_drafts, send_job, last_event_id, corrections, archived_*, archive_seq, volume,
get_cursor, desks, published_snapshot.

The journal is a file (SQLite) or, for a team across machines, a PostgreSQL database: ``desk.journal``
(or ``$TOCSIN_JOURNAL``) set to ``postgresql://user@host/db`` — same schema, same code, see
``journal/store.py``.

Every action method returns after its commit. Errors are ``JournalError``s whose message can be shown
as is; nothing was written when one is raised.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import platformdirs

from tocsin.config.settings import Settings, is_database_url, runs_on_simulated_clock
from tocsin.journal.archive import ArchiveCommands
from tocsin.journal.cursors import CursorCommands
from tocsin.journal.desks import DeskCommands
from tocsin.journal.errors import EmptyField, JournalUnavailable
from tocsin.journal.history import HistoryCommands
from tocsin.journal.incidents import IncidentCommands
from tocsin.journal.publications import PublicationCommands
from tocsin.journal.queries import IncidentQueries
from tocsin.journal.store import Store, Tx
from tocsin.sources.clock import Clock, WallClock

ENV_PATH = "TOCSIN_JOURNAL"


def journal_location(settings: Settings, env: Mapping[str, str] | None = None) -> Path | str:
    """Where the journal lives: ``$TOCSIN_JOURNAL``, else ``desk.journal``, else the platform data dir:
    ``journal.sqlite`` for a real desk, ``demo-journal.sqlite`` beside it for the demo and replays on a
    simulated clock (their fictional mentions and simulated times never enter a real desk's journal).

    A ``postgresql://`` URL is returned as the string it is (it may hold a password: show it only
    through ``store.redact_url``); anything else is a file path."""
    env = os.environ if env is None else env
    configured = env.get(ENV_PATH) or settings.desk.journal
    if configured:
        return configured if is_database_url(configured) else Path(configured).expanduser()
    name = "demo-journal.sqlite" if runs_on_simulated_clock(settings) else "journal.sqlite"
    return platformdirs.user_data_path("tocsin") / name


def journal_path(settings: Settings, env: Mapping[str, str] | None = None) -> Path:
    """The journal's file (``journal_location``); ValueError when the journal is a database server."""
    where = journal_location(settings, env)
    if isinstance(where, str):
        raise ValueError("the journal is a PostgreSQL database, not a file")
    return where


def clock_kind(clock: Clock) -> str:
    """``wall`` for the real clock, ``simulated`` for any other (demo, replay, tests' manual clocks)."""
    return "wall" if isinstance(clock, WallClock) else "simulated"


class Journal(
    IncidentCommands,
    PublicationCommands,
    IncidentQueries,
    ArchiveCommands,
    HistoryCommands,
    CursorCommands,
    DeskCommands,
):
    """One open journal: incidents, their events and clocks, the mentions archive, volume history and
    source cursors. ``clock`` is the desk's clock (actions are stamped with it); ``operator`` names
    who acts (``desk.operator`` unless given)."""

    def __init__(self, store: Store, settings: Settings, *, clock: Clock, operator: str) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.operator = operator
        self.retention = settings.desk.archive_retention

    @classmethod
    async def open(
        cls,
        settings: Settings,
        *,
        clock: Clock | None = None,
        operator: str | None = None,
        path: str | Path | None = None,
        busy_timeout: float = 5.0,
        retry_for: float = 30.0,
        desk_clock: bool = False,
    ) -> Journal:
        """Open (creating and migrating if needed) the journal of ``settings`` (or at ``path``: a file,
        or a ``postgresql://`` URL).

        ``desk_clock``: a desk runs on ``clock`` and will write its timeline here. The journal records
        the kind of clock of the first desk that ran on it, and refuses a desk on the other kind
        (``JournalUnavailable``): simulated and wall-clock times in one timeline come out of order."""
        who = (operator if operator is not None else settings.desk.operator).strip()
        if not who:
            raise EmptyField("operator", "an operator name is required: every journal entry names who acted")
        where = path if path is not None else journal_location(settings)
        store = await Store.open(where, busy_timeout=busy_timeout, retry_for=retry_for)
        journal = cls(store, settings, clock=clock or WallClock(), operator=who)
        if desk_clock:
            try:
                await journal._claim_clock(clock_kind(journal.clock))
            except BaseException:
                await store.close()
                raise
        return journal

    async def _claim_clock(self, kind: str) -> None:
        recorded: str | None = None

        async def claim(tx: Tx) -> None:
            nonlocal recorded
            recorded = await tx.scalar("SELECT value FROM journal_meta WHERE key = 'clock'")
            if recorded is None:
                await tx.execute("INSERT INTO journal_meta (key, value) VALUES ('clock', ?)", (kind,))

        await self.store.write(claim)
        if recorded is not None and recorded != kind:
            simulated = "a simulated clock (demo or replay)"
            theirs = "the wall clock (a real desk)" if recorded == "wall" else simulated
            ours = "the wall clock" if kind == "wall" else simulated
            raise JournalUnavailable(
                f"the journal {self.location} keeps the timeline of a desk on {theirs}; this desk runs on "
                f"{ours}, and the two times would mix out of order: give this desk its own journal "
                f"(desk.journal or ${ENV_PATH})"
            )

    @property
    def path(self) -> Path | None:
        """The journal's file; None when it is a PostgreSQL database."""
        return self.store.path

    @property
    def location(self) -> str:
        """Where the journal is, fit to show: its file, or its URL without the password."""
        return self.store.location

    async def close(self) -> None:
        """Close the connection (an open one hangs process exit)."""
        await self.store.close()

    async def __aenter__(self) -> Journal:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
