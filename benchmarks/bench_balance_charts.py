"""Charts of the pT balance in the first chain stage: which one draws both the balance peak and
the dimuon pair at rest?

In Z + 1 jet events the pair's transverse momentum is q = b - pT_j1 (b the event's pT balance,
2-vectors). The data have two populations along the jet axis: the usual pair recoiling against
the jet (|b| small) and, in ~0.6 % of events, a pair on the jet's side (|b| ~ 1.7 pT_j1, the
recoil carried by activity outside the jets); between them, at q = 0, the density dips. The
shipped representation models b in log-polar coordinates, where q = 0 is the point
(|b| = pT_j1, phi_b = 0) that a flow fills in (twice the data's pT_mumu < 8 GeV). This script
trains, per representation, the Z + 1 jet stage alone (the default's stage-1 network, one
network, ``--epochs`` epochs, one thread; two trainings at a time), generates ``--n`` events,
validates them against the shipped test file and reports per 1-jet observable chi2/ndf, the
1-jet classifier AUC, and the two populations (pT_mumu < 8 GeV; the pair on the jet's side).
``--mix A+B`` rows validate the first half of A's events joined to the first half of B's:
samples of the equal-weight mixture of the two models.

    python benchmarks/bench_balance_charts.py \\
        --reps base=recoil-cone-log-dq,pair=recoil-cone-log-dq-pair --mix base+pair
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import awkward as ak
import numpy as np
from _common import save_json, table, update_section
from bench_generators import HEPGEN, ROOT, RUNS, TEST_FILE, TRAIN_FILE, sh

from hepgen.physics.io import read_events, write_events
from hepgen.physics.observables import catalogue
from hepgen.physics.recoil import RecoilPreprocessor

#: RESULTS.md title of each section this script can write (--section)
TITLES = {"balance_charts": "Charts of the pT balance (Z + 1 jet stage)",
          "mass_window": "The dimuon mass window (Z + 1 jet stage, selection sample)"}

#: the shipped default's stage-1 network and training (configs/default.json), Z + 1 jet only
BASE_CONFIG: dict = {
    "model": "inn", "jets": [1],
    "model_config": {"n_blocks": 10, "kind": "spline", "hidden": 128, "n_layers": 2,
                     "bins": 10, "bound": 5.0},
    "train": {"batch_size": 1024, "lr": 0.001, "augment": ["eta", "phi"]},
    "symmetrize": ["eta", "phi"],
}


def train_one(label: str, representation: str, epochs: int, seed: int) -> Path:
    """Train the Z + 1 jet stage in ``representation`` on one thread; return its run dir."""
    run_dir = RUNS / f"charts_{label}"
    config = dict(BASE_CONFIG, representation=representation,
                  description=f"bench_balance_charts: Z + 1 jet stage in {representation}")
    config["train"] = dict(config["train"], epochs=epochs, patience=epochs)
    path = RUNS / f"charts_{label}.json"
    path.write_text(json.dumps(config, indent=1))
    shutil.rmtree(run_dir, ignore_errors=True)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    subprocess.run([*HEPGEN, "train", "--config", str(path), "--data", str(TRAIN_FILE),
                    "--out", str(run_dir), "--seed", str(seed)], check=True, cwd=ROOT, env=env)
    return run_dir


def populations(events: ak.Array) -> dict[str, float]:
    """Fractions of 1-jet events with pT_mumu < 8 GeV and with the pair on the jet's side
    (b within 0.5 rad of the jet, 1.5 < |b| / pT_j1 < 2)."""
    events = events[ak.num(events.Jet.pt) == 1]
    pt_mumu = catalogue()["pt_mumu"].evaluate(events)[0]
    recoil = RecoilPreprocessor(1)  # its kinematics: the balance with phi about the jet
    kin = dict(zip(recoil.feature_names, recoil.kinematics(events).T, strict=True))
    ratio = kin["balance_pt"] / kin["j1_pt"]
    along = np.abs(kin["balance_phi"]) < 0.5
    return {"n": len(events), "low_pt_mumu": float(np.mean(pt_mumu < 8.0)),
            "jet_side": float(np.mean(along & (ratio > 1.5) & (ratio < 2.0)))}


def validate(label: str, sample: Path, reference: Path = TEST_FILE) -> dict:
    """1-jet chi2/ndf per observable, AUC, populations of ``sample`` vs ``reference``."""
    report = RUNS / f"charts_report_{label}"
    sh([*HEPGEN, "validate", str(sample), str(reference), "-o", str(report), "--no-plots",
        "--seed", "0"])
    metrics = json.loads((report / "metrics.json").read_text())
    chi2 = {name: o["regions"]["1j"]["chi2_ndf"] for name, o in metrics["observables"].items()
            if "1j" in o["regions"]}
    return {"chi2_ndf": chi2, "auc": metrics["classifier"]["1j"]["auc"],
            "auc_err": metrics["classifier"]["1j"]["auc_err"],
            **populations(read_events(sample)[0])}


def mixture(labels: list[str], samples: dict[str, Path]) -> Path:
    """Equal shares of the labelled samples, joined (events of the equal-weight mixture)."""
    parts = []
    for label in labels:
        events = read_events(samples[label])[0]
        parts.append(events[: len(events) // len(labels)])
    out = RUNS / f"charts_{'+'.join(labels)}.root"
    write_events(out, ak.concatenate(parts))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", required=True, help="label=representation,...")
    parser.add_argument("--mix", default="", help="label+label,... (equal-weight mixtures)")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--n", type=int, default=500_000, help="generated events per model")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-results-md", action="store_true")
    parser.add_argument("--reference", type=Path, default=TEST_FILE,
                        help="events to validate against (default: the shipped test file; "
                             "runs/selection_large.root for choices)")
    parser.add_argument("--section", default="balance_charts", choices=list(TITLES),
                        help="results/<name>.json and RESULTS.md section to write")
    args = parser.parse_args()
    args.reference = args.reference.resolve()  # validate runs from the repository root
    if any("=" not in item for item in args.reps.split(",")):
        parser.error(f"--reps: expected label=representation,..., got {args.reps!r}")
    reps = dict(item.split("=", 1) for item in args.reps.split(","))
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = dict(zip(reps, pool.map(lambda kv: train_one(*kv, args.epochs, args.seed),
                                       reps.items()), strict=True))
    samples = {}
    for label, run_dir in runs.items():
        samples[label] = RUNS / f"charts_{label}.root"
        sh([*HEPGEN, "generate", "--model", str(run_dir), "-n", str(args.n), "-o",
            str(samples[label]), "--seed", str(args.seed)])
    for mix in filter(None, args.mix.split(",")):
        samples[mix] = mixture(mix.split("+"), samples)
    results = {"reference": populations(read_events(args.reference)[0]),
               "reference_file": str(args.reference),
               "models": {label: validate(label, path, args.reference)
                          for label, path in samples.items()},
               "representations": reps, "epochs": args.epochs, "n": args.n}
    save_json(args.section, results)
    if not args.no_results_md:
        update_section(args.section, TITLES[args.section], render(results))


def render(results: dict) -> str:
    """The RESULTS.md section: populations and AUC, then chi2/ndf per 1-jet observable."""
    models, ref = results["models"], results["reference"]
    labels = list(models)
    ref_name = Path(results.get("reference_file", TEST_FILE)).name
    rows = [[ref_name, "-", f"{100 * ref['low_pt_mumu']:.2f}", f"{100 * ref['jet_side']:.2f}",
             "-", "-", "-"]]
    for label in labels:
        m = models[label]
        chi2 = m["chi2_ndf"]
        worst = max(chi2, key=chi2.get)
        rows.append([label, results["representations"].get(label, "mixture"),
                     f"{100 * m['low_pt_mumu']:.2f}", f"{100 * m['jet_side']:.2f}",
                     f"{m['auc']:.4f} ± {m['auc_err']:.4f}",
                     f"{chi2[worst]:.2f} ({worst})", f"{sum(v > 2 for v in chi2.values())}"
                     f" / {len(chi2)}"])
    head = table(["model", "representation", "pT_mumu < 8 GeV [%]", "pair on the jet's side [%]",
                  "AUC 1j", "worst chi2/ndf 1j", "obs > 2"], rows)
    names = list(models[labels[0]]["chi2_ndf"])
    per_obs = table(["1-jet observable", *labels],
                    [[n, *(f"{models[m]['chi2_ndf'][n]:.2f}" for m in labels)] for n in names])
    return (f"Z + 1 jet stage alone ({results['epochs']} epochs, one network, one thread), "
            f"{results['n']:,} events generated per model, 1-jet events of {ref_name}; "
            "'pair on the jet's side': b within 0.5 rad of the jet and 1.5 < |b| / pT_j1 "
            "< 2.\n\n" + head + "\n\n" + per_obs + "\n")


if __name__ == "__main__":
    main()
