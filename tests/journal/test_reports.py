"""Post-mortem exports (md, html, json, csv) and the handover, for a realistic storm with hostile text."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest

from tocsin.journal.api import Journal
from tocsin.journal.handover import build_handover
from tocsin.journal.history import VolumePoint
from tocsin.journal.reports import build_postmortem, render, to_text
from tocsin.sources.clock import ManualClock

from .conftest import T0, mention

HOSTILE = (
    "Regardez <img src=x onerror=alert(1)> [cliquez](javascript:alert(1)) | **boom** `code`"
    "\x1b]0;pwned\x07\x1b[2J \u202egnp.exe\u202c\u200b #BriocheGate"
)
SECRET = "SECRET123"


@pytest.fixture
async def storm(journal: Journal, clock: ManualClock) -> int:
    """#BriocheGate: baseline chatter, a surge, a late first response, an apology, a resolution."""
    points = [VolumePoint("brioche", T0 - timedelta(minutes=m), 3, negative=1) for m in range(1, 121)]
    points += [
        VolumePoint("brioche", T0 + timedelta(minutes=m), 40 + 5 * m, negative=30 + 4 * m) for m in range(32)
    ]
    points += [VolumePoint("brioche", T0 + timedelta(minutes=m), 20, negative=8) for m in range(32, 180)]
    await journal.record_volumes(points)
    evidence = [
        mention("m1", HOSTILE, handle="</div><script>x</script>", followers=48_000),
        mention("m2", '=HYPERLINK("http://evil")\nsecond line', handle="@sum", at=T0 - timedelta(minutes=7)),
    ]
    inc = await journal.open_incident(
        "brioche",
        "sev2",
        "Souris <script>alert(1)</script> | dans une brioche",
        first_signal_at=T0 - timedelta(minutes=10),
        evidence=evidence,
        level="alert",
        reasons=["volume 6.2x the usual", "61 % negative"],
    )
    clock.advance(4 * 60)
    await journal.acknowledge(inc.id)
    await journal.assign(inc.id, "bob")
    clock.advance(36 * 60)  # first response due at T0+20m: late
    await journal.check_clocks()
    await journal.log_response(
        inc.id,
        "holding_statement",
        "x",
        "Nous enquêtons.",
        f"https://x.com/maisonbrioche/status/1?access_token={SECRET}",
    )
    await journal.add_note(inc.id, '=HYPERLINK("http://evil","x") called the supplier')
    await journal.escalate(inc.id)
    clock.advance(20 * 60)
    await journal.log_response(
        inc.id, "apology", "instagram", "Nous sommes désolés.\n# Pas un titre\n- ni une liste"
    )
    await journal.check(inc.id, "facts")
    await journal.set_state(inc.id, "monitoring")
    clock.advance(2 * 3600)
    await journal.resolve(inc.id, summary="Supplier lot withdrawn")
    await journal.add_note(
        inc.id, "Answer within 15 minutes; the holding statement template was not ready", kind="lesson"
    )
    clock.advance(3600)
    return inc.id


def no_hostile_bytes(text: str) -> None:
    for bad in ("\x1b", "\x07", "\u202e", "\u202c", "\u200b", SECRET):
        assert bad not in text, repr(bad)


async def test_markdown_post_mortem(journal: Journal, storm: int) -> None:
    md = render(await build_postmortem(journal, storm), "md")
    no_hostile_bytes(md)
    assert md.startswith(
        "# Post-mortem: incident #1, SEV2, Souris \\<script\\>alert(1)\\</script\\> \\| dans une brioche"
    )
    assert "| To acknowledge | 10m | 4m | met |" in md
    assert "| To first public response | 30m | 50m | BREACHED |" in md
    assert "peak 195 mentions/min at 2026-11-21 10:31 CET (154 negative)" in md
    assert "- [x] Apologise where due (apology logged, 2026-11-21 11:00 CET)" in md
    assert "- [x] Confirm the facts (ticked by hand" in md and "- [ ] Restate the values" in md
    assert "## Key mentions (2 pinned)" in md
    # mention text neutralised: no live HTML, link, table break or code span
    assert "\\<img src=x onerror=alert(1)\\>" in md and not re.search(r"(?<!\\)<(img|script|/div)", md)
    assert "\\[cliquez\\](javascript:alert(1))" in md and not re.search(r"(?<!\\)\]\(javascript", md)
    assert "@\\</div\\>\\<script\\>x\\</script\\>" in md
    assert "> Nous sommes désolés.  \n> \\# Pas un titre  \n> \\- ni une liste" in md
    assert "[published here](<https://x.com/maisonbrioche/status/1?access_token=REDACTED>)" in md
    assert (
        "## Lessons\n\n- Answer within 15 minutes; the holding statement template was not ready (bob"
        not in md
    )
    assert "- Answer within 15 minutes; the holding statement template was not ready (alice" in md
    timeline = md.split("## Timeline")[1].strip().splitlines()[2:]
    assert len(timeline) == len((await journal.incident_record(storm)).events)
    assert all(row.count(" | ") == 2 for row in timeline)  # hostile pipes did not add columns


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs
        self.hrefs += [v or "" for k, v in attrs if k == "href"]


async def test_html_post_mortem_is_self_contained_and_escaped(journal: Journal, storm: int) -> None:
    page = render(await build_postmortem(journal, storm), "html")
    no_hostile_bytes(page)
    parsed = _Elements()
    parsed.feed(page)
    assert "script" not in parsed.tags and "img" not in parsed.tags and "iframe" not in parsed.tags
    assert not [k for k, _ in parsed.attrs if k.startswith("on")]
    assert parsed.hrefs and all(h.startswith("https://") for h in parsed.hrefs)
    assert "default-src 'none'" in page and "<link" not in page and "src=" not in page.replace("src=x", "")
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "@&lt;/div&gt;&lt;script&gt;x&lt;/script&gt;" in page
    assert "access_token=REDACTED" in page
    assert (
        parsed.tags.count("svg") == 1 and parsed.tags.count("rect") > 100 and parsed.tags.count("line") >= 5
    )
    assert 'class="bad">BREACHED</td>' in page
    assert "Answer within 15 minutes" in page and "<h2>Lessons</h2>" in page
    assert "Nous sommes désolés.<br># Pas un titre<br>- ni une liste" in page


async def test_json_post_mortem_for_tooling(journal: Journal, storm: int) -> None:
    data = json.loads(render(await build_postmortem(journal, storm), "json"))
    assert data["type"] == "postmortem" and data["incident"]["state"] == "resolved"
    assert data["incident"]["breaches"].keys() == {"first_response"}
    clocks = {c["name"]: c for c in data["clocks"]}
    assert clocks["first_response"]["breached"] and clocks["first_response"]["elapsed_s"] == 50 * 60
    assert not clocks["ack"]["breached"] and clocks["ack"]["status"] == "met"
    assert data["sla"] == {"ack": 600.0, "first_response": 1800.0}
    assert data["evidence"][0]["text"] == HOSTILE  # data kept as is: JSON escapes it
    assert data["evidence"][0]["created_at"] == "2026-11-21T08:40:00Z"
    assert data["responses"][0]["url"] == "https://x.com/maisonbrioche/status/1?access_token=REDACTED"
    assert [r["kind"] for r in data["responses"]] == ["holding_statement", "apology"]
    assert data["lessons"][0]["text"].startswith("Answer within 15 minutes")
    assert len(data["volume"]["minutes"]) > 100
    assert SECRET not in json.dumps(data)
    assert [e["kind"] for e in data["events"]][:3] == ["opened", "evidence_pinned", "evidence_pinned"]


async def test_csv_timeline_cannot_run_formulas(journal: Journal, storm: int) -> None:
    text = render(await build_postmortem(journal, storm), "csv")
    no_hostile_bytes(text)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [
        "event_id",
        "at_utc",
        "at_local",
        "incident",
        "operator",
        "kind",
        "what",
        "url",
        "mention_deleted_at_utc",
        "mention_edited_at_utc",
        "mention_first_version",
    ]
    assert len(rows) - 1 == len((await journal.incident_record(storm)).events)
    for row in rows[1:]:
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row), row
    note = next(r for r in rows if r[5] == "note" and "HYPERLINK" in r[6])
    assert note[6] == 'note: =HYPERLINK("http://evil","x") called the supplier'
    breach = next(r for r in rows if r[5] == "sla_breached")
    assert breach[4] == "tocsin" and "first public response was due 2026-11-21 10:20 CET" in breach[6]


async def test_csv_cells_from_a_hostile_operator_name_are_neutralised(settings, clock: ManualClock) -> None:
    journal = await Journal.open(settings, clock=clock, operator="@SUM(A1:A9)")
    try:
        inc = await journal.open_incident("brioche", "sev3", "x")
        rows = list(csv.reader(io.StringIO(render(await build_postmortem(journal, inc.id), "csv"))))
        assert rows[1][4] == "'@SUM(A1:A9)"
    finally:
        await journal.close()


async def test_terminal_view_is_clean(journal: Journal, storm: int) -> None:
    text = to_text(await build_postmortem(journal, storm))
    no_hostile_bytes(text)
    assert "#1 SEV2 resolved: Souris <script>alert(1)</script> | dans une brioche" in text
    assert "To first public response   target 30m" in text and "BREACHED" in text


async def test_unknown_format_is_refused(journal: Journal, storm: int) -> None:
    with pytest.raises(ValueError, match="unknown format 'pdf'"):
        render(await build_postmortem(journal, storm), "pdf")


async def test_handover_tells_the_next_shift_what_matters(journal: Journal, clock: ManualClock) -> None:
    done = await journal.open_incident("brioche", "sev3", "Yesterday's rumour", now=T0 - timedelta(hours=20))
    await journal.resolve(done.id, now=T0 - timedelta(hours=19))
    storm = await journal.open_incident("brioche", "sev1", "#BriocheGate | boycott", first_signal_at=T0)
    await journal.acknowledge(storm.id)
    await journal.assign(storm.id, "chloe")
    clock.advance(45 * 60)
    await journal.check_clocks()
    await journal.open_incident("rival", "sev3", "Rival price cut <b>")
    await journal.correct_sentiment(mention("s1", "trop bien"), "negative")
    fixed = await journal.open_incident("brioche", "sev4", "Typo on the menu")
    await journal.resolve(fixed.id, summary="menu fixed")
    clock.advance(20 * 60)

    text = await build_handover(journal, timedelta(hours=8))
    no_hostile_bytes(text)
    assert text.startswith("# Handover: brioche desk, 2026-11-21 11:05 CET")
    assert "covering the last 8h (since 2026-11-21 03:05 CET)" in text
    assert "## Open incidents (2)" in text
    assert "- **#2 SEV1 acknowledged: #BriocheGate \\| boycott**" in text
    assert "Chloé Dubois" in text and "first public response OVERDUE by 35m" in text
    assert "## Waiting for acknowledgement (1)\n\n- **#3 SEV3 open: Rival price cut \\<b\\>**" in text
    assert "acknowledgement OVERDUE by 10m" in text
    assert "## SLA breaches (2)" in text  # #2's response (recorded) and #3's ack (not yet recorded)
    assert "recorded 10:45 CET" in text
    assert "### #4 SEV4 resolved: Typo on the menu" in text
    assert "## Resolved in this period\n\n- #4 SEV4: Typo on the menu, resolved 10:45 CET" in text
    assert "Yesterday's rumour" not in text
    assert "1 sentiment correction(s)" in text


async def test_handover_of_a_quiet_shift(journal: Journal) -> None:
    text = await build_handover(journal, timedelta(hours=8))
    assert "Nothing open." in text and "Nothing was recorded." in text and "## SLA breaches (0)" in text


async def test_html_chart_marks_the_first_signal_and_keeps_labels_apart(journal: Journal, storm: int) -> None:
    """Issue 12: the first signal (where the SLA clock starts) was not marked, and labels of events
    minutes apart printed over each other on an hours-long chart."""
    html = render(await build_postmortem(journal, storm), "html")
    svg = html[html.index("<svg") : html.index("</svg>")]
    labels = {"first signal", "opened", "acknowledged", "first response", "resolved"}
    found = []
    label_re = r'<text x="([\d.]+)" y="(\d+)" text-anchor="(start|end)" font-size="10"[^>]*>([^<]+)<'
    for m in re.finditer(label_re, svg):
        x, y, anchor, label = float(m[1]), int(m[2]), m[3], m[4]
        width = 6.0 * len(label)
        found.append((y, x if anchor == "start" else x - width, x + width if anchor == "start" else x, label))
    assert {f[3] for f in found} == labels  # every moment of the incident, the first signal included
    for a in found:
        for b in found:
            if a is not b and a[0] == b[0]:  # same row: no overlap
                assert a[2] <= b[1] or b[2] <= a[1], (a, b)
    lines = {m[2]: float(m[1]) for m in re.finditer(r'<line x1="([\d.]+)"[^>]*stroke="(#[0-9a-f]+)"', svg)}
    first, opened = lines["#b8600b"], lines["#1d232a"]
    assert first < opened  # ten minutes before the opening
    assert '<td class="t">' in html and "td.t{white-space:nowrap}" in html  # times on one line
