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
    from hepgen.generators.names import STRATEGIES, entry_point_names

    models = [*entry_point_names(), *STRATEGIES]
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
    parser.add_argument("--epochs", type=positive_int,
                        help="override the config's epochs (every stage's, stage_train included, "
                        "and the photon-jet splitter's, fsr)")
    parser.add_argument("--batch-size", type=positive_int, help="override the batch size")
    parser.add_argument("--lr", type=float, help="override the peak learning rate")
    parser.add_argument("--max-events", type=positive_int, metavar="N",
                        help="train on the first N selected events only")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --out from its last checkpoint")
    parser.add_argument("--jets", type=jet_list, metavar="N[,N...]",
                        help="jet multiplicities to model, e.g. 1 for Z + 1 jet only (default: "
                        "the config's 'jets', else 1,2,3)")
    parser.add_argument("--multiplicity", choices=("separate", "chain"),
                        help="one network per jet multiplicity (separate) or the autoregressive "
                        "chain mu mu j1 | n, j2 | mu mu j1, j3 | mu mu j1 j2 (default: the "
                        "config's 'multiplicity', else separate; the shipped default uses the "
                        "chain, measured better on 2 and 3 jets)")
    parser.add_argument("--representation", metavar="NAME",
                        help="what the networks see: pT, eta, phi, mass of every object "
                        "(particles, arXiv 2110.13632) or the leading jet, the event's pT "
                        "balance, the dimuon rapidity and mass and the decay angles, then the "
                        "other jets (recoil; recoil-deta: their eta relative to the leading "
                        "jet's; recoil-jetaxis: decay angles about the leading jet; recoil-cone, "
                        "recoil-cone-log: recoil-jetaxis with the further jets' jet-clustering "
                        "cone about the leading jet closed, quadratic or logarithmic profile; "
                        "recoil-cone-deta: that with relative eta; recoil-cone-log-dq: "
                        "recoil-cone-log with massless jets dequantised; "
                        "recoil-cones-both-log-dq: that with the third jet's cone also "
                        "closed about the second jet; recoil-cones-both-log-dq-shared: that "
                        "with one cone radius about both jets; "
                        "recoil-cones-shared-deta: that with the further jets' eta relative "
                        "to the leading jet's, the shipped fast generator's; "
                        "recoil-cones-shared-deta-mll: that with the dimuon mass in the "
                        "chart of the 50-150 GeV generation window, the shipped default's; "
                        "recoil-cones-log-dq: about the second jet only; recoil-cone-log-dq-"
                        "pair: recoil-cone-log-dq with b - pT_j1, the dimuon pT of Z + 1 jet "
                        "events, in place of the balance b; the other choices are studies, see "
                        "hepgen.physics.representations); default: the config's "
                        "'representation', else particles")
    parser.add_argument("--loss", choices=("nll", "mmd", "nll+mmd"),
                        help="training loss of the INN families: negative log-likelihood, "
                        "maximum mean discrepancy, or their sum (default nll; a config's "
                        "model_config.loss may weight them and pick the MMD space)")
    quantum = parser.add_argument_group(
        "quantum families (qinn, hybrid-qinn)",
        "Circuit conditioners run on any installed PennyLane device. The number of circuit "
        "executions per epoch (and shots, with --shots) is printed before training starts.")
    quantum.add_argument("--qdevice", metavar="NAME",
                         help="PennyLane device: default.qubit, lightning.qubit, default.mixed, "
                         "a hardware plugin's device, or auto (default: auto = default.qubit "
                         "with backprop up to the measured qubit limit, default.mixed with "
                         "--noise)")
    quantum.add_argument("--diff-method",
                         choices=("auto", "backprop", "adjoint", "parameter-shift", "finite-diff"),
                         help="circuit gradients (default auto: backprop on default.qubit/mixed, "
                         "adjoint on lightning, parameter-shift with --shots)")
    quantum.add_argument("--shots", type=positive_int, metavar="N",
                         help="finite shots per circuit execution (default: exact expectations)")
    quantum.add_argument("--noise", type=float, metavar="P",
                         help="depolarising probability per qubit and layer (default.mixed)")
    quantum.add_argument("--qubits", type=positive_int, metavar="N", help="qubits per circuit")
    quantum.add_argument("--q-layers", type=positive_int, metavar="N",
                         help="encoding + variational layers per circuit")
    parser.set_defaults(func=run)


#: command-line option -> model_config key
MODEL_OPTIONS = {"loss": "loss", "qdevice": "qdevice", "diff_method": "diff_method",
                 "shots": "shots", "noise": "noise", "qubits": "n_qubits", "q_layers": "q_layers"}


def _check_family_options(args: argparse.Namespace, family: str) -> None:
    """Options that only some families take name the option and the families in the error."""
    from hepgen.generators.base import available, get

    try:
        keys = getattr(get(family), "extra_config_keys", frozenset())
    except KeyError:
        return  # RunConfig.validate reports the unknown family
    for option, key in MODEL_OPTIONS.items():
        if getattr(args, option, None) is not None and key not in keys:
            takers = [n for n in available() if key in getattr(get(n), "extra_config_keys", ())]
            flag = "--" + option.replace("_", "-")
            raise HepgenInputError(f"{flag} does not apply to {family!r}; it applies to: "
                                   f"{', '.join(takers)}")


def jet_list(text: str) -> list[int]:
    try:
        jets = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected jet counts like 1 or 1,2,3, got {text!r}") from None
    if not jets:
        raise argparse.ArgumentTypeError("expected at least one jet count")
    return jets


def load_run_config(args: argparse.Namespace):
    """The run configuration from --config and the overriding options."""
    from hepgen.training.run import RunConfig, family_of

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
    if args.jets is not None:
        data["jets"] = args.jets
    if args.multiplicity is not None:
        data["multiplicity"] = args.multiplicity
    if args.representation is not None:
        from hepgen.physics.representations import REPRESENTATIONS  # loads awkward: not at --help

        if args.representation not in REPRESENTATIONS:
            raise HepgenInputError(f"--representation {args.representation!r}: expected one of "
                                   f"{', '.join(REPRESENTATIONS)}")
        data["representation"] = args.representation
    model_config = dict(data.get("model_config", {}))
    for option, key in MODEL_OPTIONS.items():
        if getattr(args, option, None) is not None:
            model_config[key] = getattr(args, option)
    data["model_config"] = model_config
    _check_family_options(args, family_of(data.get("model", "inn"), data.get("base", "inn")))
    train = dict(data.get("train", {}))
    stage_train = data.get("stage_train", {})
    for key in ("epochs", "batch_size", "lr"):
        if getattr(args, key) is not None:
            train[key] = getattr(args, key)
            if isinstance(stage_train, dict):  # the command line wins over every stage's entry
                stage_train = {k: {o: v for o, v in opts.items() if o != key}
                               if isinstance(opts, dict) else opts
                               for k, opts in stage_train.items()}
    data["train"] = train
    if stage_train:
        data["stage_train"] = stage_train
    fsr = data.get("fsr")
    if args.epochs is not None and isinstance(fsr, dict) and fsr:  # the splitter's networks too
        data["fsr"] = {**fsr, **{key: {**(fsr.get(key) or {}), "epochs": args.epochs}
                                 for key in ("decision_train", "kinematics_train")}}
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


def print_execution_budget(units) -> None:
    """Print, before training, what an epoch costs on quantum hardware (families that report an
    execution budget, e.g. qinn): circuit executions and shots per epoch and network."""
    from hepgen.training.trainer import split_train_val

    for unit in units:
        n_val = len(split_train_val(len(unit.x), unit.train.val_fraction, 0)[1])
        n_train = len(unit.x) - n_val
        budget = unit.model.execution_budget(n_train, n_val)
        if budget is None:
            return
        label = f"{unit.n_jets}j" if unit.n_jets is not None else unit.name
        shots = (f", {budget['shots_per_epoch']:.3g} shots" if budget.get("shots") else
                 " (exact expectation values)")
        print(f"{label}: {budget['executions_per_epoch']:,} circuit executions per epoch{shots} "
              f"on {budget['device']} ({budget['diff_method']}; {budget['quantum_blocks']} "
              f"quantum blocks x {n_train:,} train + {n_val:,} validation events); "
              f"x {unit.train.epochs} epochs at most", flush=True)


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
    bar = None

    def on_plan(units, train_config):
        nonlocal bar
        print_execution_budget(units)
        bar = progress(args, total=sum(unit.train.epochs for unit in units), unit="epoch",
                       desc=f"train {config.model}")

    def on_epoch(unit, record, total):
        name = f"{unit}j" if isinstance(unit, int) else unit
        bar.set_postfix_str(f"{name} train {record.train_loss:.4f} val {record.val_loss:.4f}")
        bar.update(1)
        log.debug("%s epoch %d: train %.5f val %.5f lr %.2e", name, record.epoch + 1,
                  record.train_loss, record.val_loss, record.lr)

    start = time.perf_counter()
    info = {"path": str(args.data), "sha256": file_digest(args.data), "n_events": len(events),
            "schema": args.schema}
    generator = train_generator(events, config, args.out, seed=args.seed, device=args.device,
                                resume=args.resume, data_info=info, on_epoch=on_epoch,
                                on_plan=on_plan)
    bar.close()
    print(f"trained {config.model} on {len(events)} events in {time.perf_counter() - start:.0f} s;"
          f" generator written to {args.out} (use: hepgen generate --model {args.out})")
    del generator
    return 0
