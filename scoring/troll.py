"""Troll guard: why the desk advises against answering a mention publicly.

The crisis guides say: move a complaint to a private channel, and do not feed trolls. An answer to a
bot or a copy-paste campaign lends it reach and starts a thread the brand cannot win. This module
reads what scoring already knows of a mention — the bot-likelihood and its reasons, membership of a
copy-paste wave — plus the team's own block list (``scoring.bots.block_list``), and says why in plain
words. Advice only: the operator may answer anyway.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tocsin.config import reasons as r
from tocsin.config.i18n import N_


def _folded(handle: str) -> str:
    return handle.strip().lstrip("@").casefold()


def troll_reasons(
    scores: Mapping[str, Any], handle: str, *, bot_flag: float, block_list: Sequence[str] = ()
) -> list[str]:
    """The reasons not to answer this author publicly (empty: nothing against it). Raw author text
    inside: the caller makes it safe for display. In English, as the journal keeps them on a response
    answered anyway: ``tocsin.config.reasons.shown`` puts each in the desk's language."""
    out: list[str] = []
    if _folded(handle) in {_folded(h) for h in block_list}:
        out.append(N_("the account is on the team's block list"))
    bot = scores.get("bot")
    if isinstance(bot, Mapping):
        score = bot.get("score")
        if isinstance(score, int | float) and not isinstance(score, bool) and score >= bot_flag:
            why = [str(r) for r in bot.get("reasons") or () if isinstance(r, str)][:3]
            score_text = f"{score:.2f}"
            if why:
                out.append(r.say(r.TROLL_BOT, score=score_text, why="; ".join(why)))
            else:
                out.append(r.say(r.TROLL_BOT_BARE, score=score_text))
    cluster = scores.get("cluster")
    if isinstance(cluster, Mapping):
        size, authors = cluster.get("size"), cluster.get("authors")
        out.append(r.say(r.TROLL_WAVE, size=size, authors=authors))
    return out
