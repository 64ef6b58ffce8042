"""Parameter efficiency of quantum vs classical INNs on Z + 1 jet (issue 4; arXiv 2302.12906).

Every model is trained on the same Z + 1 jet events of the shipped training file (the 9 hepgen
features of a 1-jet event: muon and jet kinematics after the invertible preprocessing), with the
same epochs, batch size, learning-rate schedule and seeds, then evaluated against the 1-jet
events of the shipped *test* file:

* test NLL per feature dimension (in the common preprocessed feature space: comparable between
  models because every model of a seed uses the same preprocessing fitted on the same data);
* classifier AUC (hepgen validate's 1-jet two-sample test on all 1-jet observables);
* chi2/ndf of the m_mumu histogram (1 GeV bins over 50-150 GeV, weight-aware, sparse bins merged).

Models: classical ``inn`` of about 2k, 4k, 8k, 16k parameters (affine couplings, 6 blocks, MLP
width 12/20/30/45), ``qinn`` and ``hybrid-qinn`` of about 2k, each with the NLL, MMD and NLL+MMD
losses where listed. Runs are appended to ``benchmarks/results/qinn_study_runs.jsonl`` (a run
already there is skipped, so ``--shard i/k`` processes can share the work); ``--summarise``
writes the table, the plot and the RESULTS.md section.

    python benchmarks/bench_qinn_study.py --shard 0/2 &
    python benchmarks/bench_qinn_study.py --shard 1/2
    python benchmarks/bench_qinn_study.py --summarise
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from _common import HERE, RESULTS_DIR, save_json, table, update_section

from hepgen.generators.event import EventGenerator
from hepgen.physics.constants import MLL_MAX, MLL_MIN
from hepgen.physics.io import read_events
from hepgen.physics.observables import CATALOGUE, evaluate_all
from hepgen.physics.preprocessing import split_by_multiplicity
from hepgen.training.trainer import TrainConfig, Trainer
from hepgen.validation.metrics import chi2_two_sample
from hepgen.validation.samples import evaluate_sample, multiplicity_regions
from hepgen.validation.stages import ClassifierSettings, run_classifier

ROOT = HERE.parent
TRAIN_FILE = ROOT / "data_samples" / "zjets_train.root"
TEST_FILE = ROOT / "data_samples" / "zjets_test.root"
#: --tag selects a separate study (own runs file, plot and RESULTS.md section)
TAG = ""


def runs_file() -> Path:
    return RESULTS_DIR / f"qinn_study{TAG}_runs.jsonl"


def plot_file() -> Path:
    return RESULTS_DIR / f"qinn_study{TAG}.png"

COUPLING = {"kind": "affine", "n_blocks": 6, "n_layers": 2}
QUANTUM = {"n_qubits": 6, "q_layers": 4, "readout": "zz"}
#: name -> (family, model config); parameter counts are measured, not assumed
MODELS: dict[str, tuple[str, dict]] = {
    "inn-2k": ("inn", {**COUPLING, "hidden": 12}),
    "inn-4k": ("inn", {**COUPLING, "hidden": 20}),
    "inn-8k": ("inn", {**COUPLING, "hidden": 30}),
    "inn-16k": ("inn", {**COUPLING, "hidden": 45}),
    "qinn-2k": ("qinn", {**COUPLING, **QUANTUM}),
    "hybrid-qinn-2k": ("hybrid-qinn", {**COUPLING, **QUANTUM, "hidden": 12}),
}
#: (model, loss) pairs of the study
PLANS: dict[str, list[tuple[str, str]]] = {
    "full": [
        *[(m, "nll") for m in MODELS],
        ("inn-2k", "mmd"), ("inn-2k", "nll+mmd"),
        ("qinn-2k", "mmd"), ("qinn-2k", "nll+mmd"),
        ("hybrid-qinn-2k", "nll+mmd"),
    ],
    "nll": [(m, "nll") for m in MODELS],
}
PLAN = PLANS["full"]


def load_1j(path: Path, limit: int | None = None):
    events, _ = read_events(path)
    one = split_by_multiplicity(events)[1]
    return one[:limit] if limit else one


def m_mumu_chi2(gen, ref) -> float:
    edges = np.arange(MLL_MIN, MLL_MAX + 0.5, 1.0)
    values = []
    for events in (gen, ref):
        m, ok = evaluate_all(events, ["m_mumu"])["m_mumu"]
        values.append(np.histogram(m[ok], bins=edges)[0].astype(float))
    res = chi2_two_sample(values[0], values[0], values[1], values[1])
    return res.chi2 / res.ndf


def run_one(model: str, loss: str, seed: int, args, train_events, test_events) -> dict:
    family, config = MODELS[model]
    torch.manual_seed(seed)
    generator = EventGenerator(family, {**config, "loss": loss}, (1,))
    features = generator.fit_preprocessing(train_events)[1]
    net = generator.model(1)
    n_params = sum(p.numel() for p in net.parameters())
    cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                      patience=args.epochs, seed=seed)
    start = time.perf_counter()
    Trainer(net, cfg).fit(features)
    train_s = time.perf_counter() - start
    net.eval()
    pre = generator.preprocessors[1]
    x_test = torch.as_tensor(pre.forward(test_events), dtype=torch.float32)
    with torch.no_grad():
        nll = -torch.cat([net.log_prob(b) for b in x_test.split(4096)]).mean() / net.dim
    gen_start = time.perf_counter()
    generated, _ = generator.sample_events(args.n_gen, seed=1000 + seed)
    gen_s = time.perf_counter() - gen_start
    obs = list(CATALOGUE.values())
    region = multiplicity_regions()[0]
    auc = run_classifier(obs, region, evaluate_sample(generated, obs, "generated"),
                         evaluate_sample(test_events, obs, "reference"),
                         ClassifierSettings(seed=seed, n_threads=1))
    return {"model": model, "family": family, "loss": loss, "seed": seed, "params": n_params,
            "counts": getattr(net, "parameter_counts", lambda: {})(),
            "test_nll": float(nll), "auc": auc.auc, "auc_err": auc.auc_err,
            "m_mumu_chi2_ndf": m_mumu_chi2(generated, test_events), "train_s": train_s,
            "generate_s": gen_s, "n_train": len(train_events), "epochs": args.epochs}


def done_runs() -> set[tuple[str, str, int]]:
    if not runs_file().exists():
        return set()
    rows = [json.loads(line) for line in runs_file().read_text().splitlines() if line.strip()]
    return {(r["model"], r["loss"], r["seed"]) for r in rows}


def train_all(args) -> None:
    torch.set_num_threads(1)
    jobs = [(m, loss, s) for m, loss in PLAN for s in range(args.seeds)]
    index, count = (int(v) for v in args.shard.split("/"))
    jobs = [j for i, j in enumerate(jobs) if i % count == index]
    train_events = load_1j(TRAIN_FILE, args.n_train)
    test_events = load_1j(TEST_FILE)
    for model, loss, seed in jobs:
        if (model, loss, seed) in done_runs():
            continue
        row = run_one(model, loss, seed, args, train_events, test_events)
        print(json.dumps(row), flush=True)
        with runs_file().open("a") as handle:
            handle.write(json.dumps(row) + "\n")


def _stats(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.median(values):.3f} [{min(values):.3f}, {max(values):.3f}]"


def summarise(args) -> None:
    rows = [json.loads(line) for line in runs_file().read_text().splitlines() if line.strip()]
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        groups.setdefault((r["model"], r["loss"]), []).append(r)
    order = [key for plan in PLANS.values() for key in plan if key in groups]
    order = list(dict.fromkeys(order))
    table_rows = []
    for key in order:
        g = groups[key]
        table_rows.append([
            key[0], key[1], g[0]["params"], len(g),
            _stats([r["test_nll"] for r in g]), _stats([r["auc"] for r in g]),
            _stats([r["m_mumu_chi2_ndf"] for r in g]),
            f"{statistics.median(r['train_s'] for r in g):.0f}",
        ])
    body = table(["model", "loss", "parameters", "seeds", "test NLL / dim",
                  "AUC (1j)", "m_mumu chi2/ndf", "train s (median)"], table_rows)
    first = rows[0]
    body += (f"\n\nMedian [min, max] over seeds. Every run: {first['n_train']} Z + 1 jet "
             f"training events (first of the shipped training file; 10 % of them for "
             f"validation), {first['epochs']} epochs, same batch size, learning rate and seeds; "
             f"evaluated on all 1-jet events of the shipped test file. Plot: "
             f"`benchmarks/results/{plot_file().name}`.\n")
    update_section(f"qinn-study{TAG}",
                   f"QINN parameter-efficiency study{TAG}, Z + 1 jet (issue 4)", body)
    save_json(f"qinn_study{TAG}", {"runs": rows})
    plot(groups)
    print(body)


def plot(groups) -> None:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mplhep

    plt.style.use(mplhep.style.ROOT)
    fig, axes = plt.subplots(1, 3, figsize=(18, 5.5), constrained_layout=True)
    metrics = [("test_nll", "test NLL / dim"), ("auc", "classifier AUC (1 jet)"),
               ("m_mumu_chi2_ndf", r"$m_{\mu\mu}$ $\chi^2$/ndf")]
    colours = {"inn": "tab:blue", "qinn": "tab:red", "hybrid-qinn": "tab:purple"}
    markers = {"nll": "o", "mmd": "s", "nll+mmd": "^"}
    for ax, (key, label) in zip(axes, metrics, strict=True):
        for (_model, loss), g in groups.items():
            family = g[0]["family"]
            xs = [r["params"] for r in g]
            ys = [r[key] for r in g]
            ax.scatter(xs, ys, color=colours[family], marker=markers[loss], alpha=0.45, s=30)
            ax.errorbar(statistics.median(xs), statistics.median(ys), fmt=markers[loss],
                        color=colours[family], ms=10, mfc="none", mew=2)
        ax.set_xscale("log")
        ax.set_xticks([2000, 4000, 8000, 16000], ["2k", "4k", "8k", "16k"])
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("trainable parameters")
        ax.set_ylabel(label)
    handles = [plt.Line2D([], [], color=c, marker="o", ls="", label=f) for f, c in colours.items()]
    handles += [plt.Line2D([], [], color="k", marker=m, ls="", mfc="none", label=f"loss {loss}")
                for loss, m in markers.items()]
    axes[0].legend(handles=handles, fontsize=12, loc="best")
    fig.suptitle("Z + 1 jet: classical INN vs (hybrid) QINN at equal data, epochs and seeds "
                 "(open marker: median over seeds)", fontsize=14)
    fig.savefig(plot_file(), dpi=90)
    print(f"wrote {plot_file()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=10_000, help="1-jet training events")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--n-gen", type=int, default=20_000, help="generated events per model")
    parser.add_argument("--shard", default="0/1", help="i/k: run every k-th job from i")
    parser.add_argument("--summarise", action="store_true", help="table + plot from the runs")
    parser.add_argument("--plan", choices=sorted(PLANS), default="full",
                        help="full: every model with NLL, plus MMD and NLL+MMD for inn-2k, "
                        "qinn-2k (and NLL+MMD for hybrid-qinn-2k); nll: every model, NLL only")
    parser.add_argument("--tag", default="", help="name suffix of a separate study, e.g. _long")
    args = parser.parse_args()
    global PLAN, TAG
    PLAN, TAG = PLANS[args.plan], args.tag
    if args.summarise:
        summarise(args)
    else:
        train_all(args)


if __name__ == "__main__":
    main()
