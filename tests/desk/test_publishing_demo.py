"""The demo, done as the issue tells it: on the bundled #BriocheGate storm (the embedded default), camille
answers the trigger post from the French holding template, hugo approves from a second terminal, a local
Mastodon server receives the reply, and the post-mortem shows the draft, the approval, how long it
waited and the URL of what went out."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.sources.servers.writes import FakeMastodonWrites
from tocsin.config.accounts import mention_prefix
from tocsin.config.loader import load_default
from tocsin.config.settings import PublishAccount
from tocsin.desk.cli import main
from tocsin.journal.api import Journal
from tocsin.journal.templates import filled, find_template
from tocsin.sources.clock import ManualClock
from tocsin.sources.demo import DemoSource


async def test_the_demo_trigger_post_answered_approved_and_published(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with FakeMastodonWrites(token="demo-publish-token") as server:
        default = load_default()
        account = PublishAccount(
            "mastodon", id="maisonbrioche", base_url=server.url, token=server.token, answers=("demo",)
        )
        settings = dataclasses.replace(default, publish=(account,))
        demo = DemoSource(default.sources[0], ManualClock(datetime.now(UTC)))  # the storm of today
        start = demo.timeline.storm_start
        trigger = next(
            m
            for m in demo.player().mentions()
            if m.created_at >= start and m.author.handle == "julie_goute_tout"
        )
        assert trigger.url is not None and trigger.author.followers == 248_300
        server.add_remote(trigger.uid, trigger.url, acct="julie_goute_tout@demo.example")
        clock = ManualClock(start + timedelta(minutes=12))
        monkeypatch.setenv("TOCSIN_JOURNAL", str(tmp_path / "demo-journal.sqlite"))

        async with await Journal.open(settings, clock=clock) as camille:  # the wall: e on the trigger post
            inc = await camille.open_incident(
                "brioche", "sev1", "Maison Brioche: mould video by @julie_goute_tout", evidence=[trigger]
            )
            template = find_template(settings, "holding-fr")
            reply = camille.reply_ref(trigger)
            text = mention_prefix(settings, reply, "mastodon") + filled(
                settings, template, inc, clock.now(), "camille"
            )
            _, draft = await camille.respond(
                inc.id, template.kind, "mastodon", text, template=template.id, reply_to=trigger
            )
            assert draft is not None

        # hugo, from a second terminal, with the same settings (the account's token from his config)
        monkeypatch.setattr("tocsin.config.loader.resolve_settings", lambda *a, **k: settings)
        clock.advance(6 * 60)
        code = await asyncio.to_thread(
            main, ["incident", "approve", str(inc.id), str(draft), "--operator", "hugo"]
        )
        out = capsys.readouterr().out
        assert code == 0, out
        [made] = server.posted
        assert made["text"].startswith("@julie_goute_tout ") and "Maison Brioche" in made["text"]
        parent = next(s["id"] for s in server.statuses.values() if s["url"] == trigger.url)
        assert made["in_reply_to_id"] == parent
        assert f"published on Mastodon: {made['url']}" in out

        code = await asyncio.to_thread(main, ["journal", "export", str(inc.id), "--format", "md"])
        md = capsys.readouterr().out
        assert code == 0
        assert "## Approvals (1 draft)" in md and "; approved by hugo at " in md and " later; published" in md
        assert made["url"] in md and "published on Mastodon" in md
        assert server.token not in md
