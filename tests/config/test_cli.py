"""``tocsin check-config`` and config errors on the other commands: plain lines, exit 2, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tocsin.desk.cli import main

BAD = """
desk:
  timezone: Europe/Pari
sources:
  - type: demo
    id: demo
    speed: fast
"""


def test_check_config_bad_file(write, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(BAD)
    assert main(["check-config", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"{path}:2: desk.timezone: unknown time zone 'Europe/Pari' (expected an IANA name like Europe/Paris "
        "or America/New_York); did you mean 'Europe/Paris'?",
        f"{path}:6: sources[0].speed: expected a number, got 'fast'",
    ]


def test_check_config_good_file(write, capsys: pytest.CaptureFixture[str]) -> None:
    path = write("topics: [{id: brioche, keywords: [brioche]}]\nsources: [{type: demo, id: demo}]\n")
    assert main(["check-config", str(path)]) == 0
    assert capsys.readouterr() == (f"{path}: ok\n", "")  # one line: which file passed


@pytest.mark.parametrize("argv", [["run"], ["demo"], []])
def test_the_wall_refuses_an_output_that_is_not_a_terminal(
    write, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    import tocsin.tui.app

    def never(*_a: object, **_k: object) -> int:
        raise AssertionError("the wall was started on a pipe")

    monkeypatch.setattr(tocsin.tui.app, "run_tui", never)
    path = write("topics: [{id: brioche, keywords: [brioche]}]\nsources: [{type: demo, id: demo}]\n")
    assert main(["--config", str(path), *argv]) == 2  # capsys: stdout is not a terminal
    out, err = capsys.readouterr()
    command = argv[0] if argv else "run"
    assert out == ""  # no screen codes in the pipe
    assert err == (
        "tocsin: the wall needs a terminal, and standard output is not one (a pipe or a file): "
        f"use `tocsin {command} --headless` for JSON Lines\n"
    )


@pytest.mark.parametrize("text", ["desk: [\n", "- just\n- a list\n", "ui: {refresh_hz: !!binary AAAA}\n"])
def test_check_config_never_shows_a_traceback(write, capsys: pytest.CaptureFixture[str], text: str) -> None:
    path = write(text)
    assert main(["check-config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "internal error" not in err
    assert err.startswith(f"{path}:")


def test_check_config_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(tmp_path / "nope.yaml")]) == 2
    assert capsys.readouterr().err == f"{tmp_path / 'nope.yaml'}:1: (file): no such file\n"


def test_run_with_a_bad_config_exits_2_before_starting(write, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(BAD)
    assert main(["run", "--headless", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:6: sources[0].speed: expected a number, got 'fast'" in err
    assert "Traceback" not in err


def test_user_config_from_environment_is_checked(
    write, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(BAD)
    monkeypatch.setenv("TOCSIN_CONFIG", str(path))
    assert main(["run", "--headless"]) == 2
    assert f"{path}:2: desk.timezone:" in capsys.readouterr().err
