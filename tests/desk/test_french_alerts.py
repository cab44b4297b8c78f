"""A French desk pages in French: the ladder's step, the clocks and the command to act reach the phone in
the desk's language, with the level and its reasons read back from the English the journal keeps; the
machine-readable fields stay English."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tests.desk._incident_kit import SessionDesk
from tests.desk.receivers import Receiver
from tests.desk.test_oncall_ladder import ladder_settings
from tocsin.config.i18n import speaking
from tocsin.config.settings import AlertSettings
from tocsin.desk.session import JournalSession


async def test_a_french_desk_pages_in_french(tmp_path: Path) -> None:
    async with Receiver() as rx:
        phone = AlertSettings(type="ntfy", id="phone", url=rx.url, on=(), token="tk_secret")
        chat = AlertSettings(
            type="webhook", id="chat", url=rx.url + "/chat", format="slack", on=("new_incident",)
        )
        settings = ladder_settings(tmp_path / "j.sqlite", [phone, chat])
        settings = replace(settings, desk=replace(settings.desk, language="fr"))
        with speaking("fr"):  # what the command does once it has read desk.language
            desk = SessionDesk()
            session = JournalSession(settings, desk)
            await session.start(background=False)
            oncall = session.oncall
            assert oncall is not None
            try:
                await session.open_incident(
                    "brioche", "sev2", "photo de moisissure", level="alert", reasons=("volume 14x the usual",)
                )
                await session.poll()  # the session hands on call the journal's new events
                await oncall.worker.run_once()
                desk.clock.advance(10 * 60)  # no acknowledgement: the ladder's first step
                await session.tick()
                await oncall.worker.run_once()
            finally:
                await session.stop()
    [opened] = [g.json["text"] for g in rx.got if "text" in g.json]
    assert opened.startswith("*Incident SEV2 #1 ouvert sur Maison Brioche : photo de moisissure*")
    assert "Niveau alerte : volume à 14x la normale" in opened
    assert "Agir : tocsin incident ack 1 (ou a sur le mur)" in opened
    [step] = [g.json for g in rx.got if "title" in g.json]
    assert step["title"].startswith("#1 non pris en compte : échelon 1 sur 3 appelé (Léa Martin)")
    assert step["topic"] == "lea-topic"  # the routing stays as it is, whatever the language
