"""Text from outside made safe as plain strings: one home for cleaning and folding.

Every mention text, handle, display name, URL, hashtag, source error and topic reason is hostile:
it may carry terminal escape sequences, C0/C1 controls, bidi overrides that reorder the line,
zero-width characters that hide words from a filter, and Textual/Rich markup. ``clean`` makes a string
safe to print on one line (or several, ``multiline``), and the ``*_str`` helpers write a handle, a URL
and a count for a narrow column. No textual or rich here: the wall's display boundary
(``tui/safe_text.py``) builds its widgets' content from these, and headless mode, the journal's files
and the desk's search use them directly.

``fold`` is the desk's one case- and accent-insensitive form: the feed search, the topic matcher, the
firehose pre-filter and the copy-paste detector all fold with it (``fold_word``, the lexicons' variant,
says why it differs).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta
from typing import Literal

ELLIPSIS = "…"
DEFAULT_MAX_LEN = 1000
URL_CHARS = 4096
"""A URL is cleaned whole up to this length, so that its end (the post id) can still be shown."""
"""Characters kept of one field by default; a 100 kB post is cut here before any other work."""

# Escape sequences are removed whole, so no fragment (``0;pwned``, ``[2J``) is left on screen:
# OSC/DCS/SOS/PM/APC strings up to their terminator (BEL or ST) or the end of the string, CSI with
# its parameters and final byte (7-bit ``ESC [`` and C1 ``\x9b``), then any other two-byte ESC form.
_ESCAPE_SEQUENCES = re.compile(
    r"(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|(?:\x1b\[|\x9b)[\x20-\x3f]*[\x40-\x7e]?"
    r"|\x1b[\x20-\x2f]*[\x30-\x7e]?"
)

# Characters that must not reach the terminal. Controls and line separators become a space (they
# separate words); format characters (Unicode category Cf: bidi overrides and isolates, zero-width
# space/joiners, word joiner, BOM, invisible operators, tag characters…) and lone surrogates are
# dropped. The Cf list is that of Unicode 15.1; a test checks it against the running Python.
_SPACE_LIKE = "\x00-\x1f\x7f-\x9f\u2028\u2029"
_FORMAT = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f"
)
_SURROGATES = "\ud800-\udfff"
_DROP = re.compile(f"[{_FORMAT}{_SURROGATES}]+")
# For documents: the same invisible characters, and the controls but tab and line feed (dropped, not
# made spaces: a file's own escaping follows, and the journal's exports always read so).
_DOCUMENT_DROP = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_FORMAT}{_SURROGATES}]+")
_TO_SPACE = re.compile(f"[{_SPACE_LIKE}]")
_SPACES = re.compile(r"\s+")
_MULTILINE_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\x0b\x0c\x85\u2028\u2029]")
_NON_ASCII = re.compile(r"[^\x20-\x7e]")
# The accents: the Combining Diacritical Marks blocks (with their Extended and Supplement blocks, and
# those for symbols and half marks), what NFKD leaves of "é", "ç", "ñ", "ő". Not every combining mark:
# a dakuten (が → か), a virama or a Thai tone mark makes another word of its script, not an accent.
_ACCENT_MARKS = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_ACCENTS = re.compile(f"[{_ACCENT_MARKS}]+")
# "Zalgo" text stacks hundreds of combining marks that paint over the lines above and below.
_COMBINING_RUN = re.compile(f"[{_ACCENT_MARKS}\u0483-\u0489]{{4,}}")
_MAX_COMBINING = 3


def clean(s: str | None, max_len: int = DEFAULT_MAX_LEN, *, multiline: bool = False) -> str:
    """Make hostile text safe to display: no controls, escapes, bidi or invisible characters.

    One line unless ``multiline`` (then line breaks are kept as ``\\n``, at most one blank line in a
    row). Runs of whitespace collapse to one space. At most ``max_len`` characters, ending with an
    ellipsis when cut; work is O(max_len) whatever the input size, since the input is sliced first.
    """
    if not s:
        return ""
    if not isinstance(s, str):
        s = str(s)
    max_len = max(1, max_len)
    # Slice before any other work; the slack covers what cleaning removes in normal text.
    bounded = s[: max_len * 4 + 64]
    truncated = len(bounded) < len(s)
    if _NON_ASCII.search(bounded) is None:
        out = bounded  # the common case: printable ASCII only, nothing to strip
    else:
        out = _ESCAPE_SEQUENCES.sub("", bounded)
        out = _DROP.sub("", out)
        if multiline:
            out = _LINE_BREAKS.sub("\n", out)
            out = re.sub(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]", " ", out)
        else:
            out = _TO_SPACE.sub(" ", out)
        if _COMBINING_RUN.search(out):
            out = _COMBINING_RUN.sub(lambda m: m.group(0)[:_MAX_COMBINING], out)
    if multiline:
        out = _MULTILINE_SPACES.sub(" ", out)
        out = "\n".join(line.strip() for line in out.split("\n"))
        out = _BLANK_LINES.sub("\n\n", out).strip("\n")
    else:
        out = _SPACES.sub(" ", out).strip()
    if len(out) > max_len or truncated:
        if len(out) >= max_len:
            out = out[: max_len - 1].rstrip()
        return out + ELLIPSIS
    return out


def clean_document(text: object) -> str:
    """``clean`` for a document (an export, the handover, the journal CLI's tables): the same invisible
    characters and controls go, but the text keeps its own layout (line breaks, tabs, runs of spaces)
    and its length.

    A variant rather than ``clean(multiline=True)``: each output format then escapes and lays out the
    text itself (``journal/display.py``: Markdown, HTML, CSV, TSV, one line for a table cell), and an
    escape sequence only loses its ESC byte (``\\x1b[2J`` → ``[2J``, harmless once ESC is gone).
    """
    s = str(text) if text is not None else ""
    if s.isprintable():  # the common case: nothing invisible, nothing to strip
        return s
    s = s.replace("\u2028", "\n").replace("\u2029", "\n")
    return _DOCUMENT_DROP.sub("", s)


def fold(s: str | None, max_len: int | None = DEFAULT_MAX_LEN) -> str:
    """The desk's one case and accent folding: ``Crème BRÛLÉE`` → ``creme brulee``, ``ＦＵＬＬ`` and
    ``𝐅𝐔𝐋𝐋`` → ``full`` (a spammer's favourite letters), ``Straße`` → ``strasse``.

    Compatibility decomposition (NFKD), the accents dropped (see ``_ACCENT_MARKS``), then casefold, in
    that order so that no accent is left and letters that decompose to capitals (``𝐅``) end lower case.
    The length may change (``ß`` → ``ss``, ``ﬁ`` → ``fi``): matchers scan the folded text itself, never
    map positions back to the original.

    ``max_len``: text from outside is ``clean``-ed first and cut there, so a zero-width space cannot hide
    a word from a search (the desk's feed filter). ``None`` folds the text as it is, character for
    character: the topic matcher, the firehose pre-filter (``sources/net.py``) and the copy-paste
    detector bound their input themselves, and share this one folding so that the pre-filter can never
    drop a post the matcher would keep.
    """
    if max_len is not None:
        s = clean(s, max_len)
    elif not s:
        return ""
    if s.isascii():  # most posts, and every keyword of an English or plain-ASCII desk
        return s.lower()
    return _ACCENTS.sub("", unicodedata.normalize("NFKD", s)).casefold()


def fold_word(word: str) -> str:
    """A word as the lexicons and the flair models key it: lower case, accents and ligatures gone,
    apostrophes unified (``Œuvre`` → ``oeuvre``, ``aujourd’hui`` → ``aujourd'hui``).

    A variant of ``fold`` on purpose, not a parameter of it: canonical decomposition (full-width
    letters stay full-width), ``lower`` rather than casefold (``ß`` stays), every combining mark dropped
    and the rest recomposed (NFC, so Hangul stays syllables). The lexicon files were written for these
    keys and the trained models' vocabulary was made of them (``flair_engine.TOKENS_VERSION``): changing
    a rule here means new models.
    """
    s = word.lower().replace("’", "'").replace("œ", "oe").replace("æ", "ae")
    if s.isascii():
        return s
    decomposed = unicodedata.normalize("NFD", s)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


DurationStyle = Literal["compact", "spoken", "ago", "narrow", "clock"]


def duration_str(value: timedelta | float | None, style: DurationStyle = "compact") -> str:
    """A duration for people, written the one way its place calls for:

    ===========  ========================================  ============================================
    ``compact``  ``42s``, ``7m 05s``, ``2h 03m``, ``3d 4h``    reports, the handover, the journal CLI; signed
    ``spoken``   ``45 s``, ``12 min``, ``2 h 05``              a source's health, as said on the phone
    ``ago``      ``40 s``, ``3 min``, ``2h05``, ``3d4h``       how long ago, in a wall cell
    ``narrow``   ``42s``, ``7m05``, ``2h03``                   time taken, in a narrow cell
    ``clock``    ``4:12``, ``1:04:12``                         a countdown, as clocks show it
    ===========  ========================================  ============================================

    ``value`` is a timedelta or seconds; ``None`` (unknown) is ``—``. Only ``compact`` keeps a minus
    sign; the others read a negative duration as zero (a countdown that ran out shows ``0:00``). Seconds
    are cut, not rounded (a clock shows the whole seconds gone by), except ``spoken`` under 90 s.
    """
    if value is None:
        return "—"
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if style == "spoken":
        return _spoken(max(0.0, seconds))
    total = int(seconds)
    if style == "compact":
        return ("-" if total < 0 else "") + _compact(abs(total))
    return _WALL_STYLES[style](max(0, total))


def _compact(total: int) -> str:
    d, rem = divmod(total, 86400)
    h, rem = divmod(rem, 3600)
    m, s = divmod(rem, 60)
    if d:
        return f"{d}d {h}h" if h else f"{d}d"
    if h:
        return f"{h}h {m:02d}m" if m else f"{h}h"
    if m:
        return f"{m}m {s:02d}s" if s else f"{m}m"
    return f"{s}s"


def _spoken(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = int(seconds // 60)  # whole minutes gone by, as a clock counts them
    if minutes < 90:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d}"


def _ago(total: int) -> str:
    if total < 60:
        return f"{total} s"
    if total < 3600:
        return f"{total // 60} min"
    if total < 86400:
        h, rem = divmod(total // 60, 60)
        return f"{h}h{rem:02d}"
    d, rem = divmod(total // 3600, 24)
    return f"{d}d{rem}h"


def _narrow(total: int) -> str:
    h, rem = divmod(total, 3600)
    m, s = divmod(rem, 60)
    if h:
        return f"{h}h{m:02d}"
    if m:
        return f"{m}m{s:02d}"
    return f"{s}s"


def _clock(total: int) -> str:
    h, rem = divmod(total, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


_WALL_STYLES = {"ago": _ago, "narrow": _narrow, "clock": _clock}


def handle_str(handle: str | None, max_len: int = 40) -> str:
    """``@handle`` (one ``@`` whatever the source sent), or ``(anonymous)`` when there is none."""
    h = clean(handle, max_len).lstrip("@")
    return f"@{h}" if h else "(anonymous)"


def url_str(url: str | None, max_len: int = 120) -> str:
    """A URL for display: cleaned, never a link, cut in the middle when long (the host and the end
    are what identify a post)."""
    u = clean(url, URL_CHARS)
    if len(u) <= max_len:
        return u
    head = max_len * 2 // 3
    return u[:head] + ELLIPSIS + u[-(max_len - head - 1) :]


def number_str(n: float | None) -> str:
    """A count for a narrow column: ``950``, ``12.3k``, ``4.5M``; ``–`` when unknown. The decimal
    mark is the desk's language's (``12,3k`` in French)."""
    if n is None:
        return "–"
    sign = "-" if n < 0 else ""
    n = abs(n)
    if n < 1000:
        return f"{sign}{n:.0f}" if float(n).is_integer() else f"{sign}{_decimal(f'{n:.1f}')}"
    units = (("k", 1e3), ("M", 1e6), ("B", 1e9))
    for i, (unit, size) in enumerate(units):
        value = n / size
        shown = f"{value:.1f}" if value < 99.95 else f"{value:.0f}"
        if float(shown) < 1000 or i == len(units) - 1:  # 999,999 reads 1M, not 1000k
            return f"{sign}{_decimal(shown.removesuffix('.0'))}{unit}"
    raise AssertionError("unreachable")


def _decimal(digits: str) -> str:
    """``12.3`` (already rounded) as the desk's language writes it: ``12,3`` in French."""
    from tocsin.config.i18n import number

    whole, _, tenths = digits.partition(".")
    return number(float(digits), len(tenths)) if tenths else whole
