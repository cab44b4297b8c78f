"""``tocsin incident …``, ``tocsin journal …``, ``tocsin handover``: scriptable, exit 2 on bad input."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path

import pytest

from tocsin.config.loader import load_settings
from tocsin.desk.cli import main
from tocsin.journal.api import Journal

from .conftest import mention

CONFIG = """\
desk:
  name: Test desk
  operator: alice
  timezone: Europe/Paris
topics:
  - id: brioche
    name: Maison Brioche
    keywords: [maison brioche, "#briochegate"]
team:
  roster:
    - {id: alice, name: Alice Martin, role: community}
    - {id: bob, name: Bob Leroy, role: community}
    - {id: chloe, name: Chloé Dubois, role: comms-lead}
  escalation:
    - [comms-lead]
  sla:
    first_response: {sev1: 30m, sev2: 30m, sev3: 60m}
    ack_timeout: 10m
"""


@pytest.fixture
def env(tmp_path: Path, journal_location: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A journal (via TOCSIN_JOURNAL: a file in tmp_path, or a PostgreSQL URL) and the test desk's config
    (via TOCSIN_CONFIG); the platform data folder in tmp_path too (exports of a PostgreSQL journal)."""
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    monkeypatch.setenv("TOCSIN_JOURNAL", journal_location)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("TOCSIN_CONFIG", str(config))
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_an_incident_worked_from_the_shell(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "incident", "open", "--topic", "brioche", "--severity", "SEV2", "--title", "Mouse photo"
    )
    assert code == 0 and out.startswith("#1 opened: SEV2 brioche: Mouse photo, by alice at ")
    assert run(capsys, "incident", "ack", "#1")[1].startswith("#1 acknowledged by alice")
    assert run(capsys, "incident", "assign", "1", "bob", "--operator", "chloe")[1].startswith(
        "#1 assigned to bob by chloe"
    )
    code, out, _ = run(
        capsys,
        "incident",
        "respond",
        "1",
        "--kind",
        "holding_statement",
        "--channel",
        "x",
        "--text",
        "Nous enquêtons",
        "--url",
        "https://x.com/maisonbrioche/status/1",
    )
    assert code == 0 and "holding statement logged (responding)" in out
    assert "escalated to step 1 (call: chloe)" in run(capsys, "incident", "escalate", "1")[1]
    assert "now SEV1" in run(capsys, "incident", "escalate", "1", "--severity", "sev1")[1]
    assert "ticked facts" in run(capsys, "incident", "check", "1", "facts")[1]
    assert "note added" in run(capsys, "incident", "note", "1", "Supplier called back")[1]
    assert "now monitoring" in run(capsys, "incident", "state", "1", "monitoring")[1]
    assert "now resolved" in run(capsys, "incident", "state", "1", "resolved", "--reason", "hoax")[1]
    assert "lesson added" in run(capsys, "incident", "note", "1", "Template ready next time", "--lesson")[1]
    assert "now reopened" in run(capsys, "incident", "state", "1", "reopen")[1]

    code, out, _ = run(capsys, "journal", "list")
    header, row = out.splitlines()
    assert header.split()[:4] == ["ID", "SEV", "STATE", "TOPIC"]
    assert row.split()[:5] == ["#1", "SEV1", "reopened", "brioche", "bob"] and row.endswith("Mouse photo")
    assert "met" in row

    code, out, _ = run(capsys, "journal", "list", "--json")
    (line,) = out.splitlines()
    obj = json.loads(line)
    assert obj["type"] == "incident" and obj["state"] == "reopened" and obj["assignee"] == "bob"

    code, out, _ = run(capsys, "journal", "show", "1")
    assert code == 0 and out.startswith("#1 SEV1 reopened: Mouse photo")
    assert "[x] Confirm the facts" in out and "assigned to Bob Leroy (bob)" in out
    assert "reopened from resolved: reopened by hand" in out


def test_exports_to_files_and_stdout(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "incident", "open", "--topic", "brioche", "--severity", "sev3", "--title", "Storm <b>")
    run(capsys, "incident", "respond", "1", "--kind", "apology", "--channel", "x", "--text", "Sorry")
    for fmt in ("md", "html", "json", "csv"):
        out_file = env / f"pm.{fmt}"
        code, out, err = run(capsys, "journal", "export", "1", "--format", fmt, "--out", str(out_file))
        assert code == 0 and out == "" and f"to {out_file}" in err
        assert out_file.stat().st_size > 200
        assert out_file.stat().st_mode & 0o777 == 0o600  # as private as the journal it comes from
    assert "Storm \\<b\\>" in (env / "pm.md").read_text()
    assert "Storm &lt;b&gt;" in (env / "pm.html").read_text()
    assert json.loads((env / "pm.json").read_text())["incident"]["title"] == "Storm <b>"
    rows = list(csv.reader(io.StringIO((env / "pm.csv").read_text())))
    assert [r[5] for r in rows[1:]] == ["opened", "acknowledged", "response_logged", "state_changed"]
    code, out, _ = run(capsys, "journal", "export", "1", "--format", "md")
    assert code == 0 and out.startswith("# Post-mortem: incident #1, SEV3, Storm \\<b\\>")


def test_export_save_writes_into_the_export_folder_and_says_where(
    env: Path, backend: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd = env / "elsewhere"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    run(capsys, "incident", "open", "--topic", "brioche", "--severity", "sev3", "--title", "Storm")
    code, out, err = run(capsys, "journal", "export", "#1", "--format", "html", "--save")
    # beside $TOCSIN_JOURNAL; a journal on PostgreSQL has no file to stand beside: the data folder
    folder = env / "exports" if backend == "sqlite" else env / "data" / "tocsin" / "exports"
    saved = folder / "tocsin-incident-1-postmortem.html"
    assert code == 0 and out == "" and err == f"wrote the html post-mortem of #1 to {saved}\n"
    assert saved.stat().st_mode & 0o777 == 0o600 and list(cwd.iterdir()) == []
    with pytest.raises(SystemExit) as refused:
        main(["journal", "export", "1", "--format", "md", "--save", "--out", "x.md"])
    assert refused.value.code == 2 and "not allowed with argument" in capsys.readouterr().err


def test_corrections_export_as_training_data(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async def correct() -> None:
        journal = await Journal.open(load_settings(env / "config.yaml"))
        try:
            await journal.correct_sentiment(
                mention("m1", "Génial,\tencore\nune souris"), "negative", old_label="positive"
            )
            await journal.correct_sentiment(mention("m2", "Bon ça va"), "neutral")
            await journal.correct_sentiment(
                mention("m1", "Génial,\tencore\nune souris"), "neutral"
            )  # changed mind
        finally:
            await journal.close()

    asyncio.run(correct())
    out_file = env / "corrections.tsv"
    code, _, err = run(capsys, "journal", "corrections", "--out", str(out_file))
    assert code == 0 and "wrote 2 corrections" in err
    assert out_file.read_text() == "Bon ça va\tneutral\nGénial, encore une souris\tneutral\n"


def test_handover_prints_markdown(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "incident", "open", "--topic", "brioche", "--severity", "sev1", "--title", "Boycott")
    code, out, _ = run(capsys, "handover", "--since", "90m")
    assert code == 0 and out.startswith("# Handover: Test desk, ")
    assert "covering the last 1h 30m" in out
    assert "## Waiting for acknowledgement (1)\n\n- **#1 SEV1 open: Boycott**" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("incident", "ack", "7"), "no incident #7 in the journal: nothing changed"),
        (("incident", "ack", "seven"), "no incident #seven in the journal"),
        (("incident", "note", "1", "   "), "text is required and cannot be empty: nothing changed"),
        (
            ("incident", "respond", "1", "--kind", "apology", "--channel", "x", "--text", ""),
            "a response needs the text",
        ),
        (("incident", "assign", "1", "mallory"), "'mallory' is not on the roster (alice, bob, chloe)"),
        (
            ("incident", "open", "--topic", "nope", "--severity", "sev2", "--title", "x"),
            "topic: 'nope' is not one of",
        ),
        (
            ("incident", "open", "--topic", "brioche", "--severity", "sev9", "--title", "x"),
            "invalid choice: 'sev9'",
        ),
        (
            ("incident", "respond", "1", "--kind", "tweet", "--channel", "x", "--text", "t"),
            "invalid choice: 'tweet'",
        ),
        (("incident", "state", "1", "open"), "invalid choice: 'open'"),
        (
            ("incident", "open", "--topic", "brioche", "--severity", "sev2"),
            "the following arguments are required",
        ),
        (("incident", "escalate", "1"), "already at the top of the escalation ladder"),
        (("handover", "--since", "yesterday"), "--since: expected a duration"),
        (("journal", "export", "1", "--format", "pdf"), "invalid choice: 'pdf'"),
        (("journal", "export", "1", "--format", "md", "--out", "/nonexistent/dir/pm.md"), "cannot write"),
        (("incident", "ack", "1", "--operator", " "), "an operator name is required"),
    ],
)
def test_bad_input_exits_2_with_a_message_and_changes_nothing(
    env: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], message: str
) -> None:
    run(capsys, "incident", "open", "--topic", "brioche", "--severity", "sev2", "--title", "Storm")
    run(capsys, "incident", "escalate", "1")
    before = run(capsys, "journal", "show", "1")[1]
    if "invalid choice" in message or "arguments are required" in message:  # argparse's own exit
        with pytest.raises(SystemExit) as info:
            main(list(argv))
        code, (_, err) = info.value.code, capsys.readouterr()
    else:
        code, _, err = run(capsys, *argv)
    assert code == 2
    assert message in err and "Traceback" not in err
    after = run(capsys, "journal", "show", "1")[1]
    assert after.split("Clocks")[1].split("Timeline")[0] == before.split("Clocks")[1].split("Timeline")[0]
    assert after.split("Timeline")[1] == before.split("Timeline")[1]


def test_action_on_a_resolved_incident_exits_2(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "incident", "open", "--topic", "brioche", "--severity", "sev2", "--title", "Storm")
    run(capsys, "incident", "state", "1", "resolved")
    code, out, err = run(
        capsys, "incident", "respond", "1", "--kind", "apology", "--channel", "x", "--text", "Sorry"
    )
    assert (code, out) == (2, "")
    assert err == "tocsin: incident #1 is resolved: reopen it first; nothing changed\n"


def test_bad_config_exits_2_naming_the_line(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = env / "bad.yaml"
    bad.write_text("desk:\n  operater: alice\n")
    code, _, err = run(capsys, "--config", str(bad), "journal", "list")
    assert code == 2 and f"{bad}:2: desk.operater" in err
    code, _, err = run(capsys, "journal", "list", "--config", str(bad))
    assert code == 2 and f"{bad}:2:" in err


def test_top_level_config_is_used(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = env / "other.yaml"
    other.write_text(CONFIG.replace("operator: alice", "operator: nightshift"))
    code, out, _ = run(
        capsys,
        "--config",
        str(other),
        "incident",
        "open",
        "--topic",
        "brioche",
        "--severity",
        "sev4",
        "--title",
        "Watch this",
    )
    assert code == 0 and "by nightshift" in out
