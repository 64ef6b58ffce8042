"""``hepgen fit-reweighter``: classifier weights for any trained generator (post-hoc DiscFlow).

Example::

    hepgen fit-reweighter --model runs/inn --data data_samples/zjets_train.root
    hepgen generate --model runs/inn -n 1000000 --reweight -o weighted.root
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from hepgen.cli.common import positive_int, progress
from hepgen.physics.errors import HepgenInputError

log = logging.getLogger("hepgen")

#: defaults of hepgen.training.reweighter.ReweighterConfig (not imported here: it imports torch,
#: which `hepgen --help` should not wait for; tests check they agree)
DEFAULT_MEMBERS = 5
DEFAULT_GENERATED_PER_EVENT = 5.0
DEFAULT_EPOCHS = 30
DEFAULT_FOCUS_EPOCHS = 60


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``fit-reweighter`` subcommand."""
    parser = subparsers.add_parser(
        "fit-reweighter",
        help="fit per-event weights D/(1-D) for a trained generator (used by generate "
             "--reweight)",
        description=(
            "Train, per jet multiplicity, a discriminator between the generator's training "
            "events and events it generates, on physics observables of the whole event (m_mumu, "
            "pT balance, Delta R, ...; the observables of DiscFlow, arXiv 2110.13632), with a "
            "held-out fraction for early stopping, then (unless --no-focus) a second, focused "
            "stage of small discriminators on a few pair observables against generated events "
            "weighted by the first. D/(1-D) (the product of both stages) estimates "
            "p_data/p_model; it is "
            "stored in the generator directory (replacing any discriminators there) and "
            "`hepgen generate --reweight` writes it as the per-event 'weight' branch, "
            "normalised to mean 1 per multiplicity. Use the training data only: the events you "
            "validate on must stay unseen."
        ),
    )
    parser.add_argument("--model", type=Path, required=True, metavar="RUN_DIR",
                        help="trained generator directory (rewritten in place, atomically)")
    parser.add_argument("--data", type=Path, required=True, metavar="FILE.root",
                        help="the generator's training events")
    parser.add_argument("--schema", default="nanoaod", metavar="NAME_OR_JSON",
                        help="branch schema of --data (default: nanoaod)")
    parser.add_argument("--epochs", type=positive_int, default=None,
                        help="maximum epochs of every discriminator (default: "
                             f"{DEFAULT_EPOCHS} for the first stage, {DEFAULT_FOCUS_EPOCHS} for "
                             "the small focused ones; early stopping ends most sooner)")
    parser.add_argument("--generated-per-event", type=float,
                        default=DEFAULT_GENERATED_PER_EVENT, metavar="R",
                        help="generated events per training event (default "
                             f"{DEFAULT_GENERATED_PER_EVENT:g})")
    parser.add_argument("--members", type=positive_int, default=DEFAULT_MEMBERS,
                        metavar="K",
                        help="discriminators per multiplicity, cross-fitted: member k is "
                             "early-stopped on fold k of K of the events and trained on the "
                             "rest, and the weight is exp(mean logit); 1: one discriminator "
                             f"with 20%% held out (default {DEFAULT_MEMBERS})")
    parser.add_argument("--no-focus", dest="focus", action="store_false",
                        help="fit the first stage only; by default a second, focused stage "
                             "follows per multiplicity: small discriminators on a few pair "
                             "observables (1 jet: m_mumu, Delta R(mu1, mu2), pT_mumu; 2 jets: "
                             "Delta R and Delta eta of the jets, both jet pTs; 3 jets: the three "
                             "jet Delta Rs and pT_j3) against new generated events weighted by "
                             "the first stage; the weight is the product of both stages")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hepgen.generators.event import EventGenerator
    from hepgen.physics.io import read_events
    from hepgen.training.reweighter import (
        ReweighterConfig,
        discriminator_tensors,
        fit_reweighter,
        mean_best_bce,
    )

    if not args.generated_per_event > 0:
        raise HepgenInputError(f"--generated-per-event must be > 0, got {args.generated_per_event}")
    generator, _ = EventGenerator.load(args.model)
    events, report = read_events(args.data, args.schema)
    log.info("%s: %s", args.data, report.summary())
    epochs = {} if args.epochs is None else {"epochs": args.epochs, "focus_epochs": args.epochs}
    cfg = ReweighterConfig(generated_per_truth=args.generated_per_event, members=args.members,
                           seed=args.seed, focus=args.focus, **epochs)
    bar = progress(args, total=len(generator.multiplicities), unit="multiplicity",
                   desc="fit-reweighter")

    def done(n: int, history: list[dict[str, float]]) -> None:
        best = mean_best_bce(history)
        bar.set_postfix_str(f"{n}j val BCE {best:.4f} (ln 2 = 0.6931: no separation)")
        bar.update(1)
        log.debug("%dj: %d epochs, best held-out BCE %.5f (mean over members)", n,
                  len(history), best)

    start = time.perf_counter()
    discs = fit_reweighter(generator, events, cfg, on_multiplicity=done)
    bar.close()
    generator.save(args.model, extra=discriminator_tensors(discs))
    print(f"fitted reweighting discriminators for {sorted(discs)} jets in "
          f"{time.perf_counter() - start:.0f} s; use: hepgen generate --model {args.model} "
          "--reweight")
    return 0
