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
from tocsin.journal.model import Event, Incident
from tocsin.tui import safe_text
from tocsin.tui.screens.incident_forms import ChoiceForm, Commit, T, incident_heading


def draft_choices(drafts: Sequence[Event]) -> list[tuple[str, str | Content]]:
    """``approve:ID`` and ``reject:ID`` for each draft."""
    out: list[tuple[str, str | Content]] = []
    for ev in drafts:
        who = safe_text.clean(ev.operator, 30)
        out.append((f"approve:{ev.id}", f"Approve draft {ev.id} by {who}: it goes out as written"))
        out.append((f"reject:{ev.id}", f"Reject draft {ev.id} by {who} (say why below)"))
    return out


class ApprovalForm(ChoiceForm[T]):
    """Approve or reject the incident's drafts; rejecting needs the reason typed first."""

    def __init__(
        self, commit: Commit[T], incident: Incident, drafts: Sequence[Event], tz: tzinfo | None
    ) -> None:
        super().__init__(commit, incident_heading(incident, "Approve a response"), draft_choices(drafts))
        self._drafts = list(drafts)
        self._tz = tz

    def more_fields(self) -> ComposeResult:
        for ev in self._drafts:
            p = ev.payload
            when = ev.at.astimezone(self._tz).strftime("%H:%M")
            yield Static(
                Content.assemble(
                    (f"Draft {ev.id}", "bold"),
                    f" · {safe_text.clean(str(p.get('kind', '')).replace('_', ' '), 30)}",
                    f" on {safe_text.clean(str(p.get('channel', '')), 30)}",
                    f" · {safe_text.clean(ev.operator, 30)} at {when}: ",
                    safe_text.content(str(p.get("text", "")), max_len=600, multiline=True),
                ),
                classes="form-context",
            )
        yield Label("Reason (needed to reject; Tab to type it first)")
        yield Input(id="reason", placeholder="e.g. never say one-off before the facts are in")

    def values(self) -> dict[str, Any]:
        decision, _, draft = str(self.choice or "").partition(":")
        return {"decision": decision, "draft": draft, "reason": self.query_one("#reason", Input).value}
