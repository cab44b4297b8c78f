"""The one boundary where mention data becomes display text.

Every mention text, handle, display name, URL, hashtag, source error and topic reason is hostile:
it may carry terminal escape sequences, C0/C1 controls, bidi overrides that reorder the line,
zero-width characters that hide words from a filter, and Textual/Rich markup that runs actions
(``[@click=app.quit]``) or crashes the app (``[/foo]`` raises ``MarkupError``).

``clean`` makes a string safe to print on one line; the builders hand out ``rich.text.Text`` and
``textual.content.Content`` objects built WITHOUT markup parsing, so a widget never sees a raw ``str``
from a mention. No other module of the TUI builds display text from mention data.
"""

from __future__ import annotations

from rich.style import Style as RichStyle
from rich.text import Text
from textual.content import Content
from textual.style import Style

from tocsin.config.text import DEFAULT_MAX_LEN, clean, fold, handle_str, number_str, url_str

__all__ = [
    "clean",
    "content",
    "fill",
    "fold",
    "handle",
    "handle_str",
    "number",
    "number_str",
    "text",
    "url",
    "url_str",
]


def text(
    s: str | None, style: str | RichStyle = "", *, max_len: int = DEFAULT_MAX_LEN, multiline: bool = False
) -> Text:
    """A Rich ``Text`` of cleaned ``s``; never parsed as markup."""
    return Text(clean(s, max_len, multiline=multiline), style=style, end="", no_wrap=not multiline)


def content(
    s: str | None, style: str | Style = "", *, max_len: int = DEFAULT_MAX_LEN, multiline: bool = False
) -> Content:
    """A Textual ``Content`` of cleaned ``s``; never parsed as markup."""
    return Content.styled(clean(s, max_len, multiline=multiline), style)


def fill(markup: str, **values: str | None) -> Content:
    """Our own markup template with hostile values: ``fill("[b]$who[/] said", who=handle)``.

    The values are cleaned and substituted as literal text (Textual never parses a template
    variable as markup); only ``markup``, which must be a constant of ours, is parsed.
    """
    return Content.from_markup(markup, **{k: clean(v) for k, v in values.items()})


def handle(handle: str | None, style: str | Style = "", max_len: int = 40) -> Content:
    """A handle as Content (see ``handle_str``)."""
    return Content.styled(handle_str(handle, max_len), style)


def url(u: str | None, style: str | Style = "", max_len: int = 120) -> Content:
    """A URL as Content (see ``url_str``)."""
    return Content.styled(url_str(u, max_len), style)


def number(n: float | None, style: str | Style = "") -> Content:
    """A count as Content (see ``number_str``)."""
    return Content.styled(number_str(n), style)
