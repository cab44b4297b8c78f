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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


class ModelNotFound(Exception):
    """The flair model cannot be found locally (the message says where we looked)."""


def go_offline() -> None:
    """Make this process unable to download models (call before importing flair)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


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
