"""Model selection on an independent Pythia sample (never the test file).

The shipped test file is for the final figures only. Choices between candidate generators
(representation, training length, network size) are made here instead: ``hepgen simulate``
makes a *selection* file with its own seed (``--sim-seed``, default 3; the training file used
seed 1, the test file seed 2), each candidate run directory generates ``--n`` events, and
``hepgen validate`` compares them with the selection file. The table ranks the candidates by
the mean classifier AUC over the jet multiplicities.

    python benchmarks/bench_selection.py --models inn_chain_recoil,fast,default_particles
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import bench_generators
from _common import HERE, save_json, table, update_section
from bench_generators import HEPGEN, RUNS, sh, summarise

SELECTION = RUNS / "selection.root"


def selection_file(n: int, seed: int, jobs: int) -> Path:
    """The selection sample, simulated once (reused while it exists)."""
    if not SELECTION.exists():
        sh([*HEPGEN, "simulate", "-n", str(n), "--seed", str(seed), "--jobs", str(jobs),
            "-o", str(SELECTION)])
    return SELECTION


def evaluate(model: str, reference: Path, n: int) -> dict:
    """The issue's figures for runs/<model> against the selection file (no plots)."""
    res = bench_generators.evaluate(RUNS / model, f"selection_{model}", n, [], seed=2,
                                    reference=reference, label="selection", report_prefix="",
                                    validate_extra=("--no-plots",))
    return summarise(res["metrics"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", required=True, help="run directories under runs/")
    parser.add_argument("--n", type=int, default=300_000, help="generated events per model")
    parser.add_argument("--sim-n", type=int, default=20_000, help="selection events")
    parser.add_argument("--sim-seed", type=int, default=3)
    parser.add_argument("--sim-jobs", type=int, default=2)
    parser.add_argument("--no-results-md", action="store_true")
    parser.add_argument("--fresh", action="store_true",
                        help="forget earlier rows (default: keep them, replacing re-run models)")
    args = parser.parse_args()
    reference = selection_file(args.sim_n, args.sim_seed, args.sim_jobs)
    earlier = HERE / "results" / "selection.json"
    results = {} if args.fresh or not earlier.exists() else json.loads(
        earlier.read_text())["results"]
    results.update({m: evaluate(m, reference, args.n) for m in args.models.split(",")})
    ranked = sorted(results, key=lambda m: sum(v[0] for v in results[m]["auc"].values()))
    rows = [[m, *(f"{results[m]['auc'][k][0]:.3f} ± {results[m]['auc'][k][1]:.3f}"
                  for k in ("1j", "2j", "3j")),
             f"{sum(v[0] for v in results[m]['auc'].values()) / 3:.3f}",
             f"{results[m]['max_chi2_ndf']:.1f} ({results[m]['worst']})",
             f"{results[m]['n_over_2']} / {results[m]['n_obs']}"] for m in ranked]
    body = table(["model", "AUC 1j", "AUC 2j", "AUC 3j", "mean AUC", "max χ²/ndf",
                  "obs with χ²/ndf > 2"], rows)
    body += (f"\n\n{args.n:,} generated events per model (seed 2) against {args.sim_n:,} "
             f"Pythia events simulated with seed {args.sim_seed} ({args.sim_jobs} job(s)) for this "
             "purpose (the "
             "training file used seed 1, the test file seed 2). Best first.\n")
    print(body)
    save_json("selection", {"n_generated": args.n, "sim_n": args.sim_n,
                            "sim_seed": args.sim_seed, "sim_jobs": args.sim_jobs,
                            "results": results})
    if not args.no_results_md:
        update_section("selection", "Model selection on an independent Pythia sample", body)


if __name__ == "__main__":
    sys.exit(main())
