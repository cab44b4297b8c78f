"""``tocsin incident …``, ``tocsin journal …`` and ``tocsin handover``: the journal from a shell.

Each command reads the settings (``--config``, else the user's file, else the embedded default) for
the journal path, the operator (``--operator`` overrides ``desk.operator``), the roster, the SLAs and
the time zone. Bad input (unknown incident, empty text, a closed incident, a bad config) prints one
line and exits 2, having changed nothing. Top-level imports stay light: ``tocsin --help`` loads this.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tocsin.config.settings import Settings
    from tocsin.journal.api import Journal

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT = 0, 1, 2

SEVERITIES = ("sev1", "sev2", "sev3", "sev4")
RESPONSE_KINDS = ("holding_statement", "official_statement", "apology", "correction", "private_reply")
STATES = ("responding", "monitoring", "resolved", "reopen")
FORMATS = ("md", "html", "json", "csv")
CHECKLIST_STEPS = ("hold", "facts", "act", "apologise", "values")
"""``journal.model.PLAYBOOK_IDS``, spelt out: this module's imports stay light (a test keeps them equal)."""


def _(message: str) -> str:
    """``message`` in the desk's language (Babel loads only past ``--help``: imported when first used)."""
    from tocsin.config.i18n import _ as translated

    return translated(message)


def N_(message: str) -> str:
    """Marks ``message`` for the catalog, translated where it is shown (``tocsin.config.i18n.N_``)."""
    return message


LIST_COLUMNS = (
    N_("ID"), N_("SEV"), N_("STATE"), N_("TOPIC"), N_("ASSIGNEE"), N_("OPENED"), N_("ACK"), N_("RESPONSE"),
    N_("TITLE"),
)  # fmt: skip
"""``incident list``'s column titles (English, translated when shown)."""


class CommandFailed(Exception):
    """A message for the operator; exit 2."""


def _common() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    # its own dest: a subparser default would otherwise overwrite a `tocsin --config F …` given earlier
    p.add_argument("--config", dest="journal_config", metavar="FILE", help="settings file")
    p.add_argument("--operator", metavar="NAME", help="who is acting (default: desk.operator)")
    return p


MoreIncidentCommands = Callable[[Any, argparse.ArgumentParser], None]
"""Adds ``tocsin incident`` subcommands from the layer above (the desk's ``approve`` and ``publish``,
which reach the platforms): called with the ``incident`` subparsers and the common options."""


def register(
    sub: argparse._SubParsersAction,  # type: ignore[type-arg]
    *,
    more: MoreIncidentCommands | None = None,
) -> None:
    """Add the ``incident``, ``journal`` and ``handover`` subcommands (and ``more`` incident ones)."""
    common = _common()

    inc = sub.add_parser("incident", help="open and work incidents from a shell")
    isub = inc.add_subparsers(dest="incident_command", metavar="ACTION", parser_class=type(inc))
    isub.required = True

    p = isub.add_parser("open", parents=[common], help="open an incident")
    p.add_argument("--topic", required=True, help="topic id from the settings")
    p.add_argument("--severity", required=True, type=str.lower, choices=SEVERITIES)
    p.add_argument("--title", required=True)
    p.add_argument("--assignee", metavar="MEMBER", help="roster member id")
    p.set_defaults(handler=journal_command(_open))

    p = isub.add_parser("ack", parents=[common], help="acknowledge: someone has it")
    p.add_argument("id", help="incident id, e.g. 12 or #12")
    p.set_defaults(handler=journal_command(_ack))

    p = isub.add_parser("assign", parents=[common], help="give it to a roster member")
    p.add_argument("id")
    p.add_argument("member", help="roster member id")
    p.set_defaults(handler=journal_command(_assign))

    p = isub.add_parser("note", parents=[common], help="add a note (or a lesson for the post-mortem)")
    p.add_argument("id")
    p.add_argument("text")
    p.add_argument("--lesson", action="store_true", help="a lesson learned (goes to the post-mortem)")
    p.set_defaults(handler=journal_command(_note))

    p = isub.add_parser("respond", parents=[common], help="log a response that was published or sent")
    p.add_argument("id")
    p.add_argument("--kind", type=str.lower, choices=RESPONSE_KINDS, help="default: the template's kind")
    p.add_argument("--channel", required=True, help="where: x, instagram, press, email…")
    p.add_argument("--text", help="what was said (default: the template's text, filled in)")
    p.add_argument("--template", metavar="ID", help="start from this response template (responses:)")
    p.add_argument("--edit", action="store_true", help="edit the text in $VISUAL/$EDITOR before logging")
    p.add_argument("--url", help="where it can be seen")
    p.add_argument(
        "--reply-to",
        metavar="POST",
        help="the post it answers: the address or id of a mention pinned to the incident (or archived); "
        "once approved, the desk replies to it where an account is configured",
    )
    p.set_defaults(handler=journal_command(_respond))

    if more is not None:
        more(isub, common)

    p = isub.add_parser("reject", parents=[common], help="turn a response draft down, saying why")
    p.add_argument("id")
    p.add_argument("draft")
    p.add_argument("--reason", required=True, help="why (the author reads it)")
    p.set_defaults(handler=journal_command(_reject))

    p = isub.add_parser("show", parents=[common], help="one incident, its clocks and timeline")
    p.add_argument("id")
    p.set_defaults(handler=journal_command(_show))

    p = isub.add_parser(
        "drafts", parents=[common], help="responses awaiting approval, or approved and not out"
    )
    p.add_argument("id", nargs="?", help="only this incident's")
    p.set_defaults(handler=journal_command(_drafts))

    p = isub.add_parser("claim", parents=[common], help="record a claim going around: rumour until shown")
    p.add_argument("id")
    p.add_argument("text", help="what is being said")
    p.add_argument("--status", type=str.lower, choices=("rumour", "verified", "false"), default="rumour")
    p.add_argument("--evidence", help="what supports the status (a link, a call, a document)")
    p.set_defaults(handler=journal_command(_claim))

    p = isub.add_parser("claim-status", parents=[common], help="a claim verified, or shown false")
    p.add_argument("id")
    p.add_argument("claim", help="the claim's number")
    p.add_argument("status", type=str.lower, choices=("rumour", "verified", "false"))
    p.add_argument("--evidence", help="what shows it (needed for verified and false)")
    p.set_defaults(handler=journal_command(_claim_status))

    p = isub.add_parser("state", parents=[common], help="move it: responding, monitoring, resolved, reopen")
    p.add_argument("id")
    p.add_argument("state", type=str.lower, choices=STATES)
    p.add_argument("--reason", help="why (kept in the journal)")
    p.set_defaults(handler=journal_command(_state))

    p = isub.add_parser("escalate", parents=[common], help="next escalation step, or --severity")
    p.add_argument("id")
    p.add_argument("--severity", type=str.lower, choices=SEVERITIES)
    p.set_defaults(handler=journal_command(_escalate))

    p = isub.add_parser("check", parents=[common], help="tick a response-checklist step by hand")
    p.add_argument("id")
    p.add_argument("item", choices=CHECKLIST_STEPS)
    p.add_argument("--undo", action="store_true", help="untick it")
    p.set_defaults(handler=journal_command(_check))

    jr = sub.add_parser("journal", help="review the incident journal")
    jsub = jr.add_subparsers(dest="journal_command", metavar="ACTION", parser_class=type(jr))
    jsub.required = True

    p = jsub.add_parser("list", parents=[common], help="incidents (unresolved unless --all)")
    p.add_argument("--all", action="store_true", help="include resolved incidents")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(handler=journal_command(_list))

    p = jsub.add_parser("show", parents=[common], help="one incident, its clocks and timeline")
    p.add_argument("id")
    p.set_defaults(handler=journal_command(_show))

    p = jsub.add_parser("export", parents=[common], help="the post-mortem: md, html, json or csv")
    p.add_argument("id")
    p.add_argument("--format", required=True, type=str.lower, choices=FORMATS)
    where = p.add_mutually_exclusive_group()
    where.add_argument("--out", metavar="FILE", help="write here (owner-only) instead of stdout")
    where.add_argument(
        "--save",
        action="store_true",
        help="write into the export folder (desk.exports, else beside the journal)",
    )
    p.set_defaults(handler=journal_command(_export))

    p = jsub.add_parser("corrections", parents=[common], help="sentiment corrections as text<TAB>label")
    p.add_argument("--out", required=True, metavar="FILE.tsv")
    p.set_defaults(handler=journal_command(_corrections))

    p = sub.add_parser("handover", parents=[common], help="shift handover as Markdown")
    p.add_argument("--since", default="8h", help="how far back (default 8h)")
    p.set_defaults(handler=journal_command(_handover))


# --- plumbing -----------------------------------------------------------------------------------


def _settings(args: argparse.Namespace) -> Settings:
    from tocsin.config.loader import ConfigError, resolve_settings

    path = getattr(args, "journal_config", None) or getattr(args, "config", None)
    try:
        return resolve_settings(Path(path) if path else None)
    except ConfigError as exc:
        raise CommandFailed("\n".join(str(p) for p in exc.problems)) from None


Action = Callable[["Journal", argparse.Namespace], Awaitable[int]]


def journal_command(action: Action) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from tocsin.journal.errors import JournalError

        try:
            settings = _settings(args)
            from tocsin.config.i18n import use as use_language  # Babel loads only past --help

            use_language(settings.desk.language)  # the post-mortems and handovers in the desk's language
            return asyncio.run(_with_journal(settings, args, action))
        except (JournalError, CommandFailed) as exc:
            print(f"tocsin: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT

    return run


async def _with_journal(settings: Settings, args: argparse.Namespace, action: Action) -> int:
    from tocsin.journal.api import Journal

    journal = await Journal.open(settings, operator=args.operator)
    try:
        return await action(journal, args)
    finally:
        await journal.close()


def desk_zone(journal: Journal) -> Any:
    from tocsin.journal.display import zone

    return zone(journal.settings.desk.timezone)


async def report_done(journal: Journal, what: str, incident: Any) -> int:
    """Report an action, and record any SLA breach nobody was running a desk to record."""
    from tocsin.journal.display import local_time, one_line

    await journal.check_clocks()
    when = local_time(incident.updated_at, desk_zone(journal))
    said = _("#{id} {what} by {who} at {time}")
    print(said.format(id=incident.id, what=what, who=one_line(journal.operator, 40), time=when))
    return EXIT_OK


def _write(path: str | Path, text: str, *, make_folder: bool = False) -> Path:
    """Write a file out of the journal owner-only (0600), as the journal itself is."""
    from tocsin.journal.exports import write_private

    try:
        return write_private(Path(path), text, make_folder=make_folder)
    except OSError as exc:
        raise CommandFailed(
            _("cannot write {path}: {error}").format(path=path, error=exc.strerror or exc)
        ) from None


# --- incident -----------------------------------------------------------------------------------


async def _open(j: Journal, a: argparse.Namespace) -> int:
    from tocsin.journal.display import one_line

    inc = await j.open_incident(a.topic, a.severity, a.title, assignee=a.assignee)
    opened = _("opened: {severity} {topic}: {title},").format(
        severity=inc.severity.label, topic=one_line(inc.topic, 40), title=one_line(inc.title, 80)
    )
    return await report_done(j, opened, inc)


async def _ack(j: Journal, a: argparse.Namespace) -> int:
    return await report_done(j, _("acknowledged"), await j.acknowledge(a.id))


async def _assign(j: Journal, a: argparse.Namespace) -> int:
    from tocsin.journal.display import one_line

    inc = await j.assign(a.id, a.member)
    return await report_done(j, _("assigned to {member}").format(member=one_line(inc.assignee, 40)), inc)


async def _note(j: Journal, a: argparse.Namespace) -> int:
    inc = await j.add_note(a.id, a.text, kind="lesson" if a.lesson else "note")
    return await report_done(j, _("lesson added") if a.lesson else _("note added"), inc)


async def _respond(j: Journal, a: argparse.Namespace) -> int:
    from tocsin.journal.display import kind_name, state_name
    from tocsin.journal.templates import filled, find_template

    kind, text = a.kind, a.text
    answering = await _post_answered(j, a.id, a.reply_to) if a.reply_to else None
    if a.template:
        template = find_template(j.settings, a.template)
        kind = kind or template.kind
        if text is None:
            text = filled(j.settings, template, await j.incident(a.id), j.clock.now(), j.operator)
            if answering is not None:
                from tocsin.config.accounts import mention_prefix

                text = mention_prefix(j.settings, j.reply_ref(answering), a.channel) + text
    if kind is None:
        raise CommandFailed(
            _("a response needs --kind (or --template, whose kind it takes): nothing changed")
        )
    if text is None and not a.edit:
        raise CommandFailed(_("a response needs --text, --template or --edit: nothing changed"))
    if a.edit:
        text = _edit(text or "")
    inc, draft = await j.respond(a.id, kind, a.channel, text, a.url, template=a.template, reply_to=answering)
    if draft is not None:
        roles = ", ".join(j.approval_roles(inc.severity))
        drafted = _("{kind} drafted as draft {draft}, awaiting approval by {roles}")
        return await report_done(j, drafted.format(kind=kind_name(kind), draft=draft, roles=roles), inc)
    logged = _("{kind} logged ({state})").format(kind=kind_name(kind), state=state_name(inc.state))
    return await report_done(j, logged, inc)


async def _post_answered(j: Journal, incident: str, ref: str) -> Any:
    """The mention ``ref`` names (its address or id): pinned to the incident, else in the archive."""
    from tocsin.config.i18n import _
    from tocsin.journal.display import one_line

    wanted = ref.strip()
    record = await j.incident_record(incident)
    for ev in record.events:
        m = ev.payload.get("mention") if str(ev.kind) == "evidence_pinned" else None
        if isinstance(m, dict) and wanted in (m.get("url"), m.get("uid")):
            return m
    for source in [s.id for s in j.settings.sources] or sorted({e.source for e in record.evidence}):
        found = await j.archived_mention(source, wanted)
        if found is not None:
            return found.row
    raise CommandFailed(
        _(
            "--reply-to: no post {ref} pinned to #{id} or in the archive "
            "(pin it first: p on the wall): nothing changed"
        ).format(ref=repr(one_line(wanted, 80)), id=record.incident.id)
    )


async def _claim(j: Journal, a: argparse.Namespace) -> int:
    from tocsin.journal.narrate import claim_status

    inc, claim = await j.add_claim(a.id, a.text, status=a.status, evidence=a.evidence)
    said = _("claim {claim} recorded as {status}").format(claim=claim, status=claim_status(a.status))
    return await report_done(j, said, inc)


async def _claim_status(j: Journal, a: argparse.Namespace) -> int:
    from tocsin.journal.narrate import claim_status

    inc = await j.set_claim(a.id, a.claim, a.status, evidence=a.evidence)
    said = _("claim {claim} now {status}").format(claim=a.claim, status=claim_status(a.status))
    return await report_done(j, said, inc)


async def _reject(j: Journal, a: argparse.Namespace) -> int:
    inc = await j.reject(a.id, a.draft, a.reason)
    return await report_done(j, _("draft {draft} rejected").format(draft=a.draft), inc)


async def _drafts(j: Journal, a: argparse.Namespace) -> int:
    from tocsin.config.i18n import _
    from tocsin.journal.display import local_time, one_line
    from tocsin.journal.narrate import platform_name, publish_problem

    drafts = await j.pending_drafts(a.id)
    unsent = await j.unsent_drafts(a.id)
    tz = desk_zone(j)
    for job in unsent:
        if job.failure is not None:
            state = _("not sent: {why}").format(why=publish_problem(job.failure, tz))
        elif job.status == "publishing":
            state = _("being posted on {platform}").format(platform=platform_name(job.platform))
        else:
            state = _("to be posted on {platform}").format(platform=platform_name(job.platform))
        retry = _("retry: tocsin incident publish {id} {draft}").format(id=job.incident_id, draft=job.draft)
        print(
            _("#{id} draft {draft} approved, {state} ({retry}): {text}").format(
                id=job.incident_id, draft=job.draft, state=state, retry=retry, text=one_line(job.text, 200)
            )
        )
    if not drafts:
        if not unsent:
            print(_("No response awaits approval."))
        return EXIT_OK
    for ev in drafts:
        p = ev.payload
        said = _("#{id} draft {draft} by {author} since {time} ({kind} on {channel}, for {roles}): {text}")
        print(
            said.format(
                id=ev.incident_id,
                draft=ev.id,
                author=one_line(ev.operator, 20),
                time=local_time(ev.at, tz),
                kind=one_line(p.get("kind"), 20),
                channel=one_line(p.get("channel"), 20),
                roles=one_line(", ".join(p.get("roles") or ()), 40),
                text=one_line(p.get("text"), 200),
            )
        )
    return EXIT_OK


def _edit(text: str) -> str:
    """The text as the operator left it in their editor ($VISUAL, else $EDITOR, else vi): a template
    is a starting point, never sent unread."""
    import os
    import shlex
    import subprocess
    import tempfile

    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    fd, name = tempfile.mkstemp(prefix="tocsin-response-", suffix=".txt")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        try:
            done = subprocess.run([*shlex.split(editor), name], check=False)
        except OSError as exc:
            why = exc.strerror or exc
            said = _("cannot run the editor {editor}: {error}; nothing changed")
            raise CommandFailed(said.format(editor=repr(editor), error=why)) from None
        if done.returncode != 0:
            said = _("the editor {editor} exited with {code}: nothing changed")
            raise CommandFailed(said.format(editor=repr(editor), code=done.returncode))
        return Path(name).read_text(encoding="utf-8").strip()
    finally:
        os.unlink(name)


async def _state(j: Journal, a: argparse.Namespace) -> int:
    from tocsin.journal.display import state_name

    inc = await j.set_state(a.id, a.state, reason=a.reason)
    return await report_done(j, _("now {state}").format(state=state_name(inc.state)), inc)


async def _escalate(j: Journal, a: argparse.Namespace) -> int:
    inc = await j.escalate(a.id, a.severity)
    if a.severity:
        what = _("now {state}").format(state=inc.severity.label)
    else:
        what = _("escalated to step {step}").format(step=inc.escalation_step)
        roles = j.settings.team.escalation[inc.escalation_step - 1]
        call = [m.id for m in j.settings.team.roster if m.role in roles]
        what += " " + _("(call: {who})").format(who=", ".join(call) or ", ".join(roles))
    return await report_done(j, what, inc)


async def _check(j: Journal, a: argparse.Namespace) -> int:
    inc = await j.check(a.id, a.item, not a.undo)
    said = _("unticked {step}") if a.undo else _("ticked {step}")
    return await report_done(j, said.format(step=a.item), inc)


# --- journal ------------------------------------------------------------------------------------


async def _list(j: Journal, a: argparse.Namespace) -> int:
    import json

    from tocsin.journal.display import local_time, one_line, state_name

    now = j.clock.now()
    incidents = await j.incidents(include_resolved=a.all)
    if a.json:
        for inc in incidents:
            print(json.dumps({"type": "incident", **inc.to_json()}, ensure_ascii=False))
        return EXIT_OK
    if not incidents:
        print(_("No incidents.") if a.all else _("No open incidents (--all shows resolved ones too)."))
        return EXIT_OK
    tz = desk_zone(j)
    rows = [tuple(_(title) for title in LIST_COLUMNS)]
    for inc in incidents:
        _signal, ack, resp = j.clocks(inc, now)
        rows.append(
            (
                f"#{inc.id}",
                inc.severity.label,
                state_name(inc.state),
                one_line(inc.topic, 16),
                one_line(inc.assignee or "—", 12),
                local_time(inc.opened_at, tz),
                ack.describe("table"),
                resp.describe("table"),
                one_line(inc.title, 60),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1])
    return EXIT_OK


async def _show(j: Journal, a: argparse.Namespace) -> int:
    from tocsin.journal.reports import build_postmortem, to_text

    print(to_text(await build_postmortem(j, a.id)), end="")
    return EXIT_OK


async def _export(j: Journal, a: argparse.Namespace) -> int:
    from tocsin.journal.exports import export_dir, export_name
    from tocsin.journal.reports import build_postmortem, render

    pm = await build_postmortem(j, a.id)
    text = render(pm, a.format)
    target: Path | str | None = a.out
    if a.save:
        target = export_dir(j.settings, j.path) / export_name(pm.record.incident.id, a.format)
    if target is not None:
        written = _write(target, text, make_folder=a.save)
        said = _("wrote the {format} post-mortem of #{id} to {path}")
        print(said.format(format=a.format, id=pm.record.incident.id, path=written), file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK


async def _corrections(j: Journal, a: argparse.Namespace) -> int:
    from tocsin.journal.display import tsv_field

    latest: dict[tuple[str, str], tuple[str, str]] = {}
    for c in await j.corrections():  # a later verdict on the same mention replaces the earlier one
        text = tsv_field(c.text)
        if text:
            latest.pop((c.source, c.uid), None)
            latest[(c.source, c.uid)] = (text, c.new_label)
    _write(a.out, "".join(f"{text}\t{label}\n" for text, label in latest.values()))
    print(_("wrote {n} corrections to {path}").format(n=len(latest), path=a.out), file=sys.stderr)
    return EXIT_OK


async def _handover(j: Journal, a: argparse.Namespace) -> int:
    from tocsin.config.loader import parse_duration
    from tocsin.journal.handover import build_handover

    try:
        since = parse_duration(a.since)
    except ValueError:
        said = _("--since: expected a duration like 90m, 8h or 2d, got {value}")
        raise CommandFailed(said.format(value=repr(a.since[:20]))) from None
    sys.stdout.write(await build_handover(j, since))
    return EXIT_OK
