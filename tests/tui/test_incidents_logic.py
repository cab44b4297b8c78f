"""What the incident keys decide and how the pane words the clocks, without a screen."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.desk._incident_kit import T0, incident, minutes, team_settings
from tocsin.config.settings import SlaSettings
from tocsin.config.text import duration_str
from tocsin.desk.actions import (
    draft_incident,
    escalation_choices,
    hottest_topic,
    incident_for_topic,
    incident_trigger,
    severity_for_level,
)
from tocsin.journal.clocks import clocks_for
from tocsin.journal.model import Severity
from tocsin.scoring.snapshot import InfluencerRow, TermRow, TopicSnapshot
from tocsin.tui.panes.incidents import ack_cell, response_cell, short_name, span


def test_severity_follows_the_level() -> None:
    assert [severity_for_level(x).label for x in ("crisis", "alert", "watch", "calm", None)] == [
        "SEV1",
        "SEV2",
        "SEV3",
        "SEV4",
        "SEV4",
    ]


def test_draft_takes_title_from_the_reasons_and_cleans_them(tmp_path: Path) -> None:
    settings = team_settings(tmp_path / "j.sqlite")
    draft = draft_incident(
        settings,
        "brioche",
        "crisis",
        ["volume 9.1x the usual", "72 % negative\x1b[2J", "2 journalists", "x"],
        T0,
    )
    assert draft.severity is Severity.SEV1 and draft.first_signal_at == T0 and draft.level == "crisis"
    assert draft.title == "Maison Brioche: crisis (volume 9.1x the usual, 72 % negative[2J, 2 journalists)"
    calm = draft_incident(settings, "brioche", "calm", [], None)
    assert calm.title == "Maison Brioche: worth a look" and calm.severity is Severity.SEV4


def storm(kit: Any) -> TopicSnapshot:
    """The brioche storm as the judge sees it: surging terms (its own keyword among them) and voices."""

    def term(word: str, surge: float, kind: str = "word") -> TermRow:
        return TermRow(term=word, kind=kind, count=40, usual=1, surge=surge)  # type: ignore[arg-type]

    def voice(handle: str, negative: int) -> InfluencerRow:
        return InfluencerRow(
            handle=handle,
            name=None,
            source="x",
            tier="macro",
            followers=90_000,
            influence=80,
            bot=0.0,
            negative=negative,
            mentions=3,
            last_text="…",
            last_at=T0,
            watch_role=None,
        )

    return replace(
        kit.topic(level="crisis"),
        terms=(term("video", 9.0), term("Maison Brioche", 30.0), term("mould", 12.0), term("gone", 2.0)),
        influencers=(voice("fan_de_brioche", 0), voice("@julie_goute_tout", 5)),
    )


def test_a_drafted_title_names_the_topic_and_its_trigger(tmp_path: Path, kit: Any) -> None:
    """Issue 12: titles defaulted to metric strings ("Maison Brioche: crisis (volume 9.1x …)")."""
    settings = team_settings(tmp_path / "j.sqlite")
    seen = storm(kit)
    trigger = incident_trigger(settings, "brioche", seen)
    assert trigger == "mould video by @julie_goute_tout"  # not the topic's own keyword, not a fan
    draft = draft_incident(settings, "brioche", "crisis", ["volume 9.1x the usual"], T0, trigger)
    assert draft.title == "Maison Brioche: mould video by @julie_goute_tout"
    desk = kit.FakeDesk(settings)
    chosen = desk.push("There is MOULD in my brioche, look \x1b[2J", handle="lea_mtl")
    assert incident_trigger(settings, "brioche", seen, chosen) == "mould by @lea_mtl"  # the chosen post's
    quiet = desk.push("Worst   brioche of my\nlife, never again at this place", handle="@paulo")
    assert incident_trigger(settings, "brioche", seen, quiet) == "Worst brioche of my life, never by @paulo"
    assert incident_trigger(settings, "brioche", None) is None  # nothing seen: the reasons say it


def test_hottest_topic_and_the_incident_on_a_topic() -> None:
    assert hottest_topic([("a", "watch"), ("b", "crisis"), ("c", "crisis")]) == "b"
    assert hottest_topic([]) is None
    older, newer = incident(id=1), incident(id=2)
    assert incident_for_topic([older, newer], "brioche") is newer
    assert incident_for_topic([older], "rival") is None


def test_escalation_offers_raising_then_the_ladder_then_lowering(tmp_path: Path) -> None:
    settings = team_settings(tmp_path / "j.sqlite")
    choices = escalation_choices(settings, incident(severity=Severity.SEV2))
    assert [c.key for c in choices] == ["sev1", "ladder", "sev3", "sev4"]
    assert "Hugo Marchand" in choices[1].label and "(1 of 2)" in choices[1].label
    top = escalation_choices(settings, incident(severity=Severity.SEV1, escalation_step=2))
    assert [c.key for c in top] == ["sev2", "sev3", "sev4"]  # the ladder is climbed


def test_clock_words() -> None:
    assert duration_str(timedelta(minutes=4, seconds=12), "clock") == "4:12"
    assert duration_str(timedelta(hours=1, seconds=5), "clock") == "1:00:05"
    assert duration_str(timedelta(seconds=-3), "clock") == "0:00"
    ago = [duration_str(timedelta(seconds=s), "ago") for s in (40, 180, 7500, 3 * 86400 + 4 * 3600 + 60)]
    assert ago == ["40 s", "3 min", "2h05", "3d4h"]
    assert [span(timedelta(seconds=s)) for s in (42, 425, 7380)] == ["42s", "7m05", "2h03"]
    assert short_name("Hugo Marchand") == "Hugo M." and short_name("hugo") == "hugo"


def test_pane_cells_follow_the_clocks() -> None:
    sla = SlaSettings()
    inc = incident()
    _, ack, response = clocks_for(inc, sla, T0 + minutes(5))
    assert ack_cell(ack).plain == "ACK DUE in 5:00"
    assert response_cell(response, None).plain == "due in 15:00"
    _, ack, response = clocks_for(inc, sla, T0 + minutes(23))
    assert ack_cell(ack).plain == "ACK late 13 min" and "red" in str(ack_cell(ack).style)
    assert response_cell(response, None).plain == "breached 3 min ago"
    done = incident(acknowledged_at=T0 + minutes(2), first_response_at=T0 + minutes(8))
    _, ack, response = clocks_for(done, sla, T0 + minutes(40))
    assert ack_cell(ack).plain == "✓ acked in 2m00"
    assert response_cell(response, None).plain.endswith("(18m00)")
    watch = incident(severity=Severity.SEV4)
    assert response_cell(clocks_for(watch, sla, T0)[2], None).plain == "no SLA"
