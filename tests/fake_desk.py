"""A fake Desk with fixed data, for the wall's Pilot and snapshot tests and the session's tests.

It has the methods of ``tocsin.desk.desk.Desk`` the app uses, a ManualClock, and records how
the app drives it (started, stopped, how often it was read).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tocsin.config.settings import DemoSourceSettings, DeskSettings, Settings, TopicSettings
from tocsin.scoring.levels import volume_ratio
from tocsin.scoring.snapshot import Snapshot, TopicSnapshot
from tocsin.sources.base import SourceState, SourceStatus
from tocsin.sources.clock import ManualClock
from tocsin.sources.model import Author, Mention, ScoredMention, SentimentScore

T0 = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)  # 10:30 in Paris


def wall_settings(**ui: Any) -> Settings:
    """The demo desk: one topic, one source, Paris time."""
    from tocsin.config.settings import UiSettings

    return Settings(
        desk=DeskSettings(name="Maison Brioche desk", operator="alex", timezone="Europe/Paris"),
        topics=(TopicSettings(id="brioche", name="Maison Brioche", keywords=("maison brioche",)),),
        sources=(DemoSourceSettings(type="demo", id="demo"),),
        ui=UiSettings(**ui),
    )


def topic(
    level: str = "alert",
    rate: float = 42.0,
    baseline: float | None = 3.1,
    negative: float = 0.61,
    neutral: float = 0.30,
    positive: float = 0.09,
    reasons: Sequence[str] = ("volume 14x the usual", "61 % negative"),
    tid: str = "brioche",
    name: str = "Maison Brioche",
) -> TopicSnapshot:
    # A storm building over the last hour: quiet, then a climb.
    climb = [5, 8, 12, 15, 20, 24, 30, 33, 38, 41, 44, 40, 42, 45, 43, 46, 48, 50, 47, 42]
    volume = tuple([2, 3, 1, 2, 4, 3, 2, 3] * 5 + climb)
    trend = (0.12, 0.10, 0.15, 0.11, 0.14, 0.13, 0.20, 0.31, 0.45, 0.52, 0.58, 0.61)
    return TopicSnapshot(
        id=tid,
        name=name,
        rate_per_min=rate,
        baseline_per_min=baseline,
        ratio=None if baseline is None else volume_ratio(rate, baseline),
        mentions=1234,
        unique_authors=512,  # of the 773 mentions in the hour (the volume below)
        sentiment={"negative": negative, "neutral": neutral, "positive": positive},
        volume=volume,
        negative_trend=trend,
        level=level,  # type: ignore[arg-type]
        reasons=tuple(reasons),
    )


def source_status(state: SourceState = SourceState.LIVE, rate: float = 42.0, **kw: Any) -> SourceStatus:
    return SourceStatus(
        id=kw.get("id", "demo"),
        kind=kw.get("kind", "demo"),
        state=state,
        rate_per_min=rate,
        events=kw.get("events", 1500),
        malformed=kw.get("malformed", 0),
        reconnects=kw.get("reconnects", 0),
        last_event_at=T0,
        last_error=kw.get("last_error"),
    )


class FakeDesk:
    """Fixed data the test controls: ``publish`` a snapshot, ``push`` mentions, move the clock."""

    def __init__(self, settings: Settings | None = None, clock: ManualClock | None = None) -> None:
        self.settings = settings or wall_settings()
        self.clock = clock or ManualClock(T0)
        self.sources: list[Any] = []  # no sources: the session resumes and watches nothing
        self.mentions: list[ScoredMention] = []
        self._snapshot = Snapshot(at=self.clock.now(), seq=0, topics={}, sources={}, engine="lexicon")
        self._seq = 0
        self.started = False
        self.stopped = 0
        self.snapshot_reads = 0
        self.feed_reads: list[int] = []
        self.is_finished = False
        self.listeners: list[Callable[[Sequence[ScoredMention]], None]] = []

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped += 1

    def snapshot(self) -> Snapshot:
        self.snapshot_reads += 1
        return self._snapshot

    def feed_since(self, seq: int, limit: int = 2000) -> list[ScoredMention]:
        self.feed_reads.append(seq)
        newer = [m for m in self.mentions if m.seq > seq]
        return newer[-limit:]

    @property
    def finished(self) -> bool:
        return self.is_finished

    def add_batch_listener(self, fn: Callable[[Sequence[ScoredMention]], None]) -> None:
        self.listeners.append(fn)

    def publish(self, *topics: TopicSnapshot, sources: Sequence[SourceStatus] = (), **kw: Any) -> Snapshot:
        self._snapshot = Snapshot(
            at=self.clock.now(),
            seq=self._seq,
            topics={t.id: t for t in topics},
            sources={s.id: s for s in (sources or [source_status()])},
            engine=kw.get("engine", "lexicon"),
            engine_note=kw.get("engine_note"),
            behind=kw.get("behind"),
            judge_note=kw.get("judge_note"),
        )
        return self._snapshot

    def push(
        self,
        text: str,
        *,
        handle: str = "someone",
        label: str = "neutral",
        followers: int | None = 120,
        hashtags: tuple[str, ...] = (),
        at: datetime | None = None,
        name: str | None = None,
        url: str | None = None,
        scores: dict[str, Any] | None = None,
        source: str = "demo",
    ) -> ScoredMention:
        self._seq += 1
        when = at or (self.clock.now() - timedelta(seconds=1))
        mention = Mention(
            uid=f"m{self._seq}",
            source=source,
            text=text,
            created_at=when,
            received_at=when,
            url=url,
            author=Author(handle=handle, name=name, followers=followers),
            hashtags=hashtags,
        )
        item = ScoredMention(
            seq=self._seq,
            mention=mention,
            topics=("brioche",),
            sentiment=SentimentScore(label=label, score=0.8, engine="lexicon"),  # type: ignore[arg-type]
            scores=scores or {},
        )
        self.mentions.append(item)
        return item


STORY = [
    (
        "Just had the worst brioche of my life at @maisonbrioche, stale and overpriced #BriocheGate",
        "negative",
        "lea_mtl",
        2300,
    ),
    ("Is it true Maison Brioche uses margarine now?? #briochegate", "negative", "gourmand75", 540),
    ("Maison Brioche rue Oberkampf still great this morning", "positive", "paulo", 88),
    (
        "Journalists are asking Maison Brioche for comment on the supplier story",
        "neutral",
        "lemonde_conso",
        412000,
    ),
    ("Boycott @maisonbrioche until they answer #BriocheGate", "negative", "angry_baker", 15200),
    ("Crème brûlée brioche is back, finally!", "positive", "sucre_sale", 3100),
    ("they deleted my review lol #briochegate", "negative", "x_anon_9921", 3),
    ("Maison Brioche statement expected at noon according to staff", "neutral", "boulangerie_news", 8700),
]


def tell_story(desk: FakeDesk, times: int = 1) -> None:
    """Push the bad-buzz lines, one minute apart, ending at the desk clock."""
    n = len(STORY) * times
    for i in range(n):
        text, label, handle, followers = STORY[i % len(STORY)]
        at = desk.clock.now() - timedelta(minutes=n - i)
        desk.push(
            text,
            label=label,
            handle=handle,
            followers=followers,
            at=at,
            hashtags=("briochegate",) if "#" in text.lower() else (),
        )


async def open_wall(pilot: Any, app: Any, *, pauses: int = 50) -> None:
    """Wait until the wall has drawn its first frame and started its desk."""
    for _ in range(pauses):
        await pilot.pause()
        if app._desk_running:
            return
    raise AssertionError("the desk never started")


@pytest.fixture
def settings() -> Settings:
    return wall_settings()


@pytest.fixture
def desk(settings: Settings) -> FakeDesk:
    return FakeDesk(settings)


class Kit:
    """The helpers above, for test modules (with --import-mode=importlib they cannot import conftest)."""

    FakeDesk = FakeDesk
    T0 = T0
    STORY = STORY
    settings = staticmethod(wall_settings)
    topic = staticmethod(topic)
    source_status = staticmethod(source_status)
    tell_story = staticmethod(tell_story)
    screen_text = staticmethod(lambda app: screen_text(app))


@pytest.fixture
def kit() -> type[Kit]:
    return Kit


def screen_text(app: Any) -> str:
    """What the terminal shows now, as plain text (the same render the SVG screenshots use)."""
    import io

    from rich.console import Console

    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text(styles=False)
