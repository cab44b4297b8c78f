"""The desk's language: one ``_()`` for every word shown to a person, chosen once at start.

Why gettext with catalogs rather than ``if language == "fr"`` beside each string: the English text
stays the message id, in place, readable in the code; French lives in one file a translator can edit
(``config/locale/fr/LC_MESSAGES/tocsin.po``) and Babel extracts, updates and compiles (``make i18n``);
a test extracts the marked strings and fails when one has no French translation. This module sits in
the lowest layer because every layer above shows words: the level reasons (scoring), the post-mortems
(journal), the wall (tui).

- ``_("text")`` translates now; ``N_("text")`` only marks a string translated later (class attributes,
  key bindings, templates kept in English in the journal); ``ngettext`` picks a plural form, and
  ``N_plural`` marks a pair for it.
- ``use(language)`` selects the catalog (``desk.language``), the commands call it once they have read
  the settings; ``speaking(language)`` does the same for a block and restores the previous choice.
- ``number``, ``percent`` and ``datetime_text`` format for the language (Babel's CLDR data): "1 234,5"
  and "61 %" in French.
  English keeps the strftime and f-string formats it always had.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from babel.dates import format_datetime
from babel.numbers import format_decimal, format_percent

DOMAIN = "tocsin"
LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES: tuple[str, ...] = ("en", "fr")
"""English is the language of the code: its catalog is the message ids themselves."""
_LOCALES = {"en": "en_GB", "fr": "fr_FR"}
"""Babel locales for numbers and dates (en_GB: 24-hour times, as the desk writes them)."""

_language = "en"
_catalog: gettext.NullTranslations = gettext.NullTranslations()
_listeners: list[Callable[[], None]] = []


def _load(language: str) -> gettext.NullTranslations:
    if language not in LANGUAGES:
        raise ValueError(f"unknown desk language {language!r}: expected one of {', '.join(LANGUAGES)}")
    if language == "en":
        return gettext.NullTranslations()
    # no fallback: a French desk without its catalog is a packaging bug, said at start, not a desk
    # that silently speaks English
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[language])


def use(language: str) -> None:
    """Speak ``language`` from now on (the desk's ``desk.language``)."""
    global _language, _catalog
    _catalog = _load(language)
    _language = language
    for listener in _listeners:
        listener()


def on_change(listener: Callable[[], None]) -> None:
    """Call ``listener`` after each ``use``: for words a layer above keeps ready-made (the wall's key
    bindings are built per class, before any desk starts)."""
    _listeners.append(listener)


def language() -> str:
    """The language the desk speaks now."""
    return _language


@contextmanager
def speaking(language: str) -> Iterator[None]:
    """Speak ``language`` inside the block (a report in another language, a test), then as before."""
    before = _language
    use(language)
    try:
        yield
    finally:
        use(before)


def _(message: str) -> str:
    """``message`` in the desk's language (itself in English, or when the catalog lacks it). An empty
    string stays empty (gettext would answer the catalog's header)."""
    return _catalog.gettext(message) if message else message


def pgettext(context: str, message: str) -> str:
    """``message`` in the desk's language where the same English word needs another one depending on
    what it is said of (``pgettext("link", "none")``: "aucun", of a link; "aucune", of an escalation)."""
    return _catalog.pgettext(context, message) if message else message


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it yet (translated where it is shown)."""
    return message


def N_plural(singular: str, plural: str) -> tuple[str, str]:
    """Mark a singular/plural pair for extraction (one catalog entry), given to ``ngettext`` later."""
    return singular, plural


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for ``n``, in the desk's language (French: 0 and 1 are singular)."""
    return _catalog.ngettext(singular, plural, n)


def number(value: float, digits: int = 1, *, grouped: bool = False) -> str:
    """``value`` with ``digits`` decimals as the language writes it: "1234.5" / "1 234,5".

    English keeps Python's own formatting (thousands grouped only when ``grouped``), so the English
    desk reads exactly as it always has; French groups as CLDR says."""
    if _language == "en":
        return f"{value:,.{digits}f}" if grouped else f"{value:.{digits}f}"
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return format_decimal(value, format=pattern, locale=_LOCALES[_language])


def percent(share: float, digits: int = 0) -> str:
    """``share`` (0–1) as a percentage the language writes: "61%" / "61 %" (CLDR's spacing in French).

    English keeps Python's ``{:.0%}``, as the desk always wrote it."""
    if _language == "en":
        return f"{share:.{digits}%}"
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "") + " %"
    return format_percent(share, format=pattern, locale=_LOCALES[_language])


def datetime_text(dt: datetime, english: str, cldr: str) -> str:
    """``dt`` as the language writes it: ``english`` is a strftime pattern (the English desk's own),
    ``cldr`` the same in CLDR syntax for the others ("EEE d MMM HH:mm" → "ven. 4 déc. 10:12")."""
    if _language == "en":
        return dt.strftime(english)
    return format_datetime(dt, cldr, tzinfo=dt.tzinfo, locale=_LOCALES[_language])
