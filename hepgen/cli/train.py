"""``hepgen train``: train an event generator on a ROOT file of reference events.

Example::

    hepgen train --model inn --config configs/inn.json --out runs/inn
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

from hepgen.cli.common import positive_int, progress
from hepgen.physics.errors import HepgenInputError

log = logging.getLogger("hepgen")

DEFAULT_DATA = Path("data_samples/zjets_train.root")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``train`` subcommand."""
    from hepgen.generators.base import available
    from hepgen.training.run import STRATEGIES

    models = [*available(), *STRATEGIES]
    parser = subparsers.add_parser(
        "train",
        help="train a generator (inn, binn, discflow, ...) on reference events",
        description=(
            "Train one generative network per jet multiplicity (1, 2, 3 jets) on the events of "
            "a ROOT file, with a train/validation split, a one-cycle learning-rate schedule, "
            "early stopping on the validation loss and a checkpoint after every epoch. "
            "The trained generator (generator.json + weights.pt, loadable without executing "
            "code) and run.json (configuration, loss history) are written to --out; use it "
            "with `hepgen generate --model RUN_DIR`."
        ),
        epilog=(
            f"Models: {', '.join(models)}. 'discflow' trains the config's 'base' family "
            "(inn or binn) with discriminator-coupled loss weights (arXiv 2110.13632). "
            "Configs: configs/*.json document every option. Same --seed, same machine: "
            "bit-identical weights. A killed run continues with --resume."
        ),
    )
    parser.add_argument("--model", choices=models, help="generator family (default: the "
                        "config's 'model', else inn)")
    parser.add_argument("--config", type=Path, metavar="FILE",
                        help="JSON run configuration (see configs/)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, metavar="FILE.root",
                        help=f"training events (default: {DEFAULT_DATA})")
    parser.add_argument("--schema", default="nanoaod", metavar="NAME_OR_JSON",
                        help="branch schema of --data (default: nanoaod)")
    parser.add_argument("--out", type=Path, required=True, metavar="RUN_DIR",
                        help="run directory for checkpoints and the trained generator")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")
    parser.add_argument("--epochs", type=positive_int, help="override the config's epochs")
    parser.add_argument("--batch-size", type=positive_int, help="override the batch size")
    parser.add_argument("--lr", type=float, help="override the peak learning rate")
    parser.add_argument("--max-events", type=positive_int, metavar="N",
                        help="train on the first N selected events only")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --out from its last checkpoint")
    parser.set_defaults(func=run)


def load_run_config(args: argparse.Namespace):
    """The run configuration from --config and the overriding options."""
    from hepgen.training.run import RunConfig

    data: dict = {}
    if args.config is not None:
        if not args.config.is_file():
            raise HepgenInputError(f"--config {args.config}: file not found")
        try:
            data = json.loads(args.config.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise HepgenInputError(f"--config {args.config}: not valid JSON ({err})") from None
        if not isinstance(data, dict):
            raise HepgenInputError(f"--config {args.config}: expected a JSON object")
    if args.model:
        data["model"] = args.model
    train = dict(data.get("train", {}))
    for key in ("epochs", "batch_size", "lr"):
        if getattr(args, key) is not None:
            train[key] = getattr(args, key)
    data["train"] = train
    return RunConfig.from_dict(data, source=str(args.config or "options"))


def _check_out(args: argparse.Namespace) -> None:
    out: Path = args.out
    if args.resume:
        if not out.is_dir():
            raise HepgenInputError(f"--resume: {out} is not a run directory")
        return
    if out.exists() and any(out.iterdir()):
        raise HepgenInputError(
            f"--out {out}: directory exists and is not empty; pass --resume to continue that "
            "run or choose a new directory"
        )


def run(args: argparse.Namespace) -> int:
    import torch

    from hepgen.physics.io import read_events
    from hepgen.training.run import file_digest, train_generator

    config = load_run_config(args)
    _check_out(args)
    if args.device != "cpu" and not torch.cuda.is_available() and args.device.startswith("cuda"):
        raise HepgenInputError(f"--device {args.device}: CUDA is not available on this machine")
    events, report = read_events(args.data, args.schema)
    log.info("%s: %s", args.data, report.summary())
    if args.max_events is not None:
        events = events[: args.max_events]
    epochs = config.train.get("epochs", 30)
    bar = progress(args, total=epochs * 3, unit="epoch", desc=f"train {config.model}")

    def on_epoch(n_jets, record, total):
        bar.set_postfix_str(f"{n_jets}j train {record.train_loss:.4f} val {record.val_loss:.4f}")
        bar.update(1)
        log.debug("%dj epoch %d: train %.5f val %.5f lr %.2e", n_jets, record.epoch + 1,
                  record.train_loss, record.val_loss, record.lr)

    start = time.perf_counter()
    info = {"path": str(args.data), "sha256": file_digest(args.data), "n_events": len(events),
            "schema": args.schema}
    generator = train_generator(events, config, args.out, seed=args.seed, device=args.device,
                                resume=args.resume, data_info=info, on_epoch=on_epoch)
    bar.close()
    print(f"trained {config.model} on {len(events)} events in {time.perf_counter() - start:.0f} s;"
          f" generator written to {args.out} (use: hepgen generate --model {args.out})")
    del generator
    return 0
