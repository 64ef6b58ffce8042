"""``hepgen simulate``: make reference Z(->mu mu) + 1..3 jet events with Pythia 8 + anti-kT jets.

Example::

    hepgen simulate -n 100000 --seed 1 --jobs 2 -o data_samples/zjets_train.root
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from hepgen.cli.common import positive_int, progress
from hepgen.physics.errors import HepgenInputError

if TYPE_CHECKING:
    from hepgen.physics.simulation import SimulationResult

log = logging.getLogger("hepgen")

#: Bytes per kB in the printed file size.
BYTES_PER_KB = 1000


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``simulate`` subcommand."""
    from hepgen.physics.simulation_config import DEFAULT_BATCH_SIZE

    parser = subparsers.add_parser(
        "simulate",
        help="make reference events with Pythia 8 (zjets-13tev spec)",
        description=(
            "Generate pp -> Z/gamma*(-> mu+ mu-) + jet events at 13 TeV with Pythia 8 (Monash "
            "defaults, pT-hat > 10 GeV, 50 < m(mu mu) < 150 GeV), cluster anti-kT R=0.4 jets "
            "(pT > 20 GeV, |eta| < 5) and keep events with 1 to 3 jets. Writes a NanoAOD-style "
            "TTree 'Events' (Muon_*, Jet_*). The file is written under a temporary name and "
            "renamed when complete. Needs the 'simulation' extra: pythia8mc and fastjet."
        ),
        epilog=(
            "The output is reproducible for a given --seed and --jobs: job j runs Pythia with a "
            "seed derived from (seed, j) and produces a fixed share of the events, written in "
            "job order. Example: hepgen simulate -n 100000 --seed 1 --jobs 2 -o zjets.root"
        ),
    )
    parser.add_argument(
        "-n",
        "--n-events",
        type=positive_int,
        required=True,
        metavar="N",
        help="number of events to keep (with 1-3 jets); about twice as many are generated",
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        metavar="OUT.root",
        help="output ROOT file (its directory must exist; an existing file is replaced)",
    )
    parser.add_argument(
        "--seed",
        type=non_negative_int,
        default=1,
        metavar="S",
        help="master random seed (default: 1)",
    )
    parser.add_argument(
        "-j",
        "--jobs",
        type=positive_int,
        default=1,
        metavar="J",
        help="worker processes, one per core (default: 1)",
    )
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        default=DEFAULT_BATCH_SIZE,
        metavar="B",
        help=f"events generated per Pythia batch (default: {DEFAULT_BATCH_SIZE})",
    )
    parser.set_defaults(func=run)


def _check_options(args: argparse.Namespace) -> None:
    """Raise :class:`HepgenInputError` for options that cannot work, before any event is made."""
    out: Path = args.output
    if out.is_dir():
        raise HepgenInputError(f"--output {out}: is a directory, expected a .root file name")
    if not out.parent.is_dir():
        raise HepgenInputError(f"--output {out}: directory {out.parent} does not exist")
    if not os.access(out.parent, os.W_OK):
        raise HepgenInputError(f"--output {out}: directory {out.parent} is not writable")
    if args.jobs > args.n_events:
        raise HepgenInputError(f"--jobs {args.jobs} exceeds -n {args.n_events}")
    cores = os.cpu_count() or 1
    if args.jobs > cores:
        log.warning("--jobs %d exceeds the %d CPU cores of this machine", args.jobs, cores)


def _require_simulation_packages() -> None:
    """Raise a one-line error naming the fix when pythia8mc or fastjet is missing."""
    import importlib.util

    missing = [name for name in ("pythia8mc", "fastjet") if importlib.util.find_spec(name) is None]
    if missing:
        raise HepgenInputError(
            f"hepgen simulate needs {', '.join(missing)}: pip install 'hepgen[simulation]'"
        )


def summary_lines(result: SimulationResult) -> list[str]:
    """Human-readable summary of a :class:`~hepgen.physics.simulation.SimulationResult`."""
    counts, config = result.counts, result.config
    size_kb = result.out_path.stat().st_size / BYTES_PER_KB if result.out_path else float("nan")
    kept_fraction = counts.n_kept / max(counts.n_generated, 1)
    fractions = ", ".join(
        f"{n} jet{'s' if n > 1 else ''} {100 * f:.1f}%"
        for n, f in counts.multiplicity_fractions.items()
    )
    return [
        f"wrote {counts.n_kept} events to {result.out_path} ({size_kb:.1f} kB)",
        f"generated {counts.n_generated} events, kept {counts.n_kept} "
        f"({100 * kept_fraction:.1f}%) in {result.wall_time_s:.1f} s: "
        f"{result.kept_per_s:.1f} kept events/s ({result.kept_per_s_per_job:.1f} per job)",
        f"jet multiplicity: {fractions}",
        f"seed {config.seed}, {config.jobs} job(s), Pythia seeds "
        + ", ".join(str(s) for s in result.seeds),
    ]


def run(args: argparse.Namespace) -> int:
    """Run the simulation with a progress bar of kept events and print a summary."""
    _check_options(args)
    _require_simulation_packages()
    from hepgen.physics.simulation import simulate

    with progress(args, total=args.n_events, unit="ev", desc="simulate (kept)") as bar:
        result = simulate(
            args.n_events,
            args.seed,
            args.jobs,
            args.output,
            bar.update,
            batch_size=args.batch_size,
        )
    if not args.quiet:
        print("\n".join(summary_lines(result)))
    return 0
