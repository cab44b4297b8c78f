"""Snapshot tests of the wall (pytest-textual-snapshot): fixed data, a ManualClock, Europe/Paris.

Update after a deliberate change with ``pytest tests/tui/test_snapshots.py --snapshot-update`` and look
at the SVGs in ``tests/tui/__snapshots__/`` before committing them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from tocsin.scoring.snapshot import ClusterRow, InfluencerRow, TermRow, TopicSnapshot
from tocsin.sources.base import SourceState
from tocsin.tui.app import WallApp

from ._snapshot import settle


def judged(kit: Any, topic: TopicSnapshot) -> TopicSnapshot:
    """The topic with what the judgement adds: who is talking, what surges, the waves, the anomaly."""
    t0 = kit.T0

    def who(
        handle: str,
        tier: str,
        followers: int,
        inf: int,
        bot: float,
        neg: int,
        n: int,
        text: str,
        role: str | None = None,
    ) -> InfluencerRow:
        return InfluencerRow(handle, None, "demo", tier, followers, inf, bot, neg, n, text, t0, role)

    return replace(
        topic,
        anomaly=0.93,
        surprise="storm since 09:41: above the usual for a Saturday 10:00 (last 15 min)",
        unique_volume=tuple(max(1, v * 2 // 3) for v in topic.volume),
        influencers=(
            who(
                "lemonde_conso",
                "macro",
                412_000,
                78,
                0.02,
                2,
                3,
                "Journalists are asking Maison Brioche for comment on the supplier story",
                "journalist",
            ),
            who(
                "angry_baker",
                "micro",
                15_200,
                55,
                0.10,
                5,
                5,
                "Boycott @maisonbrioche until they answer #BriocheGate",
            ),
            who("lea_mtl", "nano", 2_300, 31, 0.05, 3, 3, "Just had the worst brioche of my life"),
            who("brioche_truth_88", "nano", 12, 9, 0.91, 14, 14, "Boycott Maison Brioche until they answer!"),
        ),
        terms=(
            TermRow("briochegate", "hashtag", 142.0, 3.1, 12.4),
            TermRow("margarine", "word", 40.0, 1.2, 7.1),
            TermRow("boycott", "word", 22.0, 2.0, 4.0),
        ),
        clusters=(
            ClusterRow(
                7,
                48,
                31,
                t0 - timedelta(minutes=20),
                t0,
                "Boycott Maison Brioche until they answer! #BriocheGate",
                0.74,
            ),
            ClusterRow(
                9, 6, 6, t0 - timedelta(minutes=5), t0, "they deleted my review lol #briochegate", 0.12
            ),
        ),
        copy_paste_share=0.18,
    )


def storm_desk(kit: Any) -> Any:
    desk = kit.FakeDesk(kit.settings(refresh_hz=0.001))
    kit.tell_story(desk, times=5)
    desk.publish(
        judged(kit, kit.topic()),
        sources=[kit.source_status(rate=42.0)],
        engine="lexicon",
    )
    return desk


def test_wall_120x40(kit: Any, snap_compare: Any) -> None:
    desk = storm_desk(kit)
    assert snap_compare(WallApp(desk.settings, desk), terminal_size=(120, 40), run_before=settle)


def test_wall_80x24_is_compact(kit: Any, snap_compare: Any) -> None:
    desk = storm_desk(kit)
    assert snap_compare(WallApp(desk.settings, desk), terminal_size=(80, 24), run_before=settle)


def test_wall_paused_with_waiting_mentions_and_a_troubled_source(kit: Any, snap_compare: Any) -> None:
    desk = storm_desk(kit)

    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        await pilot.press("pageup")
        for i in range(12):
            desk.push(f"brioche reply {i}", label="negative", handle=f"reply_{i}", followers=10 * i)
        desk.publish(
            # still "alert": a level rise would put a toast over the border this snapshot is about
            judged(
                kit, kit.topic(level="alert", rate=96.0, reasons=("volume 31.0x the usual", "72 % negative"))
            ),
            sources=[
                kit.source_status(rate=96.0),
                replace(
                    kit.source_status(
                        SourceState.RECONNECTING,
                        id="masto",
                        kind="mastodon",
                        reconnects=3,
                        last_error="HTTP 503 Service Unavailable",
                    ),
                    gap_warning="silent 12 min (usually every 10 s), reconnecting",
                ),
            ],
            engine="lexicon",
            engine_note="flair loading…",
        )
        pilot.app.wall.flush()
        await pilot.pause()

    assert snap_compare(WallApp(desk.settings, desk), terminal_size=(120, 40), run_before=run_before)


def blind_desk(kit: Any) -> Any:
    """Every source down for twelve minutes: the judge saw nothing, so its level is calm."""
    desk = kit.FakeDesk(kit.settings(refresh_hz=0.001))
    kit.tell_story(desk, times=1)  # the last mention a minute before T0
    desk.clock.advance(13 * 60)
    down = kit.T0
    last = kit.T0 - timedelta(minutes=1)
    desk.publish(
        kit.topic(level="calm", rate=0.0, reasons=()),
        sources=[
            replace(
                kit.source_status(
                    SourceState.RECONNECTING,
                    id="masto",
                    kind="mastodon",
                    reconnects=9,
                    last_error="no network (name lookup failed): Cannot connect to "
                    "host mastodon.social:443 ssl:default [Name or service not known]",
                ),
                last_event_at=last,
                blind_since=down,
                blind_reason="no network (name lookup failed)",
            ),
            replace(
                kit.source_status(
                    SourceState.FAILED,
                    id="news",
                    kind="rss",
                    last_error="feed news.example: HTTP 401 Unauthorized (check the feed URL)",
                ),
                last_event_at=last - timedelta(minutes=5),
                blind_since=down + timedelta(minutes=2),
                blind_reason="token refused",
            ),
        ],
    )
    return desk


def test_wall_blind_is_never_calm_120x40(kit: Any, snap_compare: Any) -> None:
    desk = blind_desk(kit)
    assert snap_compare(WallApp(desk.settings, desk), terminal_size=(120, 40), run_before=settle)


def test_wall_blind_80x24(kit: Any, snap_compare: Any) -> None:
    desk = blind_desk(kit)
    assert snap_compare(WallApp(desk.settings, desk), terminal_size=(80, 24), run_before=settle)


def test_wall_blind_200x60(kit: Any, snap_compare: Any) -> None:
    desk = blind_desk(kit)
    assert snap_compare(WallApp(desk.settings, desk), terminal_size=(200, 60), run_before=settle)


def test_help_screen(kit: Any, snap_compare: Any) -> None:
    desk = storm_desk(kit)

    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        await pilot.press("question_mark")

    assert snap_compare(WallApp(desk.settings, desk), terminal_size=(120, 40), run_before=run_before)
