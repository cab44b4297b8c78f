"""One plain sentence per event, for timelines (reports, handover, ``journal show``).

The sentences contain raw text (titles, statements, mention text): callers escape them for their
format with ``display.md``/``html_text``/``csv_cell``/``one_line``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import tzinfo
from typing import Any

from tocsin.config.i18n import N_, _
from tocsin.config.reasons import level_name, listed, shown
from tocsin.journal.display import kind_name, local_time, one_line, state_name
from tocsin.journal.model import PLAYBOOK, Event, EventKind, Severity, TrollGuard
from tocsin.sources.model import parse_time

_STEP_LABELS = {s.id: s.label for s in PLAYBOOK}
_CLOCK_LABELS = {"ack": N_("acknowledgement"), "first_response": N_("first public response")}


def _sev(value: object) -> str:
    try:
        return Severity(str(value)).label
    except ValueError:
        return str(value)


def _time(value: object, tz: tzinfo) -> str:
    if isinstance(value, str) and value:
        try:
            return local_time(parse_time(value), tz)
        except ValueError:
            return value
    return "?"


def describe(event: Event, tz: tzinfo, *, limit: int = 280) -> str:
    """What happened, in a sentence (mention and statement text cut to ``limit`` characters)."""
    p: Mapping[str, Any] = event.payload
    k = event.kind
    if k is EventKind.OPENED:
        s = _('opened {severity} "{title}" on {topic}').format(
            severity=_sev(p.get("severity")), title=one_line(p.get("title"), limit), topic=p.get("topic")
        )
        if p.get("assignee"):
            s += _(", assigned to {member}").format(member=p["assignee"])
        return s
    if k is EventKind.ACKNOWLEDGED:
        return _("acknowledged (by starting work on it)") if p.get("implicit") else _("acknowledged")
    if k is EventKind.ESCALATED:
        if "to_severity" in p:
            return _("severity {before} → {after}").format(
                before=_sev(p.get("from_severity")), after=_sev(p["to_severity"])
            )
        members = ", ".join(p.get("members") or ()) or _("nobody on the roster")
        roles = ", ".join(p.get("roles") or ())
        return _("escalated to step {step} of {of}: {roles} ({members})").format(
            step=p.get("step"), of=p.get("of"), roles=roles, members=members
        )
    if k is EventKind.ASSIGNED:
        name, member = p.get("name"), p.get("member")
        if name and name != member:
            return _("assigned to {name} ({member})").format(name=name, member=member)
        return _("assigned to {member}").format(member=member)
    if k is EventKind.RESPONSE_LOGGED:
        said = _("{kind} on {channel}: {text}").format(
            kind=kind_name(p.get("kind")),
            channel=one_line(p.get("channel"), 40),
            text=one_line(p.get("text"), limit),
        )
        return said + (_(" (sent by hand)") if p.get("by_hand") else "") + _despite(p)
    if k is EventKind.NOTE:
        kind = p.get("kind", "note")
        return f"{_(_NOTE_KINDS.get(kind, kind))}: {one_line(p.get('text'), limit)}"
    if k is EventKind.EVIDENCE_PINNED:
        m = p.get("mention") or {}
        handle = one_line((m.get("author") or {}).get("handle") or _("unknown"), 60)
        when = _time(m.get("created_at"), tz)
        return _("pinned @{handle}'s post of {when}: {text}").format(
            handle=handle, when=when, text=one_line(m.get("text"), limit)
        )
    if k is EventKind.SLA_BREACHED:
        clock = _CLOCK_LABELS.get(str(p.get("clock")))
        s = _("SLA breached: {clock} was due {due} ({severity})").format(
            clock=_(clock) if clock else str(p.get("clock")),
            due=_time(p.get("due"), tz),
            severity=_sev(p.get("severity")),
        )
        if p.get("met_at"):
            s += _(", done {time}").format(time=_time(p["met_at"], tz))
        return s
    if k is EventKind.LEVEL_CHANGED:
        reasons = "; ".join(one_line(shown(r), 80) for r in p.get("reasons") or ())
        s = _("level {before} → {after}").format(
            before=level_name(p.get("previous") or "—"), after=level_name(str(p.get("level")))
        )
        return s + (f" ({reasons})" if reasons else "")
    if k is EventKind.STATE_CHANGED:
        s = _("state {before} → {after}").format(
            before=state_name(p.get("from")), after=state_name(p.get("to"))
        )
        return s + (f": {one_line(p['reason'], limit)}" if p.get("reason") else "")
    if k is EventKind.RESOLVED:
        return _("resolved") + (f": {one_line(p['summary'], limit)}" if p.get("summary") else "")
    if k is EventKind.REOPENED:
        reason = p.get("reason")
        return _("reopened from {state}: {reason}").format(
            state=state_name(p.get("from")),
            reason=one_line(shown(reason) if isinstance(reason, str) else reason, limit),
        )
    if k is EventKind.SENTIMENT_CORRECTED:
        change = f"{p.get('old') or _('unscored')} → {p.get('new')}"
        return _("sentiment corrected {change}: {text}").format(
            change=change, text=one_line(p.get("text"), limit)
        )
    if k is EventKind.NOTIFIED:
        who = p.get("name") or p.get("recipient") or _("the channel")
        what = p.get("trigger") or _("alert")
        tries = int(p.get("attempts") or 1)
        said = _("notified {who} via {output} ({what})").format(who=who, output=p.get("output"), what=what)
        return said + (_(" after {n} tries").format(n=tries) if tries > 1 else "")
    if k is EventKind.NOTIFY_FAILED:
        who = p.get("name") or p.get("recipient") or _("the channel")
        return _("could not notify {who} via {output}: {error}").format(
            who=who, output=p.get("output"), error=one_line(p.get("error"), 120)
        )
    if k is EventKind.RESPONSE_DRAFTED:
        roles = ", ".join(p.get("roles") or ()) or _("a second person")
        return _("drafted {kind} on {channel} (draft {draft}, awaiting approval by {roles}): {text}").format(
            kind=kind_name(p.get("kind")),
            channel=one_line(p.get("channel"), 40),
            draft=event.id,
            roles=roles,
            text=one_line(p.get("text"), limit),
        ) + _despite(p)
    if k is EventKind.RESPONSE_APPROVED:
        waited = int(float(p.get("waited_s") or 0) // 60)
        said = _("approved draft {draft} by {author} after {minutes} min").format(
            draft=p.get("draft"), author=p.get("author"), minutes=waited
        )
        said += _(", edited") if p.get("edited") else ""
        target = p.get("publish")
        if isinstance(target, Mapping):
            said += _(", to be posted on {platform}").format(platform=platform_name(target.get("platform")))
        return said
    if k is EventKind.RESPONSE_REJECTED:
        return _("rejected draft {draft} by {author}: {reason}").format(
            draft=p.get("draft"), author=p.get("author"), reason=one_line(p.get("reason"), limit)
        )
    if k is EventKind.CLAIM_ADDED:
        proof = (
            _(" (evidence: {evidence})").format(evidence=one_line(p["evidence"], 120))
            if p.get("evidence")
            else ""
        )
        said = _("claim {claim} recorded as {status}: {text}").format(
            claim=event.id, status=claim_status(p.get("status")), text=one_line(p.get("text"), limit)
        )
        return said + proof
    if k is EventKind.CLAIM_CHANGED:
        proof = f": {one_line(p['evidence'], limit)}" if p.get("evidence") else ""
        return (
            _("claim {claim} {before} → {after}").format(
                claim=p.get("claim"),
                before=claim_status(p.get("previous")),
                after=claim_status(p.get("status")),
            )
            + proof
        )
    if k is EventKind.PUBLISHING:
        return _("posting draft {draft} on {platform} as {account} (attempt {n})").format(
            draft=p.get("draft"),
            platform=platform_name(p.get("platform")),
            account=one_line(p.get("account"), 40),
            n=p.get("attempt"),
        )
    if k is EventKind.PUBLISHED:
        said = _("draft {draft} published on {platform}: {url}").format(
            draft=p.get("draft"), platform=platform_name(p.get("platform")), url=one_line(p.get("url"), 200)
        )
        return said + (_(" (found already up on a retry)") if p.get("recovered") else "")
    if k is EventKind.PUBLISH_FAILED:
        return _("draft {draft} not sent: {why}").format(draft=p.get("draft"), why=publish_problem(p, tz))
    if k is EventKind.CHECKED:
        step = _STEP_LABELS.get(str(p.get("item")))
        label = _(step) if step else str(p.get("item"))
        return (_("ticked “{step}”") if p.get("done") else _("unticked “{step}”")).format(step=label)
    return str(k)


def _despite(payload: Mapping[str, Any]) -> str:
    """`` — answered despite the troll guard: …`` when the response kept the guard's advice."""
    guard = TrollGuard.from_json(payload.get("troll_guard"))
    return f" — {despite_troll_guard(guard)}" if guard is not None else ""


def despite_troll_guard(guard: TrollGuard) -> str:
    """``answered despite the troll guard (@x: looks like a bot (0.81: account 3 days old))`` in the
    desk's language (raw author text inside: escape it for the format)."""
    reasons = listed(shown(r) for r in guard.reasons)
    return _("answered despite the troll guard ({author}: {reasons})").format(
        author=one_line(guard.author, 60), reasons=one_line(reasons, 400)
    )


_NOTE_KINDS = {"note": N_("note"), "lesson": N_("lesson")}
_PLATFORMS = {"mastodon": "Mastodon", "bluesky": "Bluesky", "x": "X"}


def platform_name(platform: object) -> str:
    """How people write a platform's name (``bluesky`` → Bluesky)."""
    return _PLATFORMS.get(str(platform), one_line(platform, 40))


def publish_problem(failure: Mapping[str, Any], tz: tzinfo) -> str:
    """Why an approved response did not go out, in plain words with what to do (``failure``: a
    ``publish_failed`` payload: ``problem``, ``platform``, ``status``, ``detail``, ``retry_at``)."""
    problem = str(failure.get("problem"))
    where = platform_name(failure.get("platform"))
    status = failure.get("status")
    detail = one_line(shown(str(failure.get("detail") or "")), 160)
    code = f" (HTTP {status})" if status else ""
    if problem == "auth":
        said = _("{platform} refused the account's credentials{code}: renew the token or app password")
    elif problem == "forbidden":
        said = _("{platform} refused the account{code}: {detail}")
    elif problem == "refused":
        said = _("{platform} refused the post{code}: {detail}")
    elif problem == "rate_limited":
        if failure.get("retry_at"):
            said = _("{platform} limits the account for now{code}: retry after {time}")
        else:
            said = _("{platform} limits the account for now{code}: retry in a few minutes")
    elif problem == "server":
        said = _("{platform} had a server error{code}: retry in a few minutes")
    elif problem == "network":
        said = _("could not reach {platform} ({detail}): nothing went out")
    elif problem == "unknown_outcome" and failure.get("platform") == "x":
        said = _("no answer from {platform} after sending ({detail}): the post may be up, check the account")
    elif problem == "unknown_outcome":
        said = _("no answer from {platform} after sending ({detail}): a retry will not post it twice")
    elif problem == "duplicate":
        said = _(
            "{platform} refused it as a duplicate: it most likely went out already; check the account, "
            "then record it as sent by hand with its link"
        )
    elif problem == "not_found":
        said = _("the post to answer was not found on {platform} (deleted?)")
    elif problem == "elsewhere":
        said = _("the post to answer is not on {platform}")
    elif problem == "no_account":
        said = _("no {platform} account in the settings (publish:) any more: send it by hand")
    else:
        said = "{platform}: " + problem + ("{code}" if status else "") + (": {detail}" if detail else "")
    return said.format(platform=where, code=code, detail=detail, time=_time(failure.get("retry_at"), tz))


_CLAIM_STATUSES = {"rumour": N_("rumour"), "verified": N_("verified"), "false": N_("false")}


def claim_status(status: object) -> str:
    """A claim's status in the desk's language (stored in English: rumour, verified, false)."""
    value = str(status)
    return _(_CLAIM_STATUSES[value]) if value in _CLAIM_STATUSES else value
