"""Good settings files become the typed dataclasses; helpers around the loader."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Literal

import platformdirs
import pytest

from tocsin.config import settings as S
from tocsin.config.loader import (
    ConfigError,
    check_config,
    load_settings,
    parse_duration,
    user_config_path,
    with_demo_speed,
)

FULL = """
desk:
  name: Night desk
  operator: camille
  timezone: Europe/Paris
  journal: /srv/tocsin/journal.sqlite
topics:
  - id: brioche
    name: Maison Brioche
    keywords: [maison brioche, "#briochegate", "@maisonbrioche"]
    exclude: [recette]
    languages: [fr, "no"]
sources:
  - type: demo
    id: demo
    speed: 10
  - type: jsonl
    id: replay
    path: storm.jsonl
    follow: yes
    speed: 60
scoring:
  sentiment: {engine: flair, model: sentiment-fast, batch_size: 64, window: 1h30m}
  influence: {watchlist: [lemondefr]}
  volume: {bucket: 30s, rate_window: 5m, history: 7d}
  levels: {watch_ratio: 1.5, alert_ratio: 3, crisis_ratio: 6, negative_share: 0.4, min_rate_per_min: 1,
           hold: 900}
team:
  roster:
    - {id: camille, name: Camille Roux, role: community-manager}
    - {id: hugo, name: Hugo Marchand, role: head-of-comms}
  escalation: [[community-manager], [community-manager, head-of-comms]]
  sla:
    first_response: {sev1: 15m, sev2: 30m, sev4: 4h}
    ack_timeout: 5m
alerts:
  - type: bell
  - type: webhook
    url: https://hooks.example.invalid/T000
    format: slack
    on: [level_change, sla_breach]
ui:
  refresh_hz: 20
  keymap: {filter: ctrl+f, escalate: e}
  layout: compact
"""


def test_full_file_round_trips_into_the_dataclasses(write) -> None:
    path = write(FULL)
    settings = load_settings(path)
    assert settings == S.Settings(
        desk=S.DeskSettings(
            name="Night desk",
            operator="camille",
            timezone="Europe/Paris",
            journal="/srv/tocsin/journal.sqlite",
        ),
        topics=(
            S.TopicSettings(
                id="brioche",
                name="Maison Brioche",
                keywords=("maison brioche", "#briochegate", "@maisonbrioche"),
                exclude=("recette",),
                languages=("fr", "no"),
            ),
        ),
        sources=(
            S.DemoSourceSettings(type="demo", id="demo", speed=10.0),
            S.JsonlSourceSettings(type="jsonl", id="replay", path="storm.jsonl", follow=True, speed=60.0),
        ),
        scoring=S.ScoringSettings(
            sentiment=S.SentimentSettings(
                engine="flair", model="sentiment-fast", batch_size=64, window=timedelta(hours=1, minutes=30)
            ),
            influence=S.InfluenceSettings(watchlist=("lemondefr",)),
            volume=S.VolumeSettings(
                bucket=timedelta(seconds=30), rate_window=timedelta(minutes=5), history=timedelta(days=7)
            ),
            levels=S.LevelSettings(
                watch_ratio=1.5,
                alert_ratio=3.0,
                crisis_ratio=6.0,
                negative_share=0.4,
                min_rate_per_min=1.0,
                hold=timedelta(minutes=15),
            ),
        ),
        team=S.TeamSettings(
            roster=(
                S.TeamMember(id="camille", name="Camille Roux", role="community-manager"),
                S.TeamMember(id="hugo", name="Hugo Marchand", role="head-of-comms"),
            ),
            escalation=(("community-manager",), ("community-manager", "head-of-comms")),
            sla=S.SlaSettings(
                first_response={
                    "sev1": timedelta(minutes=15),
                    "sev2": timedelta(minutes=30),
                    "sev4": timedelta(hours=4),
                },
                ack_timeout=timedelta(minutes=5),
            ),
        ),
        alerts=(
            S.AlertSettings(type="bell"),
            S.AlertSettings(
                type="webhook",
                url="https://hooks.example.invalid/T000",
                format="slack",
                on=("level_change", "sla_breach"),
            ),
        ),
        ui=S.UiSettings(refresh_hz=20.0, keymap={"filter": "ctrl+f", "escalate": "e"}, layout="compact"),
    )
    assert settings.path == str(path)
    assert isinstance(settings.topics, tuple) and isinstance(settings.topics[0].keywords, tuple)
    assert type(settings.sources[0].speed) is float and type(settings.scoring.sentiment.batch_size) is int
    assert check_config(path) == []


def test_empty_file_is_the_defaults(write) -> None:
    path = write("# nothing yet\n")
    assert load_settings(path) == S.Settings()
    assert load_settings(path).path == str(path)


def test_empty_sections_take_their_defaults(write) -> None:
    settings = load_settings(write("desk:\ntopics:\nscoring:\n  sentiment:\nui:\n  keymap:\n"))
    assert settings == S.Settings()


def test_yaml_oddities_are_read_as_the_user_meant(write) -> None:
    # `no` is Norwegian, `on:` a key, 2026 a desk name: text fields take scalars as written
    settings = load_settings(
        write(
            """
            desk: {name: 2026, operator: yes}
            topics: [{id: 42, keywords: [no, 3.0], languages: [no]}]
            alerts: [{type: bell, on: [new_incident]}]
            """
        )
    )
    assert settings.desk.name == "2026" and settings.desk.operator == "yes"
    assert settings.topics[0].id == "42" and settings.topics[0].keywords == ("no", "3.0")
    assert settings.topics[0].languages == ("no",)
    assert settings.alerts[0].on == ("new_incident",)


def test_anchors_and_merge_keys(write) -> None:
    settings = load_settings(
        write(
            """
            topics:
              - &base {id: a, keywords: [brioche], languages: [fr]}
              - <<: *base
                id: b
            """
        )
    )
    assert [t.id for t in settings.topics] == ["a", "b"]
    assert settings.topics[1].keywords == ("brioche",) and settings.topics[1].languages == ("fr",)


def test_environment_interpolation(write, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOCSIN_T_OPERATOR", "hugo")
    monkeypatch.setenv("TOCSIN_T_HOOK", "https://hooks.example.invalid/secret")
    monkeypatch.setenv("TOCSIN_T_BATCH", "128")
    monkeypatch.setenv("TOCSIN_T_EMPTY", "")
    monkeypatch.delenv("TOCSIN_T_UNSET", raising=False)
    settings = load_settings(
        write(
            """
            desk:
              operator: ${TOCSIN_T_OPERATOR}
              name: "${TOCSIN_T_UNSET:-Night} desk (${TOCSIN_T_EMPTY:-fallback}) costs $$5 $${NOT_A_VAR}"
            scoring:
              sentiment: {batch_size: "${TOCSIN_T_BATCH}"}
              volume: {bucket: "${TOCSIN_T_UNSET:-2m}"}
            alerts:
              - {type: webhook, url: "${TOCSIN_T_HOOK}"}
            """
        )
    )
    assert settings.desk.operator == "hugo"
    assert settings.desk.name == "Night desk (fallback) costs $$5 ${NOT_A_VAR}"
    assert settings.scoring.sentiment.batch_size == 128
    assert settings.scoring.volume.bucket == timedelta(minutes=2)
    assert settings.alerts[0].url == "https://hooks.example.invalid/secret"
    assert type(settings.desk.operator) is str  # plain text once loaded, whatever the loader used inside


def test_env_mapping_can_be_given(write) -> None:
    path = write("desk: {operator: '${WHO}'}\n")
    assert load_settings(path, env={"WHO": "ines"}).desk.operator == "ines"
    with pytest.raises(ConfigError):
        load_settings(path, env={})


# --- a settings dataclass the loader has never seen: built from its type hints alone -------------


@dataclass(frozen=True)
class _Window:
    size: timedelta
    label: str | None = None


@dataclass(frozen=True)
class _ProbeSourceSettings(S.SourceSettings):
    port: int | None = None
    ratio: float = 1.0
    mode: Literal["fast", "slow"] = "slow"
    groups: tuple[tuple[str, ...], ...] = ()
    limits: dict[str, timedelta] = field(default_factory=dict)
    window: _Window = field(default_factory=lambda: _Window(timedelta(minutes=1)))
    pair: tuple[int, str] = (0, "")
    strict: bool = False

    def __post_init__(self) -> None:
        if self.strict and self.port is None:
            raise ValueError("a strict probe needs a port")


def test_new_source_type_needs_no_loader_change(write, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(S.SOURCE_TYPES, "probe", _ProbeSourceSettings)
    settings = load_settings(
        write(
            """
            sources:
              - type: probe
                id: p
                port: 8080
                ratio: 3
                mode: fast
                groups: [[a, b], [c]]
                limits: {x: 10s, y: 2h}
                window: {size: 5m, label: five}
                pair: [7, seven]
                strict: true
            """
        )
    )
    assert settings.sources == (
        _ProbeSourceSettings(
            type="probe",
            id="p",
            port=8080,
            ratio=3.0,
            mode="fast",
            groups=(("a", "b"), ("c",)),
            limits={"x": timedelta(seconds=10), "y": timedelta(hours=2)},
            window=_Window(timedelta(minutes=5), "five"),
            pair=(7, "seven"),
            strict=True,
        ),
    )


def test_new_source_type_problems(problems, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(S.SOURCE_TYPES, "probe", _ProbeSourceSettings)
    assert problems(
        """
        sources:
          - type: probe
            id: p
            port: eighty
            groups: [[a], b]
            limits: {x: soon}
            window: {label: x}
            pair: [1]
          - type: probe
            id: q
            strict: true
        """
    ) == [
        "site.yaml:4: sources[0].port: expected an integer, got 'eighty'",
        "site.yaml:5: sources[0].groups[1]: expected a list, got 'b'",
        "site.yaml:6: sources[0].limits.x: expected a duration like 90s, 10m, 8h, got 'soon'",
        "site.yaml:7: sources[0].window: missing required key 'size'",
        "site.yaml:8: sources[0].pair: expected a list of 2 items, got 1",
        "site.yaml:9: sources[1]: a strict probe needs a port",
    ]


# --- helpers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("10m", timedelta(minutes=10)),
        ("8h", timedelta(hours=8)),
        ("7d", timedelta(days=7)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1.5h", timedelta(minutes=90)),
        (" 2m 30s ", timedelta(minutes=2, seconds=30)),
        ("45", timedelta(seconds=45)),
        (45, timedelta(seconds=45)),
        (0.5, timedelta(milliseconds=500)),
    ],
)
def test_parse_duration(text: str | float, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["often", "", "10x", "-5m", -1, "m", "1y", True, "9" * 400 + "d"])
def test_parse_duration_refuses(text: str | float) -> None:
    with pytest.raises(ValueError, match="expected a duration like 90s, 10m, 8h"):
        parse_duration(text)


def test_user_config_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TOCSIN_CONFIG", raising=False)
    assert user_config_path() == platformdirs.user_config_path("tocsin") / "config.yaml"
    monkeypatch.setenv("TOCSIN_CONFIG", str(tmp_path / "desk.yaml"))
    assert user_config_path() == tmp_path / "desk.yaml"


def test_with_demo_speed_changes_demo_sources_only() -> None:
    settings = S.Settings(
        sources=(
            S.DemoSourceSettings(type="demo", id="a", speed=2.0),
            S.JsonlSourceSettings(type="jsonl", id="b", speed=3.0),
            S.DemoSourceSettings(type="demo", id="c"),
        )
    )
    faster = with_demo_speed(settings, 10)
    assert [getattr(s, "speed", None) for s in faster.sources] == [10.0, 3.0, 10.0]
    assert dataclasses.replace(faster, sources=settings.sources) == settings
    with pytest.raises(ValueError):
        with_demo_speed(settings, 0)
