"""The demo source: plays a scenario (by default the bundled #BriocheGate storm) on the desk clock.

The story is data (``scenarios/*.yaml``, read by ``tocsin.sources.scenario``); this module is a generic
player. Everything random comes from one ``random.Random(seed)``, so a seed always gives the same
mentions: uids, times, texts and authors.

Timeline: ``backfill_days`` of ordinary chatter before the storm start are yielded at once (the clock is
moved forward to each one's time, so baselines have history); then each storm mention is held until the
simulated clock reaches its time. ``build_clock`` and the source agree on the times through
``scenario_timeline``.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tocsin.config.settings import DemoSourceSettings, Settings
from tocsin.config.text import fold
from tocsin.sources.base import Source, SourceState
from tocsin.sources.clock import Clock
from tocsin.sources.model import Author, Engagement, Mention, extract_hashtags
from tocsin.sources.pacing import StopWatch, wait_until
from tocsin.sources.scenario import (
    Account,
    MixEntry,
    Pool,
    Post,
    Scenario,
    Stream,
    load_scenario,
)

# Yield to the event loop this often while the backfill pours out, so the desk stays responsive.
_BACKFILL_YIELD_EVERY = 200


@dataclass(frozen=True, slots=True)
class DemoTimeline:
    """Where a demo run sits in absolute time."""

    backfill_start: datetime
    storm_start: datetime
    end: datetime
    pace: float
    """Simulated seconds per real second at speed 1."""


def storm_start_on(scenario: Scenario, day_of: datetime) -> datetime:
    """The scenario's anchor time (e.g. 09:30 Europe/Paris) on the local date of ``day_of``, in UTC."""
    local_day = day_of.astimezone(scenario.timezone).date()
    return datetime.combine(local_day, scenario.anchor, tzinfo=scenario.timezone).astimezone(UTC)


def scenario_timeline(
    settings: DemoSourceSettings,
    *,
    now: datetime | None = None,
    storm_start: datetime | None = None,
) -> DemoTimeline:
    """The demo's absolute timeline: the storm starts at ``storm_start``, else today at the anchor time.

    "Today" is the scenario's local date of ``now`` (default: the real time). The backfill ends at the
    storm start; the desk clock (``build_clock``) starts at the backfill start.
    """
    scenario = load_scenario(settings.scenario)
    if storm_start is None:
        storm_start = storm_start_on(scenario, now or datetime.now(UTC))
    storm_start = storm_start.astimezone(UTC)
    return DemoTimeline(
        backfill_start=storm_start - timedelta(days=settings.backfill_days),
        storm_start=storm_start,
        end=storm_start + timedelta(minutes=scenario.storm_minutes),
        pace=scenario.pace,
    )


def storm_start_for_clock(settings: DemoSourceSettings, clock_now: datetime) -> datetime:
    """The storm start for a clock that was started at the backfill start (see ``build_clock``).

    Inverse of ``scenario_timeline``: a clock showing the backfill start belongs to the storm one
    ``backfill_days`` later, so the source recovers the same storm start from the clock alone.
    """
    scenario = load_scenario(settings.scenario)
    return storm_start_on(scenario, clock_now + timedelta(days=settings.backfill_days))


# --- the player ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, order=True)
class _Slot:
    """One scheduled mention: when (minutes from the storm start) and what produces it."""

    minute: float
    order: int
    """Ties at the same minute keep the order they were scheduled in."""
    what: Post | Stream | None = field(compare=False)  # None = backfill chatter


@dataclass(frozen=True, slots=True)
class _Member:
    author: Author
    lang: str


def _ascii_handle(s: str) -> str:
    """A handle a platform would accept, made from a display name: folded, then ASCII letters, digits,
    dots and underscores only (``Zoé Lefèvre`` → ``zoelefevre``)."""
    s = fold(s, max_len=None).encode("ascii", "ignore").decode()
    return "".join(c for c in s if c.isalnum() or c in "._")[:30].strip("._") or "user"


def _weighted(rng: random.Random, items: tuple[tuple[str, float], ...]) -> str:
    total = sum(w for _, w in items)
    x = rng.random() * total
    for k, w in items:
        x -= w
        if x < 0:
            return k
    return items[-1][0]


class ScenarioPlayer:
    """Turns a scenario into a deterministic, time-ordered list of mentions for one seed.

    ``schedule()`` fixes every mention's time first; ``render()`` then builds each one in time order,
    drawing authors and texts from the same rng, so the result depends on the seed alone.
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        source_id: str,
        seed: int,
        storm_start: datetime,
        backfill_days: int,
    ) -> None:
        self.scenario = scenario
        self.source_id = source_id
        self.seed = seed
        self.storm_start = storm_start.astimezone(UTC)
        self.backfill_days = backfill_days
        self.rng = random.Random(seed)
        self._members: dict[tuple[str, int], _Member] = {}
        self._handles_taken: set[str] = {a.handle for a in scenario.accounts.values()}
        self._emitted_posts: dict[str, Mention] = {}
        self._count = 0
        self._uid_prefix = f"{scenario.name}-{seed}-{self.storm_start:%Y%m%d%H%M}-"
        self._account_authors = {k: self._account_author(a) for k, a in scenario.accounts.items()}

    # -- time ---------------------------------------------------------------------------------

    def at(self, minute: float) -> datetime:
        """Absolute time of a scenario minute, to the millisecond (so the JSON form round-trips)."""
        return self.storm_start + timedelta(milliseconds=round(minute * 60_000))

    def schedule(self) -> list[_Slot]:
        """Every mention's time, in order: backfill, fixed posts, then each stream (Poisson, thinned)."""
        rng, sc = self.rng, self.scenario
        slots: list[_Slot] = []
        order = 0

        # backfill: rate_per_hour × daily(local hour) × weekly(local weekday), mean-normalised
        bf = sc.backfill
        d_mean = sum(bf.daily) / 24 or 1.0
        w_mean = sum(bf.weekly) / 7 or 1.0
        peak = bf.rate_per_hour / 60 * max(bf.daily) / d_mean * max(bf.weekly) / w_mean
        t = -self.backfill_days * 1440.0
        while peak > 0:
            t += rng.expovariate(peak)
            if t >= 0:
                break
            local = self.at(t).astimezone(sc.timezone)
            rate = bf.rate_per_hour / 60 * bf.daily[local.hour] / d_mean * bf.weekly[local.weekday()] / w_mean
            if rng.random() * peak < rate:
                slots.append(_Slot(t, order, None))
                order += 1

        for post in sc.posts:
            slots.append(_Slot(post.at, order, post))
            order += 1

        for stream in sc.streams:
            top = stream.max_rate
            if top <= 0:
                continue
            t, stop = stream.rate[0][0], stream.rate[-1][0]
            while True:
                t += rng.expovariate(top)
                if t > stop:
                    break
                if rng.random() * top < stream.rate_at(t):
                    slots.append(_Slot(t, order, stream))
                    order += 1
        slots.sort()
        return slots

    # -- authors -------------------------------------------------------------------------------

    def _account_author(self, a: Account) -> _Member:
        created = (self.storm_start - timedelta(days=a.age_days)).replace(microsecond=0)
        author = Author(
            handle=a.handle,
            name=a.name,
            followers=a.followers,
            following=a.following,
            posts=a.posts,
            created_at=created,
            verified=a.verified,
            bot=None,  # no platform says so: the bot score is the desk's job
        )
        return _Member(author, a.lang)

    def _pick(self, pool: Pool) -> _Member:
        rng = self.rng
        if pool.accounts:
            return self._account_authors[pool.accounts[int(rng.random() * len(pool.accounts))]]
        idx = min(pool.size - 1, int(pool.size * rng.random() ** pool.skew))
        member = self._members.get((pool.key, idx))
        if member is None:
            member = self._members[(pool.key, idx)] = self._new_member(pool)
        return member

    def _new_member(self, pool: Pool) -> _Member:
        rng, sc = self.rng, self.scenario
        lang = _weighted(rng, pool.languages or sc.languages)
        names = sc.first_names.get(lang) or next(iter(sc.first_names.values()))
        lasts = sc.last_names.get(lang) or next(iter(sc.last_names.values()))
        first = names[int(rng.random() * len(names))]
        last = lasts[int(rng.random() * len(lasts))]
        ctx = {"first": first, "last": last, "f": first[0], "l": last[0]}
        handle = _ascii_handle(pool.handles[int(rng.random() * len(pool.handles))].render(rng, ctx))
        while handle in self._handles_taken:  # a second "camille_martin" gets digits, as on any platform
            handle = f"{handle[:26]}{int(rng.random() * 10_000)}"
        self._handles_taken.add(handle)
        name = pool.names[int(rng.random() * len(pool.names))].render(rng, ctx)
        lo, hi = pool.age_days
        created = self.storm_start - timedelta(days=lo + rng.random() * (hi - lo))
        assert pool.followers and pool.following and pool.posts
        author = Author(
            handle=handle,
            name=name,
            followers=pool.followers.sample(rng),
            following=pool.following.sample(rng),
            posts=pool.posts.sample(rng),
            created_at=created.replace(microsecond=0),
            verified=rng.random() < pool.verified,
            bot=None,
        )
        return _Member(author, lang)

    # -- mentions ------------------------------------------------------------------------------

    def _engagement(self, followers: int, factor: float) -> Engagement:
        rng, em = self.rng, self.scenario.engagement
        likes = int(em.scale * (followers + 1) ** em.exponent * rng.lognormvariate(0.0, em.spread) * factor)
        reposts = int(likes * (em.reposts[0] + rng.random() * (em.reposts[1] - em.reposts[0])))
        replies = int(likes * (em.replies[0] + rng.random() * (em.replies[1] - em.replies[0])))
        return Engagement(replies=replies, reposts=reposts, likes=likes)

    def render(self, slot: _Slot, received_at: datetime | None = None) -> Mention:
        """Build the mention for a slot. Call in schedule order: the rng draws depend on it."""
        rng, sc = self.rng, self.scenario
        what = slot.what
        reply_to: str | None = None
        prefix = ""
        if isinstance(what, Post):
            member = self._account_authors[what.account]
            group, lang, stream_name = what.templates, what.lang, what.id
            parent = self._emitted_posts.get(what.reply_to) if what.reply_to else None
            if parent:
                reply_to = parent.uid
        else:
            mix: tuple[MixEntry, ...] = sc.backfill.mix if what is None else what.mix
            entry = mix[0] if len(mix) == 1 else self._pick_mix(mix)
            member = self._pick(sc.pools[entry.pool])
            group, lang = entry.templates, member.lang
            if what is not None and what.languages:
                lang = _weighted(rng, what.languages)
            stream_name = "backfill" if what is None else what.name
        templates = sc.templates[group]
        options = templates.by_lang.get(lang)
        if options is None:  # the group is not written in the author's language: use one it is
            lang = sorted(templates.by_lang)[int(rng.random() * len(templates.by_lang))]
            options = templates.by_lang[lang]
        text = options[int(rng.random() * len(options))].render(rng)
        if isinstance(what, Stream) and what.reply_to is not None and rng.random() < what.reply_to.share:
            parent = self._emitted_posts.get(what.reply_to.post)
            if parent is not None:
                reply_to = parent.uid
                if rng.random() < what.reply_to.mention_share:
                    prefix = f"@{parent.author.handle} "
        text = prefix + " ".join(text.split())  # drop doubled spaces left by empty choices
        if isinstance(what, Post):
            r, s, li = what.engagement
            engagement = Engagement(replies=r, reposts=s, likes=li)
        else:
            factor = 1.0 if what is None else what.engagement
            engagement = self._engagement(member.author.followers or 0, factor)
        lang_field = None if rng.random() < sc.lang_unset else lang
        created = self.at(slot.minute)
        uid = f"{self._uid_prefix}{self._count:05d}"
        self._count += 1
        mention = Mention(
            uid=uid,
            source=self.source_id,
            text=text,
            created_at=created,
            received_at=received_at or created,
            url=f"{sc.url_base}/@{member.author.handle}/{uid}",
            author=member.author,
            lang=lang_field,
            hashtags=extract_hashtags(text),
            engagement=engagement,
            reply_to=reply_to,
            raw_ref=f"demo:{uid}",
            extra={
                "scenario": sc.name,
                "stream": stream_name,
                "templates": group,
                "on_topic": templates.on_topic,
            },
        )
        if isinstance(what, Post):
            self._emitted_posts[what.id] = mention
        return mention

    def _pick_mix(self, mix: tuple[MixEntry, ...]) -> MixEntry:
        total = sum(e.weight for e in mix)
        x = self.rng.random() * total
        for e in mix:
            x -= e.weight
            if x < 0:
                return e
        return mix[-1]

    def mentions(self) -> Iterator[Mention]:
        """The whole scenario at once, in time order (``received_at`` = ``created_at``)."""
        for slot in self.schedule():
            yield self.render(slot)


# --- the source ---------------------------------------------------------------------------------


class DemoSource(Source):
    """A scenario played on the desk clock. ``speed`` is applied by the clock (see ``build_clock``)."""

    kind = "demo"

    def __init__(
        self,
        settings: DemoSourceSettings,
        clock: Clock,
        *,
        storm_start: datetime | None = None,
    ) -> None:
        super().__init__(settings.id, clock)
        self.settings = settings
        self.scenario = load_scenario(settings.scenario)
        self.timeline = scenario_timeline(settings, storm_start=storm_start)

    @property
    def phases(self) -> list[tuple[str, datetime]]:
        """The scenario's phases with their simulated start times (the backfill first)."""
        start = self.timeline.storm_start
        return [("backfill", self.timeline.backfill_start)] + [
            (name, start + timedelta(minutes=m)) for name, m in self.scenario.phases
        ]

    def player(self) -> ScenarioPlayer:
        """A fresh player for this source's seed and timeline (deterministic)."""
        return ScenarioPlayer(
            self.scenario,
            source_id=self.id,
            seed=self.settings.seed,
            storm_start=self.timeline.storm_start,
            backfill_days=self.settings.backfill_days,
        )

    async def stream(self) -> AsyncIterator[Mention]:
        """Yield the backfill at once, then each storm mention when the clock reaches its time."""
        player = self.player()
        watch = StopWatch(self._stopping)
        advance = getattr(self.clock, "advance_to", None)
        storm_start = self.timeline.storm_start
        lead_in = storm_start - timedelta(minutes=self.scenario.lead_in_minutes)
        backfilled = False
        try:
            self.health.set_state(SourceState.LIVE)
            n = 0
            for slot in player.schedule():
                if self.stopping:
                    return
                when = player.at(slot.minute)
                if when < storm_start:
                    if advance is not None:
                        advance(when)
                    n += 1
                    if n % _BACKFILL_YIELD_EVERY == 0:
                        await asyncio.sleep(0)
                else:
                    if not backfilled and advance is not None:
                        advance(lead_in)  # skip the quiet end of the backfill: a short calm, then the storm
                    backfilled = True
                    if not await wait_until(self.clock, when, watch):
                        return
                mention = player.render(slot, received_at=self.clock.now())
                self.health.event()
                yield mention
            # the scenario's end is a time too: the calm lasts until then
            if self.stopping or not await wait_until(self.clock, self.timeline.end, watch):
                return
            self.health.set_state(SourceState.FINISHED)
        finally:
            watch.close()


def build(
    source: DemoSourceSettings, clock: Clock, settings: Settings | None = None, *, cursor: str | None = None
) -> DemoSource:
    """The source for a ``type: demo`` entry. The desk's clock was started at the backfill start
    (``registry.build_clock``): the same storm is recovered from it. A demo replays whole: no cursor."""
    return DemoSource(source, clock, storm_start=storm_start_for_clock(source, clock.now()))
