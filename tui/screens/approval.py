"""The second person's form (``A`` on the wall): approve a response draft so it goes out, or reject it
with a reason. One option per decision and draft, oldest draft first; the draft's words are shown in
full before the choice (through ``safe_text``: the operator's text, quoted mention words inside it).
The journal refuses the author and anyone without an approving role; the form shows why.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo
from typing import Any

from textual.app import ComposeResult
from textual.content import Content
from textual.widgets import Input, Label, Static

from tocsin.config.i18n import _
from tocsin.journal.display import kind_name
from tocsin.journal.model import Event, Incident
from tocsin.tui import safe_text
from tocsin.tui.screens.incident_forms import ChoiceForm, Commit, T, incident_heading


def draft_choices(drafts: Sequence[Event]) -> list[tuple[str, str | Content]]:
    """``approve:ID`` and ``reject:ID`` for each draft."""
    out: list[tuple[str, str | Content]] = []
    for ev in drafts:
        who = safe_text.clean(ev.operator, 30)
        approve = _("Approve draft {draft} by {author}: it goes out as written")
        reject = _("Reject draft {draft} by {author} (say why below)")
        out.append((f"approve:{ev.id}", approve.format(draft=ev.id, author=who)))
        out.append((f"reject:{ev.id}", reject.format(draft=ev.id, author=who)))
    return out


class ApprovalForm(ChoiceForm[T]):
    """Approve or reject the incident's drafts; rejecting needs the reason typed first."""

    def __init__(
        self, commit: Commit[T], incident: Incident, drafts: Sequence[Event], tz: tzinfo | None
    ) -> None:
        super().__init__(commit, incident_heading(incident, _("Approve a response")), draft_choices(drafts))
        self._drafts = list(drafts)
        self._tz = tz

    def more_fields(self) -> ComposeResult:
        for ev in self._drafts:
            p = ev.payload
            when = ev.at.astimezone(self._tz).strftime("%H:%M")
            kind = safe_text.clean(kind_name(p.get("kind", "")), 30)
            said = _("{kind} on {channel} · {author} at {time}: ").format(
                kind=kind,
                channel=safe_text.clean(str(p.get("channel", "")), 30),
                author=safe_text.clean(ev.operator, 30),
                time=when,
            )
            yield Static(
                Content.assemble(
                    (_("Draft {draft}").format(draft=ev.id), "bold"),
                    f" · {said}",
                    safe_text.content(str(p.get("text", "")), max_len=600, multiline=True),
                ),
                classes="form-context",
            )
        yield Label(_("Reason (needed to reject; Tab to type it first)"))
        yield Input(id="reason", placeholder=_("e.g. never say one-off before the facts are in"))

    def values(self) -> dict[str, Any]:
        decision, _, draft = str(self.choice or "").partition(":")
        return {"decision": decision, "draft": draft, "reason": self.query_one("#reason", Input).value}
