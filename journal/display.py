"""Text for people, out of the journal: times in the desk's zone, state names, and hostile text made safe.

Mention text, handles, names and URLs are hostile; so is anything an operator pasted. Before any of it
reaches a terminal, a Markdown file, an HTML page or a spreadsheet it goes through here:
``config.text.clean_document`` strips control, C1, bidi-override and zero-width characters (they
rewrite terminals and reorder what a reader sees), and each output format gets its own escaping.
"""

from __future__ import annotations

import html
import re
import zoneinfo
from datetime import datetime, tzinfo
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from tocsin.config.i18n import N_, _, datetime_text
from tocsin.config.text import clean_document

_SPACES = re.compile(r"\s+")
# Links, images, raw HTML, entities, code spans, emphasis and table cells; line-start constructs are
# handled by ``md_block`` (``md`` text never starts a line).
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])")
_MD_LINE_START = re.compile(r"^(\d*)([#+=.)-])")
_SECRET_PARAM = re.compile(r"(token|key|secret|sig|signature|password|passwd|auth|session|code)", re.I)
# what safe_url would return unchanged: no credentials, no query, nothing to quote
_PLAIN_URL = re.compile(r"https?://[a-z0-9.-]+(?::\d{1,5})?(?:/[A-Za-z0-9/%:@!$&'*+,;=._~-]*)?")
_CSV_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def one_line(text: object, limit: int | None = None) -> str:
    """``clean`` on one line (whitespace runs collapsed), cut to ``limit`` characters with an ellipsis."""
    s = clean_document(text)
    if not s.isprintable() or "  " in s or s[:1] == " " or s[-1:] == " ":
        s = _SPACES.sub(" ", s).strip()
    if limit is not None and len(s) > limit:
        s = s[: max(0, limit - 1)].rstrip() + "…"
    return s


def md(text: object, limit: int | None = None) -> str:
    """Safe inside Markdown prose, a list item or a table cell: one line, metacharacters escaped."""
    return _MD_SPECIAL.sub(r"\\\1", one_line(text, limit))


def md_block(text: object) -> str:
    """A multi-line text as Markdown paragraphs of escaped lines (for notes and statements)."""
    lines = [
        _MD_LINE_START.sub(r"\1\\\2", _MD_SPECIAL.sub(r"\\\1", _SPACES.sub(" ", line).strip()))
        for line in clean_document(text).split("\n")
    ]
    return "  \n".join(line for line in lines if line)


def html_text(text: object, limit: int | None = None) -> str:
    """Safe between HTML tags and inside quoted attributes."""
    return html.escape(one_line(text, limit), quote=True)


def html_block(text: object) -> str:
    """A multi-line text as escaped HTML with ``<br>`` line breaks."""
    return "<br>".join(
        html.escape(line.strip(), quote=True) for line in clean_document(text).split("\n") if line.strip()
    )


def safe_url(url: object) -> str | None:
    """An http(s) URL fit to show or link: anything else is dropped, credentials are redacted.

    Response URLs are pasted by operators and mention URLs come from platforms: either may carry a
    token (``?access_token=…``) or ``user:password@``; exports must never show one.
    """
    if not isinstance(url, str):
        return None
    if _PLAIN_URL.fullmatch(url):
        return url
    u = one_line(url)
    try:
        parts = urlsplit(u)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    netloc = parts.hostname + (f":{parts.port}" if _port(parts) else "")
    query = parts.query
    if query:
        pairs = [
            (k, "REDACTED" if _SECRET_PARAM.search(k) else v)
            for k, v in parse_qsl(query, keep_blank_values=True)
        ]
        query = urlencode(pairs)
    path = quote(parts.path, safe="/%:@!$&'*+,;=-._~")
    return urlunsplit((parts.scheme.lower(), netloc, path, query, ""))


def _port(parts: object) -> int | None:
    try:
        return parts.port  # type: ignore[attr-defined,no-any-return]
    except ValueError:
        return None


def md_link(label: object, url: object) -> str:
    """``[label](url)`` when the URL is safe, else the escaped label alone."""
    u = safe_url(url)
    text = md(label) or "link"
    if not u:
        return text
    return f"[{text}](<{u.replace('<', '%3C').replace('>', '%3E')}>)"


def csv_cell(value: object) -> str:
    """A spreadsheet cell that cannot run a formula (``=HYPERLINK(…)``, ``@SUM…``)."""
    s = one_line(value)
    return "'" + s if s.startswith(_CSV_FORMULA) else s


def tsv_field(value: object) -> str:
    """One ``text<TAB>label`` field: no tabs, no newlines."""
    return one_line(value)


# --- time ---------------------------------------------------------------------------------------


def zone(name: str | None) -> tzinfo:
    """The desk's time zone: an IANA name, or the machine's local zone for ``None``."""
    if name:
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
    local = datetime.now().astimezone().tzinfo
    assert local is not None
    return local


def local_time(dt: datetime | None, tz: tzinfo, *, date: bool = True, seconds: bool = False) -> str:
    """``2026-11-21 10:02 CET`` (or ``10:02 CET``) in the desk's zone; ``—`` for no time."""
    if dt is None:
        return "—"
    d = dt.astimezone(tz)
    fmt = ("%Y-%m-%d " if date else "") + ("%H:%M:%S" if seconds else "%H:%M")
    cldr = ("d MMM y " if date else "") + ("HH:mm:ss" if seconds else "HH:mm")  # "21 nov. 2026 10:02"
    name = d.tzname() or ""
    return datetime_text(d, fmt, cldr) + (f" {name}" if name else "")


STATE_NAMES = {
    "open": N_("open"),
    "acknowledged": N_("acknowledged"),
    "responding": N_("responding"),
    "monitoring": N_("monitoring"),
    "resolved": N_("resolved"),
    "reopened": N_("reopened"),
}
KIND_NAMES = {
    "holding_statement": N_("holding statement"),
    "official_statement": N_("official statement"),
    "apology": N_("apology"),
    "correction": N_("correction"),
    "private_reply": N_("private reply"),
}


def state_name(state: object) -> str:
    """An incident state in the desk's language (the journal stores the English value)."""
    value = str(state) if state is not None else "—"
    return _(STATE_NAMES[value]) if value in STATE_NAMES else value


def kind_name(kind: object) -> str:
    """A response kind in the desk's language ("holding statement", "déclaration d'attente")."""
    value = str(kind)
    return _(KIND_NAMES[value]) if value in KIND_NAMES else value.replace("_", " ")
