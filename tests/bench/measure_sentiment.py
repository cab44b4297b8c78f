"""Measure the lexicon (or a flair model) on labelled dev sets. A script, not a test.

    .venv/bin/python tests/bench/measure_sentiment.py ../shared/data/sentiment-dev
    .venv/bin/python tests/bench/measure_sentiment.py ../shared/data/sentiment-dev --only fr \\
        --engine flair --model M.pt
    .venv/bin/python tests/bench/measure_sentiment.py ../shared/data/sentiment-dev --errors 20   # show misses
    .venv/bin/python tests/bench/measure_sentiment.py ../shared/data/sentiment-dev --half b --with-train

``--half a|b`` keeps one half of every file, split by a hash of the text (stable, independent of the
row order): rules are chosen on one half and reported on the other, since the final check is on text
nobody here has seen. ``--with-train`` also reads the ``*-train.tsv`` files (the lexicon never
learns from them, so for it they are unseen text too).

Reads every ``*.tsv`` in the folder (``text<TAB>label``, skipping ``*-train.tsv``) and prints, per file,
macro-averaged recall (TweetEval's metric), macro-F1 (DEFT's), accuracy and the confusion matrix.
``unscored`` counts as ``neutral``. The language is taken from the file name prefix (``en-``, ``fr-``)
unless ``--guess-lang`` is given, in which case the scorer guesses it as it does for untagged mentions.
"""

from __future__ import annotations

import argparse
import sys
import zlib
from collections import Counter
from pathlib import Path

LABELS = ("negative", "neutral", "positive")


def read_tsv(path: Path) -> tuple[list[str], list[str]]:
    texts, gold = [], []
    for line in path.read_text("utf-8").splitlines():
        text, sep, label = line.rpartition("\t")
        if sep and label.strip() in LABELS:
            texts.append(text)
            gold.append(label.strip())
    return texts, gold


def in_half(text: str, half: str | None) -> bool:
    """Whether a row belongs to half ``a`` or ``b`` (None: every row)."""
    return half is None or zlib.crc32(text.encode("utf-8")) % 2 == (0 if half == "a" else 1)


def metrics(gold: list[str], pred: list[str]) -> dict[str, float]:
    """Macro recall, macro F1 and accuracy over the three labels."""
    pairs = Counter(zip(gold, pred, strict=True))
    recalls, f1s = [], []
    for label in LABELS:
        tp = pairs[(label, label)]
        n_gold = sum(v for (g, _), v in pairs.items() if g == label)
        n_pred = sum(v for (_, p), v in pairs.items() if p == label)
        recall = tp / n_gold if n_gold else 0.0
        precision = tp / n_pred if n_pred else 0.0
        recalls.append(recall)
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    accuracy = sum(pairs[(lab, lab)] for lab in LABELS) / max(1, len(gold))
    return {"macro_recall": sum(recalls) / 3, "macro_f1": sum(f1s) / 3, "accuracy": accuracy}


def predict(texts: list[str], lang: str | None, args: argparse.Namespace) -> list[str]:
    if args.engine == "lexicon":
        from tocsin.scoring.lexicon import LexiconScorer

        scores = LexiconScorer().score_batch(texts, [lang] * len(texts))
        return [s.label for s in scores]
    from tocsin.scoring.flair_engine import FlairSentiment, resolve_model

    model = FlairSentiment.load(resolve_model(args.model))
    return [label for label, _ in model.predict(texts)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("folder", type=Path)
    parser.add_argument("--engine", choices=("lexicon", "flair"), default="lexicon")
    parser.add_argument("--model", help="flair model name or .pt path")
    parser.add_argument("--guess-lang", action="store_true", help="do not tell the scorer the language")
    parser.add_argument("--only", metavar="PREFIX", help="only files whose name starts with PREFIX (en, fr)")
    parser.add_argument(
        "--errors", type=int, default=0, metavar="N", help="print N misclassified texts per file"
    )
    parser.add_argument("--half", choices=("a", "b"), help="only one half of each file (hash of the text)")
    parser.add_argument("--with-train", action="store_true", help="also measure the *-train.tsv files")
    args = parser.parse_args(argv)
    files = sorted(
        p
        for p in args.folder.glob("*.tsv")
        if (args.with_train or not p.name.endswith("-train.tsv"))
        and (not args.only or p.name.startswith(args.only))
    )
    if not files:
        print(f"no .tsv files in {args.folder}", file=sys.stderr)
        return 2
    for path in files:
        texts, gold = read_tsv(path)
        kept = [i for i, text in enumerate(texts) if in_half(text, args.half)]
        texts, gold = [texts[i] for i in kept], [gold[i] for i in kept]
        lang = None if args.guess_lang else path.name.split("-", 1)[0]
        raw = predict(texts, lang, args)
        pred = ["neutral" if p == "unscored" else p for p in raw]
        m = metrics(gold, pred)
        print(
            f"{path.name}{f' half {args.half}' if args.half else ''}: n={len(texts)} "
            f"macro-recall={100 * m['macro_recall']:.1f} "
            f"macro-F1={100 * m['macro_f1']:.1f} accuracy={100 * m['accuracy']:.1f} "
            f"unscored={raw.count('unscored')}"
        )
        confusion = Counter(zip(gold, pred, strict=True))
        print("    gold\\pred  " + "  ".join(f"{lab[:3]:>5}" for lab in LABELS))
        for g in LABELS:
            print(f"    {g:<10} " + "  ".join(f"{confusion[(g, p)]:>5}" for p in LABELS))
        if args.errors:
            shown = 0
            for text, g, p in zip(texts, gold, pred, strict=True):
                if g != p and shown < args.errors:
                    print(f"    [{g}→{p}] {text[:140]}")
                    shown += 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
