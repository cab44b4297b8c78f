"""A level's reasons: built in English from marked templates, shown in the desk's language.

Here in config, the lowest layer, because two siblings need the same words: scoring builds the
reasons, the journal shows them in post-mortems and timelines (and never imports scoring). The desk's
other judgements that travel as English words work the same way: a mention's bot-likelihood reasons and
influence terms (kept in its scores), the troll guard's (kept on a response answered anyway), the volume
detector's note, and why a source is not seeing (the health pane, the alerts). A fixed phrase without
values (``"token refused"``) needs no template: marked with ``N_`` where it is written, ``shown``
translates it as it is.

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
from collections.abc import Iterable
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

# A mention's bot-likelihood reasons (scoring/bots.py). {age} and {window} are spans below.
BOT_YOUNG = N_("account {age} old")
BOT_FOLLOWS = N_("follows {following}, followed by {followers}")
BOT_RATE = N_("{n} posts in the last {window}")
BOT_LIFETIME = N_("{rate} posts a day since joining")
BOT_FEW_POSTS = N_("only {n} posts ever")
BOT_CAMPAIGN = N_("part of a copy-paste wave ({n} accounts)")
SPAN_DAYS = N_("{n} days")
SPAN_HOURS = N_("{n} hours")
SPAN_MINUTES = N_("{n} minutes")

# The troll guard (scoring/troll.py): why not to answer an author publicly. {why}: bot reasons, "; "-joined.
TROLL_BOT = N_("looks like a bot ({score}: {why})")
TROLL_BOT_BARE = N_("looks like a bot ({score})")
TROLL_WAVE = N_("part of a copy-paste wave ({size} posts from {authors} accounts)")

# The influence formula's terms in words (scoring/influence.py).
INFLUENCE_TERM = N_("{name}: {value} × {weight} = {points} pts")
INFLUENCE_FOLLOWERS = N_("followers {n}")
INFLUENCE_ENGAGEMENT = N_("engagement {n} ({share} of followers)")  # share: "2.8 %"
INFLUENCE_ENGAGEMENT_ALONE = N_("engagement {n} (followers unknown)")
INFLUENCE_REACH = N_("platform reach ({platform}): {reach} → × {factor}")
INFLUENCE_TIER = N_("influence {score}/100 ({tier} tier)")
INFLUENCE_UNKNOWN = N_("influence {score}/100 (followers unknown, scored from what is known)")
INFLUENCE_WATCHED = N_("on the watchlist: {role}")

# The volume detector's note (scoring/detector.py, scoring/judge.py). {when}: "Saturday 10:00".
VOLUME_LEARNING = N_("learning the usual volume ({n} mentions)")
VOLUME_QUIET = N_("quiet, as usual for a {when}")
VOLUME_ABOVE = N_("above the usual for a {when}")
VOLUME_ABOVE_OVER = N_("above the usual for a {when} ({over})")
VOLUME_BELOW = N_("below the usual for a {when}")
VOLUME_USUAL = N_("usual for a {when}")
VOLUME_STORM = N_("storm since {time}: {note}")
VOLUME_STORM_CALMING = N_("storm since {time}, calming: {note}")
OVER_MINUTES = N_("last {n} min")
OVER_HOURS = N_("last {hours} h")
DAY_NAMES: tuple[str, ...] = (
    N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"), N_("Saturday"), N_("Sunday"),
)  # fmt: skip

# Why a source needs a look (sources/base.py); the plain reasons of sources/net.py are fixed phrases.
SOURCE_SILENT = N_("silent {span} (usually every {typical})")
SOURCE_SILENT_CONNECTING = N_("silent {span} (usually every {typical}), connecting")
SOURCE_SILENT_RECONNECTING = N_("silent {span} (usually every {typical}), reconnecting")
SOURCE_CONNECTING = N_("connecting for {span}")
SOURCE_RECONNECTING = N_("reconnecting for {span}")
SOURCE_NO_ANSWER = N_("no answer for {span}")
SOURCE_SERVER_ERROR = N_("server error {status}")
SOURCE_REFUSED = N_("request refused (HTTP {status})")

# Why an incident was reopened, when the desk says it (tui/incident_keys.py); an operator's own words
# are kept as typed.
RESURGENCE = N_("resurgence: level {level}")

LEVEL_NAMES: dict[str, str] = {
    "calm": N_("calm"),
    "watch": N_("watch"),
    "alert": N_("alert"),
    "crisis": N_("crisis"),
}


ROLE_NAMES: dict[str, str] = {
    "journalist": N_("journalist"),
    "activist": N_("activist"),
    "official": N_("official"),
    "media": N_("media"),
}
"""The watchlist's usual roles (``scoring.influence.roles``); a role of the team's own is shown as set."""


def role_name(role: str) -> str:
    """A watchlist role in the desk's language ("journalist" → "journaliste"); an unknown one as it is."""
    return _(ROLE_NAMES[role]) if role in ROLE_NAMES else role


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
    BOT_YOUNG, BOT_FOLLOWS, BOT_RATE, BOT_LIFETIME, BOT_FEW_POSTS, BOT_CAMPAIGN, SPAN_DAYS, SPAN_HOURS,
    SPAN_MINUTES, TROLL_BOT, TROLL_BOT_BARE, TROLL_WAVE,
    INFLUENCE_TERM, INFLUENCE_FOLLOWERS, INFLUENCE_ENGAGEMENT, INFLUENCE_ENGAGEMENT_ALONE, INFLUENCE_REACH,
    INFLUENCE_TIER, INFLUENCE_UNKNOWN, INFLUENCE_WATCHED,
    VOLUME_LEARNING, VOLUME_QUIET, VOLUME_ABOVE, VOLUME_ABOVE_OVER, VOLUME_BELOW, VOLUME_USUAL, VOLUME_STORM,
    VOLUME_STORM_CALMING, OVER_MINUTES, OVER_HOURS,
    SOURCE_SILENT, SOURCE_SILENT_CONNECTING, SOURCE_SILENT_RECONNECTING, SOURCE_CONNECTING,
    SOURCE_RECONNECTING, SOURCE_NO_ANSWER, SOURCE_SERVER_ERROR, SOURCE_REFUSED, RESURGENCE,
)  # fmt: skip
_FIELD = re.compile(r"\{(\w+)\}")
_FIELD_PATTERNS = {"n": r"\d[\d,.]*", "status": r"\d+", "score": r"[\d.?]+"}
"""What some fields can hold, so that a template with little literal text ("{n} days") matches only
what it was filled with; any other field matches any text."""
_DECIMAL = re.compile(r"^\d+\.\d+$")
_GROUPED = re.compile(r"^\d{1,3}(?:,\d{3})+$")
_RATIO = re.compile(r"^(\d+(?:\.\d+)?)(x\+?)$")
_NESTED = ("note", "age", "window", "over", "name", "span", "typical")
"""Fields whose value is itself a stored phrase (translated in turn)."""


@cache
def _patterns() -> tuple[tuple[re.Pattern[str], str, tuple[str, str] | None], ...]:
    """(regex of an English template, the template, its plural pair or None), most specific first."""
    out: list[tuple[re.Pattern[str], str, tuple[str, str] | None]] = []
    templates = [(t, None) for t in _SINGLE] + [(t, pair) for pair in PLURALS.values() for t in pair]
    for template, pair in templates:
        parts = _FIELD.split(template)  # text, field, text, field, …
        regex = "".join(
            re.escape(p) if i % 2 == 0 else f"(?P<{p}>{_FIELD_PATTERNS.get(p, '.+?')})"
            for i, p in enumerate(parts)
        )
        out.append((re.compile(f"^{regex}$", re.DOTALL), template, pair))
    # the longest literal text first: "only 40 % negative" is ONLY_NEGATIVE, not NEGATIVE with "only 40"
    out.sort(key=lambda item: -len(_FIELD.sub("", item[1])))
    return tuple(out)


def _value(field: str, text: str) -> str:
    """A value read back from an English reason, written for the desk's language."""
    if field == "level":
        return level_name(text)
    if field == "role":
        return role_name(text)
    if field in _NESTED:
        return shown(text)
    if field == "why":  # several reasons
        return listed(shown(part) for part in text.split("; "))
    if field == "when":  # "Saturday 10:00"
        day, _sep, rest = text.partition(" ")
        return f"{_(day)} {rest}" if day in DAY_NAMES else text
    if field == "platform" and text == "unknown":
        return _("unknown")
    if _GROUPED.match(text):  # "12,000": a count grouped as English writes it
        return number(int(text.replace(",", "")), 0, grouped=True)
    ratio = _RATIO.match(text) if field == "ratio" else None
    if ratio is not None:  # "6.2x", "100x+": the digits written for the language, the sign kept
        return _value("rate", ratio[1]) + ratio[2]
    if text.endswith(" %") and _DECIMAL.match(text[:-2]):  # "2.8 %"
        return _value(field, text[:-2]) + " %"
    if _DECIMAL.match(text):
        return number(float(text), len(text.split(".")[1]))
    return text


def listed(reasons: Iterable[str]) -> str:
    """Reasons one after the other as the language writes them: ``a; b`` (``a ; b`` in French)."""
    return _("; ").join(reasons)


def figure(text: str) -> str:
    """A figure as the desk writes it in English ("6.2x", "100x+", "0.81", "12,000", "2.8 %") in the desk's
    language ("6,2x", "0,81", "12 000", "2,8 %")."""
    return text if language() == "en" else _value("ratio", text)


def shown(reason: str) -> str:
    """A stored (English) reason in the desk's language: a template's, read back and filled in its
    translation; else a fixed phrase's translation; else as stored."""
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
    return _(reason)
