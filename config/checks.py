"""Rules beyond types: what a settings file must satisfy once every value has the right type.

One function per settings class, registered in ``CHECKS``; the loader runs the ones for a class (and
its bases) on each object it builds, and each complaint becomes a ``FILE:LINE: key.path: message``
line. A check never echoes a URL or anything else that may hold a secret.
"""

from __future__ import annotations

import difflib
import re
import zoneinfo
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from tocsin.config import settings as S
from tocsin.config.i18n import _
from tocsin.config.layouts import THEMES, parse_layout
from tocsin.config.responses import template_problems

SEVERITIES = ("sev1", "sev2", "sev3", "sev4")

Report = Callable[[str | None, str], None]
"""``report(key, message)``: key relative to the checked object (None = the object itself)."""


def quote(text: str, limit: int = 60) -> str:
    """Quote user text for a message, cut to ``limit`` characters."""
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def did_you_mean(word: str, choices: list[str]) -> str:
    """``; did you mean 'x'?`` for the closest choice, or nothing."""
    close = difflib.get_close_matches(word, choices, n=1)
    return _("; did you mean {word}?").format(word=repr(close[0])) if close else ""


def _check_desk(desk: S.DeskSettings, report: Report) -> None:
    if not desk.operator.strip():
        report("operator", "must not be empty: every journal entry names who did it")
    if desk.timezone is None:
        return
    try:
        zoneinfo.ZoneInfo(desk.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        zones = sorted(zoneinfo.available_timezones())
        if not zones:  # e.g. Windows without the tzdata package: no name can be checked or used
            report(
                "timezone",
                "this machine has no time zone database: pip install tzdata, or leave timezone out",
            )
            return
        hint = did_you_mean(desk.timezone, zones)
        report(
            "timezone",
            f"unknown time zone {quote(desk.timezone)} (expected an IANA name like "
            f"Europe/Paris or America/New_York){hint}",
        )


def _check_topic(topic: S.TopicSettings, report: Report) -> None:
    if not topic.keywords:
        report("keywords", "a topic needs at least one keyword, #hashtag or @handle to match")
    for i, word in enumerate(topic.keywords):
        if not word.strip() or word.strip() in {"#", "@"}:
            report(f"keywords[{i}]", "an empty keyword would match nothing")
    for i, code in enumerate(topic.languages):
        if not re.fullmatch(r"[a-z]{2,3}", code):
            report(f"languages[{i}]", f"expected a language code like fr or en, got {quote(code)}")


def _check_demo(source: S.DemoSourceSettings, report: Report) -> None:
    if source.speed <= 0:
        report("speed", "must be above 0 (1 plays the storm in about 10 minutes)")
    if source.backfill_days < 0:
        report("backfill_days", "cannot be negative")


def _check_jsonl(source: S.JsonlSourceSettings, report: Report) -> None:
    if not source.path.strip():
        report("path", "must name a file, or '-' for stdin")
    if source.speed is not None and source.speed <= 0:
        report("speed", "must be above 0, or left out to read live")


def _check_webhook(source: S.WebhookSourceSettings, report: Report) -> None:
    if not 0 <= source.port <= 65535:
        report("port", f"must be a TCP port from 1 to 65535 (0 = any free port), got {source.port}")
    if source.header_timeout <= timedelta(0):
        report("header_timeout", "must be longer than 0s")
    if source.body_timeout <= timedelta(0):
        report("body_timeout", "must be longer than 0s")


def _check_sentiment(sentiment: S.SentimentSettings, report: Report) -> None:
    if sentiment.batch_size < 1:
        report("batch_size", "must be at least 1")
    if sentiment.window <= timedelta(0):
        report("window", "must be longer than 0s")


def _check_volume(volume: S.VolumeSettings, report: Report) -> None:
    if volume.bucket <= timedelta(0):
        report("bucket", "must be longer than 0s")
    elif volume.rate_window < volume.bucket:
        report("rate_window", "must be at least one bucket long")
    elif volume.history < volume.rate_window:
        report("history", "must be at least as long as rate_window")


def _check_levels(levels: S.LevelSettings, report: Report) -> None:
    if levels.watch_ratio <= 0:
        report("watch_ratio", "must be above 0")
    if levels.alert_ratio <= levels.watch_ratio:
        report("alert_ratio", f"must be above watch_ratio ({levels.watch_ratio:g})")
    if levels.crisis_ratio <= levels.alert_ratio:
        report("crisis_ratio", f"must be above alert_ratio ({levels.alert_ratio:g})")
    if not 0 <= levels.negative_share <= 1:
        report("negative_share", "must be a share between 0 and 1")
    if levels.min_rate_per_min < 0:
        report("min_rate_per_min", "cannot be negative")


def _check_sla(sla: S.SlaSettings, report: Report) -> None:
    for severity, due in sla.first_response.items():
        if severity not in SEVERITIES:
            report(
                f"first_response.{severity}",
                f"unknown severity {quote(severity)} (expected one of: {', '.join(SEVERITIES)})",
            )
        elif due <= timedelta(0):
            report(f"first_response.{severity}", "must be longer than 0s")
    if sla.ack_timeout <= timedelta(0):
        report("ack_timeout", "must be longer than 0s")


def _check_team(team: S.TeamSettings, report: Report) -> None:
    roles = sorted({m.role for m in team.roster})
    for i, member in enumerate(team.roster):
        if not member.role.strip():
            report(f"roster[{i}].role", "must not be empty")
    for i, step in enumerate(team.escalation):
        if not step:
            report(f"escalation[{i}]", "an escalation step needs at least one role")
        for j, role in enumerate(step):
            if role not in roles:
                known = f"roles in team.roster: {', '.join(roles)}" if roles else "team.roster is empty"
                report(
                    f"escalation[{i}][{j}]",
                    f"role {quote(role)} is not in team.roster ({known}){did_you_mean(role, roles)}",
                )
    for severity, approvers in team.approval.items():
        if severity not in SEVERITIES:
            report(
                f"approval.{severity}",
                f"unknown severity {quote(severity)} (expected one of: {', '.join(SEVERITIES)})",
            )
            continue
        if not approvers:
            report(f"approval.{severity}", "lists no role: leave the severity out to need no approval")
        for j, role in enumerate(approvers):
            if role not in roles:
                known = f"roles in team.roster: {', '.join(roles)}" if roles else "team.roster is empty"
                report(
                    f"approval.{severity}[{j}]",
                    f"role {quote(role)} is not in team.roster ({known}){did_you_mean(role, roles)}: "
                    "nobody could approve",
                )


_SECRETS = ("secret", "routing_key", "api_key", "token", "password")
_NEEDS: dict[str, tuple[str, ...]] = {
    "webhook": ("url",),
    "email": ("host", "sender"),
    "pagerduty": ("routing_key",),
    "opsgenie": ("api_key",),
}


def _from_env(value: str) -> bool:
    # the loader hands over text that came from ${VAR} as a str subclass naming the variables
    return bool(getattr(value, "names", ()))


def _check_alert(alert: S.AlertSettings, report: Report) -> None:
    for key in _NEEDS.get(alert.type, ()):
        if not getattr(alert, key):
            article = "an" if alert.type[0] in "aeiou" else "a"
            report(key, f"{article} {alert.type} alert needs {'a url' if key == 'url' else key}")
    if alert.url and not re.match(r"https?://[^\s/]+", alert.url):
        report("url", "expected an http:// or https:// URL")  # never echoed: webhook URLs are secrets
    for key in _SECRETS:
        value = getattr(alert, key)
        if value and not _from_env(value):
            report(key, f"a secret comes from the environment: write ${{{key.upper()}_VAR}}, not the value")
    if alert.secret and alert.format != "json":
        report("secret", "only format: json is signed (chat webhooks carry their token in the url)")
    if alert.quiet_hours is not None:
        from tocsin.config.outputs import parse_quiet_hours

        wrong = parse_quiet_hours(alert.quiet_hours)
        if wrong:
            report("quiet_hours", wrong)
    if alert.port is not None and not 0 < alert.port <= 65535:
        report("port", f"must be a TCP port from 1 to 65535, got {alert.port}")
    if not alert.on and alert.type in ("bell", "desktop"):
        report("on", "lists no events: this alert would never fire")


_PUBLISH_NEEDS: dict[str, tuple[tuple[str, str], ...]] = {
    "mastodon": (("base_url", "its instance (https://…)"), ("token", "token: ${MASTODON_PUBLISH_TOKEN}")),
    "bluesky": (("handle", "its handle"), ("password", "an app password: ${BLUESKY_APP_PASSWORD}")),
    "x": (("token", "a user-context OAuth 2.0 token: ${X_USER_TOKEN}"),),
}
_PUBLISH_SECRET = {"mastodon": "token", "bluesky": "password", "x": "token"}


def _check_publish(account: S.PublishAccount, report: Report) -> None:
    an = f"an {account.platform}" if account.platform == "x" else f"a {account.platform}"
    for key, what in _PUBLISH_NEEDS[account.platform]:
        if not getattr(account, key):
            report(key, f"{an} account needs {what}")
    if account.base_url and not re.match(r"https?://[^\s/]+", account.base_url):
        report("base_url", "expected an http:// or https:// URL")
    for key in ("token", "password"):
        value = getattr(account, key)
        if not value:
            continue
        if key != _PUBLISH_SECRET[account.platform]:
            report(key, f"{an} account logs in with {_PUBLISH_SECRET[account.platform]}")
        elif not _from_env(value):
            report(key, f"a secret comes from the environment: write ${{{key.upper()}_VAR}}, not the value")


def _check_publishing(settings: S.Settings, report: Report) -> None:
    """One account per platform, and each ``answers`` naming a source that no other account answers."""
    platforms: dict[str, int] = {}
    types = {s.id: s.type for s in settings.sources}
    answered: dict[str, str] = {}
    for i, account in enumerate(settings.publish):
        if account.platform in platforms:
            report(
                f"publish[{i}].platform",
                f"a second {account.platform} account (publish[{platforms[account.platform]}] is one): "
                "the desk would not know which one answers",
            )
        platforms.setdefault(account.platform, i)
        for j, source in enumerate(account.answers):
            where = f"publish[{i}].answers[{j}]"
            kind = types.get(source)
            if kind is None:
                known = sorted(types)
                report(
                    where,
                    f"no source {quote(source)} in sources (ids: {', '.join(known) or 'none'})"
                    f"{did_you_mean(source, known)}",
                )
            elif kind in S.PUBLISH_PLATFORMS and kind != account.platform:
                report(where, f"{quote(source)} reads {kind}: {account.platform} cannot reply there")
            elif answered.setdefault(source, account.name) != account.name:
                report(where, f"{quote(source)} is already answered by the account {quote(answered[source])}")


def _check_settings(settings: S.Settings, report: Report) -> None:
    """What spans sections: output ids unique, every roster route naming an output, and the accounts
    that publish."""
    _check_publishing(settings, report)
    from tocsin.config.outputs import LOCAL_TYPES, output_ids

    ids = output_ids(settings.alerts)
    seen: set[str] = set()
    for i, oid in enumerate(ids):
        if oid in seen:
            report(f"alerts[{i}].id", f"duplicate output id {quote(oid)}: routes could not tell them apart")
        seen.add(oid)
    network = {oid for oid, t in zip(ids, settings.alerts, strict=True) if t.type not in LOCAL_TYPES}
    kinds = dict(zip(ids, (t.type for t in settings.alerts), strict=True))
    for i, member in enumerate(settings.team.roster):
        for output, address in member.routes.items():
            where = f"team.roster[{i}].routes.{output}"
            if kinds.get(output) == "email" and "@" not in address:
                report(where, f"expected an e-mail address, got {quote(address)}")
            elif kinds.get(output) in ("ntfy", "opsgenie") and not address.strip():
                report(where, f"a {kinds[output]} route names a topic or user")
            if output not in network:
                known = ", ".join(sorted(network)) or "none"
                report(
                    f"team.roster[{i}].routes.{output}",
                    f"no output {quote(output)} in alerts (outputs that can page: {known})"
                    f"{did_you_mean(output, sorted(network))}",
                )


def _check_response(template: S.ResponseTemplate, report: Report) -> None:
    for message in template_problems(template.text):
        report("text", message)
    if template.name is not None and not template.name.strip():
        report("name", "must not be empty (leave it out to list the template by its kind and id)")


def _check_ui(ui: S.UiSettings, report: Report) -> None:
    if not 0 < ui.refresh_hz <= 60:
        report(
            "refresh_hz",
            f"must be above 0 and at most 60 (screen refreshes per second), got {ui.refresh_hz:g}",
        )
    for binding, key in ui.keymap.items():
        if not key.strip():
            report(f"keymap.{binding}", "expected a key like ctrl+f, got an empty string")
    try:
        parse_layout(ui.layout)
    except ValueError as exc:
        report("layout", str(exc))
    if ui.theme not in THEMES:
        report(
            "theme",
            f"unknown theme {quote(ui.theme)} (themes: {', '.join(THEMES)})"
            f"{did_you_mean(ui.theme, list(THEMES))}",
        )


CHECKS: dict[type, Callable[[Any, Report], None]] = {
    S.WebhookSourceSettings: _check_webhook,
    S.DeskSettings: _check_desk,
    S.TopicSettings: _check_topic,
    S.DemoSourceSettings: _check_demo,
    S.JsonlSourceSettings: _check_jsonl,
    S.SentimentSettings: _check_sentiment,
    S.VolumeSettings: _check_volume,
    S.LevelSettings: _check_levels,
    S.SlaSettings: _check_sla,
    S.TeamSettings: _check_team,
    S.AlertSettings: _check_alert,
    S.UiSettings: _check_ui,
    S.ResponseTemplate: _check_response,
    S.PublishAccount: _check_publish,
    S.Settings: _check_settings,
}
