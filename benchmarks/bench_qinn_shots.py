"""Finite shots: how a QINN's precision degrades with the shots per circuit (issue 4).

One ``qinn`` (the study's 2k-parameter configuration, NLL loss, seed 0) is trained with exact
expectation values on the Z + 1 jet training events, saved, then reloaded with
``shots = 100, 1000, 10000`` and exact, as ``hepgen generate --shots N`` does. For each setting:
test NLL per dimension (with shots a noisy estimate: every circuit call re-estimates the
conditioner outputs), classifier AUC (1 jet) and m_mumu chi2/ndf of generated events against the
shipped test file, and the sampling rate. Shot noise enters only through the conditioners, so
the samples stay exact draws of a randomly perturbed model.

    python benchmarks/bench_qinn_shots.py [--reuse] [--shots 100,1000,10000,exact]
"""

from __future__ import annotations

import argparse
import time

import torch
from _common import HERE, save_json, table, update_section
from bench_qinn_study import MODELS, TEST_FILE, TRAIN_FILE, load_1j, m_mumu_chi2

from hepgen.generators.event import EventGenerator
from hepgen.physics.observables import CATALOGUE
from hepgen.training.trainer import TrainConfig, Trainer
from hepgen.validation.samples import evaluate_sample, multiplicity_regions
from hepgen.validation.stages import ClassifierSettings, run_classifier

RUN = HERE / "runs" / "qinn_shots"


def train(args) -> None:
    family, config = MODELS["qinn-2k"]
    torch.manual_seed(0)
    generator = EventGenerator(family, {**config, "loss": "nll"}, (1,))
    features = generator.fit_preprocessing(load_1j(TRAIN_FILE, args.n_train))[1]
    cfg = TrainConfig(epochs=args.epochs, batch_size=256, lr=3e-3, patience=args.epochs, seed=0)
    Trainer(generator.model(1), cfg).fit(features)
    generator.save(RUN)


def evaluate(shots: int | None, args, test_events) -> dict:
    generator, _ = EventGenerator.load(RUN, {"shots": shots})
    net = generator.model(1)
    x_test = torch.as_tensor(generator.preprocessors[1].forward(test_events[: args.n_nll]),
                             dtype=torch.float32)
    with torch.no_grad():
        nll = -torch.cat([net.log_prob(b) for b in x_test.split(4096)]).mean() / net.dim
    start = time.perf_counter()
    generated, _ = generator.sample_events(args.n_gen, seed=1000)
    gen_s = time.perf_counter() - start
    obs = list(CATALOGUE.values())
    res = run_classifier(obs, multiplicity_regions()[0], evaluate_sample(generated, obs, "gen"),
                         evaluate_sample(test_events, obs, "ref"),
                         ClassifierSettings(seed=0, n_threads=1))
    return {"shots": shots, "test_nll": float(nll), "auc": res.auc, "auc_err": res.auc_err,
            "m_mumu_chi2_ndf": m_mumu_chi2(generated, test_events),
            "events_per_s": args.n_gen / gen_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", default="100,1000,10000,exact")
    parser.add_argument("--n-train", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--n-gen", type=int, default=10_000)
    parser.add_argument("--n-nll", type=int, default=10_000, help="test events for the NLL")
    parser.add_argument("--reuse", action="store_true", help="reuse the trained model")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if not (args.reuse and (RUN / "generator.json").exists()):
        train(args)
    test_events = load_1j(TEST_FILE)
    rows = []
    for text in args.shots.split(","):
        shots = None if text == "exact" else int(text)
        row = evaluate(shots, args, test_events)
        print(row, flush=True)
        rows.append(row)
    save_json("qinn_shots", {"rows": rows, "n_gen": args.n_gen, "n_train": args.n_train,
                             "epochs": args.epochs})
    body = table(["shots per circuit", "test NLL / dim", "AUC (1j)", "m_mumu chi2/ndf",
                  "sampling ev/s"],
                 [["exact" if r["shots"] is None else r["shots"], f"{r['test_nll']:.3f}",
                   f"{r['auc']:.3f} ± {r['auc_err']:.3f}", f"{r['m_mumu_chi2_ndf']:.1f}",
                   f"{r['events_per_s']:.0f}"] for r in rows])
    body += (f"\n\nOne qinn-2k (study configuration; trained exactly on {args.n_train} 1-jet "
             f"events, {args.epochs} epochs, seed 0), sampled with finite shots on "
             f"default.qubit: {args.n_gen} generated 1-jet events against all 1-jet events of "
             f"the test file; NLL on {args.n_nll} test events.\n")
    update_section("qinn-shots", "QINN precision vs shots per circuit (issue 4)", body)


if __name__ == "__main__":
    main()
