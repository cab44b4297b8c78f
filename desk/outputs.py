"""The outputs that reach people away from the wall, each speaking its receiver's real protocol.

One class per ``alerts:`` type that goes over the network: chat and JSON webhooks (Slack, Mattermost,
Teams, or JSON signed the Standard Webhooks way), e-mail over SMTP (``aiosmtplib``), ntfy, PagerDuty
Events API v2 and Opsgenie. ``send`` makes one attempt and says how it went (``Outcome``); it never
retries by itself — the delivery worker owns retries, back-off and the record in the journal.

What the outcome says decides what happens next: a 2xx is delivered; a 408, 425, 429 or 5xx, a
timeout or a refused connection is worth retrying (after ``Retry-After`` when the receiver gave one);
any other 4xx will not get better by retrying (a wrong key, a malformed address) and is given up at
once. No message, log line or error ever quotes a URL, a key or a token: errors name the output's id.

No textual import: headless mode delivers too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from tocsin.config.i18n import ngettext
from tocsin.config.outputs import output_ids
from tocsin.config.settings import AlertSettings
from tocsin.desk.alerts import payload as chat_payload
from tocsin.journal.display import one_line

SEND_TIMEOUT_S = 10.0
"""One attempt that takes longer counts as failed (and is retried): a slow receiver never holds a
delivery slot for long."""
RETRY_AFTER_CAP_S = 3600.0
NTFY_URL = "https://ntfy.sh"
PAGERDUTY_URL = "https://events.pagerduty.com/v2/enqueue"
OPSGENIE_URL = "https://api.opsgenie.com"
LIFECYCLE = ("acknowledged", "resolved")
"""Alert events that only pagers hear: they close the page the trigger opened."""
_SEVERITY_PD = {"sev1": "critical", "sev2": "error", "sev3": "warning", "sev4": "info"}
_LEVEL_PD = {"crisis": "critical", "alert": "error", "watch": "warning", "calm": "info"}
_PRIORITY = {"sev1": 5, "sev2": 4, "sev3": 3, "sev4": 2}
_LEVEL_PRIORITY = {"crisis": 5, "alert": 4, "watch": 3, "calm": 2}


@dataclass(frozen=True, slots=True)
class Message:
    """One outbox row ready to go: its alerts, for one channel."""

    id: str
    """Stable across retries and restarts (``tocsin-<journal>-<row>``): the receiver's dedupe key."""
    alerts: tuple[Mapping[str, Any], ...]
    recipient: str = ""
    address: str = ""
    incident_id: int | None = None
    desk: str = "tocsin"
    journal_uid: str = ""

    @property
    def dedup_key(self) -> str:
        """One pager thread per incident, stable for its whole life (trigger, acknowledge, resolve);
        an alert with a ``thread`` of its own (a draft's approval call) keeps a thread apart, so its
        resolution does not close the incident's page."""
        what = f"incident-{self.incident_id}" if self.incident_id is not None else self.id
        thread = self.alerts[-1].get("thread") if self.alerts else None
        if thread:
            what += f"-{thread}"
        return f"tocsin-{self.journal_uid}-{what}"

    @property
    def title(self) -> str:
        if len(self.alerts) == 1:
            return one_line(str(self.alerts[0].get("title", "")), 200)
        n = len(self.alerts)
        return ngettext("{desk}: {n} alert", "{desk}: {n} alerts", n).format(desk=self.desk, n=n)

    @property
    def text(self) -> str:
        """The body: one alert's text, or one line per alert of a group."""
        if len(self.alerts) == 1:
            return str(self.alerts[0].get("text", ""))
        return "\n".join("- " + one_line(str(a.get("title", "")), 200) for a in self.alerts)

    @property
    def worst(self) -> Mapping[str, Any]:
        """The alert that decides the priority of a group (most severe incident, highest level)."""

        def rank(a: Mapping[str, Any]) -> tuple[int, int]:
            sev = _PRIORITY.get(str(a.get("severity")), 0)
            lvl = _LEVEL_PRIORITY.get(str(a.get("level")), 0)
            return sev, lvl

        return max(self.alerts, key=rank)


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    error: str | None = None
    retry_after: float | None = None
    """Seconds the receiver asked us to wait (``Retry-After``)."""
    permanent: bool = False
    """Retrying cannot help (a 4xx other than 408/425/429, a missing secret)."""


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date; None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), RETRY_AFTER_CAP_S)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = when.timestamp() - (time.time() if now is None else now)
    return min(max(delta, 0.0), RETRY_AFTER_CAP_S)


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The Standard Webhooks signature header value: ``v1,<base64 HMAC-SHA256 of id.ts.body>``; the
    secret is ``whsec_<base64 key>`` (a secret without the prefix is used as raw bytes)."""
    key = base64.b64decode(secret[6:]) if secret.startswith("whsec_") else secret.encode()
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


class Output:
    """A network output. Subclasses set ``groupable`` and implement ``send``."""

    groupable = True
    """Whether a burst may be merged into one message (pagers keep one thread per incident)."""
    pager = False
    """Whether it hears ``acknowledged`` and ``resolved`` (to close what its trigger opened)."""

    def __init__(self, settings: AlertSettings, output_id: str, http: Callable[[], Any]) -> None:
        self.settings = settings
        self.id = output_id
        self._http = http

    async def send(self, message: Message) -> Outcome:
        raise NotImplementedError

    async def _post(self, url: str | None, body: Any, headers: Mapping[str, str] | None = None) -> Outcome:
        """POST JSON; the outcome in words that never quote the URL."""
        import aiohttp

        if not url:
            return Outcome(False, "no url configured", permanent=True)
        data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        try:
            async with self._http().post(url, data=data, headers=hdrs) as resp:
                await resp.read()
                status = resp.status
                wait = retry_after_seconds(resp.headers.get("Retry-After"))
        except TimeoutError:
            return Outcome(False, "no answer in time")
        except aiohttp.InvalidURL:
            return Outcome(False, "the url is not a valid address", permanent=True)
        except aiohttp.ClientError as exc:
            # str(exc) may quote the URL (and its token): the exception's kind says enough
            return Outcome(False, f"cannot reach the server ({type(exc).__name__})")
        if 200 <= status < 300:
            return Outcome(True)
        retry = status in (408, 425, 429) or status >= 500
        return Outcome(False, f"HTTP {status}", retry_after=wait, permanent=not retry)


class WebhookOutput(Output):
    """Slack, Mattermost, Teams (their own formats) or JSON, signed with Standard Webhooks headers
    when a ``secret`` is set."""

    async def send(self, message: Message) -> Outcome:
        fmt = self.settings.format
        if fmt == "json":
            if len(message.alerts) == 1:
                obj: dict[str, Any] = {**message.alerts[0]}
            else:
                obj = {"type": "alerts", "count": len(message.alerts), "alerts": list(message.alerts)}
            obj["id"] = message.id
            if message.recipient:
                obj["to"] = message.recipient
            body = json.dumps(obj, ensure_ascii=False).encode()
            headers = {}
            if self.settings.secret:
                ts = int(time.time())
                headers = {
                    "webhook-id": message.id,
                    "webhook-timestamp": str(ts),
                    "webhook-signature": sign(self.settings.secret, message.id, ts, body),
                }
            return await self._post(self.settings.url, body, headers)
        from tocsin.desk.alerts import Alert

        first = message.alerts[0]
        who = message.alerts[0].get("to_name") if message.recipient else None
        title = message.title if not who else f"{who}: {message.title}"
        detail = message.text
        at = datetime.now(UTC)
        alert = Alert(event="new_incident", at=at, title=title, detail=detail, incident=first.get("incident"))
        return await self._post(self.settings.url, chat_payload(alert, fmt))


class NtfyOutput(Output):
    """ntfy's JSON publishing: ``POST <server>`` with the topic in the body."""

    async def send(self, message: Message) -> Outcome:
        worst = message.worst
        priority = _PRIORITY.get(str(worst.get("severity")), _LEVEL_PRIORITY.get(str(worst.get("level")), 3))
        tags = ["rotating_light"] if priority >= 4 else ["warning"]
        body: dict[str, Any] = {
            "topic": message.address,
            "title": message.title,
            "message": message.text[:3800] or message.title,
            "priority": priority,
            "tags": tags,
        }
        headers = {"Authorization": f"Bearer {self.settings.token}"} if self.settings.token else {}
        return await self._post((self.settings.url or NTFY_URL).rstrip("/"), body, headers)


class PagerDutyOutput(Output):
    """PagerDuty Events API v2: one page per incident (``dedup_key``), triggered, acknowledged and
    resolved as the incident is in tocsin."""

    groupable = False
    pager = True

    async def send(self, message: Message) -> Outcome:
        key = self.settings.routing_key
        if not key:
            return Outcome(False, "no routing_key (set its environment variable)", permanent=True)
        alert = message.alerts[-1]
        event = str(alert.get("event"))
        url = self.settings.url or PAGERDUTY_URL
        if event in LIFECYCLE:
            action = "acknowledge" if event == "acknowledged" else "resolve"
            return await self._post(
                url, {"routing_key": key, "event_action": action, "dedup_key": message.dedup_key}
            )
        sev = _SEVERITY_PD.get(str(alert.get("severity")), _LEVEL_PD.get(str(alert.get("level")), "warning"))
        details = {k: v for k, v in alert.items() if k not in ("title", "type")}
        body = {
            "routing_key": key,
            "event_action": "trigger",
            "dedup_key": message.dedup_key,
            "client": "tocsin",
            "payload": {
                "summary": one_line(str(alert.get("title", "")), 1024),
                "source": message.desk,
                "severity": sev,
                "timestamp": alert.get("at"),
                "component": alert.get("topic") or "tocsin",
                "group": "tocsin",
                "class": event,
                "custom_details": details,
            },
        }
        return await self._post(url, body)


class OpsgenieOutput(Output):
    """Opsgenie Alert API: one alert per incident (``alias``), acknowledged and closed with it."""

    groupable = False
    pager = True

    async def send(self, message: Message) -> Outcome:
        key = self.settings.api_key
        if not key:
            return Outcome(False, "no api_key (set its environment variable)", permanent=True)
        base = (self.settings.url or OPSGENIE_URL).rstrip("/")
        headers = {"Authorization": f"GenieKey {key}"}
        alert = message.alerts[-1]
        event = str(alert.get("event"))
        alias = message.dedup_key
        if event in LIFECYCLE:
            verb = "acknowledge" if event == "acknowledged" else "close"
            body = {
                "source": "tocsin",
                "user": str(alert.get("operator") or "tocsin"),
                "note": alert.get("title"),
            }
            return await self._post(f"{base}/v2/alerts/{alias}/{verb}?identifierType=alias", body, headers)
        sev = str(alert.get("severity"))
        priority = {"sev1": "P1", "sev2": "P2", "sev3": "P3", "sev4": "P4"}.get(sev, "P3")
        responders = [{"username": a, "type": "user"} for a in _addresses(message.address)]
        body = {
            "message": one_line(str(alert.get("title", "")), 130),
            "alias": alias,
            "description": one_line(str(alert.get("text", "")), 15000),
            "responders": responders,
            "tags": ["tocsin", event],
            "details": {
                k: str(v) for k, v in alert.items() if k in ("incident", "topic", "level", "severity", "step")
            },
            "entity": str(alert.get("topic") or "tocsin"),
            "source": message.desk,
            "priority": priority,
        }
        return await self._post(f"{base}/v2/alerts", body, headers)


class EmailOutput(Output):
    """E-mail over SMTP (``aiosmtplib``): STARTTLS, TLS or plain, with a stable ``Message-ID``."""

    async def send(self, message: Message) -> Outcome:
        import aiosmtplib

        s = self.settings
        to = _addresses(message.address)
        if not to:
            return Outcome(False, "no recipient address", permanent=True)
        mail = EmailMessage()
        mail["From"] = s.sender or "tocsin@localhost"
        mail["To"] = ", ".join(to)
        mail["Subject"] = "[tocsin] " + one_line(message.title, 180)
        mail["Date"] = format_datetime(datetime.now(UTC))
        mail["Message-ID"] = f"<{message.id}@tocsin>"
        mail["Auto-Submitted"] = "auto-generated"
        mail.set_content(message.text or message.title)
        port = s.port or {"starttls": 587, "tls": 465, "none": 25}[s.tls]
        try:
            await aiosmtplib.send(
                mail,
                hostname=s.host or "localhost",
                port=port,
                username=s.username,
                password=s.password,
                use_tls=s.tls == "tls",
                start_tls=s.tls == "starttls",
                timeout=SEND_TIMEOUT_S,
            )
        except aiosmtplib.SMTPRecipientsRefused:
            return Outcome(False, "the server refused the recipients", permanent=True)
        except aiosmtplib.SMTPAuthenticationError:
            return Outcome(False, "the server refused the login", permanent=True)
        except aiosmtplib.SMTPResponseException as exc:
            permanent = 500 <= exc.code < 600
            return Outcome(False, f"SMTP {exc.code}", permanent=permanent)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return Outcome(False, f"cannot reach the mail server ({type(exc).__name__})")
        return Outcome(True)


def _addresses(address: str) -> list[str]:
    return [a.strip() for a in address.split(",") if a.strip()]


NETWORK_TYPES: dict[str, type[Output]] = {
    "webhook": WebhookOutput,
    "email": EmailOutput,
    "ntfy": NtfyOutput,
    "pagerduty": PagerDutyOutput,
    "opsgenie": OpsgenieOutput,
}


def build_outputs(targets: Sequence[AlertSettings], http: Callable[[], Any]) -> dict[str, Output]:
    """The network outputs of ``alerts:`` by id (bell and desktop stay with the screen)."""
    return {
        oid: NETWORK_TYPES[t.type](t, oid, http)
        for oid, t in zip(output_ids(targets), targets, strict=True)
        if t.type in NETWORK_TYPES
    }
