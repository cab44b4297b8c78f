"""Demo scenarios: the storm is data (a YAML file), this module reads and checks it.

A scenario file describes a timeline relative to the storm start (minutes), fixed accounts, generated
author pools, text templates per language (``tocsin.sources.templates``) and the rates at which each
stream of posts arrives. The player in ``tocsin.sources.demo`` turns it into mentions. Errors name the
file and the key path.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import time
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from tocsin.sources.templates import Template, TemplateError, compile_template

BUNDLED_DIR = "scenarios"


class ScenarioError(ValueError):
    """A scenario file that cannot be played (names the file and the key)."""


# --- the scenario model -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Distribution:
    """A non-negative integer: ``lognormal [mu, sigma]``, ``pareto [alpha, min]`` or ``uniform [lo, hi]``."""

    kind: str
    a: float
    b: float
    cap: int | None = None

    def sample(self, rng: random.Random) -> int:
        if self.kind == "lognormal":
            v = rng.lognormvariate(self.a, self.b)
        elif self.kind == "pareto":
            v = self.b * rng.paretovariate(self.a)
        else:
            v = self.a + rng.random() * (self.b - self.a)
        n = max(0, int(v))
        return min(n, self.cap) if self.cap is not None else n


@dataclass(frozen=True, slots=True)
class Account:
    """A fixed, named account (the trigger, the brand, each journalist)."""

    key: str
    handle: str
    name: str
    followers: int
    following: int
    posts: int
    age_days: float
    verified: bool
    lang: str


@dataclass(frozen=True, slots=True)
class Pool:
    """Authors drawn for a stream: generated people, or a list of fixed accounts."""

    key: str
    size: int = 0
    accounts: tuple[str, ...] = ()
    handles: tuple[Template, ...] = ()
    names: tuple[Template, ...] = ()
    followers: Distribution | None = None
    following: Distribution | None = None
    posts: Distribution | None = None
    age_days: tuple[float, float] = (30.0, 3000.0)
    verified: float = 0.0
    skew: float = 1.0
    """> 1 makes a few members post much more than the rest (index = size × u^skew)."""
    languages: tuple[tuple[str, float], ...] = ()
    """Overrides the scenario's language mix for this pool's members."""


@dataclass(frozen=True, slots=True)
class TemplateGroup:
    key: str
    on_topic: bool
    """True when every text is about the brand (matches the demo topic); False for unrelated chatter."""
    by_lang: Mapping[str, tuple[Template, ...]]


@dataclass(frozen=True, slots=True)
class Post:
    """One post at a fixed minute (the trigger, the statement, the testimony)."""

    id: str
    at: float
    account: str
    lang: str
    templates: str
    engagement: tuple[int, int, int]  # replies, reposts, likes
    reply_to: str | None = None


@dataclass(frozen=True, slots=True)
class ReplyRule:
    post: str
    share: float
    mention_share: float
    """Share of those replies whose text starts with the parent's ``@handle``."""


@dataclass(frozen=True, slots=True)
class MixEntry:
    templates: str
    pool: str
    weight: float


@dataclass(frozen=True, slots=True)
class Stream:
    """Posts arriving at a rate (per simulated minute, linear between points) for a span of the storm."""

    name: str
    mix: tuple[MixEntry, ...]
    rate: tuple[tuple[float, float], ...]
    reply_to: ReplyRule | None = None
    engagement: float = 1.0
    languages: tuple[tuple[str, float], ...] = ()

    def rate_at(self, minute: float) -> float:
        pts = self.rate
        if minute < pts[0][0] or minute > pts[-1][0]:
            return 0.0
        for (t0, r0), (t1, r1) in itertools.pairwise(pts):
            if t0 <= minute <= t1:
                return r0 if t1 == t0 else r0 + (r1 - r0) * (minute - t0) / (t1 - t0)
        return pts[-1][1]

    @property
    def max_rate(self) -> float:
        return max(r for _, r in self.rate)


@dataclass(frozen=True, slots=True)
class Backfill:
    rate_per_hour: float
    daily: tuple[float, ...]  # 24 weights, local hours
    weekly: tuple[float, ...]  # 7 weights, Monday first
    mix: tuple[MixEntry, ...]


@dataclass(frozen=True, slots=True)
class EngagementModel:
    """likes ≈ scale × followers^exponent × lognormal(0, spread); reposts and replies a share of likes."""

    exponent: float = 0.55
    scale: float = 0.2
    spread: float = 0.9
    reposts: tuple[float, float] = (0.05, 0.35)
    replies: tuple[float, float] = (0.02, 0.12)


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    title: str
    path: str
    storm_minutes: float
    real_minutes: float
    lead_in_minutes: float
    """Calm shown between the backfill and the trigger (simulated minutes)."""
    anchor: time
    timezone: ZoneInfo
    url_base: str
    languages: tuple[tuple[str, float], ...]
    lang_unset: float
    first_names: Mapping[str, tuple[str, ...]]
    last_names: Mapping[str, tuple[str, ...]]
    accounts: Mapping[str, Account]
    pools: Mapping[str, Pool]
    templates: Mapping[str, TemplateGroup]
    engagement: EngagementModel
    backfill: Backfill
    posts: tuple[Post, ...]
    streams: tuple[Stream, ...]
    phases: tuple[tuple[str, float], ...]
    """Storm phases: (name, minute from the storm start), in order."""

    @property
    def pace(self) -> float:
        """Simulated seconds per real second at speed 1 (the storm plays in ``real_minutes``)."""
        return self.storm_minutes / self.real_minutes


# --- loading ------------------------------------------------------------------------------------


def bundled_scenarios() -> list[str]:
    """Names of the scenarios shipped with tocsin."""
    folder = resources.files("tocsin.sources") / BUNDLED_DIR
    return sorted(p.name.rsplit(".", 1)[0] for p in folder.iterdir() if p.name.endswith((".yaml", ".yml")))


def scenario_path(name_or_path: str) -> Path:
    """A bundled scenario name (``bad-buzz``) or a path to a scenario file."""
    folder = resources.files("tocsin.sources") / BUNDLED_DIR
    for ext in (".yaml", ".yml"):
        candidate = folder / f"{name_or_path}{ext}"
        if "/" not in name_or_path and candidate.is_file():
            return Path(str(candidate))
    p = Path(name_or_path).expanduser()
    if p.is_file():
        return p
    known = ", ".join(bundled_scenarios())
    raise ScenarioError(f"scenario {name_or_path!r}: not a bundled scenario ({known}) nor a file")


@cache
def _load_cached(path: str, mtime_ns: int) -> Scenario:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise ScenarioError(f"{path}: cannot read: {e}") from None
    except yaml.YAMLError as e:
        raise ScenarioError(f"{path}: not valid YAML: {e}") from None
    return _Reader(path).scenario(raw)


def load_scenario(name_or_path: str) -> Scenario:
    """Load and check a scenario (cached per file version)."""
    p = scenario_path(name_or_path)
    return _load_cached(str(p), p.stat().st_mtime_ns)


class _Reader:
    """Builds a Scenario from the parsed YAML, with errors that say where."""

    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, where: str, msg: str) -> ScenarioError:
        return ScenarioError(f"{self.path}: {where}: {msg}")

    def get(
        self, obj: Mapping[str, Any], key: str, where: str, kind: type | tuple[type, ...], default: Any = ...
    ) -> Any:
        if key not in obj:
            if default is ...:
                raise self.fail(f"{where}{key}", "required")
            return default
        v = obj[key]
        if kind is float and isinstance(v, int) and not isinstance(v, bool):
            return float(v)
        if not isinstance(v, kind) or (isinstance(v, bool) and kind in (int, float)):
            name = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise self.fail(f"{where}{key}", f"must be a {name}")
        return v

    def mapping(self, obj: Mapping[str, Any], key: str, where: str = "", default: Any = ...) -> Any:
        return self.get(obj, key, where, dict, default)

    def weights(self, obj: Any, where: str) -> tuple[tuple[str, float], ...]:
        if not isinstance(obj, dict) or not obj:
            raise self.fail(where, "must map names to weights")
        out = []
        for k, v in obj.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
                raise self.fail(f"{where}.{k}", "must be a non-negative number")
            out.append((str(k), float(v)))
        if sum(w for _, w in out) <= 0:
            raise self.fail(where, "weights must not all be zero")
        return tuple(out)

    def pace(self, pace: dict[str, Any]) -> tuple[float, float, float]:
        """(storm minutes, real minutes, lead-in minutes)."""
        storm_minutes = self.get(pace, "storm_minutes", "pace.", float)
        real_minutes = self.get(pace, "real_minutes", "pace.", float)
        lead_in = self.get(pace, "lead_in_minutes", "pace.", float, 0.0)
        if storm_minutes <= 0 or real_minutes <= 0 or lead_in < 0:
            raise self.fail("pace", "storm_minutes and real_minutes must be positive, lead_in_minutes >= 0")
        return storm_minutes, real_minutes, lead_in

    def anchor(self, anchor_raw: dict[str, Any]) -> tuple[time, ZoneInfo]:
        """The storm's local start time and its time zone."""
        try:
            hh, mm = str(self.get(anchor_raw, "local_time", "anchor.", str)).split(":")
            anchor = time(int(hh), int(mm))
        except ValueError:
            raise self.fail("anchor.local_time", "must be HH:MM") from None
        try:
            tz = ZoneInfo(self.get(anchor_raw, "timezone", "anchor.", str))
        except (ZoneInfoNotFoundError, ValueError):
            raise self.fail("anchor.timezone", "unknown time zone") from None
        return anchor, tz

    def names(
        self, raw: dict[str, Any], languages: tuple[tuple[str, float], ...]
    ) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
        """First and last names by language; every language the scenario speaks needs some."""
        first_names: dict[str, tuple[str, ...]] = {}
        last_names: dict[str, tuple[str, ...]] = {}
        for k, v in raw.items():
            if not isinstance(v, dict):
                raise self.fail(f"names.{k}", "must be {first: [...], last: [...]}")
            first_names[str(k)] = self.strings(v.get("first"), f"names.{k}.first")
            last_names[str(k)] = self.strings(v.get("last"), f"names.{k}.last")
        for lang, _ in languages:
            if lang not in first_names:
                raise self.fail("names", f"no names for language {lang!r}")
        return first_names, last_names

    def template_group(
        self, key: str, v: Any, compile_all: Callable[[Sequence[str], str], tuple[Template, ...]]
    ) -> TemplateGroup:
        """One group of texts by language, on the topic or not."""
        where = f"templates.{key}"
        if not isinstance(v, dict):
            raise self.fail(where, "must be a mapping")
        on_topic = self.get(v, "on_topic", f"{where}.", bool)
        by_lang = {
            str(lang): compile_all(self.strings(texts, f"{where}.{lang}"), f"{where}.{lang}")
            for lang, texts in v.items()
            if lang != "on_topic"
        }
        if not by_lang:
            raise self.fail(where, "no texts")
        return TemplateGroup(key, on_topic, by_lang)

    def engagement(self, eng_raw: dict[str, Any]) -> EngagementModel:
        return EngagementModel(
            exponent=self.get(eng_raw, "exponent", "engagement.", float, 0.55),
            scale=self.get(eng_raw, "scale", "engagement.", float, 0.2),
            spread=self.get(eng_raw, "spread", "engagement.", float, 0.9),
            reposts=self.pair(eng_raw.get("reposts", [0.05, 0.35]), "engagement.reposts"),
            replies=self.pair(eng_raw.get("replies", [0.02, 0.12]), "engagement.replies"),
        )

    def backfill(
        self, bf: dict[str, Any], pools: dict[str, Any], templates: dict[str, TemplateGroup]
    ) -> Backfill:
        """The everyday volume before the storm: an hourly rate shaped by hour of day and day of week."""
        daily = tuple(float(x) for x in self.get(bf, "daily", "backfill.", list))
        weekly = tuple(float(x) for x in self.get(bf, "weekly", "backfill.", list))
        if len(daily) != 24 or len(weekly) != 7 or min(daily + weekly) < 0:
            raise self.fail("backfill", "daily needs 24 weights and weekly 7, none negative")
        return Backfill(
            rate_per_hour=self.get(bf, "rate_per_hour", "backfill.", float),
            daily=daily,
            weekly=weekly,
            mix=self.mix(bf.get("mix"), "backfill.mix", pools, templates),
        )

    def phases(self, raw: list[Any]) -> list[tuple[str, float]]:
        """Named moments of the storm, ``[name, minute]``, in time order."""
        phases = []
        for i, ph in enumerate(raw):
            if not (
                isinstance(ph, list)
                and len(ph) == 2
                and isinstance(ph[0], str)
                and isinstance(ph[1], (int, float))
            ):
                raise self.fail(f"phases[{i}]", "must be [name, minute]")
            phases.append((ph[0], float(ph[1])))
        if [m for _, m in phases] != sorted(m for _, m in phases):
            raise self.fail("phases", "must be in time order")
        return phases

    def scenario(self, raw: Any) -> Scenario:
        if not isinstance(raw, dict):
            raise self.fail("top level", "must be a mapping")
        name = self.get(raw, "name", "", str)
        storm_minutes, real_minutes, lead_in = self.pace(self.mapping(raw, "pace"))
        anchor, tz = self.anchor(self.mapping(raw, "anchor"))
        url_base = self.get(raw, "url_base", "", str).rstrip("/")
        languages = self.weights(raw.get("languages"), "languages")
        lang_unset = self.get(raw, "lang_unset", "", float, 0.0)

        vocab = {
            str(k): self.strings(v, f"vocab.{k}") for k, v in self.mapping(raw, "vocab", default={}).items()
        }
        accounts = self.accounts(self.mapping(raw, "accounts"), languages)
        handles = {k: a.handle for k, a in accounts.items()}

        def compile_all(items: Sequence[str], where: str) -> tuple[Template, ...]:
            try:
                return tuple(
                    compile_template(
                        t, where=f"{self.path}: {where}", vocab=vocab, handles=handles, url_base=url_base
                    )
                    for t in items
                )
            except TemplateError as e:
                raise ScenarioError(str(e)) from None

        first_names, last_names = self.names(self.mapping(raw, "names"), languages)

        pools = {
            str(k): self.pool(str(k), v, accounts, compile_all) for k, v in self.mapping(raw, "pools").items()
        }
        templates = {
            str(k): self.template_group(str(k), v, compile_all)
            for k, v in self.mapping(raw, "templates").items()
        }
        engagement = self.engagement(self.mapping(raw, "engagement", default={}))
        backfill = self.backfill(self.mapping(raw, "backfill"), pools, templates)
        posts = tuple(
            self.post(p, f"posts[{i}]", accounts, templates)
            for i, p in enumerate(self.get(raw, "posts", "", list))
        )
        post_ids = {p.id for p in posts}
        streams = tuple(
            self.stream(s, f"streams[{i}]", pools, templates, post_ids)
            for i, s in enumerate(self.get(raw, "streams", "", list))
        )
        phases = self.phases(self.get(raw, "phases", "", list))
        return Scenario(
            name=name,
            title=self.get(raw, "title", "", str, name),
            path=self.path,
            storm_minutes=storm_minutes,
            real_minutes=real_minutes,
            lead_in_minutes=lead_in,
            anchor=anchor,
            timezone=tz,
            url_base=url_base,
            languages=languages,
            lang_unset=lang_unset,
            first_names=first_names,
            last_names=last_names,
            accounts=accounts,
            pools=pools,
            templates=templates,
            engagement=engagement,
            backfill=backfill,
            posts=posts,
            streams=streams,
            phases=tuple(phases),
        )

    def strings(self, v: Any, where: str) -> tuple[str, ...]:
        if not isinstance(v, list) or not v or not all(isinstance(s, str) for s in v):
            raise self.fail(where, "must be a non-empty list of strings")
        return tuple(v)

    def pair(self, v: Any, where: str) -> tuple[float, float]:
        if not (isinstance(v, list) and len(v) == 2 and all(isinstance(x, (int, float)) for x in v)):
            raise self.fail(where, "must be [low, high]")
        return float(v[0]), float(v[1])

    def distribution(self, v: Any, where: str) -> Distribution:
        if not isinstance(v, dict):
            raise self.fail(where, "must be {lognormal|pareto|uniform: [a, b], max: N}")
        cap = v.get("max")
        for kind in ("lognormal", "pareto", "uniform"):
            if kind in v:
                a, b = self.pair(v[kind], f"{where}.{kind}")
                return Distribution(kind, a, b, int(cap) if cap is not None else None)
        raise self.fail(where, "needs one of lognormal, pareto, uniform")

    def accounts(self, raw: Mapping[str, Any], languages: Any) -> dict[str, Account]:
        out = {}
        for key, v in raw.items():
            where = f"accounts.{key}."
            if not isinstance(v, dict):
                raise self.fail(where[:-1], "must be a mapping")
            out[str(key)] = Account(
                key=str(key),
                handle=self.get(v, "handle", where, str),
                name=self.get(v, "name", where, str),
                followers=self.get(v, "followers", where, int),
                following=self.get(v, "following", where, int),
                posts=self.get(v, "posts", where, int),
                age_days=self.get(v, "age_days", where, float),
                verified=self.get(v, "verified", where, bool, False),
                lang=self.get(v, "lang", where, str, languages[0][0]),
            )
        return out

    def pool(self, key: str, v: Any, accounts: Mapping[str, Account], compile_all) -> Pool:
        where = f"pools.{key}"
        if not isinstance(v, dict):
            raise self.fail(where, "must be a mapping")
        if "accounts" in v:
            keys = self.strings(v["accounts"], f"{where}.accounts")
            for k in keys:
                if k not in accounts:
                    raise self.fail(f"{where}.accounts", f"unknown account {k!r}")
            return Pool(key=key, accounts=keys)
        age = self.pair(v.get("age_days", [30, 3000]), f"{where}.age_days")
        return Pool(
            key=key,
            size=self.get(v, "size", f"{where}.", int),
            handles=compile_all(self.strings(v.get("handles"), f"{where}.handles"), f"{where}.handles"),
            names=compile_all(self.strings(v.get("names"), f"{where}.names"), f"{where}.names"),
            followers=self.distribution(v.get("followers"), f"{where}.followers"),
            following=self.distribution(v.get("following"), f"{where}.following"),
            posts=self.distribution(v.get("posts"), f"{where}.posts"),
            age_days=age,
            verified=self.get(v, "verified", f"{where}.", float, 0.0),
            skew=self.get(v, "skew", f"{where}.", float, 1.0),
            languages=self.weights(v["languages"], f"{where}.languages") if "languages" in v else (),
        )

    def mix(
        self, v: Any, where: str, pools: Mapping[str, Pool], templates: Mapping[str, TemplateGroup]
    ) -> tuple[MixEntry, ...]:
        if not isinstance(v, list) or not v:
            raise self.fail(where, "must be a non-empty list of {templates, pool, weight}")
        return tuple(self.mix_entry(e, f"{where}[{i}].", pools, templates) for i, e in enumerate(v))

    def mix_entry(
        self, e: Any, w: str, pools: Mapping[str, Pool], templates: Mapping[str, TemplateGroup]
    ) -> MixEntry:
        if not isinstance(e, dict):
            raise self.fail(w[:-1], "must be a mapping")
        t, p = self.get(e, "templates", w, str), self.get(e, "pool", w, str)
        if t not in templates:
            raise self.fail(f"{w}templates", f"unknown template group {t!r}")
        if p not in pools:
            raise self.fail(f"{w}pool", f"unknown pool {p!r}")
        return MixEntry(t, p, self.get(e, "weight", w, float, 1.0))

    def post(
        self, v: Any, where: str, accounts: Mapping[str, Account], templates: Mapping[str, TemplateGroup]
    ) -> Post:
        if not isinstance(v, dict):
            raise self.fail(where, "must be a mapping")
        w = where + "."
        account = self.get(v, "account", w, str)
        if account not in accounts:
            raise self.fail(f"{w}account", f"unknown account {account!r}")
        group = self.get(v, "templates", w, str)
        if group not in templates:
            raise self.fail(f"{w}templates", f"unknown template group {group!r}")
        eng = self.mapping(v, "engagement", w, {})
        return Post(
            id=self.get(v, "id", w, str),
            at=self.get(v, "at", w, float),
            account=account,
            lang=self.get(v, "lang", w, str, accounts[account].lang),
            templates=group,
            engagement=(
                self.get(eng, "replies", f"{w}engagement.", int, 0),
                self.get(eng, "reposts", f"{w}engagement.", int, 0),
                self.get(eng, "likes", f"{w}engagement.", int, 0),
            ),
            reply_to=self.get(v, "reply_to", w, str, None),
        )

    def stream(self, v: Any, where: str, pools, templates, post_ids: set[str]) -> Stream:
        if not isinstance(v, dict):
            raise self.fail(where, "must be a mapping")
        w = where + "."
        if "mix" in v:
            mix = self.mix(v["mix"], f"{w}mix", pools, templates)
        else:
            mix = (self.mix_entry(v, w, pools, templates),)
        rate_raw = self.get(v, "rate", w, list)
        rate = tuple(self.pair(p, f"{w}rate") for p in rate_raw)
        if len(rate) < 2 or [t for t, _ in rate] != sorted(t for t, _ in rate) or min(r for _, r in rate) < 0:
            raise self.fail(f"{w}rate", "needs at least two [minute, per_minute] points in time order")
        reply = None
        if "reply_to" in v:
            r = self.mapping(v, "reply_to", w)
            post = self.get(r, "post", f"{w}reply_to.", str)
            if post not in post_ids:
                raise self.fail(f"{w}reply_to.post", f"unknown post {post!r}")
            reply = ReplyRule(
                post,
                self.get(r, "share", f"{w}reply_to.", float),
                self.get(r, "mention_share", f"{w}reply_to.", float, 0.5),
            )
        return Stream(
            name=self.get(v, "name", w, str),
            mix=mix,
            rate=rate,
            reply_to=reply,
            engagement=self.get(v, "engagement", w, float, 1.0),
            languages=self.weights(v["languages"], f"{w}languages") if "languages" in v else (),
        )
