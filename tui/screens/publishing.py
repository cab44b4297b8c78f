"""The wall's forms for responses the desk posts itself.

- ``ReplyForm``: the respond form (``r``) when the feed has a post chosen — it shows the post and
  whether the response answers it, and where it will go once approved (posted as a reply by the
  account of ``publish:`` for that platform, or copied for a person to post); the channel starts as
  that platform (a reply is posted only on the channel of its platform).
- ``UnsentForm``: ``A`` on an incident whose approved response did not go out — why, its words in
  full, and the choice: try again, or copy it and log it as sent by hand (with the link of the post
  made by hand, when there is one).

Post text, handles and the platform's words reach the screen only through ``safe_text``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import tzinfo
from typing import Any

from textual.app import ComposeResult
from textual.content import Content
from textual.widgets import Checkbox, Input, Label, Static

from tocsin.config.i18n import _
from tocsin.config.settings import PublishAccount, ResponseTemplate
from tocsin.journal.model import Incident
from tocsin.journal.narrate import platform_name, publish_problem
from tocsin.journal.publications import SendJob
from tocsin.sources.model import ScoredMention
from tocsin.tui import safe_text
from tocsin.tui.screens.checklist import TickBox
from tocsin.tui.screens.incident_forms import (
    ChoiceForm,
    Commit,
    RespondForm,
    T,
    incident_heading,
    mention_line,
)


def destination(account: PublishAccount | None, platform: str) -> str:
    """Where an approved reply goes, in words: the account that posts it, or a person."""
    if account is not None:
        return _("once approved, tocsin replies on {platform} as {account}").format(
            platform=platform_name(account.platform), account=account.handle or account.name
        )
    return _("no {platform} account to post from: once approved, the text is copied for you to post").format(
        platform=platform_name(platform)
    )


class ReplyForm(RespondForm[T]):
    """The respond form, answering the post chosen in the feed (untick to answer no post)."""

    def __init__(
        self,
        commit: Commit[T],
        incident: Incident,
        templates: Sequence[ResponseTemplate] = (),
        fill: Callable[[ResponseTemplate], str] | None = None,
        *,
        post: ScoredMention,
        where: str,
        channel: str,
        tz: tzinfo | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(commit, incident, templates, fill, **kwargs)
        self._post = post
        self._where = where
        self._channel = channel
        self._tz = tz

    def fields(self) -> ComposeResult:
        yield TickBox(_("Answer this post ({where})").format(where=self._where), value=True, id="reply")
        yield Static(mention_line(self._post, self._tz), classes="form-context")
        yield from super().fields()

    def on_mount(self) -> None:
        super().on_mount()
        # the platform the reply goes out on: a channel naming something else (press, email) makes it
        # a response a person sends, even with the post ticked
        self.query_one("#channel", Input).value = self._channel

    def values(self) -> dict[str, Any]:
        values = super().values()
        values["reply_to"] = self._post if self.query_one("#reply", Checkbox).value else None
        return values


def unsent_choices(jobs: Sequence[SendJob]) -> list[tuple[str, str | Content]]:
    """``retry:ID`` and ``hand:ID`` for each approved response not out yet."""
    out: list[tuple[str, str | Content]] = []
    for job in jobs:
        where = platform_name(job.platform)
        out.append(
            (
                f"retry:{job.draft}",
                _("Post draft {draft} on {platform} again").format(draft=job.draft, platform=where),
            )
        )
        out.append(
            (f"hand:{job.draft}", _("Copy draft {draft} and log it as sent by hand").format(draft=job.draft))
        )
    return out


class UnsentForm(ChoiceForm[T]):
    """Approved responses that did not go out: try again, or send by hand."""

    def __init__(self, commit: Commit[T], incident: Incident, jobs: Sequence[SendJob], tz: tzinfo) -> None:
        heading = incident_heading(incident, _("Approved, not sent"))
        super().__init__(commit, heading, unsent_choices(jobs))
        self._jobs = list(jobs)
        self._tz = tz

    def more_fields(self) -> ComposeResult:
        for job in self._jobs:
            if job.failure is not None:
                why = publish_problem(job.failure, self._tz)
            elif job.status == "publishing":
                why = _("being posted (or the desk that posted it stopped): try again in a minute")
            else:
                why = _("not tried yet")
            yield Static(
                Content.assemble(
                    (_("Draft {draft}").format(draft=job.draft), "bold"),
                    " · ",
                    safe_text.content(why, max_len=300),
                    ": ",
                    safe_text.content(job.text, max_len=600, multiline=True),
                ),
                classes="form-context",
            )
        yield Label(_("Link of the post made by hand (optional)"))
        yield Input(id="url", placeholder="https://…")

    def values(self) -> dict[str, Any]:
        decision, _sep, draft = str(self.choice or "").partition(":")
        return {"decision": decision, "draft": draft, "url": self.query_one("#url", Input).value}
