"""``tocsin sentiment`` and ``tocsin train-sentiment``: the sentiment engines from the shell.

    printf 'arnaque totale\\nmerci !\\n' | tocsin sentiment
    tocsin sentiment --engine flair --model fr.pt < texts.txt
    tocsin train-sentiment labelled.tsv --out fr.pt [--dev dev.tsv] [--epochs 25] [--embeddings DIR]

``sentiment`` reads one text per line and writes ``label<TAB>score`` per line, in order, a batch at a
time (it does not wait for the end of the input, so it works at the end of a pipe that stays open).
A line with nothing to judge (empty, only links or handles, a language neither lexicon reads) is
``unscored<TAB>0.000``, as on the desk: calling it neutral would count it in the neutral share.
For this explicit command a flair model that cannot be found or loaded is an error (exit 2), not a
silent fallback to the lexicon as on the desk.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, TextIO

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT = 0, 1, 2
DEFAULT_BATCH = 256
FLAIR_LOAD_TIMEOUT_S = 600.0


def _positive_int(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if n <= 0:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``sentiment`` and ``train-sentiment`` subcommands."""
    p = sub.add_parser(
        "sentiment",
        help="score texts from stdin (one per line): label<TAB>score per line",
        description="Score texts read from stdin, one per line; write label<TAB>score per line, in order.",
    )
    p.add_argument("--engine", choices=("lexicon", "flair"), default="lexicon")
    p.add_argument(
        "--model", metavar="M", help="flair: a model name (sentiment, sentiment-fast) or a .pt path"
    )
    p.add_argument("--batch", type=_positive_int, default=DEFAULT_BATCH, metavar="N", help="texts per batch")
    p.add_argument("--lang", metavar="CODE", help="the texts' language (fr, en…); default: guessed per text")
    # once an option, now what every unjudgeable line says: still accepted so older scripts keep running
    p.add_argument("--unscored", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(handler=run_sentiment)

    t = sub.add_parser(
        "train-sentiment",
        help="train a flair sentiment model from text<TAB>label lines",
        description="Train a flair text classifier offline from text<TAB>negative|neutral|positive lines.",
    )
    t.add_argument("data", metavar="DATA.tsv")
    t.add_argument("--out", required=True, metavar="MODEL.pt", help="where to save the model")
    t.add_argument("--embeddings", metavar="PATH", help="a local transformer directory to fine-tune")
    t.add_argument(
        "--arch", choices=("pool", "rnn"), default="pool", help="from-scratch model (default: pool)"
    )
    t.add_argument("--epochs", type=_positive_int, default=25, metavar="N")
    t.add_argument("--dev", metavar="DEV.tsv", help="held-out data (default: 10%% of DATA)")
    t.add_argument("--seed", type=int, default=0, metavar="S")
    t.add_argument("--verbose", action="store_true", help="show flair's training log")
    t.set_defaults(handler=run_train)


# --- tocsin sentiment ---------------------------------------------------------------------------


def read_batches(stream: BinaryIO, batch: int) -> Iterator[list[str]]:
    """Lines of ``stream`` in batches of at most ``batch``; a shorter batch as soon as the input
    pauses (so a live pipe is answered line by line rather than when ``batch`` lines have come)."""
    fd: int | None
    try:
        fd = stream.fileno()
        import select

        select.select([fd], [], [], 0)
    except (OSError, ValueError, AttributeError, ImportError):
        fd = None  # not a real file descriptor (tests, Windows pipes): plain reads
    pending: list[str] = []
    buf = b""
    while True:
        if fd is not None:
            import select

            if pending and not select.select([fd], [], [], 0)[0]:
                yield pending  # the input paused: answer what we have
                pending = []
            chunk = os.read(fd, 1 << 16)
        else:
            chunk = stream.read(1 << 16)
        if not chunk:
            break
        buf += chunk
        *lines, buf = buf.split(b"\n")
        for line in lines:
            pending.append(line.rstrip(b"\r").decode("utf-8", errors="replace"))
            if len(pending) >= batch:
                yield pending
                pending = []
    if buf:
        pending.append(buf.rstrip(b"\r").decode("utf-8", errors="replace"))
    if pending:
        yield pending


def run_sentiment(args: argparse.Namespace) -> int:
    """``tocsin sentiment``: stdin → label<TAB>score lines."""
    return asyncio.run(
        score_stream(
            sys.stdin.buffer,
            sys.stdout,
            sys.stderr,
            engine=args.engine,
            model=args.model,
            batch=args.batch,
            lang=args.lang,
        )
    )


async def score_stream(
    stdin: BinaryIO,
    stdout: TextIO,
    stderr: TextIO,
    *,
    engine: str = "lexicon",
    model: str | None = None,
    batch: int = DEFAULT_BATCH,
    lang: str | None = None,
) -> int:
    """Score every line of ``stdin``; the exit code."""
    from tocsin.config.settings import SentimentSettings
    from tocsin.scoring.flair_engine import ModelNotFound, resolve_model
    from tocsin.scoring.sentiment import SentimentService

    if engine == "flair":
        try:
            resolve_model(model)
        except ModelNotFound as exc:
            print(f"tocsin sentiment: {exc}", file=stderr)
            return EXIT_BAD_INPUT
    settings = SentimentSettings(engine=engine, model=model, batch_size=batch)  # type: ignore[arg-type]
    service = SentimentService(settings, inline=True)
    try:
        await service.start()
        if engine == "flair":
            try:
                async with asyncio.timeout(FLAIR_LOAD_TIMEOUT_S):
                    await service.wait_ready()
            except TimeoutError:
                print("tocsin sentiment: flair model did not load in time", file=stderr)
                return EXIT_INTERNAL
            if service.engine != "flair":
                print(f"tocsin sentiment: {service.note or 'flair model could not be loaded'}", file=stderr)
                return EXIT_BAD_INPUT
        loop = asyncio.get_running_loop()
        batches = read_batches(stdin, batch)
        while True:
            texts = await loop.run_in_executor(None, next, batches, None)
            if texts is None:
                break
            scores = await service.score(texts, [lang] * len(texts))
            lines = [f"{s.label}\t{s.score:.3f}" for s in scores]
            try:
                stdout.write("\n".join(lines) + "\n")
                stdout.flush()
            except BrokenPipeError:  # `| head`: the reader has gone, which is fine
                return EXIT_OK
        return EXIT_OK
    finally:
        await service.close()


# --- tocsin train-sentiment ---------------------------------------------------------------------


def run_train(args: argparse.Namespace) -> int:
    """``tocsin train-sentiment``: train, report held-out figures, save the model."""
    from tocsin.scoring.flair_engine import TrainingDataError, read_labelled, train_model

    def read(path_str: str, what: str):
        path = Path(path_str)
        try:
            return read_labelled(path)
        except OSError as exc:
            raise TrainingDataError(f"cannot read {what} {path}: {exc.strerror or exc}") from None

    try:
        data = read(args.data, "training data")
        dev = read(args.dev, "dev data") if args.dev else None
        if data.bad_lines:
            print(f"{args.data}: {data.bad_lines} line(s) skipped (no tab or unknown label)", file=sys.stderr)
        if dev is not None and dev.bad_lines:
            print(f"{args.dev}: {dev.bad_lines} line(s) skipped (no tab or unknown label)", file=sys.stderr)
        if not data.rows:
            print(
                f"tocsin train-sentiment: no valid lines in {args.data} "
                "(expected text<TAB>negative|neutral|positive)",
                file=sys.stderr,
            )
            return EXIT_BAD_INPUT
        if dev is not None and not dev.rows:
            print(f"tocsin train-sentiment: no valid lines in {args.dev}", file=sys.stderr)
            return EXIT_BAD_INPUT
        import importlib.util

        if importlib.util.find_spec("flair") is None:
            print(
                "tocsin train-sentiment: flair is not installed (pip install 'tocsin[flair]')",
                file=sys.stderr,
            )
            return EXIT_INTERNAL
        report = train_model(
            data,
            Path(args.out),
            embeddings=args.embeddings,
            architecture=args.arch,
            epochs=args.epochs,
            dev=dev,
            seed=args.seed,
            verbose=args.verbose,
            progress=lambda msg: print(msg, file=sys.stderr, flush=True),
        )
    except TrainingDataError as exc:
        print(f"tocsin train-sentiment: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    labels = ", ".join(f"{k} {v}" for k, v in sorted(report.per_label.items()))
    print(f"trained on {report.train_size} texts ({labels}); {report.bad_lines} bad line(s) skipped")
    if report.heldout_size:
        print(
            f"held-out ({report.heldout_size} texts): accuracy {100 * report.accuracy:.1f} "
            f"macro-F1 {100 * report.macro_f1:.1f}"
        )
    print(f"model saved to {args.out} (use: tocsin sentiment --engine flair --model {args.out})")
    return EXIT_OK
