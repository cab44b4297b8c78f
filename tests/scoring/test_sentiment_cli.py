"""``tocsin sentiment`` with the lexicon, and the flair error paths that need no flair import."""

from __future__ import annotations

import asyncio
import io
import os
import socket
import sys
import time
from pathlib import Path

import pytest

from tocsin.desk.cli import main
from tocsin.scoring.sentiment_cli import read_batches, score_stream


def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], stdin: str, *argv: str):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode("utf-8"))))
    code = main(["sentiment", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_lexicon_scores_each_line_in_order(monkeypatch, capsys) -> None:
    texts = (
        "Arnaque totale, remboursez-moi !!!\nmerci pour le pain 😍\n\nhttps://x.co/a\nthe shop opens at 9\r\n"
    )
    code, out, err = run_cli(monkeypatch, capsys, texts)
    assert code == 0, err
    lines = out.splitlines()
    assert [line.split("\t")[0] for line in lines] == [
        "negative",
        "positive",
        "unscored",
        "unscored",
        "neutral",
    ]
    # nothing to judge is said as such, never as a confident-looking "neutral 0.000"
    assert lines[2] == "unscored\t0.000" and lines[3] == "unscored\t0.000"
    for line in lines:
        score = line.split("\t")[1]
        assert 0.0 <= float(score) <= 1.0 and len(score) == 5


def test_batches_stay_in_order_and_an_empty_line_is_unscored(monkeypatch, capsys) -> None:
    texts = "".join(f"{'super' if i % 2 else 'nul'} {i}\n" for i in range(25)) + "\n"
    code, out, _ = run_cli(monkeypatch, capsys, texts, "--batch", "4", "--lang", "fr")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 26
    assert [line.split("\t")[0] for line in lines[:4]] == ["negative", "positive", "negative", "positive"]
    assert lines[-1] == "unscored\t0.000"


def test_the_former_unscored_option_is_still_accepted(monkeypatch, capsys) -> None:
    code, out, _ = run_cli(monkeypatch, capsys, "\nnul\n", "--unscored", "--lang", "fr")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 2
    assert lines[0] == "unscored\t0.000" and lines[1].startswith("negative\t")


def test_bad_batch_is_bad_input(monkeypatch, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        run_cli(monkeypatch, capsys, "", "--batch", "0")
    assert exc.value.code == 2


def test_missing_named_flair_model_exits_2_without_network(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("FLAIR_CACHE_ROOT", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def refuse(*_a, **_k):
        raise AssertionError("network used")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    t0 = time.perf_counter()
    code, out, err = run_cli(monkeypatch, capsys, "hello\n", "--engine", "flair", "--model", "sentiment")
    assert code == 2
    assert out == ""
    assert "flair model 'sentiment' not in cache" in err and "sentiment-en-mix-distillbert_4.pt" in err
    assert time.perf_counter() - t0 < 2.0


@pytest.mark.parametrize("model", ["nope.pt", "./missing/model.pt", "not-a-model-name", "someone/some-model"])
def test_other_missing_models_exit_2(tmp_path: Path, monkeypatch, capsys, model: str) -> None:
    monkeypatch.setenv("FLAIR_CACHE_ROOT", str(tmp_path))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(monkeypatch, capsys, "x\n", "--engine", "flair", "--model", model)
    assert code == 2
    assert model.split("/")[-1] in err


def test_train_without_valid_lines_exits_2(tmp_path: Path, capsys) -> None:
    data = tmp_path / "bad.tsv"
    data.write_text("no tab\nstill none\ntext\tunknown-label\n", encoding="utf-8")
    code = main(["train-sentiment", str(data), "--out", str(tmp_path / "m.pt")])
    err = capsys.readouterr().err
    assert code == 2
    assert "no valid lines" in err and "3 line(s) skipped" in err
    assert not (tmp_path / "m.pt").exists()
    assert main(["train-sentiment", str(tmp_path / "absent.tsv"), "--out", str(tmp_path / "m.pt")]) == 2


def test_read_batches_answers_a_paused_pipe_without_waiting_for_a_full_batch() -> None:
    r, w = os.pipe()
    os.write(w, b"one\ntwo\n")
    reader = os.fdopen(r, "rb", buffering=0)
    batches = read_batches(reader, 100)
    assert next(batches) == ["one", "two"]  # the writer is still open: a full batch never came
    os.write(w, b"trois\r\nquatre sans fin")
    os.close(w)
    assert list(batches) == [["trois", "quatre sans fin"]]
    reader.close()


def test_score_stream_handles_invalid_utf8() -> None:
    out, err = io.StringIO(), io.StringIO()
    code = asyncio.run(score_stream(io.BytesIO(b"c'est nul \xff\xfe\n"), out, err, lang="fr"))
    assert code == 0
    assert out.getvalue().startswith("negative\t")
