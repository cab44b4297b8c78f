"""Malformed settings files: each problem is one exact ``FILE:LINE: key.path: message`` line."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tocsin.config import settings as S
from tocsin.config.loader import ConfigError, check_config, load_settings


def keys(cls: type) -> str:
    """The keys a section accepts, as listed in an unknown-key message (other engineers add fields)."""
    return ", ".join(f.name for f in dataclasses.fields(cls) if f.name != "path" or cls is not S.Settings)


TOP = keys(S.Settings)


def test_unknown_top_level_key(problems) -> None:
    assert problems("desk: {name: x}\ncolour: red\n") == [
        f"site.yaml:2: colour: unknown key 'colour' (expected one of: {TOP})"
    ]


def test_path_is_not_a_settings_key(problems) -> None:
    # Settings.path is filled by the loader; a file cannot set it
    assert problems("path: /etc/passwd\n") == [
        f"site.yaml:1: path: unknown key 'path' (expected one of: {TOP})"
    ]


def test_unknown_nested_key_suggests_the_closest(problems) -> None:
    assert problems(
        """
        desk:
          name: Night desk
          timezon: Europe/Paris
        """
    ) == [
        f"site.yaml:3: desk.timezon: unknown key 'timezon' (expected one of: {keys(S.DeskSettings)}); "
        "did you mean 'timezone'?"
    ]


def test_unknown_key_in_a_source_lists_that_source_type_keys(problems) -> None:
    assert problems(
        """
        sources:
          - type: jsonl
            id: replay
            speeed: 10
        """
    ) == [
        "site.yaml:4: sources[0].speeed: unknown key 'speeed' "
        f"(expected one of: {keys(S.JsonlSourceSettings)}); did you mean 'speed'?"
    ]


def test_string_where_an_integer_is_expected(problems) -> None:
    assert problems("scoring:\n  sentiment:\n    batch_size: lots\n") == [
        "site.yaml:3: scoring.sentiment.batch_size: expected an integer, got 'lots'"
    ]


def test_float_and_bool_are_not_integers(problems) -> None:
    assert problems("sources:\n  - {type: demo, id: d, seed: 2.5, backfill_days: true}\n") == [
        "site.yaml:2: sources[0].seed: expected an integer, got 2.5",
        "site.yaml:2: sources[0].backfill_days: expected an integer, got true",
    ]


def test_bad_duration(problems) -> None:
    assert problems("scoring:\n  volume:\n    bucket: 1m\n    rate_window: often\n") == [
        "site.yaml:4: scoring.volume.rate_window: expected a duration like 90s, 10m, 8h, got 'often'"
    ]


def test_negative_duration(problems) -> None:
    assert problems("team:\n  sla:\n    ack_timeout: -5\n") == [
        "site.yaml:3: team.sla.ack_timeout: a duration cannot be negative"
    ]


def test_bad_literal_value_suggests_the_closest(problems) -> None:
    assert problems("scoring:\n  sentiment: {engine: flar}\n") == [
        "site.yaml:2: scoring.sentiment.engine: expected one of: lexicon, flair, got 'flar'; "
        "did you mean 'flair'?"
    ]


def test_bad_literal_in_a_list(problems) -> None:
    assert problems("alerts:\n  - type: bell\n    on: [level_change, sla_breech]\n") == [
        "site.yaml:3: alerts[0].on[1]: expected one of: level_change, sla_breach, ack_timeout, "
        "new_incident, source_down, resurgence, approval_needed, got 'sla_breech'; did you mean 'sla_breach'?"
    ]


def test_missing_required_id_reports_the_parent_mapping_line(problems) -> None:
    assert problems(
        """
        topics:
          - id: brioche
            keywords: [brioche]
          - name: Nameless
            keywords: [x]
        """
    ) == ["site.yaml:4: topics[1]: missing required key 'id'"]


def test_duplicate_ids(problems) -> None:
    assert problems(
        """
        topics:
          - {id: brioche, keywords: [brioche]}
          - {id: brioche, keywords: [croissant]}
        sources:
          - {type: demo, id: feed}
          - {type: jsonl, id: feed, path: a.jsonl}
        team:
          roster:
            - {id: cam, name: Camille, role: cm}
            - {id: cam, name: Camille bis, role: cm}
        """
    ) == [
        "site.yaml:3: topics[1].id: duplicate id 'brioche' (already used at line 2)",
        "site.yaml:6: sources[1].id: duplicate id 'feed' (already used at line 5)",
        "site.yaml:10: team.roster[1].id: duplicate id 'cam' (already used at line 9)",
    ]


def test_duplicate_id_is_found_even_when_the_first_item_has_other_errors(problems) -> None:
    assert problems("topics:\n  - {id: a, keywords: [x], bogus: 1}\n  - {id: a, keywords: [y]}\n") == [
        f"site.yaml:2: topics[0].bogus: unknown key 'bogus' (expected one of: {keys(S.TopicSettings)})",
        "site.yaml:3: topics[1].id: duplicate id 'a' (already used at line 2)",
    ]


def test_unknown_source_type(problems) -> None:
    assert problems("sources:\n  - type: demoo\n    id: d\n") == [
        f"site.yaml:2: sources[0].type: unknown source type 'demoo' (expected one of: "
        f"{', '.join(sorted(S.SOURCE_TYPES))}); did you mean 'demo'?"
    ]


def test_source_without_type(problems) -> None:
    assert problems("sources:\n  - id: d\n") == ["site.yaml:2: sources[0]: missing required key 'type'"]


def test_yaml_syntax_error_gives_its_line(problems) -> None:
    assert problems("desk:\n  name: x\ntopics:\n  - id: a\n    keywords: [a, b\n  - id: b\n") == [
        "site.yaml:6: (yaml): expected ',' or ']', but got ':' (while parsing a flow sequence at line 5)"
    ]


def test_yaml_mapping_value_error(problems) -> None:
    assert problems("desk:\n  name: a: b\n") == ["site.yaml:2: (yaml): mapping values are not allowed here"]


def test_tab_indentation(problems) -> None:
    assert problems("desk:\n\tname: x\n") == [
        "site.yaml:2: (yaml): found character '\\t' that cannot start any token "
        "(while scanning for the next token)"
    ]


def test_control_character(problems) -> None:
    assert problems('desk:\n  name: "a\x07"\n') == [
        "site.yaml:2: (yaml): control character #x07 is not allowed"
    ]


def test_missing_environment_variable_is_named(problems) -> None:
    assert problems("alerts:\n  - type: webhook\n    url: ${TOCSIN_TEST_HOOK}\n") == [
        "site.yaml:3: alerts[0].url: environment variable TOCSIN_TEST_HOOK is not set"
    ]


def test_environment_values_are_never_echoed(problems) -> None:
    secret = "xoxb-very-secret-token"
    lines = problems(
        """
        scoring:
          sentiment: {batch_size: "${BATCH}", engine: "${ENGINE}"}
        alerts:
          - {type: webhook, url: "${HOOK}"}
        """,
        env={"BATCH": secret, "ENGINE": secret, "HOOK": secret},
    )
    assert lines == [
        "site.yaml:2: scoring.sentiment.batch_size: expected an integer, got the value of ${BATCH}",
        "site.yaml:2: scoring.sentiment.engine: expected one of: lexicon, flair, got the value of ${ENGINE}",
        "site.yaml:4: alerts[0].url: expected an http:// or https:// URL",
    ]
    assert not any(secret in line for line in lines)


def test_unclosed_interpolation(problems) -> None:
    assert problems("desk:\n  operator: ${USER\n") == [
        "site.yaml:2: desk.operator: '${' without a closing '}' (write $${ for a literal ${)"
    ]


def test_bad_timezone(problems) -> None:
    assert problems("desk:\n  timezone: Europe/Pari\n") == [
        "site.yaml:2: desk.timezone: unknown time zone 'Europe/Pari' (expected an IANA name like "
        "Europe/Paris or America/New_York); did you mean 'Europe/Paris'?"
    ]


@pytest.mark.parametrize("zone", ["", "../etc/passwd", "/etc/localtime", "Europe"])
def test_timezone_that_is_a_path_is_refused(problems, zone: str) -> None:
    lines = problems(f"desk:\n  timezone: '{zone}'\n")
    assert len(lines) == 1 and lines[0].startswith(f"site.yaml:2: desk.timezone: unknown time zone '{zone}'")


def test_escalation_role_not_in_roster(problems) -> None:
    assert problems(
        """
        team:
          roster:
            - {id: cam, name: Camille, role: community-manager}
            - {id: hugo, name: Hugo, role: head-of-comms}
          escalation:
            - [community-manager]
            - [head-of-comms, legal]
            - [head-of-com]
        """
    ) == [
        "site.yaml:7: team.escalation[1][1]: role 'legal' is not in team.roster "
        "(roles in team.roster: community-manager, head-of-comms)",
        "site.yaml:8: team.escalation[2][0]: role 'head-of-com' is not in team.roster "
        "(roles in team.roster: community-manager, head-of-comms); did you mean 'head-of-comms'?",
    ]


def test_escalation_with_empty_roster(problems) -> None:
    assert problems("team:\n  escalation: [[boss]]\n") == [
        "site.yaml:2: team.escalation[0][0]: role 'boss' is not in team.roster (team.roster is empty)"
    ]


def test_bad_list_item_types(problems) -> None:
    assert problems(
        """
        topics:
          - id: a
            keywords: [brioche, {gate: 1}]
        team:
          roster: [camille]
        """
    ) == [
        "site.yaml:3: topics[0].keywords[1]: expected a string, got a mapping",
        "site.yaml:5: team.roster[0]: expected a mapping, got 'camille'",
    ]


def test_string_where_a_list_is_expected(problems) -> None:
    assert problems("topics:\n  - id: a\n    keywords: brioche\n") == [
        "site.yaml:3: topics[0].keywords: expected a list, got 'brioche'"
    ]


def test_section_must_be_a_mapping(problems) -> None:
    assert problems("desk: [a, b]\nscoring: 3\n") == [
        "site.yaml:1: desk: expected a mapping, got a list",
        "site.yaml:2: scoring: expected a mapping, got 3",
    ]


def test_top_level_must_be_a_mapping(problems) -> None:
    assert problems("- a\n- b\n") == ["site.yaml:1: (top level): expected a mapping, got a list"]


def test_webhook_alert_needs_a_url(problems) -> None:
    assert problems("alerts:\n  - type: bell\n  - type: webhook\n    format: slack\n") == [
        "site.yaml:3: alerts[1].url: a webhook alert needs a url"
    ]


def test_severities_are_sev1_to_sev4(problems) -> None:
    assert problems("team:\n  sla:\n    first_response:\n      sev1: 15m\n      sev5: 2h\n") == [
        "site.yaml:5: team.sla.first_response.sev5: unknown severity 'sev5' "
        "(expected one of: sev1, sev2, sev3, sev4)"
    ]


@pytest.mark.parametrize("hz", ["0", "-1", "500"])
def test_refresh_hz_must_be_sensible(problems, hz: str) -> None:
    assert problems(f"ui:\n  refresh_hz: {hz}\n") == [
        f"site.yaml:2: ui.refresh_hz: must be above 0 and at most 60 (screen refreshes per second), got {hz}"
    ]


def test_not_a_number(problems) -> None:
    assert problems("ui:\n  refresh_hz: .nan\n") == [
        "site.yaml:2: ui.refresh_hz: expected a number, got .nan"
    ]


def test_level_ratios_must_rise(problems) -> None:
    assert problems("scoring:\n  levels: {watch_ratio: 3, alert_ratio: 2}\n") == [
        "site.yaml:2: scoring.levels.alert_ratio: must be above watch_ratio (3)"
    ]


def test_topic_needs_keywords_and_language_codes(problems) -> None:
    assert problems("topics:\n  - id: a\n    languages: [fr, French]\n") == [
        "site.yaml:2: topics[0].keywords: a topic needs at least one keyword, #hashtag or @handle to match",
        "site.yaml:3: topics[0].languages[1]: expected a language code like fr or en, got 'French'",
    ]


def test_ids_are_plain_words(problems) -> None:
    assert problems("topics:\n  - id: maison brioche\n    keywords: [x]\n") == [
        "site.yaml:2: topics[0].id: an id is letters, digits, '-', '_' or '.', got 'maison brioche'"
    ]


def test_demo_speed_must_be_positive(problems) -> None:
    assert problems("sources:\n  - {type: demo, id: d, speed: 0}\n") == [
        "site.yaml:2: sources[0].speed: must be above 0 (1 plays the storm in about 10 minutes)"
    ]


def test_duplicate_yaml_key(problems) -> None:
    assert problems("desk:\n  name: a\n  name: b\n") == [
        "site.yaml:3: desk.name: duplicate key (first given at line 2)"
    ]


def test_alias_that_refers_to_itself(problems) -> None:
    assert problems("team:\n  escalation: &loop [*loop]\n") == [
        "site.yaml:2: team.escalation[0]: refers to itself through an alias"
    ]


def test_unsupported_tag(problems) -> None:
    assert problems("ui:\n  refresh_hz: !!python/name:os.system 3\n") == [
        "site.yaml:2: ui.refresh_hz: unsupported YAML tag 'tag:yaml.org,2002:python/name:os.system'"
    ]


def test_several_problems_are_all_reported_in_line_order(problems) -> None:
    lines = problems(
        """
        desk:
          timezone: Mars/Olympus
        topics:
          - {id: a, keywords: [x]}
          - {id: a, keywords: [y]}
        sources:
          - {type: rss2, id: news}
        scoring:
          sentiment: {engine: bert}
          volume: {bucket: sometimes}
        team:
          roster: [{id: c, name: C, role: cm}]
          escalation: [[cm], [boss]]
        alerts:
          - type: webhook
        ui: {refresh_hz: 0, colour: red}
        """
    )
    assert [line.split(": ")[0] + ": " + line.split(": ")[1] for line in lines] == [
        "site.yaml:2: desk.timezone",
        "site.yaml:5: topics[1].id",
        "site.yaml:7: sources[0].type",
        "site.yaml:9: scoring.sentiment.engine",
        "site.yaml:10: scoring.volume.bucket",
        "site.yaml:13: team.escalation[1][0]",
        "site.yaml:15: alerts[0].url",
        "site.yaml:16: ui.colour",
        "site.yaml:16: ui.refresh_hz",
    ]


def test_missing_file_is_one_problem(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    assert [str(p) for p in check_config(missing)] == [f"{missing}:1: (file): no such file"]
    with pytest.raises(ConfigError) as caught:
        load_settings(missing)
    assert [str(p) for p in caught.value.problems] == [f"{missing}:1: (file): no such file"]


def test_directory_is_one_problem(tmp_path: Path) -> None:
    assert [str(p) for p in check_config(tmp_path)] == [
        f"{tmp_path}:1: (file): is a directory, not a settings file"
    ]


def test_not_utf8_is_one_problem(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("desk:\n  name: caf\xe9\n".encode("latin-1"))
    assert [str(p) for p in check_config(path)] == [f"{path}:2: (file): not UTF-8 text"]


def test_load_settings_raises_with_every_problem(write) -> None:
    path = write("desk: {timezone: Nowhere/Land}\nui: {refresh_hz: 0}\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert len(caught.value.problems) == 2
    assert str(caught.value).splitlines() == [str(p) for p in caught.value.problems]


def test_timezone_without_a_time_zone_database(problems, monkeypatch: pytest.MonkeyPatch) -> None:
    import zoneinfo

    def no_database(key: str) -> None:
        raise zoneinfo.ZoneInfoNotFoundError(key)

    monkeypatch.setattr(zoneinfo, "ZoneInfo", no_database)
    monkeypatch.setattr(zoneinfo, "available_timezones", set)
    assert problems("desk:\n  timezone: Europe/Paris\n") == [
        "site.yaml:2: desk.timezone: this machine has no time zone database: pip install tzdata, "
        "or leave timezone out"
    ]


def test_an_unknown_layout_names_the_choices_and_the_closest(problems) -> None:
    from tocsin.config.layouts import PANES

    assert problems("ui:\n  refresh_hz: 10\n  layout: incident\n") == [
        "site.yaml:3: ui.layout: unknown layout or pane 'incident' (layouts: wall, compact, triage, signals, "
        f"people; panes, alone or joined by commas: {', '.join(PANES)}); did you mean 'incidents'?"
    ]


@pytest.mark.parametrize("layout", ["wall", "compact", "triage", "feed", "incidents,feed"])
def test_layouts_a_wall_of_terminals_uses_are_accepted(problems, layout: str) -> None:
    # a file of ui alone lacks topics and sources (the run's preflight says so): only ui matters here
    assert [p for p in problems(f"ui:\n  layout: '{layout}'\n") if ": ui." in p] == []


def test_a_layout_cannot_name_a_pane_twice(problems) -> None:
    assert problems("ui:\n  layout: feed,feed\n") == [
        "site.yaml:2: ui.layout: 'feed,feed' names a pane twice"
    ]


def test_an_unknown_theme_names_the_closest(problems) -> None:
    [problem] = problems("ui:\n  theme: high-contrast\n")
    assert problem.startswith(
        "site.yaml:2: ui.theme: unknown theme 'high-contrast' (themes: tocsin-high-contrast,"
    )
    assert problem.endswith("; did you mean 'tocsin-high-contrast'?")
