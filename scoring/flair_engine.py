"""The optional flair engine: model resolution without the network, lazy loading, batched prediction.

``import flair`` costs seconds and hundreds of MB, so nothing here imports it at module level:
``resolve_model`` only looks at files, and ``FlairSentiment.load`` imports flair when called (in the
sentiment worker, in the background). The process is made offline first (``go_offline``) so a
missing model is reported, never downloaded.

Model names resolve as flair 0.15.1 does (``TextClassifier._fetch_model``): a known name maps to a
file under ``flair.cache_root / "models"`` (``$FLAIR_CACHE_ROOT``, default ``~/.flair``); a name
with a slash is a Hugging Face hub id, looked up in the local hub cache only; anything else is a path.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tocsin.config.text import fold_word
from tocsin.scoring.language import tokenize

DEFAULT_MODEL = "sentiment"

# flair 0.15.1, flair/models/text_classification_model.py: name → the file cached_path() keeps
# (get_from_cache names the cached file after the last URL segment).
NAMED_MODELS: dict[str, str] = {
    "sentiment": "sentiment-en-mix-distillbert_4.pt",
    "en-sentiment": "sentiment-en-mix-distillbert_4.pt",
    "sentiment-fast": "sentiment-en-mix-ft-rnn_v8.pt",
}

# Two-class models (flair's POSITIVE/NEGATIVE) have no neutral: below this confidence we say neutral.
TWO_CLASS_NEUTRAL_BELOW = 0.65

_LABELS = {
    "positive": "positive",
    "pos": "positive",
    "negative": "negative",
    "neg": "negative",
    "neutral": "neutral",
    "neu": "neutral",
    "0": "negative",
    "1": "neutral",
    "2": "positive",
}


# Models trained by tocsin read text as the lexicon does (links and handles dropped, lower case, no
# accents): the marker in the model card tells the loader to do the same at prediction time.
TOKENS_MARKER = "tocsin_tokens"
TOKENS_VERSION = "fold-v1"
LABEL_TYPE = "sentiment"
SENTIMENT_LABELS = ("negative", "neutral", "positive")


def model_tokens(text: str) -> list[str]:
    """How a tocsin-trained model sees a text: our tokens, folded; never empty."""
    return [fold_word(t) for t in tokenize(text)] or ["."]


class ModelNotFound(Exception):
    """The flair model cannot be found locally (the message says where we looked)."""


def go_offline() -> None:
    """Make this process unable to download models (call before importing flair)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TQDM_DISABLE", "1")  # flair's progress bars would flood a terminal or a log


def quiet_flair() -> None:
    """flair logs at INFO to its own stderr handler (even a whole vocabulary when a model loads):
    on the desk that would scribble over the screen. Keep its warnings only."""
    import logging

    logging.getLogger("flair").setLevel(logging.WARNING)


def flair_cache_root() -> Path:
    """Where flair keeps its models, computed as flair/__init__.py does, without importing it."""
    return Path(os.getenv("FLAIR_CACHE_ROOT", str(Path(Path.home(), ".flair"))))


def _tilde(path: Path) -> str:
    home = str(Path.home())
    s = str(path)
    return "~" + s[len(home) :] if home and s.startswith(home + os.sep) else s


def resolve_model(model: str | None) -> Path:
    """The local file for a model name or path; raises ModelNotFound with a clear message."""
    name = (model or DEFAULT_MODEL).strip()
    if name in NAMED_MODELS:
        path = flair_cache_root() / "models" / NAMED_MODELS[name]
        if path.is_file():
            return path
        raise ModelNotFound(f"flair model '{name}' not in cache ({_tilde(path)})")
    candidate = Path(name).expanduser()
    if candidate.is_file():
        return candidate
    is_file_name = name.endswith((".pt", ".pth", ".bin"))
    hub_id = name.count("/") == 1 and not name.startswith(("/", ".", "~")) and not is_file_name
    if hub_id:
        cached = _hub_cached(name)
        if cached is not None:
            return cached
        raise ModelNotFound(f"flair model '{name}' not in the local Hugging Face cache")
    if is_file_name or os.sep in name or name.startswith((".", "~")):
        raise ModelNotFound(f"flair model file not found: {name}")
    known = ", ".join(sorted(NAMED_MODELS))
    raise ModelNotFound(f"unknown flair model '{name}' (known names: {known}; or a path to a .pt file)")


def _hub_cached(repo_id: str) -> Path | None:
    """flair's hf_download fetches ``pytorch_model.bin`` from the hub: look for it in the cache only."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    revision = "main"
    if "@" in repo_id:
        repo_id, revision = repo_id.rsplit("@", 1)
    found = try_to_load_from_cache(repo_id, "pytorch_model.bin", revision=revision)
    return Path(found) if isinstance(found, str) else None


def map_label(value: str) -> str | None:
    """A model's label (``POSITIVE``, ``neg``, ``2``…) → negative/neutral/positive, or None if unknown."""
    return _LABELS.get(value.strip().lower())


@dataclass
class FlairSentiment:
    """A loaded flair ``TextClassifier`` and what its labels mean."""

    classifier: Any
    path: Path
    mini_batch_size: int = 32

    @classmethod
    def load(cls, path: Path, *, threads: int | None = None, mini_batch_size: int = 32) -> FlairSentiment:
        """Import flair (slow) and load the classifier at ``path`` on the CPU, offline."""
        go_offline()
        import torch

        if threads:
            torch.set_num_threads(threads)
        import flair
        from flair.models import TextClassifier

        quiet_flair()
        flair.device = torch.device("cpu")
        classifier = TextClassifier.load(str(path))
        classifier.eval()
        return cls(classifier, Path(path), mini_batch_size)

    @property
    def labels(self) -> list[str]:
        dictionary = getattr(self.classifier, "label_dictionary", None)
        if dictionary is None:
            return []
        return [str(x) for x in dictionary.get_items()]

    @property
    def two_class(self) -> bool:
        mapped = {map_label(x) for x in self.labels} - {None}
        return "neutral" not in mapped

    def predict(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """(label, confidence) per text; labels are negative/neutral/positive."""
        from flair.data import Sentence

        card = getattr(self.classifier, "model_card", None) or {}
        if card.get(TOKENS_MARKER) == TOKENS_VERSION:
            sentences = [Sentence(model_tokens(t)) for t in texts]
        else:  # a stock flair model: its own tokenizer
            sentences = [Sentence(t if t.strip() else ".") for t in texts]
        label_type = self.classifier.label_type
        self.classifier.predict(
            sentences, mini_batch_size=self.mini_batch_size, label_name=label_type, verbose=False
        )
        two_class = self.two_class
        out: list[tuple[str, float]] = []
        for s in sentences:
            labels = s.get_labels(label_type)
            if not labels:
                out.append(("neutral", 0.0))
                continue
            best = labels[0]
            mapped = map_label(best.value) or "neutral"
            conf = float(best.score)
            if two_class and conf < TWO_CLASS_NEUTRAL_BELOW:
                mapped, conf = "neutral", 1.0 - conf
            out.append((mapped, conf))
        return out


# --- training (``tocsin train-sentiment``) -------------------------------------------------------


class TrainingDataError(Exception):
    """The training data cannot be used (the message says why)."""


@dataclass
class LabelledData:
    rows: list[tuple[str, str]]
    bad_lines: int = 0


@dataclass
class TrainReport:
    train_size: int
    heldout_size: int
    bad_lines: int
    accuracy: float
    macro_f1: float
    per_label: dict[str, int] = field(default_factory=dict)
    out: Path | None = None


def read_labelled(path: Path) -> LabelledData:
    """``text<TAB>label`` lines (labels negative/neutral/positive or pos/neg/neu…); bad lines counted."""
    rows: list[tuple[str, str]] = []
    bad = 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            text, sep, label = line.rpartition("\t")
            mapped = map_label(label) if sep else None
            if mapped is None or not text.strip():
                bad += 1
                continue
            rows.append((text, mapped))
    return LabelledData(rows, bad)


def classification_scores(gold: Sequence[str], pred: Sequence[str]) -> tuple[float, float]:
    """(accuracy, macro-F1 over negative/neutral/positive)."""
    pairs = Counter(zip(gold, pred, strict=True))
    f1s = []
    for label in SENTIMENT_LABELS:
        tp = pairs[(label, label)]
        n_gold = sum(v for (g, _), v in pairs.items() if g == label)
        n_pred = sum(v for (_, p), v in pairs.items() if p == label)
        precision = tp / n_pred if n_pred else 0.0
        recall = tp / n_gold if n_gold else 0.0
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    accuracy = sum(pairs[(lab, lab)] for lab in SENTIMENT_LABELS) / max(1, len(gold))
    return accuracy, sum(f1s) / len(f1s)


ARCHITECTURES = ("pool", "rnn")


def train_model(
    data: LabelledData,
    out: Path,
    *,
    embeddings: str | None = None,
    architecture: str = "pool",
    epochs: int = 25,
    dev: LabelledData | None = None,
    seed: int = 0,
    heldout_fraction: float = 0.1,
    threads: int | None = None,
    verbose: bool = False,
    progress: Callable[[str], None] = lambda _msg: None,
) -> TrainReport:
    """Train a flair TextClassifier on ``data`` and save it to ``out`` (offline, CPU).

    Without ``embeddings``, trainable one-hot word embeddings (vocabulary from the training split)
    under either a mean pool (``pool``: fastText-like, the best on small data) or a GRU
    (``rnn``: ``DocumentRNNEmbeddings``); both train in seconds to minutes on a CPU. With
    ``embeddings`` (a local transformer directory) ``TransformerDocumentEmbeddings`` is fine-tuned.

    With ``dev`` every training row is trained on (a labelled dev file is the scarce part; holding
    training rows back as well only starves the model) and the final epoch is kept. Without it,
    ``heldout_fraction`` of the data (shuffled with ``seed``) is held out and a further slice of the
    rest picks the epoch. Either way the held-out part is never trained on nor used to pick the
    epoch, so its accuracy and macro-F1 are honest.
    """
    if architecture not in ARCHITECTURES:
        raise TrainingDataError(
            f"unknown architecture {architecture!r} (choose from {', '.join(ARCHITECTURES)})"
        )
    if not data.rows:
        raise TrainingDataError("no valid training lines (expected text<TAB>negative|neutral|positive)")
    if embeddings and not Path(embeddings).is_dir():
        raise TrainingDataError(
            f"embeddings not found: {embeddings} (expected a local transformer directory)"
        )
    held_rows, select_rows, train_rows = _split(data, dev, seed, heldout_fraction)

    go_offline()
    import logging

    import torch

    if threads:
        torch.set_num_threads(threads)
    import flair
    from flair.data import Corpus, Sentence
    from flair.datasets import FlairDatapointDataset
    from flair.models import TextClassifier
    from flair.trainers import ModelTrainer

    if verbose:
        logging.getLogger("flair").setLevel(logging.INFO)
    else:
        quiet_flair()  # flair logs every epoch and even the whole vocabulary at INFO
    flair.device = torch.device("cpu")
    flair.set_seed(seed)

    def sentences(items: list[tuple[str, str]]) -> FlairDatapointDataset:
        out_sentences = []
        for text, label in items:
            sentence = Sentence(model_tokens(text))
            sentence.add_label(LABEL_TYPE, label)
            out_sentences.append(sentence)
        return FlairDatapointDataset(out_sentences)

    corpus: Corpus = Corpus(
        train=sentences(train_rows),
        dev=sentences(select_rows) if select_rows else None,
        test=None,
        sample_missing_splits=False,
    )
    label_dictionary = corpus.make_label_dictionary(LABEL_TYPE, add_unk=False)
    classifier = TextClassifier(
        _document_embeddings(corpus, embeddings, architecture, len(train_rows)),
        label_type=LABEL_TYPE,
        label_dictionary=label_dictionary,
        multi_label=False,
    )
    trainer = ModelTrainer(classifier, corpus)
    what = f"transformer {embeddings}" if embeddings else f"one-hot words + {architecture}"
    picking = f"{len(select_rows)} to pick the epoch" if select_rows else "the last epoch kept"
    progress(
        f"training {what} on {len(train_rows)} texts ({picking}), "
        f"{epochs} epoch(s); held out: {len(held_rows)}"
    )
    _fit(trainer, epochs, fine_tune=bool(embeddings))
    classifier.model_card = {**(classifier.model_card or {}), TOKENS_MARKER: TOKENS_VERSION}
    out.parent.mkdir(parents=True, exist_ok=True)
    classifier.save(out)

    accuracy, macro_f1 = _evaluate(FlairSentiment(classifier, out), held_rows) if held_rows else (0.0, 0.0)
    return TrainReport(
        train_size=len(train_rows),
        heldout_size=len(held_rows),
        bad_lines=data.bad_lines + (dev.bad_lines if dev is not None else 0),
        accuracy=accuracy,
        macro_f1=macro_f1,
        per_label=dict(Counter(label for _, label in train_rows)),
        out=out,
    )


Rows = list[tuple[str, str]]


def _split(
    data: LabelledData, dev: LabelledData | None, seed: int, heldout_fraction: float
) -> tuple[Rows, Rows, Rows]:
    """(held out, to pick the epoch, to train on), shuffled with ``seed`` (see ``train_model``)."""
    rows = list(data.rows)
    random.Random(seed).shuffle(rows)
    if dev is not None and dev.rows:
        held_rows, select_rows, train_rows = list(dev.rows), [], rows
    else:
        n_held = max(1, round(len(rows) * heldout_fraction)) if len(rows) >= 4 else 0
        held_rows, rows = rows[:n_held], rows[n_held:]
        n_select = max(1, round(len(rows) * 0.1)) if len(rows) >= 4 else 0
        select_rows, train_rows = rows[:n_select], rows[n_select:]
    if not train_rows:
        raise TrainingDataError("not enough lines to train (need at least 2)")
    return held_rows, select_rows, train_rows


def _document_embeddings(corpus: Any, embeddings: str | None, architecture: str, n_train: int) -> Any:
    """A local transformer to fine-tune, or trainable one-hot words under a mean pool or a GRU."""
    if embeddings:
        from flair.embeddings import TransformerDocumentEmbeddings

        return TransformerDocumentEmbeddings(str(embeddings), fine_tune=True)
    from flair.embeddings import DocumentPoolEmbeddings, DocumentRNNEmbeddings, OneHotEmbeddings

    min_freq = 1 if n_train < 500 else 2
    words = OneHotEmbeddings.from_corpus(corpus, min_freq=min_freq, embedding_length=100)
    if architecture == "rnn":
        return DocumentRNNEmbeddings([words], hidden_size=64, rnn_type="GRU", dropout=0.5)
    return DocumentPoolEmbeddings([words], fine_tune_mode="none", pooling="mean")


def _fit(trainer: Any, epochs: int, *, fine_tune: bool) -> None:
    """Train in a scratch folder (flair writes checkpoints there; only the final model is kept)."""
    import tempfile
    import warnings

    import torch

    with tempfile.TemporaryDirectory(prefix="tocsin-train-") as workdir, warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # flair 0.15 on torch 2.x: GradScaler deprecation
        common: dict[str, Any] = {
            "max_epochs": epochs,
            "save_final_model": False,
            "create_file_logs": False,
            "create_loss_file": False,
        }
        if fine_tune:
            trainer.fine_tune(workdir, learning_rate=5e-5, mini_batch_size=16, **common)
        else:
            trainer.train(
                workdir, learning_rate=0.01, mini_batch_size=32, optimizer=torch.optim.AdamW, **common
            )


def _evaluate(model: FlairSentiment, held_rows: Rows) -> tuple[float, float]:
    """Accuracy and macro-F1 on rows never trained on nor used to pick the epoch."""
    model.classifier.eval()
    predicted = [label for label, _ in model.predict([text for text, _ in held_rows])]
    return classification_scores([label for _, label in held_rows], predicted)
