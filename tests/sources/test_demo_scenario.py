"""Scenario files: the template language, clear errors, a generic player, work for the topic matcher."""

from __future__ import annotations

import random
import re
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from tocsin.config.loader import load_default
from tocsin.scoring.topics import TopicMatcher
from tocsin.sources.demo import ScenarioPlayer
from tocsin.sources.model import Mention
from tocsin.sources.scenario import ScenarioError, bundled_scenarios, load_scenario, scenario_path
from tocsin.sources.templates import TemplateError, compile_template

STORM = datetime(2026, 11, 21, 8, 30, tzinfo=UTC)
VOCAB = {"tag": ("#BriocheGate",), "city": ("Lyon", "Lille")}


def render(text: str, seed: int = 1, **ctx: str) -> str:
    t = compile_template(
        text, where="t", vocab=VOCAB, handles={"brand": "maisonbrioche"}, url_base="https://x.example"
    )
    return t.render(random.Random(seed), ctx)


# --- templates ----------------------------------------------------------------------------------


def test_template_fields() -> None:
    assert render("{@brand} {tag}") == "@maisonbrioche #BriocheGate"
    assert render("hi {first} {l}.", first="Léa", l="M") == "hi Léa M."
    assert re.fullmatch(r"user\d{8}", render("user{d8}"))
    assert re.fullmatch(r"see https://x\.example/news/[a-z2-9]{8}", render("see {url:news}"))
    seen = {render("{a|b|}-{city}", seed=s) for s in range(200)}
    assert seen == {f"{x}-{c}" for x in ("a", "b", "") for c in ("Lyon", "Lille")}


def test_nested_choices_expand_their_fields() -> None:
    seen = {render("go{!| {tag}| in {city}}", seed=s) for s in range(200)}
    assert seen == {"go!", "go #BriocheGate", "go in Lyon", "go in Lille"}


def test_same_seed_same_text() -> None:
    text = "{a|b|c}{d4}{url:v}{city}"
    assert [render(text, seed=s) for s in range(20)] == [render(text, seed=s) for s in range(20)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{nope}", "unknown field {nope}"),
        ("{@ghost}", "unknown account '@ghost'"),
        ("open {a|b", "unclosed '{'"),
        ("close }", "unbalanced '}'"),
        ("{{tag}}", "a field inside a field must be one of several choices"),
    ],
)
def test_template_errors_say_what_and_where(text: str, message: str) -> None:
    with pytest.raises(TemplateError, match=re.escape(message)) as err:
        render(text)
    assert str(err.value).startswith("t: ")


# --- files --------------------------------------------------------------------------------------


def test_bundled_scenario_is_found_by_name() -> None:
    assert "bad-buzz" in bundled_scenarios()
    sc = load_scenario("bad-buzz")
    assert sc.name == "bad-buzz"
    assert sc.pace == pytest.approx(42)
    assert load_scenario("bad-buzz") is sc  # parsed once


def test_unknown_scenario_lists_the_bundled_ones() -> None:
    with pytest.raises(ScenarioError, match=r"'storm-of-the-century': not a bundled scenario \(bad-buzz"):
        scenario_path("storm-of-the-century")


def _broken(tmp_path: Path, change) -> Path:
    raw = yaml.safe_load(scenario_path("bad-buzz").read_text(encoding="utf-8"))
    change(raw)
    p = tmp_path / "broken.yaml"
    p.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return p


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r["streams"][0].update(pool="nobody"), "streams[0].pool: unknown pool 'nobody'"),
        (lambda r: r["posts"][0].update(account="ghost"), "posts[0].account: unknown account 'ghost'"),
        (lambda r: r["pace"].pop("real_minutes"), "pace.real_minutes: required"),
        (lambda r: r["anchor"].update(timezone="Mars/Olympus"), "anchor.timezone: unknown time zone"),
        (lambda r: r["backfill"].update(daily=[1, 2]), "backfill: daily needs 24 weights"),
        (lambda r: r["streams"][1].update(rate=[[10, 1], [5, 2]]), "streams[1].rate: needs at least two"),
        (lambda r: r["streams"][0]["reply_to"].update(post="x"), "streams[0].reply_to.post: unknown post"),
        (lambda r: r["templates"]["praise"].update(fr=["{oops}"]), "templates.praise.fr: unknown field"),
        (lambda r: r["pools"]["crowd"].update(followers={"zipf": [1]}), "pools.crowd.followers: needs one"),
    ],
)
def test_broken_scenario_files_name_the_key(tmp_path: Path, change, message: str) -> None:
    p = _broken(tmp_path, change)
    with pytest.raises(ScenarioError, match=re.escape(message)) as err:
        load_scenario(str(p))
    assert str(p) in str(err.value)


def test_a_custom_scenario_file_plays_with_the_same_player(tmp_path: Path) -> None:
    p = tmp_path / "tiny.yaml"
    p.write_text(
        """
name: tiny
pace: {storm_minutes: 60, real_minutes: 1}
anchor: {local_time: "18:00", timezone: UTC}
url_base: https://demo.example
languages: {en: 1}
names: {en: {first: [Ann], last: [Lee]}}
accounts:
  shop: {handle: acme, name: ACME, followers: 5000, following: 10, posts: 100, age_days: 900, verified: true}
pools:
  fans: {size: 5, handles: ["{first}{d3}"], names: ["{first} {last}"], followers: {uniform: [10, 20]},
         following: {uniform: [1, 2]}, posts: {uniform: [1, 2]}}
templates:
  hello: {on_topic: true, en: ["{@shop} is {great|fine}"]}
  launch: {on_topic: true, en: ["We launched {url:launch}"]}
backfill: {rate_per_hour: 0, daily: [1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1],
           weekly: [1,1,1,1,1,1,1], mix: [{templates: hello, pool: fans}]}
posts: [{id: launch, at: 0, account: shop, templates: launch}]
streams: [{name: buzz, templates: hello, pool: fans, rate: [[0, 10], [60, 10]],
           reply_to: {post: launch, share: 1, mention_share: 1}}]
phases: [[launch, 0], [end, 60]]
""",
        encoding="utf-8",
    )
    sc = load_scenario(str(p))
    start = datetime(2026, 1, 1, 18, tzinfo=UTC)
    ms = list(ScenarioPlayer(sc, source_id="t", seed=3, storm_start=start, backfill_days=1).mentions())
    assert ms[0].author.handle == "acme" and ms[0].text.startswith("We launched https://demo.example/launch/")
    assert 400 <= len(ms) <= 800  # 10 a minute for an hour
    assert all(m.text in ("@acme @acme is great", "@acme @acme is fine") for m in ms[1:])
    assert {m.reply_to for m in ms[1:]} == {ms[0].uid}
    assert len({m.author.handle for m in ms[1:]}) <= 5


# --- topic matching has work to do --------------------------------------------------------------


@pytest.fixture(scope="module")
def storm() -> list[Mention]:
    sc = load_scenario("bad-buzz")
    player = ScenarioPlayer(sc, source_id="demo", seed=11, storm_start=STORM, backfill_days=7)
    return list(player.mentions())


def _folded(text: str) -> str:
    """Lower case, no accents, every run of non-letters one space: the loosest reading of a keyword."""
    text = "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))
    return " " + " ".join(re.findall(r"[a-z0-9]+", text)) + " "


def test_off_topic_chatter_exists_and_never_matches_the_brand(storm: list[Mention]) -> None:
    matcher = TopicMatcher(load_default().topics)
    off = [m for m in storm if not m.extra["on_topic"]]
    assert 0.05 * len([m for m in storm if m.created_at < STORM]) < len(off) < 0.1 * len(storm)
    assert sum("brioche" in m.text.lower() for m in off) > 0.3 * len(off)  # bait for a naive matcher
    for m in off:
        assert matcher.match(m) == (), m.text
        folded = _folded(m.text)
        for phrase in ("maison brioche", "maisonbrioche", "briochegate", "brioche gate"):
            assert phrase not in folded.replace(" ", "" if " " not in phrase else " "), m.text


def test_every_brand_mention_matches_the_default_topic(storm: list[Mention]) -> None:
    matcher = TopicMatcher(load_default().topics)
    on = [m for m in storm if m.extra["on_topic"]]
    missed = [m.text for m in on if matcher.match(m) != ("brioche",)]
    assert missed == []
