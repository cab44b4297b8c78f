"""Alerts beyond the screen: the terminal bell, a desktop notification, a chat webhook.

What fires them is decided by the session (a level change, an SLA breach, an unacknowledged incident,
a new incident); this module only delivers, as ``alerts:`` in the settings says, and never blocks the
caller: ``dispatch`` returns at once and each delivery runs as its own task with a short timeout.
Failures are counted (``errors``) and reported in words through ``on_problem``; a webhook's URL is
never part of a message or a log line, since it usually embeds a token.

No textual import: headless mode uses this too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from tocsin.config.i18n import _
from tocsin.config.settings import AlertSettings, AlertTrigger
from tocsin.journal.display import one_line
from tocsin.sources.model import format_time

log = logging.getLogger(__name__)

AlertEvent = AlertTrigger | Literal["escalated", "acknowledged", "resolved"]
"""What an alert is about: a trigger an output's ``on`` can list (``ALERT_TRIGGERS``, owned by the
config), or ``escalated`` (pages the ladder's people only), ``acknowledged`` and ``resolved`` (close what a
pager opened)."""

WEBHOOK_TIMEOUT_S = 5.0
"""A chat server that does not answer within this is counted as a failure (the desk never waits)."""
DESKTOP_TIMEOUT_S = 5.0
MAX_IN_FLIGHT = 32
"""Deliveries under way at once; beyond that an alert is dropped and counted (a dead server in a storm
must not pile up tasks)."""
TEXT_LIMIT = 600


@dataclass(frozen=True, slots=True)
class Alert:
    """One thing worth calling people for. ``title`` and ``detail`` may quote hostile text (level
    reasons name hashtags and handles): every format below cleans and escapes them."""

    event: AlertEvent
    at: datetime
    """Desk time, aware UTC."""
    title: str
    detail: str = ""
    topic: str | None = None
    incident: int | None = None
    severity: str | None = None
    level: str | None = None
    urgent: bool = True
    """False for news that needs no one to jump (a level stepping down): no bell for those."""
    data: Mapping[str, Any] = field(default_factory=dict)
    """Extra fields for the JSON form (``from``, ``to``, ``reasons``, ``clock``, ``due``…)."""
    key: str | None = None
    """What makes it the same alert whichever desk raises it (``new_incident:12``): the outbox sends
    one message per key and output."""

    def to_json(self) -> dict[str, Any]:
        """The ``{"type":"alert", …}`` object (webhook ``format: json`` and headless ``--emit alerts``)."""
        obj: dict[str, Any] = {
            "type": "alert",
            "event": self.event,
            "at": format_time(self.at),
            "title": one_line(self.title, TEXT_LIMIT),
            "text": one_line(self.detail, TEXT_LIMIT),
        }
        for key in ("topic", "incident", "severity", "level"):
            value = getattr(self, key)
            if value is not None:
                obj[key] = value
        obj.update(self.data)
        return obj


# --- chat formats -------------------------------------------------------------------------------


def _slack_escape(s: str) -> str:
    # Slack's own rule: &, < and > are control characters in message text (``<!channel>`` pings all)
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _mattermost_escape(s: str) -> str:
    # @channel / @all in a quoted hashtag or handle would page the whole channel; a fullwidth at sign
    # reads the same and pings no one. Markdown metacharacters are escaped so quoted text stays text.
    out = s.replace("@", "＠")
    for ch in "\\`*_[]<>|~#":
        out = out.replace(ch, "\\" + ch)
    return out


def payload(alert: Alert, fmt: str) -> dict[str, Any]:
    """The JSON body a webhook of format ``fmt`` (slack, mattermost, teams, json) expects."""
    title = one_line(alert.title, 200)
    detail = one_line(alert.detail, TEXT_LIMIT)
    if fmt == "slack":
        text = f"*{_slack_escape(title)}*" + (f"\n{_slack_escape(detail)}" if detail else "")
        return {"text": text}
    if fmt == "mattermost":
        text = f"**{_mattermost_escape(title)}**" + (f"\n{_mattermost_escape(detail)}" if detail else "")
        return {"text": text, "username": "tocsin"}
    if fmt == "teams":
        # Teams workflows ("post to a channel when a webhook request is received") take an Adaptive Card
        body: list[dict[str, Any]] = [
            {"type": "TextBlock", "text": title, "weight": "Bolder", "wrap": True},
        ]
        if detail:
            body.append({"type": "TextBlock", "text": detail, "wrap": True})
        return {
            "type": "message",
            "attachments": [
                {
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "content": {
                        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                        "type": "AdaptiveCard",
                        "version": "1.4",
                        "body": body,
                    },
                }
            ],
        }
    return alert.to_json()


# --- delivery -----------------------------------------------------------------------------------


def _describe(alert_settings: AlertSettings, index: int) -> str:
    """How messages name an alert target: its position and kind, never its URL."""
    if alert_settings.type == "webhook":
        return _("alert #{n} (webhook ({format}))").format(n=index + 1, format=alert_settings.format)
    return _("{kind} alert").format(kind=alert_settings.type)


class AlertDispatcher:
    """Delivers alerts to the targets in ``alerts:``. Build it on the running loop's side (the HTTP
    client is created on first use); ``close`` waits a little for deliveries under way."""

    def __init__(
        self,
        targets: Sequence[AlertSettings],
        *,
        bell: Callable[[], None] | None = None,
        on_problem: Callable[[str], None] | None = None,
        timeout: float = WEBHOOK_TIMEOUT_S,
        which: Callable[[str], str | None] = shutil.which,
    ) -> None:
        self.targets = tuple(targets)
        self.bell = bell
        """Rings the terminal bell (the app sets it; headless has no terminal)."""
        self.on_problem = on_problem
        self._timeout = timeout
        self._which = which
        self._notify_send: str | bool | None = False  # False: not looked up yet
        self._http: Any = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.sent = 0
        self.errors = 0
        self.last_error: str | None = None
        self.skipped: set[str] = set()
        """Targets that cannot work here (no notify-send…), each reported once."""

    def wants(self, event: str) -> bool:
        return any(event in t.on for t in self.targets)

    def dispatch(self, alert: Alert) -> None:
        """Deliver ``alert`` to every target listening for its event; returns at once."""
        for index, target in enumerate(self.targets):
            if alert.event not in target.on:
                continue
            if target.type == "bell":
                if alert.urgent and self.bell is not None:
                    try:
                        self.bell()
                        self.sent += 1
                    except Exception as exc:  # a screen going away must not break the desk
                        self._failed(_describe(target, index), type(exc).__name__)
            elif target.type == "desktop":
                self._spawn(self._desktop(alert), _describe(target, index))
            elif target.type == "webhook" and target.url:
                self._spawn(self._webhook(alert, target), _describe(target, index))

    def _spawn(self, coro: Any, name: str) -> None:
        if len(self._tasks) >= MAX_IN_FLIGHT:
            coro.close()
            self._failed(name, _("dropped: {n} alerts still being delivered").format(n=MAX_IN_FLIGHT))
            return
        task = asyncio.get_running_loop().create_task(self._guard(coro, name), name=f"tocsin-{name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guard(self, coro: Any, name: str) -> None:
        try:
            problem = await coro
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # never let a delivery bug surface as an unhandled task error
            problem = _("internal error ({kind})").format(kind=type(exc).__name__)
        if problem:
            self._failed(name, problem)
        else:
            self.sent += 1

    def _failed(self, name: str, why: str) -> None:
        self.errors += 1
        self.last_error = _("{target} failed: {why}").format(target=name, why=why)
        log.warning("%s", self.last_error)
        if self.on_problem is not None:
            self.on_problem(self.last_error)

    async def _webhook(self, alert: Alert, target: AlertSettings) -> str | None:
        """POST the alert; a problem in words (never quoting the URL), or None when delivered."""
        import aiohttp

        if self._http is None:
            from tocsin.sources.net import USER_AGENT

            self._http = aiohttp.ClientSession(
                headers={"User-Agent": USER_AGENT},
                timeout=aiohttp.ClientTimeout(total=self._timeout),
                trust_env=True,
            )
        body = json.dumps(payload(alert, target.format), ensure_ascii=False).encode()
        try:
            async with self._http.post(
                str(target.url), data=body, headers={"Content-Type": "application/json"}
            ) as resp:
                await resp.read()
                if resp.status >= 300:
                    return f"HTTP {resp.status}"
        except TimeoutError:
            return _("no answer within {seconds} s").format(seconds=f"{self._timeout:g}")
        except aiohttp.InvalidURL:
            return _("the url is not a valid address")
        except aiohttp.ClientError as exc:
            # str(exc) may quote the URL (and its token): the exception's kind says enough
            return _("cannot reach the server ({kind})").format(kind=type(exc).__name__)
        return None

    async def _desktop(self, alert: Alert) -> str | None:
        if self._notify_send is False:
            self._notify_send = self._which("notify-send")
        path = self._notify_send
        if not isinstance(path, str):
            if "desktop" not in self.skipped:
                self.skipped.add("desktop")
                note = _("desktop alerts skipped: notify-send is not installed (package libnotify-bin)")
                log.info("%s", note)
                if self.on_problem is not None:
                    self.on_problem(note)
            return None
        urgency = "critical" if alert.urgent else "normal"
        proc = await asyncio.create_subprocess_exec(
            path,
            "--app-name=tocsin",
            f"--urgency={urgency}",
            one_line(alert.title, 200),
            one_line(alert.detail, TEXT_LIMIT),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            code = await asyncio.wait_for(proc.wait(), DESKTOP_TIMEOUT_S)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            return _("notify-send did not return")
        return _("notify-send exited with {code}").format(code=code) if code else None

    async def close(self, wait: float = 1.0) -> None:
        """Give deliveries under way up to ``wait`` seconds, cancel the rest, close the HTTP client."""
        pending = set(self._tasks)
        if pending:
            _, late = await asyncio.wait(pending, timeout=wait)
            for task in late:
                task.cancel()
            for task in late:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._http is not None:
            await self._http.close()
            self._http = None
