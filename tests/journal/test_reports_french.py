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
