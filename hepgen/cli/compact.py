"""``hepgen compact``: a copy of a trained generator with its network parameters in float16.

Example::

    hepgen compact --model runs/default -o runs/default_half
    hepgen generate --model runs/default_half -n 1000000 --reweight -o half.root
"""

from __future__ import annotations

import argparse
import logging
import shutil
from pathlib import Path

from hepgen.physics.errors import HepgenInputError

log = logging.getLogger("hepgen")

#: the training record `hepgen train` writes beside the generator (copied unchanged)
RUN_RECORD = "run.json"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``compact`` subcommand."""
    parser = subparsers.add_parser(
        "compact",
        help="copy a trained generator with its network parameters stored as float16 "
             "(half the file)",
        description=(
            "Write a copy of a trained generator whose network parameters (the weights and "
            "biases of every flow, photon-jet splitter and reweighting discriminator) are "
            "stored as float16: about half the size of weights.pt. Buffers (fixed rotations, "
            "standardisations) and the preprocessing stay as they are. The copy samples from "
            "the rounded weights, so it is a different generator (each weight moves by at most "
            "2^-11 of itself): validate it before you use it in place of the original. The "
            "weight normalisations of `generate --reweight` are recomputed for it."
        ),
    )
    parser.add_argument("--model", type=Path, required=True, metavar="RUN_DIR",
                        help="trained generator directory (read only)")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="OUT_DIR",
                        help="directory for the copy (must not exist, or be empty)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hepgen.generators.compact import half_extra, round_parameters_
    from hepgen.generators.event import EventGenerator
    from hepgen.training.discflow import load_discriminators, weight_norms

    out = args.output
    if out.resolve() == args.model.resolve():
        raise HepgenInputError(f"-o {out}: must differ from --model (the original is kept)")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise HepgenInputError(f"-o {out}: exists and is not an empty directory")
    generator, extra = EventGenerator.load(args.model)
    rounded = round_parameters_(generator)
    extra_half = half_extra(extra)
    meta = generator.meta
    discriminators = load_discriminators(meta, extra_half)  # float16 copied into float32
    if discriminators:  # the normalisations `generate --reweight` reads, for the rounded nets
        log.info("recomputing the reweighting normalisations (tens of seconds)")
        norms = weight_norms(generator, discriminators)
        meta["discflow"]["weight_norms"] = {str(n): v for n, v in norms.items()}
    meta["storage"] = {"parameters": "float16", "made_by": "hepgen compact",
                       "from": str(args.model)}
    # written beside the target and renamed: no half-written directory on failure
    staging = out.with_name(f".{out.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        generator.save(staging, extra_half, half=True)
        if (args.model / RUN_RECORD).is_file():  # the training record, as it was
            shutil.copy2(args.model / RUN_RECORD, staging / RUN_RECORD)
        if out.exists():
            out.rmdir()
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    n_extra = sum(1 for k in extra if extra_half[k].dtype != extra[k].dtype)
    size = sum(f.stat().st_size for f in out.iterdir()) / 1e6
    print(f"wrote {out}: {len(rounded) + n_extra} parameter tensors as float16 "
          f"({size:.1f} MB); validate it before using it in place of {args.model}")
    return 0
