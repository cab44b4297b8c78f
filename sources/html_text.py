"""HTML → plain text for mention bodies (Mastodon statuses, feed entries, HN comments).

Built on the stdlib ``html.parser``: tags are dropped, entities unescaped, ``<br>`` becomes a newline,
paragraphs become a blank line, other blocks start a new line, and ``<script>``/``<style>`` bodies are
discarded. The result is still hostile text (it is only *plain*): the TUI cleans it before display.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Elements that start a new line of text when rendered.
_BLOCK = frozenset(
    {
        "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "figcaption", "figure",
        "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol",
        "pre", "section", "table", "tr", "ul",
    }
)  # fmt: skip
_SKIP = frozenset({"script", "style", "template", "head", "title", "noscript"})
_CELL = frozenset({"td", "th"})
_SPACES = re.compile(r"\s+")

# Layout tokens mixed with text in the collector's output.
_LINE, _SOFT, _PARA = object(), object(), object()


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tokens: list[object] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skip_depth += 1
        elif tag == "br":
            self.tokens.append(_LINE)
        elif tag == "p":
            self.tokens.append(_PARA)
        elif tag in _BLOCK:
            self.tokens.append(_SOFT)
        elif tag in _CELL:
            self.tokens.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _SKIP:  # a self-closed <script/> has no body to skip
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag == "p":
            self.tokens.append(_PARA)
        elif tag in _BLOCK:
            self.tokens.append(_SOFT)

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.tokens.append(data)


def html_to_text(html: str | None) -> str:
    """Plain text of an HTML fragment: tags stripped, entities unescaped, breaks kept as newlines.

    Runs of whitespace collapse to one space (as a browser shows them); ``<br>`` gives a newline,
    a paragraph a blank line, another block a new line; never more than one blank line in a row.
    """
    if not html:
        return ""
    if "<" not in html and "&" not in html:
        return _SPACES.sub(" ", html).strip()
    parser = _TextCollector()
    try:
        parser.feed(html)
        parser.close()
    except (AssertionError, ValueError):  # pathological markup: keep what was read so far
        pass
    return _layout(parser.tokens)


def _layout(tokens: list[object]) -> str:
    lines: list[str] = []
    current: list[str] = []

    def finish(keep_empty: bool) -> None:
        line = _SPACES.sub(" ", "".join(current)).strip()
        current.clear()
        if line or keep_empty:
            lines.append(line)

    for tok in tokens:
        if isinstance(tok, str):
            current.append(tok)
        elif tok is _LINE:
            finish(keep_empty=True)
        elif tok is _SOFT:
            finish(keep_empty=False)
        else:  # paragraph: end the line, then make sure a blank line separates what follows
            finish(keep_empty=False)
            if lines and lines[-1]:
                lines.append("")
    finish(keep_empty=False)
    out: list[str] = []
    for line in lines:
        if not line and (not out or not out[-1]):
            continue  # no leading blank line, no two blank lines in a row
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)
