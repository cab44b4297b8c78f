"""``check-config`` says yes only when the run can start (issue 10, item 6).

Reproduced before: a jsonl path that does not exist, ``port: 99999`` and a journal path that is a folder
each passed the check, then the run exited 0 with the failure only in a snapshot, or a traceback from the
journal's thread; 100-deep YAML gave "internal error"; an empty config watched nothing and exited 0.
The config loader is fuzzed too: any text gives settings or FILE:LINE problems, never an exception."""

from __future__ import annotations

import io
import socket
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin.config.loader import ConfigProblem, _load_text, check_config
from tocsin.config.settings import JsonlSourceSettings, Settings, TopicSettings
from tocsin.desk.cli import main
from tocsin.desk.headless import run_headless

TOPICS = "topics: [{id: brioche, keywords: [maison brioche]}]\n"


def problems(path: Path) -> list[str]:
    return [str(p) for p in check_config(path)]


def test_a_jsonl_file_that_does_not_exist_is_found_by_the_check(write, tmp_path: Path) -> None:
    path = write(TOPICS + f"sources:\n  - type: jsonl\n    id: f\n    path: {tmp_path}/nope.jsonl\n")
    assert problems(path) == [f"{path}:5: sources[0].path: no such file (write follow: true to wait for it)"]
    followed = write(
        TOPICS + f"sources: [{{type: jsonl, id: f, path: {tmp_path}/nope.jsonl, follow: true}}]\n"
    )
    assert problems(followed) == []  # follow waits for the file, like tail -F


def test_a_port_out_of_range_is_refused(write) -> None:
    path = write(TOPICS + "sources:\n  - {type: webhook, id: w, port: 99999, require_signature: false}\n")
    assert problems(path) == [
        f"{path}:3: sources[0].port: must be a TCP port from 1 to 65535 (0 = any free port), got 99999"
    ]


def test_a_port_in_use_is_refused(write) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        path = write(
            TOPICS + f"sources: [{{type: webhook, id: w, port: {port}, require_signature: false}}]\n"
        )
        [problem] = problems(path)
    assert f"sources[0].port: cannot listen on 127.0.0.1:{port}" in problem


def test_a_journal_path_that_is_a_folder_is_refused(write, tmp_path: Path) -> None:
    path = write(f"desk: {{journal: {tmp_path}}}\n" + TOPICS + "sources: [{type: demo, id: demo}]\n")
    assert problems(path) == [
        f"{path}:1: desk.journal: is a directory: name a file inside it, e.g. journal.sqlite"
    ]
    fine = write(
        f"desk: {{journal: {tmp_path}/new/folder/j.sqlite}}\n"
        + TOPICS
        + "sources: [{type: demo, id: demo}]\n"
    )
    assert problems(fine) == []


def test_a_postgresql_journal_is_not_checked_as_a_file(write, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "postgresql:").write_text("")  # a URL read as a path would need this to be a folder
    team = write(
        "desk: {journal: 'postgresql://desk@db.example/tocsin'}\n"
        + TOPICS
        + "sources: [{type: demo, id: demo}]\n"
    )
    assert problems(team) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ["topics: none", "sources: none"]),
        ("sources: [{type: demo, id: demo}]\n", ["topics: none"]),
        (TOPICS, ["sources: none"]),
    ],
)
def test_a_config_that_watches_nothing_is_refused(write, text: str, expected: list[str]) -> None:
    found = problems(write(text))
    assert len(found) == len(expected)
    for line, start in zip(found, expected, strict=True):
        assert start in line


@pytest.mark.parametrize("depth", [100, 1000, 20_000])
@pytest.mark.parametrize("style", ["flow", "block"])
def test_any_depth_of_yaml_gets_a_one_line_answer(write, depth: int, style: str) -> None:
    if style == "flow":
        text = "desk: " + "[" * depth + "]" * depth + "\n"
    else:
        text = "".join("  " * i + "a:\n" for i in range(min(depth, 2000)))
    found = check_config(write(text))
    assert found and all(isinstance(p, ConfigProblem) and p.line >= 1 for p in found)
    assert all("\n" not in str(p) for p in found)


def test_run_refuses_what_check_config_refuses_before_starting(write, tmp_path: Path, capsys) -> None:
    path = write(TOPICS + f"sources:\n  - type: jsonl\n    id: f\n    path: {tmp_path}/nope.jsonl\n")
    assert main(["run", "--config", str(path), "--headless", "--duration", "1"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert f"{path}:5: sources[0].path: no such file" in err


async def test_a_source_failing_during_the_run_is_said_on_stderr(tmp_path: Path, capsys) -> None:
    settings = Settings(
        topics=(TopicSettings(id="b", keywords=("brioche",)),),
        sources=(JsonlSourceSettings(type="jsonl", id="f", path=str(tmp_path / "gone.jsonl")),),
    )
    healthy = await run_headless(settings, duration=2, emit=("snapshots",), out=io.StringIO())
    assert not healthy
    assert "tocsin: source f failed: cannot open" in capsys.readouterr().err


# --- fuzzing the loader ----------------------------------------------------------------------

yaml_words = st.sampled_from(
    ["desk:", "topics:", "sources:", "- ", "id:", "type: demo", "keywords:", "[", "]", "{", "}", ":", "&a",
     "*a", "<<:", "!!binary", "'", '"', "\\ud800", "\t", "\n", "  ", "~", "1e999", "-.inf", ".nan", "99999",
     "port:", "type: webhook", "journal:", "#", "---", "...", "%YAML", "\x00", "\x85", "é"]
)  # fmt: skip
yaml_texts = st.one_of(
    st.lists(yaml_words, max_size=30).map("".join),
    st.text(st.characters(codec="utf-8"), max_size=60),
)


@given(yaml_texts)
def test_fuzz_any_text_gives_settings_or_file_line_problems(text: str) -> None:
    settings, found = _load_text(text, "fuzz.yaml", {})
    assert (settings is None) == bool(found)
    for problem in found:
        assert problem.file == "fuzz.yaml" and problem.line >= 1 and problem.key and problem.message
        assert "\n" not in problem.message
