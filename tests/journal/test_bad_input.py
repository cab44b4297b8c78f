"""Bad input changes nothing and says why: unknown id, empty field, response without text, closed incident."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tocsin.journal.api import Journal
from tocsin.journal.errors import (
    EmptyField,
    IncidentClosed,
    InvalidValue,
    JournalError,
    MissingResponseText,
    UnknownIncident,
    UnknownMember,
)
from tocsin.journal.store import Tx

from .conftest import mention

TABLES = ("events", "incidents", "mentions", "volume", "pins", "cursors", "journal_meta", "outbox",
          "outbox_keys", "drafts", "snapshots", "desks", "mention_dicts")  # fmt: skip


async def dump(journal: Journal) -> list[tuple[Any, ...]]:
    """Every row of every table (what "nothing changed" means), in one snapshot, on either backend."""

    async def read(tx: Tx) -> list[tuple[Any, ...]]:
        return [(t, *row) for t in TABLES for row in await tx.fetchall(f"SELECT * FROM {t} ORDER BY 1, 2")]

    return await journal.store.read(read)


async def test_the_dump_sees_every_table(journal: Journal, backend: str) -> None:
    """The dump would miss a table added later: every table of the schema is in ``TABLES``."""
    if backend == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    else:
        sql = (
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
            "AND tablename <> 'tocsin_schema'"
        )
    assert sorted(r[0] for r in await journal.store.fetchall(sql)) == sorted(TABLES)


async def refused(
    journal: Journal, action: Callable[[], Awaitable[Any]], error: type[JournalError], message: str
) -> None:
    before = await dump(journal)
    with pytest.raises(error) as info:
        await action()
    assert message in str(info.value)
    assert "nothing changed" in str(info.value)
    assert await dump(journal) == before


async def test_unknown_incident(journal: Journal) -> None:
    await journal.open_incident("brioche", "sev2", "Storm")
    for action in (
        lambda: journal.acknowledge(42),
        lambda: journal.add_note("#42", "hello"),
        lambda: journal.log_response(42, "apology", "x", "Sorry"),
        lambda: journal.set_state(42, "resolved"),
        lambda: journal.pin_evidence(42, mention()),
        lambda: journal.correct_sentiment(mention(), "negative", incident_id=42),
    ):
        await refused(journal, action, UnknownIncident, "no incident #42")
    await refused(
        journal, lambda: journal.acknowledge("DROP TABLE"), UnknownIncident, "no incident #DROP TABLE"
    )
    with pytest.raises(UnknownIncident):
        await journal.incident(0)


async def test_empty_required_fields(journal: Journal) -> None:
    inc = await journal.open_incident("brioche", "sev2", "Storm")
    await refused(
        journal, lambda: journal.open_incident("brioche", "sev2", "   "), EmptyField, "title is required"
    )
    await refused(journal, lambda: journal.open_incident("", "sev2", "x"), EmptyField, "topic is required")
    await refused(journal, lambda: journal.add_note(inc.id, "\u200b\u200b "), EmptyField, "text is required")
    await refused(journal, lambda: journal.assign(inc.id, ""), EmptyField, "member is required")
    await refused(
        journal,
        lambda: journal.log_response(inc.id, "apology", " ", "Sorry"),
        EmptyField,
        "channel is required",
    )


async def test_response_without_text(journal: Journal) -> None:
    inc = await journal.open_incident("brioche", "sev2", "Storm")
    for text in ("", "   \n\t"):
        await refused(
            journal,
            lambda t=text: journal.log_response(inc.id, "holding_statement", "x", t),
            MissingResponseText,
            "a response needs the text that was published or sent",
        )
    assert (await journal.incident(inc.id)).state == "open"  # not even the implicit acknowledgement


async def test_actions_on_a_resolved_incident(journal: Journal) -> None:
    inc = await journal.open_incident("brioche", "sev2", "Storm")
    await journal.resolve(inc.id)
    for action in (
        lambda: journal.acknowledge(inc.id),
        lambda: journal.assign(inc.id, "bob"),
        lambda: journal.escalate(inc.id, "sev1"),
        lambda: journal.escalate(inc.id),
        lambda: journal.log_response(inc.id, "apology", "x", "Sorry"),
        lambda: journal.pin_evidence(inc.id, mention()),
        lambda: journal.set_state(inc.id, "monitoring"),
        lambda: journal.check(inc.id, "facts"),
    ):
        await refused(journal, action, IncidentClosed, f"incident #{inc.id} is resolved: reopen it first")


async def test_values_outside_the_lists(journal: Journal) -> None:
    inc = await journal.open_incident("brioche", "sev2", "Storm")
    cases = [
        (lambda: journal.open_incident("brioche", "sev7", "x"), InvalidValue, "'sev7' is not one of sev1"),
        (
            lambda: journal.open_incident("unknown", "sev2", "x"),
            InvalidValue,
            "topic: 'unknown' is not one of",
        ),
        (lambda: journal.log_response(inc.id, "tweet", "x", "t"), InvalidValue, "kind: 'tweet'"),
        (
            lambda: journal.log_response(inc.id, "apology", "x", "t", "javascript:alert(1)"),
            InvalidValue,
            "url",
        ),
        (lambda: journal.set_state(inc.id, "open"), InvalidValue, "state: 'open'"),
        (lambda: journal.check(inc.id, "pray"), InvalidValue, "checklist item"),
        (lambda: journal.assign(inc.id, "mallory"), UnknownMember, "'mallory' is not on the roster"),
        (lambda: journal.on_level("brioche", "apocalypse", []), InvalidValue, "level"),
        (lambda: journal.correct_sentiment(mention(), "angry"), InvalidValue, "label"),
        (lambda: journal.pin_evidence(inc.id, 42), InvalidValue, "mention"),
        (lambda: journal.add_note(inc.id, "x", kind="rant"), InvalidValue, "note kind"),
    ]
    for action, error, message in cases:
        await refused(journal, action, error, message)


async def test_empty_operator_is_refused_at_open(settings) -> None:
    with pytest.raises(EmptyField, match="operator"):
        await Journal.open(settings, operator="  ")
