"""A French desk's post-mortem: headings, clocks, checklist, responses, timeline and dates in French,
level reasons stored in English shown in French; the same incident exported by an English desk is
unchanged."""

from __future__ import annotations

from tocsin.config.i18n import speaking
from tocsin.journal.api import Journal
from tocsin.journal.reports import build_postmortem, render

from .test_reports import storm  # noqa: F401 - the #BriocheGate incident fixture


async def test_markdown_post_mortem_in_french(journal: Journal, storm: int) -> None:  # noqa: F811
    pm = await build_postmortem(journal, storm)
    english = render(pm, "md")
    with speaking("fr"):
        text = render(pm, "md")
    assert text.startswith("# Post-mortem : incident n° 1, SEV2, ")
    for needle in (
        "## Résumé",
        "| Gravité | SEV2 |",
        "| État | résolu |",
        "| Dernier niveau | alerte |",
        "## Délais face au SLA",
        "| Délai | Cible | Durée | Statut |",
        "| Pour la première réponse publique |",
        "DÉPASSÉ",
        "## Check-list de réponse",
        "- [x] Dire publiquement que vous vous en occupez (déclaration d'attente enregistré(e), ",
        "- [x] Confirmer les faits (cochée à la main, ",
        "## Réponses (2)",
        ": déclaration d'attente sur x (par ",
        "## Leçons",
        "## Chronologie",
        "| Heure | Qui | Quoi |",
        "pris en compte",
        "état pris en compte → en réponse",
        "| Pour prendre en compte | 10m | 4m | tenu |",
        "coché « Confirmer les faits »",
        "niveau",
        "SLA dépassé : première réponse publique attendu",
        "nov. 2026",  # dates as French writes them
    ):
        assert needle in text, needle
    for english_word in ("## Summary", "## Timeline", "Response checklist", "ticked by hand", "BREACHED"):
        assert english_word not in text, english_word
    # the English desk's export is the same as before the French one
    assert render(pm, "md") == english
    assert "## Summary" in english and "2026-11-21" in english


async def test_html_post_mortem_in_french(journal: Journal, storm: int) -> None:  # noqa: F811
    pm = await build_postmortem(journal, storm)
    with speaking("fr"):
        page = render(pm, "html")
    assert '<html lang="fr">' in page
    for needle in (
        "<h2>Résumé</h2>",
        "<th>Gravité</th>",
        "<h2>Chronologie</h2>",
        "premier signal",
        "Mentions par 5 min",
    ):
        assert needle in page, needle
    assert "<h2>Summary</h2>" not in page
    assert '<html lang="en">' in render(pm, "html")


async def test_the_handover_journal_show_and_errors_in_french(journal: Journal, storm: int) -> None:  # noqa: F811
    """The next person on call reads the handover in French; ``journal show`` and a refused action too."""
    from datetime import timedelta

    import pytest

    from tocsin.journal.errors import JournalError
    from tocsin.journal.handover import build_handover
    from tocsin.journal.reports import to_text

    english = await build_handover(journal, timedelta(hours=8))
    with speaking("fr"):
        text = await build_handover(journal, timedelta(hours=8))
        shown = to_text(await build_postmortem(journal, storm))
        with pytest.raises(JournalError) as refused:
            await journal.respond(storm, "holding_statement", "x", "   ")
        with pytest.raises(JournalError) as closed:
            await journal.acknowledge(storm)
    assert text.startswith("# Passation : ")
    for needle in ("Préparée par ", "## Incidents ouverts (0)", "Rien d'ouvert.", "## SLA dépassés (",
                   "## Ce qui s'est passé depuis ", "## Résolus sur la période", "résolu "):  # fmt: skip
        assert needle in text, needle
    for word in ("Handover", "Open incidents", "Nothing open", "What happened", "resolved "):
        assert word not in text, word
    for needle in (
        "sujet Maison Brioche · responsable",
        "premier signal ",
        "\nDélais\n",
        "Réponses (2)",
        "Chronologie",
    ):
        assert needle in shown, needle
    assert str(refused.value) == "une réponse demande le texte publié ou envoyé : rien n'a changé"
    assert "rien n'a changé" in str(closed.value) and "nothing changed" not in str(closed.value)
    assert english.startswith("# Handover: ")  # and the English desk's is as it was
