"""The ``hepgen`` command: ``hepgen simulate | validate | ...``.

Each subcommand lives in its own module exposing ``register(subparsers) -> None``, which adds a
parser whose ``func`` default is the function ``run(args) -> int``. Errors on bad input
(:class:`~hepgen.physics.errors.HepgenInputError` and file errors) become one line on stderr and
exit status 2; ``--debug`` shows the traceback instead. Library code stays quiet: logging and
progress bars are owned here.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from hepgen._version import __version__

#: Subcommand modules, in --help order.
SUBCOMMANDS: tuple[str, ...] = ("simulate", "train", "generate", "fit-reweighter", "compact",
                                 "validate")

#: Exit status for bad input (files, branches, options).
EXIT_BAD_INPUT = 2
#: Exit status for an interrupted run.
EXIT_INTERRUPTED = 130

log = logging.getLogger("hepgen")
#: Libraries whose INFO messages would reach the user under hepgen's name: WARNING and up only.
NOISY_LOGGERS: tuple[str, ...] = ("matplotlib", "PIL", "fontTools")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="hepgen",
        description=(
            "Generate Z(->mu mu) + 1,2,3 jets events with generative networks, make reference "
            "events with Pythia 8, and validate kinematic distributions between ROOT files."
        ),
        epilog="Run `hepgen COMMAND --help` for the options of each command.",
    )
    parser.add_argument("--version", action="version", version=f"hepgen {__version__}")
    parser.add_argument(
        "--log-level",
        default="INFO",
        type=str.upper,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="logging verbosity (default: INFO)",
    )
    parser.add_argument(
        "--debug", action="store_true", help="show full tracebacks on errors (implies DEBUG logs)"
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bars, warnings and errors only"
    )
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name in SUBCOMMANDS:
        module = importlib.import_module(f"hepgen.cli.{name.replace('-', '_')}")
        module.register(subparsers)
    return parser


def _configure_logging(args: argparse.Namespace) -> None:
    level = "DEBUG" if args.debug else ("WARNING" if args.quiet else args.log_level)
    logging.basicConfig(
        level=getattr(logging, level), format="hepgen: %(message)s", stream=sys.stderr
    )
    if not args.debug:  # third-party chatter (e.g. matplotlib's font substitutions) is not ours
        for name in NOISY_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hepgen`` console script; returns the exit status."""
    # Idle OpenMP threads sleep instead of spinning: on a shared or busy CPU, spinning threads
    # made sampling ~4x slower (benchmarks/bench_generate.py). Must precede the torch import.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from hepgen.physics.errors import HepgenInputError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help(sys.stderr)
        return EXIT_BAD_INPUT
    _configure_logging(args)
    try:
        return int(args.func(args) or 0)
    except (HepgenInputError, FileNotFoundError, IsADirectoryError, PermissionError) as err:
        if args.debug:
            raise
        print(f"hepgen: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("hepgen: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
