"""The troll guard at the moment of answering: does the post this response answers look like a bot's or a
troll's?

The post answered is the one the operator chose in the feed when there is one, else the incident's
trigger: the first mention pinned to it (the one ``e`` opened it about). Its judgement comes from the
scores the desk gave it (the feed's copy, or the journal's archive for a pinned post), and the reasons
from ``scoring/troll.py``: the same function the mention detail uses, so the form and the detail never
disagree. Advice only: the response form says it, the operator may answer anyway, and the journal keeps
the guard on a public response given despite it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tocsin.config.settings import Settings
from tocsin.config.text import handle_str
from tocsin.journal.model import Incident, TrollGuard
from tocsin.scoring.troll import troll_reasons
from tocsin.sources.model import ScoredMention

if TYPE_CHECKING:
    from tocsin.journal.api import Journal


def guard_for(settings: Settings, scores: Mapping[str, Any], handle: str) -> TrollGuard | None:
    """The guard's advice on answering ``handle`` publicly, given the post's ``scores`` (None: nothing
    against it)."""
    bots = settings.scoring.bots
    reasons = troll_reasons(scores, handle, bot_flag=bots.flag_at, block_list=bots.block_list)
    return TrollGuard(handle_str(handle, 60), tuple(reasons)) if reasons else None


async def answer_guard(
    journal: Journal, settings: Settings, incident: Incident, post: ScoredMention | None
) -> TrollGuard | None:
    """The guard for a response to ``incident``: on ``post`` (the feed's chosen mention) when given,
    else on the incident's trigger post (its first pinned evidence, as archived with its scores)."""
    if post is not None:
        return guard_for(settings, post.scores, post.mention.author.handle)
    record = await journal.incident_record(incident.id)
    if not record.evidence:
        return None
    trigger = record.evidence[0]
    archived = await journal.archived_mention(trigger.source, trigger.uid)
    scores = archived.row.scores if archived is not None else {}
    return guard_for(settings, scores, trigger.author_handle)
