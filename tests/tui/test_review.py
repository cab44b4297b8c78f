"""The review screen on its own (a bare host app, a real journal on a ManualClock): the list, one
incident's story, hostile text, redacted links, the volume chart, the HTML export."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from textual.app import App

from tests.desk._incident_kit import T0, minutes, scored, team_settings
from tocsin.journal.api import Journal
from tocsin.journal.history import VolumePoint
from tocsin.journal.reports import build_postmortem
from tocsin.sources.clock import ManualClock
from tocsin.tui.screens.review import IncidentReviewScreen, ReviewScreen, review_content

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
async def journal(tmp_path: Path) -> AsyncIterator[Journal]:
    settings = team_settings(tmp_path / "journal.sqlite")
    clock = ManualClock(T0)
    j = await Journal.open(settings, clock=clock)
    try:
        yield j
    finally:
        await j.close()


async def story(journal: Journal) -> int:
    """A storm's history and one worked incident, with hostile text in every field that takes it."""
    clock = journal.clock
    assert isinstance(clock, ManualClock)
    points = []
    for i in range(150):
        at = T0 - minutes(100) + minutes(i)
        n = 3 if i < 90 else 3 + (i - 90) * 3
        points.append(VolumePoint("brioche", at, n, n // 5 if i < 90 else n * 2 // 3, n // 4, n // 10))
    await journal.record_volumes(points)
    evil = scored(
        1,
        "[@click=app.quit]boycott[/] \x1b]0;pwned\x07 \u202emould\u202c",
        at=T0 - minutes(12),
        handle="[b]lea[/b]\x1b[2J",
    )
    inc = await journal.open_incident(
        "brioche", "sev2", "[/oops] mould photo", first_signal_at=T0 - minutes(15), evidence=[evil]
    )
    clock.advance(240)
    await journal.acknowledge(inc.id)
    await journal.assign(inc.id, "hugo")
    clock.advance(600)
    await journal.log_response(
        inc.id,
        "apology",
        "x",
        "We are sorry.\nEvery shop is checked.",
        "https://x.com/mb/1?access_token=SECRET",
    )
    await journal.add_note(inc.id, "supplier confirmed [link](javascript:alert(1))")
    await journal.add_note(inc.id, "check supplier lists weekly", kind="lesson")
    clock.advance(1800)
    await journal.resolve(inc.id, summary="volume back to normal")
    return inc.id


async def test_review_content_tells_the_story_safely(journal: Journal) -> None:
    iid = await story(journal)
    pm = await build_postmortem(journal, iid)
    text = review_content(pm).plain
    for needle in (
        "#1",
        "SEV2",
        "resolved",
        "[/oops] mould photo",
        "owner Hugo Marchand",
        "To first public response",
        "met",
        "[x] Apologise where due",
        "[ ] Confirm the facts",
        "Responses (1)",
        "apology on x by camille",
        "We are sorry. Every shop is checked.",
        "access_token=REDACTED",
        "Evidence (1 pinned)",
        "[@click=app.quit]boycott[/]",
        "Lessons",
        "check supplier lists weekly",
        "supplier confirmed [link](javascript:alert(1))",
        "negative share, peak",
        "Timeline",
        "hugo",
    ):
        assert needle in text, needle
    assert "SECRET" not in text
    for bad in ("\x1b", "\x07", "\u202e", "\u202c"):
        assert bad not in text
    # times are the desk's (Paris): the pinned post keeps its original time, 10:18:00 local
    assert "Sat 21 Nov 10:18:00 @[b]lea[/b]" in text


class Host(App[None]):
    def __init__(self, screen: Any) -> None:
        super().__init__()
        self._first = screen

    def on_mount(self) -> None:
        self.push_screen(self._first)


async def test_list_newest_first_open_export_and_back(journal: Journal, tmp_path: Path) -> None:
    first = await story(journal)
    second = (await journal.open_incident("brioche", "sev1", "a newer one")).id
    review = ReviewScreen(journal, PARIS, export_dir=tmp_path)
    app = Host(review)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert [i.id for i in review.incidents] == [second, first]
        await pilot.press("down", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        detail = app.screen
        assert isinstance(detail, IncidentReviewScreen) and detail.incident_id == first
        assert detail.postmortem is not None
        await pilot.press("x")
        await app.workers.wait_for_complete()
        await pilot.pause()
        exported = tmp_path / f"tocsin-incident-{first}-postmortem.html"
        html = exported.read_text()
        assert "We are sorry." in html and "SECRET" not in html and "<script" not in html.lower()
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is review
        await pilot.press("x")  # from the list: the highlighted one
        await app.workers.wait_for_complete()
        assert exported.exists()
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is not review


async def test_an_export_that_cannot_be_written_says_why(
    journal: Journal, tmp_path: Path, monkeypatch: Any
) -> None:
    iid = await story(journal)
    (tmp_path / "a-file").write_text("")
    missing = tmp_path / "a-file" / "dir"  # a folder that cannot be created
    detail = IncidentReviewScreen(journal, iid, export_dir=missing)
    app = Host(detail)
    said: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(detail, "notify", lambda message, **kw: said.append((message, kw)))
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.press("x")
        await app.workers.wait_for_complete()
        await pilot.pause()
    assert len(said) == 1 and said[0][0].startswith(f"could not export #{iid}")
    assert said[0][1]["severity"] == "error" and said[0][1]["markup"] is False


async def test_an_empty_journal_says_so(journal: Journal) -> None:
    review = ReviewScreen(journal, PARIS)
    app = Host(review)
    async with app.run_test(size=(100, 20)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert review.incidents == []
        assert "no incidents in the journal yet" in str(review.query_one("#review-heading").render())


async def test_review_says_which_pinned_posts_were_edited_or_deleted(journal: Journal) -> None:
    post = scored(7, "Moisissure chez Maison Brioche, je porte plainte", at=T0 - minutes(20))
    inc = await journal.open_incident(
        "brioche", "sev2", "mould", first_signal_at=T0 - minutes(20), evidence=[post]
    )
    await journal.archive([post])
    edit = dataclasses.replace(
        post.mention,
        text="Maison Brioche m'a appelé, c'était un malentendu",
        received_at=T0 + minutes(5),
        extra={"update": "edit"},
    )
    await journal.archive([dataclasses.replace(post, seq=8, mention=edit)])
    gone = dataclasses.replace(post.mention, text="", deleted=True, received_at=T0 + minutes(9))
    await journal.archive([dataclasses.replace(post, seq=9, mention=gone)])
    text = review_content(await build_postmortem(journal, inc.id)).plain
    assert "Evidence (1 pinned)" in text
    assert "Moisissure chez Maison Brioche, je porte plainte" in text  # as pinned
    assert "edited by its author at" in text and "malentendu" not in text  # pinned words stay; edit noted
    assert "deleted by its author at" in text
