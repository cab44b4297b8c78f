"""A mention sent again (deleted, edited, author profile arrived) says so, and keeps saying so in JSON."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tocsin.sources.model import Mention, MentionFormatError

T = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


def mention(**kw: object) -> Mention:
    return Mention("p1", "src", "Ma commande n'arrive pas", T, T, **kw)  # type: ignore[arg-type]


def test_a_new_post_is_no_revision() -> None:
    assert mention().revision is None
    assert "revision" not in mention().to_json()


@pytest.mark.parametrize("update", ["edit", "author"])
def test_updates_are_revisions_and_round_trip(update: str) -> None:
    m = mention(extra={"update": update, "did": "did:plc:x"})
    assert m.revision == update
    obj = m.to_json()
    assert obj["revision"] == update
    back = Mention.from_json(obj, source="src", received_at=T)
    assert back.revision == update


def test_deletion_wins_over_an_update_mark() -> None:
    m = mention(deleted=True, extra={"update": "edit"})
    assert m.revision == "deleted"
    obj = m.to_json()
    assert obj["deleted"] is True and "revision" not in obj
    assert Mention.from_json(obj, source="src", received_at=T).revision == "deleted"


def test_an_unknown_update_mark_is_not_a_revision() -> None:
    assert mention(extra={"update": "boosted"}).revision is None


def test_an_unknown_revision_in_json_is_a_clear_error() -> None:
    with pytest.raises(MentionFormatError, match="revision: must be one of author, edit"):
        Mention.from_json({"text": "x", "uid": "1", "revision": "moved"}, source="s", received_at=T)
