"""The whole desk in French: every screen a French operator opens at 120x40 — the wall and its panes,
the mention detail, the level history, every incident form, the confirmation, the checklist, the
approval, the review and an incident's review, and the toasts each action leaves — shows none of the
English words the desk translates. The mentions and names are French, so any English left is the desk's
own. Then the forms work in French: the journal refuses an empty response in French, and saves."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from textual.widgets import Input, Select, TextArea

from tests.desk._incident_kit import team_settings
from tocsin.config.i18n import language
from tocsin.desk.session import JournalSession
from tocsin.journal.model import EventKind
from tocsin.scoring.snapshot import ClusterRow, InfluencerRow, TermRow
from tocsin.sources.base import SourceState
from tocsin.tui.app import WallApp
from tocsin.tui.screens.approval import ApprovalForm
from tocsin.tui.screens.checklist import ChecklistScreen
from tocsin.tui.screens.incident_forms import (
    ChoiceForm,
    ConfirmScreen,
    IncidentForm,
    NoteForm,
    OpenIncidentForm,
    ReopenForm,
    RespondForm,
    StateForm,
)
from tocsin.tui.screens.levels import LevelHistoryScreen
from tocsin.tui.screens.mention import MentionScreen
from tocsin.tui.screens.review import IncidentReviewScreen, ReviewScreen

from ._incident_wall import SIZE, choose, ready, settle

ENGLISH = (
    # forms and their hints
    "Save", "Cancel", "saves", "cancels", "Topic", "Severity", "Title", "Kind", "Channel", "optional",
    "Open an incident", "Log a response", "Add a note", "Set the state", "Resolve", "Reopen", "Approve",
    "Reject", "Reason", "Why", "Draft", "draft", "First signal", "template", "lesson", "Now", "Raise",
    "Lower", "Call the next step", "crisis", "everyone", "watch closely", "saving", "not public",
    "do it", "go back", "Its clocks", "Who owns it", "choose",
    # the wall's panes and key bar
    "Quit", "Help", "Filter", "Escalate", "Ack", "Response", "Pin", "State", "Review", "Checklist",
    "Details", "Follow", "Live feed", "Who is talking", "Copy-paste waves", "Surging", "last hour",
    "anomaly", "usual", "learning", "trend", "nothing surging", "following", "paused",
    "more", "Who", "Tier", "Reach", "Neg", "Last said", "Size", "Since", "Text", "flagged",
    "live", "ago", "reconnects", "malformed", "silent", "reconnecting", "usually",
    "mentions per", "authors", "unique voices", "now",
    # the mention detail and the troll guard
    "Posted", "Author", "Handle", "Name", "Account", "Flags", "Judgement", "followers", "replies",
    "reposts", "likes", "confidence", "engine", "likely", "person", "Topics", "unknown", "language",
    "Copy-paste", "wave", "looks like a bot", "Do not answer", "publicly", "answering", "account",
    "posts in the", "negative", "neutral", "positive", "Esc to close",
    # incidents, the review, the journal's words
    "Incidents · none open", "open", "acked", "responding", "monitoring", "resolved", "acknowledged",
    "opened", "pinned", "Clocks against the SLA", "target", "took", "running", "OVERDUE", "BREACHED",
    "Responses", "Evidence", "Lessons", "Timeline", "first signal", "owner", "level", "escalation",
    "step", "every incident", "newest first", "STATE", "TOPIC", "OPENED", "LASTED", "OWNER", "ACK DUE",
    "due in", "Level changes", "Back", "by hand", "ticked", "untick", "Another desk", "logged",
    "awaiting approval", "assigned", "nothing changed", "holding statement",
)  # fmt: skip
"""Words the desk says in English and translates: none may be left on a French screen."""

WORDS = re.compile(r"(?<![\w-])(" + "|".join(re.escape(w) for w in ENGLISH) + r")(?![\w-])")

POSTS = (
    ("Pire brioche de ma vie chez @maisonbrioche, rassis et hors de prix", "negative", "lea_mtl"),
    ("C'est vrai que Maison Brioche met de la margarine ?? #briochegate", "negative", "gourmand75"),
    ("Maison Brioche rue Oberkampf toujours au top ce matin", "positive", "paulo"),
    ("Des journalistes demandent une réaction à Maison Brioche sur l'histoire du fournisseur", "neutral",
     "lemonde_conso"),
)  # fmt: skip


def toasts(app: WallApp) -> list[str]:
    """The toasts showing (one at a time on the wall)."""
    return [n.message for n in app._notifications]


def english_left(text: str) -> list[str]:
    return sorted(set(WORDS.findall(text)))


def french_settings(tmp_path: Path) -> Any:
    settings = team_settings(tmp_path / "journal.sqlite")
    team = dataclasses.replace(settings.team, approval={"sev2": ("head-of-comms",)})
    desk = dataclasses.replace(settings.desk, language="fr", name="Cellule Maison Brioche")
    return dataclasses.replace(settings, desk=desk, team=team)


def storm(kit: Any, desk: Any) -> None:
    """French posts, a bot's copy-paste wave, a source reconnecting: every pane has something to say."""
    t0 = kit.T0
    for i, (text, label, handle) in enumerate(POSTS * 2):
        desk.push(text, label=label, handle=handle, followers=1200 + i, at=t0 - timedelta(minutes=10 - i))
    bot = {
        "bot": {"score": 0.91, "reasons": ["account 3 days old", "140 posts in the last hour"]},
        "cluster": {"id": 7, "size": 48, "authors": 31},
        "influence": {"score": 9, "tier": "nano", "explain": ["followers 12: 0.00 × 0.40 = 0.0 pts"]},
    }
    desk.push("Boycott Maison Brioche tant qu'ils ne répondent pas !", label="negative",
              handle="brioche_truth_88", followers=12, scores=bot, at=t0 - timedelta(seconds=30))  # fmt: skip
    who = InfluencerRow("brioche_truth_88", None, "demo", "nano", 12, 9, 0.91, 14, 14, "Boycott !", t0, None)
    wave = ClusterRow(7, 48, 31, t0 - timedelta(minutes=20), t0, "Boycott Maison Brioche !", 0.74)
    topic = dataclasses.replace(
        kit.topic(level="alert"),
        anomaly=0.93,
        surprise="storm since 09:41: above the usual for a Saturday 10:00 (last 15 min)",
        influencers=(who,),
        clusters=(wave,),
        terms=(TermRow("briochegate", "hashtag", 142.0, 3.1, 12.4),),
        copy_paste_share=0.18,
    )
    masto = dataclasses.replace(
        kit.source_status(SourceState.RECONNECTING, id="masto", kind="mastodon", reconnects=3),
        gap_warning="silent 12 min (usually every 10 s), reconnecting",
    )
    desk.publish(topic, sources=[kit.source_status(rate=42.0), masto], engine="lexicon")


async def test_every_screen_of_a_french_desk_is_in_french(tmp_path: Path, kit: Any) -> None:
    settings = french_settings(tmp_path)
    desk = kit.FakeDesk(settings)
    session = JournalSession(settings, desk, background=False)
    app = WallApp(settings, desk, session=session)
    seen: dict[str, str] = {}

    def look(name: str, screen_type: type | None = None) -> None:
        if screen_type is not None:
            assert isinstance(app.screen, screen_type), (name, app.screen)
        seen[name] = "\n".join([kit.screen_text(app), *toasts(app)])

    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        desk.publish(kit.topic(level="calm", reasons=()))
        await session.tick()
        await settle(app, pilot)
        storm(kit, desk)
        await session.tick()
        await settle(app, pilot)
        look("the wall")
        await pilot.press("L")
        look("the level history", LevelHistoryScreen)
        await pilot.press("escape")
        await pilot.press("enter")  # the feed's newest line: the bot's post
        await pilot.pause()
        look("the mention detail", MentionScreen)
        assert "⚠ Ne répondez pas publiquement" in seen["the mention detail"]
        await pilot.press("escape")

        await pilot.press("e")
        await pilot.pause()
        look("the open form", OpenIncidentForm)
        app.screen.query_one("#title", Input).value = "vague de boycott"
        await pilot.press("enter")
        await settle(app, pilot)
        look("the wall with its incident")
        await pilot.press("a")
        await settle(app, pilot)
        look("the acknowledgement's toast")
        await pilot.press("o")
        await pilot.pause()
        look("the assign form", ChoiceForm)
        await choose(app, pilot, "camille")
        look("the assignment's toast")
        await pilot.press("r")
        await settle(app, pilot)
        look("the respond form", RespondForm)
        await pilot.press("escape")
        await pilot.press("n")
        await pilot.pause()
        look("the note form", NoteForm)
        await pilot.press("escape")
        await pilot.press("e")
        await pilot.pause()
        look("the escalate form", ChoiceForm)
        await pilot.press("escape")
        await pilot.press("c")
        await pilot.pause()
        look("the sentiment form", ChoiceForm)
        await pilot.press("escape")
        await pilot.press("t")
        await settle(app, pilot)
        look("the checklist", ChecklistScreen)
        await pilot.press("enter")
        await settle(app, pilot)
        look("the checklist's toast", ChecklistScreen)
        await pilot.press("escape")
        await settle(app, pilot)

        journal = session.journal
        assert journal is not None
        inc = session.incidents[0]
        await journal.respond(inc.id, "holding_statement", "x", "Nous regardons, merci de votre patience.")
        await session.poll()
        await settle(app, pilot)
        await pilot.press("A")
        await settle(app, pilot)
        look("the approval form", ApprovalForm)
        await pilot.press("escape")

        await pilot.press("s")
        await pilot.pause()
        look("the state form", StateForm)
        await choose(app, pilot, "resolved")
        look("the confirmation", ConfirmScreen)
        await pilot.press("n")
        await pilot.pause()
        look("the state form, not resolved", StateForm)
        await pilot.press("escape")

        await pilot.press("v")
        await settle(app, pilot)
        look("the review", ReviewScreen)
        await pilot.press("enter")
        await settle(app, pilot)
        look("an incident's review", IncidentReviewScreen)
        await pilot.press("escape")
        await pilot.press("escape")

        await journal.set_state(inc.id, "resolved")
        await session.poll()
        await settle(app, pilot)
        await pilot.press("s")
        await pilot.pause()
        look("the reopen form", ReopenForm)
        await pilot.press("escape")

    assert language() == "fr"
    left = {name: english_left(text) for name, text in seen.items()}
    assert {name: words for name, words in left.items() if words} == {}, seen


def test_the_word_list_catches_english() -> None:
    """The check can fail: the English wall's words are found, the French ones are not."""
    assert english_left("e Escalate  a Ack  r Response · Who is talking") == [
        "Ack",
        "Escalate",
        "Response",
        "Who is talking",
    ]
    assert english_left("e Escalader  a Prise en compte  r Réponse · Qui parle · check-list") == []


async def test_the_forms_work_in_french(tmp_path: Path, kit: Any) -> None:
    """Open an incident, answer it (the journal refuses an empty text, in French), note a lesson."""
    settings = french_settings(tmp_path)
    settings = dataclasses.replace(settings, team=dataclasses.replace(settings.team, approval={}))
    desk = kit.FakeDesk(settings)
    session = JournalSession(settings, desk, background=False)
    app = WallApp(settings, desk, session=session)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        desk.publish(kit.topic(level="alert"))
        await session.tick()
        await settle(app, pilot)
        await pilot.press("e")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, OpenIncidentForm)
        assert form.query_one("#title", Input).value == (
            "Maison Brioche: alerte (volume à 14x la normale, 61 % négatif)"
        )
        severity = form.query_one("#severity", Select)
        assert str(
            severity.selection
        ) == "sev2" and "SEV2 · alerte : répondre dans le SLA" in kit.screen_text(app)
        await pilot.press("enter")
        await settle(app, pilot)
        assert not isinstance(app.screen, IncidentForm)
        assert toasts(app) == [
            "#1 ouvert : SEV2 Maison Brioche: alerte (volume à 14x la normale, 61 % négatif)"
        ]

        await pilot.press("r")
        await settle(app, pilot)
        form = app.screen
        assert isinstance(form, RespondForm)
        assert form.query_one("#kind", Select).value == "holding_statement"
        assert "Déclaration d'attente" in kit.screen_text(app)
        form.query_one("#channel", Input).value = "instagram"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, RespondForm)  # refused: nothing written
        assert form.error == "une réponse demande le texte publié ou envoyé : rien n'a changé"
        form.query_one("#text", TextArea).load_text("Nous regardons, merci de votre patience.")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert not isinstance(app.screen, RespondForm)
        assert toasts(app) == ["#1 réponse consignée (désormais en réponse)"]

        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, NoteForm)
        assert "Une leçon pour le post-mortem" in kit.screen_text(app)
        await pilot.press(*"Valider le message avec le juridique")
        await pilot.press("tab", "space", "ctrl+s")
        await settle(app, pilot)
        assert toasts(app) == ["#1 leçon ajoutée"]
        journal = session.journal
        assert journal is not None
        kinds = [e.kind for e in await journal.events(1)]
        assert EventKind.RESPONSE_LOGGED in kinds and EventKind.NOTE in kinds
