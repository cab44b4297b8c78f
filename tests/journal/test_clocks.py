"""SLA clocks: ``SlaClock.describe`` is the one place their status words are made, for every place a
clock is shown (a report, ``tocsin journal list``, the handover, the wall's two SLA columns)."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest

from tests.desk._incident_kit import T0, incident
from tocsin.config.i18n import speaking
from tocsin.config.settings import SlaSettings
from tocsin.journal.clocks import ClockPlace, SlaClock, clocks_for
from tocsin.journal.model import Severity


def _clocks(minutes: float, **kw: object) -> tuple[SlaClock, SlaClock]:
    _, ack, response = clocks_for(incident(**kw), SlaSettings(), T0 + timedelta(minutes=minutes))
    return ack, response


DONE = {"acknowledged_at": T0 + timedelta(minutes=2), "first_response_at": T0 + timedelta(minutes=8)}


@pytest.mark.parametrize(
    ("place", "running", "overdue", "met"),
    [
        ("report", "running, 5m left", "OVERDUE by 13m", "met"),
        ("table", "5m left", "OVERDUE 13m", "met 2m"),
        ("handover", "acknowledgement due in 5m", "acknowledgement OVERDUE by 13m", "acknowledgement in 2m"),
        ("ack_cell", "ACK DUE in 5:00", "ACK late 13 min", "✓ acked in 2m00"),
    ],
)
def test_each_place_words_the_ack_clock_its_own_way(
    place: ClockPlace, running: str, overdue: str, met: str
) -> None:
    assert _clocks(5)[0].describe(place) == running
    assert _clocks(23)[0].describe(place) == overdue
    assert _clocks(40, **DONE)[0].describe(place) == met


def test_the_response_column_says_when_it_was_sent_and_when_there_is_no_sla() -> None:
    assert _clocks(5)[1].describe("response_cell") == "due in 15:00"
    assert _clocks(23)[1].describe("response_cell") == "breached 3 min ago"
    assert _clocks(40, **DONE)[1].describe("response_cell", UTC) == "✓ 09:38 (18m00)"
    assert _clocks(0, severity=Severity.SEV4)[1].describe("response_cell") == "no SLA"
    assert _clocks(0, severity=Severity.SEV4)[1].describe("handover") == "first public response: no target"
    resolved = _clocks(60, resolved_at=T0 + timedelta(minutes=50))[1]  # breached, never answered
    assert resolved.status == "late" and resolved.describe("response_cell") == "—"
    assert resolved.describe("report") == "BREACHED" and resolved.describe("table") == "LATE 1h"


def test_the_marked_words_speak_the_desks_language_the_english_only_places_stay_english() -> None:
    with speaking("fr"):
        assert _clocks(5)[0].describe("report") == "en cours, reste 5m"
        assert _clocks(5)[0].describe("ack_cell") == "ACQUIT dans 5:00"
        assert _clocks(5)[0].describe("table") == "5m left"
        assert _clocks(5)[0].describe("handover") == "acknowledgement due in 5m"
