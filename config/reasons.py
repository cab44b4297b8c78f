"""A level's reasons: built in English from marked templates, shown in the desk's language.

Here in config, the lowest layer, because two siblings need the same words: scoring builds the
reasons, the journal shows them in post-mortems and timelines (and never imports scoring).

Why English inside and translation at display: reasons are stored in the journal (level events,
incidents' opening words, headless JSON Lines) and compared between rounds; a journal written by a
French desk must read the same to an English one, and an incident opened last month must show in
French today. So ``say`` fills an English template (each marked with ``N_`` so Babel extracts it),
and ``shown`` finds which template a stored reason came from, reads its values back and fills the
template's translation, numbers written for the language and level names translated. A reason no
template matches (an older wording, a role named in the settings) is shown as it was stored.
"""

from __future__ import annotations

import re
from functools import cache

from tocsin.config.i18n import N_, N_plural, _, language, ngettext, number

# The templates. Placeholders: {n} a count (plural forms), {ratio} "6.2x", {share} a percentage,
# {rate} a rate per minute, {level} a level name, {minutes} whole minutes, {note} the detector's words,
# {score} a 0–1 score.
VOLUME_RATIO = N_("volume {ratio} the usual")
SPIKE_NOTE = N_("spike: {note}")
SPIKE_SCORE = N_("volume spike (score {score})")
NEGATIVE_SOURING = N_("{share} % negative (usually {usual} %)")
NEGATIVE = N_("{share} % negative")
ONLY_NEGATIVE = N_("only {share} % negative")
NOT_SCORED = N_("sentiment not scored yet")
AUTHORS = N_("{n} authors in the last hour")
WAVE = N_("copy-paste wave: {n} accounts")
PAST_PEAK = N_("past its peak: {rate}/min, down from {peak}/min")
HOLDING = N_("holding {level} for {minutes} more min")
DOWN_FROM = N_("down from {level}: below its thresholds for {minutes} min")

PLURALS: dict[str, tuple[str, str]] = {
    "influential": N_plural("{n} influential account negative", "{n} influential accounts negative"),
    "journalist": N_plural("{n} journalist", "{n} journalists"),
    "activist": N_plural("{n} activist", "{n} activists"),
    "official": N_plural("{n} official", "{n} officials"),
    "media": N_plural("{n} media outlet", "{n} media outlets"),
    "watchlist": N_plural("{n} watchlist account", "{n} watchlist accounts"),
}
"""Counted reasons: (singular, plural) English templates, translated with ``ngettext``."""

LEVEL_NAMES: dict[str, str] = {
    "calm": N_("calm"),
    "watch": N_("watch"),
    "alert": N_("alert"),
    "crisis": N_("crisis"),
}


def level_name(level: str) -> str:
    """A level's name in the desk's language ("crisis" → "crise"); an unknown one as it is."""
    return _(LEVEL_NAMES[level]) if level in LEVEL_NAMES else level


def say(template: str, **values: object) -> str:
    """The English reason: ``template`` filled with ``values`` (what the journal stores)."""
    return template.format(**values)


def counted(kind: str, n: int) -> str:
    """The English counted reason for ``kind`` in ``PLURALS``, singular or plural by ``n``."""
    one, many = PLURALS[kind]
    return say(one if n == 1 else many, n=n)


_SINGLE = (
    VOLUME_RATIO, SPIKE_NOTE, SPIKE_SCORE, NEGATIVE_SOURING, NEGATIVE, ONLY_NEGATIVE, NOT_SCORED,
    AUTHORS, WAVE, PAST_PEAK, HOLDING, DOWN_FROM,
)  # fmt: skip
_FIELD = re.compile(r"\{(\w+)\}")
_DECIMAL = re.compile(r"^\d+\.\d+$")
_RATIO = re.compile(r"^(\d+(?:\.\d+)?)(x\+?)$")


@cache
def _patterns() -> tuple[tuple[re.Pattern[str], str, tuple[str, str] | None], ...]:
    """(regex of an English template, the template, its plural pair or None), most specific first."""
    out: list[tuple[re.Pattern[str], str, tuple[str, str] | None]] = []
    templates = [(t, None) for t in _SINGLE] + [(t, pair) for pair in PLURALS.values() for t in pair]
    for template, pair in templates:
        parts = _FIELD.split(template)  # text, field, text, field, …
        regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
        out.append((re.compile(f"^{regex}$", re.DOTALL), template, pair))
    # the longest literal text first: "only 40 % negative" is ONLY_NEGATIVE, not NEGATIVE with "only 40"
    out.sort(key=lambda item: -len(_FIELD.sub("", item[1])))
    return tuple(out)


def _value(field: str, text: str) -> str:
    """A value read back from an English reason, written for the desk's language."""
    if field == "level":
        return level_name(text)
    if field == "note":
        return shown(text)
    ratio = _RATIO.match(text) if field == "ratio" else None
    if ratio is not None:  # "6.2x", "100x+": the digits written for the language, the sign kept
        return _value("rate", ratio[1]) + ratio[2]
    if _DECIMAL.match(text):
        return number(float(text), len(text.split(".")[1]))
    return text


def shown(reason: str) -> str:
    """A stored (English) reason in the desk's language."""
    if language() == "en":
        return reason
    for regex, template, pair in _patterns():
        match = regex.match(reason)
        if match is None:
            continue
        values = {k: _value(k, v) for k, v in match.groupdict().items()}
        if pair is not None:
            n = int(match["n"]) if match["n"].isdigit() else 2
            return ngettext(pair[0], pair[1], n).format(**values)
        return _(template).format(**values)
    return reason
