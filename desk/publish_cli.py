"""``tocsin incident approve`` and ``tocsin incident publish``: the journal's commands that reach the
platforms, added to ``tocsin incident`` by the desk (the journal's CLI never imports the desk).

- ``approve ID DRAFT [--text FINAL]``: the second person's decision; where an account of ``publish:``
  can post it, the response is posted and its address printed, else its words are printed to be
  copied and it is logged as sent by hand.
- ``publish ID DRAFT``: try again an approved response that did not go out; ``--by-hand [--url URL]``
  records that a person posted it.

Exit codes: 0 done; 2 bad input (the journal refused: nothing changed); 1 approved but not posted (the
platform refused or could not be reached: the response waits, intact, and the message says what to do).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from tocsin.journal import cli as journal_cli

if TYPE_CHECKING:
    from tocsin.desk.publishing import SendResult
    from tocsin.journal.api import Journal

EXIT_NOT_SENT = 1


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """The journal's subcommands, with the desk's ``approve`` and ``publish`` among the incident ones."""
    journal_cli.register(sub, more=_incident_commands)


def _incident_commands(isub: Any, common: argparse.ArgumentParser) -> None:
    p = isub.add_parser(
        "approve", parents=[common], help="approve a response draft: the desk posts it, or you copy it"
    )
    p.add_argument("id")
    p.add_argument("draft", help="the draft's number (tocsin incident drafts lists them)")
    p.add_argument("--text", help="the final words, when they differ from the draft's")
    p.set_defaults(handler=journal_cli.journal_command(_approve))

    p = isub.add_parser(
        "publish", parents=[common], help="post again an approved response that did not go out"
    )
    p.add_argument("id")
    p.add_argument("draft")
    p.add_argument("--by-hand", action="store_true", help="you posted it yourself: log it as sent (by hand)")
    p.add_argument("--url", help="with --by-hand: where it can be seen")
    p.set_defaults(handler=journal_cli.journal_command(_publish))


async def _approve(j: Journal, a: argparse.Namespace) -> int:
    from tocsin.desk.publishing import Publishing

    async with Publishing(j.settings, j) as publishing:
        result = await publishing.approve(a.id, a.draft, text=a.text)
    return await _said(j, result, approved=True)


async def _publish(j: Journal, a: argparse.Namespace) -> int:
    from tocsin.desk.publishing import Publishing

    if a.url and not a.by_hand:
        raise journal_cli.CommandFailed("--url goes with --by-hand (a post the desk makes records its own)")
    async with Publishing(j.settings, j) as publishing:
        if a.by_hand:
            result = await publishing.by_hand(a.id, a.draft, url=a.url)
        else:
            result = await publishing.send(a.id, a.draft)
    return await _said(j, result, approved=False)


async def _said(j: Journal, result: SendResult, *, approved: bool) -> int:
    """Say what happened: the address of a post, the words to copy, or why it did not go out."""
    from tocsin.config.i18n import _
    from tocsin.journal.narrate import platform_name

    inc, draft = result.incident, result.draft
    head = (
        _("draft {draft} approved").format(draft=draft)
        if approved
        else _("draft {draft}").format(draft=draft)
    )
    if result.outcome == "published":
        what = _("{head} and published on {platform}: {url}").format(
            head=head, platform=platform_name(result.platform), url=result.url
        )
        return await journal_cli.report_done(j, what, inc)
    if result.outcome == "by_hand" and approved:
        what = _("draft {draft} approved and logged as sent").format(draft=draft)
        code = await journal_cli.report_done(j, what, inc)
        print(_("No account posts it from here: copy it and post it yourself (logged as sent by hand):"))
        print(result.text)
        return code
    if result.outcome == "by_hand":
        return await journal_cli.report_done(j, _("{head} logged as sent by hand").format(head=head), inc)
    print(
        _(
            "tocsin: #{id} {head}, but not sent: {why}. It waits, intact: "
            "`tocsin incident publish {id} {draft}` tries again; "
            "`tocsin incident publish {id} {draft} --by-hand --url URL` once you posted it yourself"
        ).format(id=inc.id, head=head, why=result.problem, draft=draft),
        file=sys.stderr,
    )
    await j.check_clocks()
    return EXIT_NOT_SENT
