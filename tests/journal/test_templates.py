"""Response templates: check-config refuses the ones that would fail in a storm; the journal, the CLI
and the respond form start from one, filled for the incident, and log the edited text."""

from __future__ import annotations

import dataclasses
import json
import stat
import textwrap
from pathlib import Path

import pytest

from tocsin.config.loader import check_config, load_default
from tocsin.config.responses import fill, template_problems
from tocsin.config.settings import ResponseTemplate, Settings
from tocsin.journal.api import Journal
from tocsin.journal.errors import UnknownTemplate
from tocsin.journal.model import EventKind
from tocsin.journal.templates import filled, find_template, templates_for
from tocsin.sources.clock import ManualClock

from .test_cli import CONFIG, run

LIBRARY = [
    ResponseTemplate(
        "hold-fr", "holding_statement", "{brand} : nous vérifions « {title} » ({time}). — {agent}", "fr"
    ),
    ResponseTemplate("hold-en", "holding_statement", "{brand} is checking {topic}. {agent}", "en"),
    ResponseTemplate("sorry-sev1", "apology", "Sorry from {brand}.", "en", severities=("sev1",)),
]


def test_problems_of_a_template_text() -> None:
    assert template_problems("Hello {agent}, {{literal}}") == []
    assert template_problems("  ") == ["a template needs its text"]
    [unknown] = template_problems("We know about {topik}")
    assert unknown.startswith("unknown variable {topik} (known: {brand}, {topic}, {title}, {time}, {agent})")
    assert unknown.endswith("did you mean 'topic'?")
    assert template_problems("{brand!r}") == ["{brand} takes no format or conversion: write just {brand}"]
    assert "literal brace" in template_problems("a } b")[0]


def problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "site.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return [str(p).replace(str(path), "site.yaml", 1) for p in check_config(path, env={})]


def test_check_config_names_file_line_and_key(tmp_path: Path) -> None:
    assert problems(
        tmp_path,
        """
        team:
          roster:
            - {id: cam, name: Camille, role: cm}
          approval:
            sev1: [head-of-coms]
        responses:
          - id: hold
            kind: holding_statement
            text: "We know about {topik}"
          - id: hold
            kind: apologie
            text: "ok"
        """,
    ) == [
        "site.yaml:5: team.approval.sev1[0]: role 'head-of-coms' is not in team.roster "
        "(roles in team.roster: cm): nobody could approve",
        "site.yaml:9: responses[0].text: unknown variable {topik} (known: {brand}, {topic}, {title}, "
        "{time}, {agent}); did you mean 'topic'?",
        "site.yaml:10: responses[1].id: duplicate id 'hold' (already used at line 7)",
        "site.yaml:11: responses[1].kind: expected one of: holding_statement, official_statement, apology, "
        "correction, private_reply, got 'apologie'; did you mean 'apology'?",
    ]


def test_the_embedded_default_ships_french_and_english_for_every_kind() -> None:
    library = load_default().responses
    kinds = {"holding_statement", "official_statement", "apology", "correction", "private_reply"}
    for language in ("fr", "en"):
        assert {t.kind for t in library if t.language == language} == kinds
    assert all(template_problems(t.text) == [] for t in library)


def test_fill_leaves_an_unknown_variable_visible() -> None:
    assert fill("{brand} / {nope}", {"brand": "Maison Brioche"}) == "Maison Brioche / {nope}"


async def test_filled_for_the_incident_in_the_desk_language_first(
    settings: Settings, clock: ManualClock
) -> None:
    settings = dataclasses.replace(
        settings, responses=tuple(LIBRARY), desk=dataclasses.replace(settings.desk, language="fr")
    )
    async with await Journal.open(settings, clock=clock) as j:
        inc = await j.open_incident("brioche", "sev2", "Photo de moisissure")
        assert [t.id for t in templates_for(settings, inc)] == ["hold-fr", "hold-en"]  # sev1 only: left out
        text = filled(settings, find_template(settings, "hold-fr"), inc, clock.now(), "alice")
        # 09:00 UTC is 10:00 in Paris; the roster's first name signs
        assert text == "Maison Brioche : nous vérifions « Photo de moisissure » (10:00). — Alice"
        done = await j.log_response(inc.id, "holding_statement", "x", text + " Merci.", template="hold-fr")
        [ev] = [e for e in await j.events(inc.id) if e.kind is EventKind.RESPONSE_LOGGED]
        assert ev.payload["template"] == "hold-fr" and ev.payload["text"].endswith("Merci.")
        assert done.first_response_at is not None
        with pytest.raises(UnknownTemplate, match=r"no response template .hold-de.*did you mean"):
            await j.log_response(inc.id, "holding_statement", "x", "x", template="hold-de")
        assert sum(e.kind is EventKind.RESPONSE_LOGGED for e in await j.events(inc.id)) == 1


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "config.yaml"
    config.write_text(
        CONFIG
        + "responses:\n"
        + "  - {id: hold-en, kind: holding_statement, text: 'We are looking into {title}. {agent}'}\n"
    )
    monkeypatch.setenv("TOCSIN_JOURNAL", str(tmp_path / "journal.sqlite"))
    monkeypatch.setenv("TOCSIN_CONFIG", str(config))
    return tmp_path


def _responses(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    code, out, _ = run(capsys, "journal", "export", "1", "--format", "json")
    assert code == 0
    return json.loads(out)["responses"]


def test_cli_respond_from_a_template(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "incident", "open", "--topic", "brioche", "--severity", "sev2", "--title", "Mouse photo")
    code, out, _ = run(capsys, "incident", "respond", "1", "--channel", "x", "--template", "hold-en")
    assert code == 0 and "holding statement logged" in out
    [r] = _responses(capsys)
    assert r["text"] == "We are looking into Mouse photo. Alice" and r["kind"] == "holding_statement"


def test_cli_template_edited_in_the_editor(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    editor = env / "editor.sh"
    editor.write_text('#!/bin/sh\nsed -i "s/looking into/checking/" "$1"\n')
    editor.chmod(editor.stat().st_mode | stat.S_IEXEC)
    run(capsys, "incident", "open", "--topic", "brioche", "--severity", "sev2", "--title", "Mouse photo")
    monkeypatch.setenv("VISUAL", str(editor))
    args = ("respond", "1", "--channel", "x", "--template", "hold-en", "--edit")
    code, _, err = run(capsys, "incident", *args)
    assert code == 0, err
    assert _responses(capsys)[0]["text"] == "We are checking Mouse photo. Alice"


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--template", "hold-fr"], "no response template 'hold-fr' (templates: hold-en); did you mean"),
        (["--text", "x"], "a response needs --kind"),
        (["--kind", "apology"], "a response needs --text, --template or --edit"),
        (["--kind", "apology", "--text", "   "], "a response needs the text"),
    ],
)
def test_cli_bad_input_exits_2_and_changes_nothing(
    env: Path, capsys: pytest.CaptureFixture[str], args: list[str], said: str
) -> None:
    run(capsys, "incident", "open", "--topic", "brioche", "--severity", "sev2", "--title", "Mouse photo")
    code, _, err = run(capsys, "incident", "respond", "1", "--channel", "x", *args)
    assert code == 2 and said in err and "Traceback" not in err
    assert _responses(capsys) == []
