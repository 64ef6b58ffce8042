"""``hepgen generate``: sample events from a trained generator into a NanoAOD-style ROOT file.

Example::

    hepgen generate -n 1000000 -o generated.root            # the shipped default generator
    hepgen generate --model runs/binn -n 100000 --posterior-draws 10 -o binn.root
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np

from hepgen.cli.common import positive_int, progress
from hepgen.physics.errors import HepgenInputError

log = logging.getLogger("hepgen")

DEFAULT_MODEL = Path("data_samples/default_generator")
DEFAULT_BATCH = 100_000


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``generate`` subcommand."""
    parser = subparsers.add_parser(
        "generate",
        help="sample events from a trained generator into a ROOT file",
        description=(
            "Sample Z(->mu mu) + 1-3 jet events from a generator trained with `hepgen train` "
            "and write them as a NanoAOD-style TTree 'Events' (Muon_*, Jet_*), streamed in "
            "chunks (memory does not grow with -n) under a temporary name renamed when "
            "complete. Jet multiplicities are drawn from the training fractions; samples "
            "outside the reference phase space (jet pT < 20 GeV, |eta| > 5) are redrawn."
        ),
        epilog=(
            "Extra branches: 'weight' (float32) with --reweight, the DiscFlow discriminator's "
            "D/(1-D) per event, normalised to mean 1 per jet multiplicity on a fixed "
            "calibration sample (the multiplicity fractions stay those of the training data); "
            "'draw' (int32) with --posterior-draws K, the index of the "
            "posterior draw of the network weights (K blocks of N events; `hepgen validate` "
            "draws the spread over draws as a band). Same --seed and --batch-size: same events."
        ),
    )
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, metavar="RUN_DIR",
                        help=f"trained generator directory (default: {DEFAULT_MODEL})")
    parser.add_argument("-n", "--n-events", type=positive_int, required=True, metavar="N",
                        help="events to generate (per posterior draw)")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.root",
                        help="output ROOT file (an existing file is replaced)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--batch-size", type=positive_int, default=DEFAULT_BATCH, metavar="B",
                        help=f"events per chunk (default {DEFAULT_BATCH})")
    parser.add_argument("--posterior-draws", type=positive_int, metavar="K",
                        help="Bayesian generators: K blocks, one per posterior weight draw")
    parser.add_argument("--reweight", action="store_true",
                        help="DiscFlow generators: write per-event weights D/(1-D)")
    parser.add_argument("--no-symmetrize", action="store_true",
                        help="write the network's samples as they are, without the random eta/phi "
                        "reflections a generator trained with 'symmetrize' applies")
    parser.add_argument("--threads", type=positive_int,
                        help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--qdevice", metavar="NAME",
                        help="quantum generators: sample on this PennyLane device instead of "
                        "the one it was trained with")
    parser.add_argument("--shots", type=shots_option, metavar="N|exact",
                        help="quantum generators: finite shots per circuit execution when "
                        "sampling, or 'exact' (default: as trained)")
    parser.add_argument("--compression", type=compression_option, default="zstd:1",
                        metavar="ALG[:LEVEL]",
                        help="ROOT basket compression: zstd, zlib, lz4, lzma or none, optional "
                        "level 1-9 (default zstd:1: ~5x faster to write than zlib:1 for a ~20%% "
                        "larger file; ROOT >= 6.20 and uproot read it)")
    parser.set_defaults(func=run)


def compression_option(text: str) -> str:
    """argparse type: a valid ``ALG[:LEVEL]`` compression (see write_events)."""
    from hepgen.physics.io.writer import parse_compression

    try:
        parse_compression(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return text


def shots_option(text: str) -> int | str:
    """``--shots``: a positive integer, or ``exact`` for exact expectation values."""
    return text if text == "exact" else positive_int(text)


def model_overrides(args: argparse.Namespace) -> dict:
    """model_config entries replaced at load time (sampling device and shots)."""
    overrides: dict = {}
    if args.qdevice is not None:
        overrides["qdevice"] = args.qdevice
    if args.shots is not None:
        overrides["shots"] = None if args.shots == "exact" else args.shots
    return overrides


def _check_output(out: Path) -> None:
    if out.is_dir():
        raise HepgenInputError(f"--output {out}: is a directory, expected a .root file name")
    if not out.parent.is_dir():
        raise HepgenInputError(f"--output {out}: directory {out.parent} does not exist")


def reweight(events, discriminators, norms: dict[int, float] | None = None) -> np.ndarray:
    """Per-event D/(1-D) of the discriminator of each event's jet multiplicity, divided by
    ``norms[n]`` when given, (N,)."""
    from hepgen.physics.events import n_jets

    weights = np.ones(len(events))
    counts = n_jets(events)
    for n, disc in discriminators.items():
        mask = counts == n
        if mask.any():
            weights[mask] = disc.event_weights(events[mask]) / (norms or {}).get(n, 1.0)
    return weights


def run(args: argparse.Namespace) -> int:
    import torch

    from hepgen.generators.event import EventGenerator
    from hepgen.physics.events import with_weights
    from hepgen.physics.io import write_events
    from hepgen.training.discflow import (
        load_discriminators,
        stored_weight_norms,
        weight_norms,
    )

    _check_output(args.output)
    if args.threads:
        torch.set_num_threads(args.threads)
    overrides = model_overrides(args)
    generator, extra = EventGenerator.load(args.model, overrides)
    if args.no_symmetrize:
        generator.symmetries = ()
    discriminators = load_discriminators(generator.meta, extra) if args.reweight else {}
    if args.reweight and not discriminators:
        raise HepgenInputError(
            f"--reweight: {args.model} has no discriminator (train it with --model discflow, "
            f"or run `hepgen fit-reweighter --model {args.model} --data TRAIN.root`)")
    # the norms fit-reweighter stored were computed from the generator as saved: recompute
    # them when this run samples differently (no symmetrisation, another device or shots)
    as_saved = not (args.no_symmetrize or overrides)
    stored = stored_weight_norms(generator.meta) if as_saved else {}
    norms = (stored or weight_norms(generator, discriminators)) if discriminators else {}
    draws = args.posterior_draws or 0
    if draws and not generator.is_bayesian:
        raise HepgenInputError(
            f"--posterior-draws needs a Bayesian generator; {args.model} is {generator.family!r}")
    total = args.n_events * max(draws, 1)
    bar = progress(args, total=total, unit="ev", unit_scale=True, desc="generate")

    def chunks():
        for events in generator.stream(args.n_events, args.seed, args.batch_size,
                                       posterior_draws=draws):
            if discriminators:
                events = with_weights(events, reweight(events, discriminators, norms))
            bar.update(len(events))
            yield events  # the writer stores the 'draw' and 'weight' fields as branches

    start = time.perf_counter()
    written = write_events(args.output, chunks(), compression=args.compression)
    seconds = time.perf_counter() - start
    bar.close()
    print(f"wrote {written} events to {args.output} in {seconds:.1f} s "
          f"({written / seconds:,.0f} events/s, {torch.get_num_threads()} threads)")
    return 0
