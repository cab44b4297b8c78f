"""The ``tocsin`` command. Textual is imported only when a screen is opened, so headless runs,
reports and scripts start fast and work without a terminal.

Exit codes: 0 ok, 2 bad input (config, arguments, data), 1 internal error (traceback only with --debug).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from tocsin.config.settings import Settings

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT = 0, 1, 2

EMIT_KINDS = ("snapshots", "mentions", "alerts", "incidents")

# Modules that add subcommands: each has ``register(sub)`` adding parsers with
# ``set_defaults(handler=fn)``, where ``fn(args) -> int`` (exit code). Keep their top-level imports light.
COMMAND_MODULES: tuple[str, ...] = (
    "tocsin.scoring.volume_cli",
    "tocsin.desk.publish_cli",  # the journal's commands (tocsin.journal.cli), with approve and publish
    "tocsin.scoring.sentiment_cli",
)


class BadInput(Exception):
    """Bad input from the user: printed as is, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse exits 2 on bad arguments: keep that, say it plainly
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT)


def _emit_list(value: str) -> tuple[str, ...]:
    kinds = tuple(k.strip() for k in value.split(",") if k.strip())
    bad = [k for k in kinds if k not in EMIT_KINDS]
    if bad or not kinds:
        raise argparse.ArgumentTypeError(f"--emit takes a comma list of {', '.join(EMIT_KINDS)}")
    return kinds


def _positive_float(value: str) -> float:
    try:
        f = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if f <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return f


def _add_desk_options(p: argparse.ArgumentParser, default: object = None, *, attach: bool = True) -> None:
    """Who this desk is and which desk it shows (``tocsin``, ``tocsin run``; the demo has no ``--attach``)."""
    if attach:
        p.add_argument(
            "--attach",
            nargs="?",
            const="",
            default=default,
            metavar="JOURNAL",
            help="show the desk that ingests on a journal (a file or a postgresql:// URL; default: the "
            "config's desk.journal), opening no source of its own",
        )
    p.add_argument(
        "--operator", default=default, metavar="NAME", help="who acts at this desk (default: desk.operator)"
    )


def _add_shown_options(p: argparse.ArgumentParser) -> None:
    from tocsin.config.layouts import LAYOUTS, PANES

    shown = p.add_mutually_exclusive_group()
    shown.add_argument(
        "--pane",
        choices=PANES,
        metavar="NAME",
        help=f"one pane full screen, under the level line: {', '.join(PANES)}",
    )
    shown.add_argument(
        "--layout",
        metavar="NAME",
        help=f"wall, compact, {', '.join(LAYOUTS)}, or panes joined by commas (default: ui.layout)",
    )


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--headless", action="store_true", help="no screen: JSON Lines on stdout")
    p.add_argument("--duration", type=_positive_float, metavar="S", help="stop after S seconds (real time)")
    p.add_argument(
        "--emit",
        type=_emit_list,
        default=("snapshots",),
        metavar="KINDS",
        help="what to write headless: snapshots,mentions,alerts,incidents (default: snapshots)",
    )
    _add_shown_options(p)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tocsin", description="A crisis desk for the terminal.")
    parser.add_argument("--config", metavar="FILE", help="settings file (default: yours, else the demo)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on internal errors")
    _add_desk_options(parser)
    _add_shown_options(parser)
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    demo = sub.add_parser("demo", help="the desk on the bundled bad-buzz scenario")
    demo.add_argument("--speed", type=_positive_float, default=1.0, help="10: the storm in ~1 min")
    _add_run_options(demo)
    _add_desk_options(demo, default=argparse.SUPPRESS, attach=False)

    run = sub.add_parser("run", help="the desk on a config (use --headless for JSON Lines)")
    run.add_argument("--config", dest="run_config", metavar="FILE")
    _add_run_options(run)
    _add_desk_options(run, default=argparse.SUPPRESS)  # given before `run`, they hold

    check = sub.add_parser("check-config", help="validate a settings file")
    check.add_argument("file")

    import importlib

    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _dispatch(args)
    except BadInput as exc:
        print(f"tocsin: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return EXIT_OK
    except Exception as exc:
        if args.debug:
            raise
        print(f"tocsin: internal error: {type(exc).__name__}: {exc} (--debug for details)", file=sys.stderr)
        return EXIT_INTERNAL


def _dispatch(args: argparse.Namespace) -> int:
    handler = getattr(args, "handler", None)
    if handler is not None:
        return int(handler(args))
    if args.command == "check-config":
        from tocsin.config.loader import check_config

        problems = check_config(Path(args.file))
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            return EXIT_BAD_INPUT
        print(f"{args.file}: ok")  # silence reads as "did it run?": say the file was checked and passed
        return EXIT_OK

    if not getattr(args, "headless", False) and not sys.stdout.isatty():
        # the wall draws with escape codes: into a pipe or a file they are garbage, and the app would
        # still wait for keys nobody can press
        raise BadInput(
            "the wall needs a terminal, and standard output is not one (a pipe or a file): "
            f"use `tocsin {args.command or 'run'} --headless` for JSON Lines"
        )

    attach = getattr(args, "attach", None)
    if attach is not None and (args.command == "demo" or getattr(args, "headless", False)):
        raise BadInput("--attach opens a wall on the desk that ingests: it has no demo or headless mode")
    # an attached desk opens no source: the sources' files and ports are the ingest desk's business
    settings = _settings(args, preflight=attach is None)
    settings = _with_operator(settings, getattr(args, "operator", None))
    from tocsin.config.i18n import use as use_language  # Babel loads only past --help

    use_language(settings.desk.language)  # before any word is shown: the wall, its help, its forms
    if args.command == "demo":
        from tocsin.config.loader import with_demo_speed

        settings = with_demo_speed(settings, args.speed)
    settings = _with_layout(settings, getattr(args, "pane", None) or getattr(args, "layout", None))
    if getattr(args, "headless", False):
        import asyncio

        from tocsin.desk.headless import run_headless

        healthy = asyncio.run(run_headless(settings, duration=args.duration, emit=args.emit, out=sys.stdout))
        return EXIT_OK if healthy else EXIT_INTERNAL
    from tocsin.tui.app import run_tui

    return run_tui(settings, duration=getattr(args, "duration", None), attach=attach)


def _with_operator(settings: Settings, operator: str | None) -> Settings:
    """The settings with ``--operator`` in place of ``desk.operator`` (each desk on a shared journal
    signs its own actions)."""
    if operator is None:
        return settings
    if not operator.strip():
        raise BadInput("--operator: give a name: every journal entry names who acted")
    import dataclasses

    return dataclasses.replace(settings, desk=dataclasses.replace(settings.desk, operator=operator.strip()))


def _with_layout(settings: Settings, layout: str | None) -> Settings:
    """The settings with ``--pane``/``--layout`` in place of ``ui.layout`` (a wall of terminals runs
    one config with a different pane in each)."""
    if layout is None:
        return settings
    import dataclasses

    from tocsin.config.layouts import parse_layout

    try:
        parse_layout(layout)
    except ValueError as exc:
        raise BadInput(f"--layout: {exc}") from None
    return dataclasses.replace(settings, ui=dataclasses.replace(settings.ui, layout=layout))


def _settings(args: argparse.Namespace, *, preflight: bool = True) -> Settings:
    from tocsin.config.loader import ConfigError, load_default, resolve_settings

    if args.command == "demo":
        return load_default()  # the demo is the embedded default, whatever the user's config says
    path = getattr(args, "run_config", None) or args.config
    try:
        # preflight: the files, ports and journal path the run needs, checked before anything starts
        return resolve_settings(Path(path) if path else None, preflight=preflight)
    except ConfigError as exc:
        raise BadInput("\n".join(str(p) for p in exc.problems)) from None


if __name__ == "__main__":
    raise SystemExit(main())
