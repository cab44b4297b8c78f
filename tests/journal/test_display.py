"""The text boundary of the journal's outputs: hostile text in, safe text out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tocsin.config.text import clean_document, duration_str
from tocsin.journal import display as d


def test_clean_strips_terminal_controls_bidi_and_zero_width() -> None:
    assert clean_document("a\x1b[2Jb\x07c\x9bd\u202eevil\u2066x\u200bz\ufeff") == "a[2Jbcdevilxz"
    assert clean_document("line\nnext\ttab") == "line\nnext\ttab"
    assert d.one_line("  many\n\n  lines\u2028here  ") == "many lines here"
    assert d.one_line("x" * 50, 10) == "xxxxxxxxx…"


def test_markdown_escapes_what_could_become_markup() -> None:
    assert d.md("[a](javascript:x) <b>*c*</b> | `d` & e_f ~g~") == (
        "\\[a\\](javascript:x) \\<b\\>\\*c\\*\\</b\\> \\| \\`d\\` \\& e\\_f \\~g\\~"
    )
    assert (
        d.md_block("# title\n> quote\n1. item\n+ plus") == "\\# title  \n\\> quote  \n1\\. item  \n\\+ plus"
    )
    assert d.md_link("x", "javascript:alert(1)") == "x"
    assert d.md_link("x]", "https://a.example/p?q=<b>") == "[x\\]](<https://a.example/p?q=%3Cb%3E>)"


def test_html_escapes_text_and_attributes() -> None:
    assert (
        d.html_text("<a href=\"x\" onclick='y'>&")
        == "&lt;a href=&quot;x&quot; onclick=&#x27;y&#x27;&gt;&amp;"
    )
    assert d.html_block("one\n<two>\n\nthree") == "one<br>&lt;two&gt;<br>three"


def test_urls_keep_only_http_and_lose_credentials() -> None:
    assert d.safe_url("javascript:alert(1)") is None
    assert d.safe_url("data:text/html,<script>") is None
    assert d.safe_url("https://") is None
    assert d.safe_url(None) is None
    assert d.safe_url("HTTPS://user:pass@Example.com/a?access_token=t0k&x=1&api_key=k&sig=s#frag") == (
        "https://example.com/a?access_token=REDACTED&x=1&api_key=REDACTED&sig=REDACTED"
    )
    assert (
        d.safe_url("https://bsky.app/profile/did:plc:abc/post/3mm")
        == "https://bsky.app/profile/did:plc:abc/post/3mm"
    )


def test_csv_and_tsv_fields() -> None:
    for formula in ("=1+1", "+1", "-1", "@SUM(A1)", "\t=x"):
        assert d.csv_cell(formula) == "'" + formula.strip()
    assert d.csv_cell("fine") == "fine"
    assert d.tsv_field("a\tb\nc") == "a b c"


def test_times_and_durations() -> None:
    paris = d.zone("Europe/Paris")
    t = datetime(2026, 11, 21, 9, 5, 7, tzinfo=UTC)
    assert d.local_time(t, paris) == "2026-11-21 10:05 CET"
    assert d.local_time(t, paris, date=False, seconds=True) == "10:05:07 CET"
    assert d.local_time(None, paris) == "—"
    assert d.zone("Not/AZone") is not None  # falls back to the machine's zone
    assert [duration_str(timedelta(seconds=s)) for s in (42, 425, 600, 7380, 7200, 90000, -95)] == [
        "42s",
        "7m 05s",
        "10m",
        "2h 03m",
        "2h",
        "1d 1h",
        "-1m 35s",
    ]
