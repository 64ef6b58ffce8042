"""Closing the jet-clustering cones: variants of the default's j2 / j3 stages on an independent
Pythia sample.

Anti-kT jets of radius R = 0.4 are never closer than ~R: the leading jet, and every other jet,
has an empty cone about it, ringed by collinear pairs. The default closes the cone about the
leading jet (recoil-cone-log-dq); its largest remaining jet-separation deviations are the
first bins above ΔR = 0.4. Each variant here differs from the default (``--base``) only in how
the further jets' cones are mapped, so stage 1 and the photon-jet splitter are copied from the
default's run and only the j2 and j3 stages retrained (``hepgen train --resume``). Every run
generates ``--n`` events with one seed and is validated against the 100,000-event selection
sample of bench_reweighter.py (Pythia seed 4), never the test file.

    python benchmarks/bench_cones.py --models cone_ens1_fsr,cone_sqrt_fsr,cones_fsr
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from pathlib import Path

import bench_generators
import numpy as np
from _common import save_json, table, update_section
from bench_generators import HEPGEN, ROOT, RUNS, TRAIN_FILE, config_path, evaluate, sh, summarise
from bench_reweighter import SELECTION, selection_file
from bench_selection import paired_difference, selection_nll

#: units that see no further jet, taken from the base run
SHARED_UNITS = ("chain1", "chain1_m1", "fsr_decision", "fsr_kinematics")
#: bases that are shipped generators (no run directory: their units are written from the
#: saved networks)
SHIPPED = {"default": ROOT / "data_samples" / "default_generator"}
#: per-event log-likelihoods of the selection sample's events, per run (paired differences)
NLL_DIR = RUNS / "selection_large_nll"
#: the observables this study is about (first column of the table: the worst region)
SEPARATIONS = ("dR_j1_j2", "dR_j1_j3", "dR_j2_j3", "dphi_j2_j3", "m_jj")


def seed_units(generator_dir: Path, run_dir: Path) -> None:
    """Mark the units of :data:`SHARED_UNITS` finished in ``run_dir`` with a saved generator's
    networks, so ``hepgen train --resume`` keeps them (a shipped generator has no run
    directory)."""
    from hepgen.generators.event import EventGenerator
    from hepgen.training.run import write_finished_unit

    generator, _ = EventGenerator.load(generator_dir)
    networks = {name: model for name, _, _, model in generator.training_networks()}
    networks.update({"fsr_decision": generator.fsr.decision,
                     "fsr_kinematics": generator.fsr.kinematics})
    for unit in SHARED_UNITS:
        write_finished_unit(run_dir / unit, networks[unit])


def train(model: str, base: str) -> float:
    """Train runs/<model> from benchmarks/configs/<model>.json (``<config>_s<k>``: that config
    with training seed k instead of 0), reusing the base run's stage 1 and splitter; returns its
    training seconds (run.json; the retrained stages only)."""
    run_dir = RUNS / model
    if (run_dir / "generator.json").exists():
        print(f"reusing {run_dir}", flush=True)
        return json.loads((run_dir / "run.json").read_text())["meta"]["train_seconds"]
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir()
    if base in SHIPPED:
        seed_units(SHIPPED[base], run_dir)
    for unit in SHARED_UNITS:
        if (RUNS / base / unit).exists():
            shutil.copytree(RUNS / base / unit, run_dir / unit)
    config, seed = model, 0
    if match := re.fullmatch(r"(.+)_s(\d+)", model):  # <config>_s<k>: training seed k
        config, seed = match.group(1), int(match.group(2))
    sh([*HEPGEN, "train", "--config", str(config_path(config)), "--data", str(TRAIN_FILE),
        "--out", str(run_dir), "--seed", str(seed), "--resume"])
    return json.loads((run_dir / "run.json").read_text())["meta"]["train_seconds"]


def figures(model: str, n: int, seed: int) -> dict:
    """validate's figures of ``n`` generated events against the selection sample, and the
    held-out NLL of the selection events (nats per event, recoil kinematic coordinates)."""
    run_dir = SHIPPED.get(model, RUNS / model)
    res = evaluate(run_dir, f"sel_{model}", n, [], seed=seed, reference=SELECTION,
                   label="selection", report_prefix="report_", validate_extra=("--no-plots",))
    return {**summarise(res["metrics"]), "nll": selection_nll(model, SELECTION, run_dir, NLL_DIR)}


def nll_cell(model: str, base: str) -> str:
    """The paired NLL difference to the base run on the same selection events, with its
    standard error (nats per event; negative: ``model`` is better)."""
    diff = None if model == base else paired_difference(model, base, NLL_DIR)
    return "-" if diff is None else f"{diff[0]:+.4f} ± {diff[1]:.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="cone_ens1_fsr,cone_sqrt_fsr,cones_fsr")
    parser.add_argument("--base", default="cone_ens1_fsr")
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--gen-seed", type=int, default=2)
    parser.add_argument("--from-reports", action="store_true",
                        help="summarise reports already in runs/ where they exist")
    parser.add_argument("--no-results-md", action="store_true")
    parser.add_argument("--json-name", default="cones",
                        help="results/<name>.json (another name keeps the section's json)")
    args = parser.parse_args()
    bench_generators.FROM_REPORTS = args.from_reports

    selection_file(100_000, 4, 2)
    results = {}
    for model in args.models.split(","):
        train_s = float("nan") if model == args.base else train(model, args.base)
        results[model] = {**figures(model, args.n, args.gen_seed), "train_s": train_s}
    rows = []
    for model, r in results.items():
        sep = [max(r["observables"][o].values(), key=lambda v: v["chi2_ndf"])["chi2_ndf"]
               for o in SEPARATIONS]
        rows.append([model, *(f"{r['auc'][k][0]:.3f}" for k in ("1j", "2j", "3j")),
                     *(f"{c:.2f}" for c in sep), f"{r['max_chi2_ndf']:.2f} ({r['worst']})",
                     f"{r['n_over_2']} / {r['n_obs']}", f"{r['mean_chi2_ndf']:.3f}",
                     nll_cell(model, args.base),
                     "-" if np.isnan(r["train_s"]) else f"{r['train_s'] / 60:.1f}"])
    header = ["run", "AUC 1j", "AUC 2j", "AUC 3j", *(f"χ² {o}" for o in SEPARATIONS),
              "max χ²/ndf", "obs > 2", "mean χ²/ndf", f"NLL − {args.base}'s",
              "j2+j3 train [min]"]
    body = table(header, rows) + (
        f"\n\n{args.n:,} generated events per run (seed {args.gen_seed}) against the 100,000 "
        "Pythia events of the selection sample (seed 4; never the test file). χ²/ndf of an "
        "observable: the largest over inclusive, 1j, 2j, 3j; 'mean χ²/ndf' averages the 171 "
        "(observable, region) histograms; NLL: paired difference of the held-out NLL of the "
        "selection events to the base run's (nats per event, ± its standard error). Runs "
        "other than the base retrain only the j2 and j3 stages (benchmarks/configs/<run>.json; "
        "one thread, the other core busy).\n")
    print(body)
    save_json(args.json_name, {"results": results})
    if not args.no_results_md:
        update_section("cones", "Closing the jet-clustering cones (selection sample)", body)


if __name__ == "__main__":
    sys.exit(main())
