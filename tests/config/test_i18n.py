"""The desk's language: every word marked for translation has its French, the compiled catalog that ships
is the one the translators edited, and French numbers, dates and level reasons read as French writes them."""

from __future__ import annotations

import gettext
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from tocsin.config import i18n, reasons
from tocsin.config.settings import LevelSettings
from tocsin.scoring.levels import TopicSignals, assess

ROOT = Path(i18n.__file__).resolve().parent.parent
PACKAGES = ("config", "sources", "scoring", "journal", "desk", "tui")
PO = i18n.LOCALE_DIR / "fr" / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"
MO = PO.with_suffix(".mo")
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None, "N_plural": (1, 2)}
_FIELDS = re.compile(r"\{(\w*)\}")


def marked() -> dict[str, tuple[str, ...]]:
    """msgid → (msgid, plural?) for every string marked in the desk's code, as ``make i18n`` extracts."""
    found: dict[str, tuple[str, ...]] = {}
    for package in PACKAGES:
        for filename, _line, message, _comments, context in extract_from_dir(
            ROOT / package, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            ids = (message,) if isinstance(message, str) else tuple(message)
            found.setdefault(_key(ids[0], context), (*ids, context) if context else ids)
            assert all(ids), f"{package}/{filename}: an empty marked string"
    return found


def _key(msgid: str, context: str | None) -> str:
    """A message's key in ``marked``: its id, with its context (``pgettext``) when it has one."""
    return f"{context}\x04{msgid}" if context else msgid


def french_catalog():
    with PO.open("rb") as f:
        return read_po(f, locale="fr")


def test_every_marked_string_has_a_french_translation() -> None:
    strings = marked()
    assert len(strings) > 30  # the walk really found the desk's words
    catalog = french_catalog()
    missing = []
    for msgid, ids in sorted(strings.items()):
        context = msgid.partition("\x04")[0] if "\x04" in msgid else None
        ids = ids[:-1] if context else ids
        entry = catalog.get(ids if len(ids) > 1 else ids[0], context=context)
        if entry is None or entry.fuzzy:
            missing.append(msgid)
            continue
        texts = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if not all(texts):
            missing.append(msgid)
    assert missing == [], f"no French for {missing}: run `make i18n` and translate them in {PO}"


def test_french_keeps_every_placeholder() -> None:
    """A translation that drops or renames a {field} would raise at the moment the word is shown."""
    wrong = []
    for entry in french_catalog():
        if not entry.id:
            continue
        ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        texts = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        wanted = set(_FIELDS.findall(ids[-1]))
        wrong += [entry.id for text in texts if text and set(_FIELDS.findall(text)) != wanted]
    assert wrong == []


def test_the_shipped_catalog_is_the_translated_one() -> None:
    """The committed .mo is what the desk loads: stale, French words edited in the .po would never show."""
    with MO.open("rb") as f:
        shipped = gettext.GNUTranslations(f)
    for entry in french_catalog():
        if not entry.id or entry.fuzzy:
            continue
        if isinstance(entry.id, tuple):
            for n, text in ((1, entry.string[0]), (2, entry.string[1])):
                assert shipped.ngettext(entry.id[0], entry.id[1], n) == text, entry.id
        elif entry.context:
            assert shipped.pgettext(entry.context, entry.id) == entry.string, f"{entry.id!r}: run `make i18n`"
        else:
            assert shipped.gettext(entry.id) == entry.string, f"{entry.id!r}: run `make i18n`"


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown desk language 'de'"):
        i18n.use("de")
    assert i18n.language() == "en"


def test_french_numbers_and_dates() -> None:
    at = datetime(2026, 12, 4, 10, 12, 5, tzinfo=UTC)
    assert i18n.number(1234.5) == "1234.5"
    assert i18n.number(3400, 0, grouped=True) == "3,400"
    assert i18n.datetime_text(at, "%a %d %b %H:%M", "EEE d MMM HH:mm") == "Fri 04 Dec 10:12"
    with i18n.speaking("fr"):
        assert i18n.number(1234.5) == "1\u202f234,5"
        assert i18n.number(42.0) == "42,0"
        assert i18n.datetime_text(at, "%a %d %b %H:%M", "EEE d MMM HH:mm") == "ven. 4 déc. 10:12"
    assert i18n.language() == "en"


def storm() -> tuple[str, ...]:
    """The reasons of a crisis, as the level tracker stores them (in English)."""
    signals = TopicSignals(
        rate_per_min=42.0,
        baseline_per_min=3.0,
        anomaly=0.99,
        storm=True,
        unique_authors=180,
        negative_share=0.71,
        usual_negative_share=0.2,
        watchlist={"journalist": 2},
        influencers_negative=1,
        campaign_accounts=23,
    )
    level, facts = assess(signals, LevelSettings())
    assert level == 3
    return facts


def test_a_french_desk_shows_level_reasons_in_french() -> None:
    facts = storm()
    assert facts[:3] == (
        "volume 14x the usual",
        "71 % negative (usually 20 %)",
        "180 authors in the last hour",
    )
    assert reasons.shown(facts[0]) == facts[0]  # English: as stored
    with i18n.speaking("fr"):
        shown = [reasons.shown(f) for f in facts]
        assert shown[:3] == [
            "volume à 14x la normale",
            "71 % négatif (d'habitude 20 %)",
            "180 auteurs dans la dernière heure",
        ]
        assert "2 journalistes" in shown and "1 compte influent négatif" in shown
        assert reasons.shown("past its peak: 12.5/min, down from 40.0/min") == (
            "pic passé : 12,5/min, contre 40,0/min au plus haut"
        )
        assert reasons.shown("holding crisis for 4 more min") == "reste en crise encore 4 min"
        assert reasons.level_name("watch") == "veille"
        # a wording no template knows (an older desk's, a role from the settings) is kept as stored
        assert reasons.shown("3 bloggers accounts") == "3 bloggers accounts"
