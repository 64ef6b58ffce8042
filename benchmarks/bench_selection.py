"""Model selection on an independent Pythia sample (never the test file).

The shipped test file is for the final figures only. Choices between candidate generators
(representation, training length, network size) are made here instead: ``hepgen simulate``
makes a *selection* file with its own seed (``--sim-seed``, default 3; the training file used
seed 1, the test file seed 2), each candidate run directory generates ``--n`` events, and
``hepgen validate`` compares them with the selection file.

The table ranks the candidates by their negative log-likelihood on the selection events
(``EventGenerator.feature_log_prob(kinematic=True)``: nats per event in the kinematic
coordinates of the recoil representations, which all its variants share up to a unit Jacobian
(their ``COORDINATES``); the particle map's coordinates differ, so its runs get no NLL). It is
a proper scoring rule and far more sensitive than the classifier AUC at 20k reference events:
differences are paired (same events), and their standard errors are quoted against the best
run. The classifier AUCs and chi2/ndf of ``hepgen validate`` are shown beside it.

    python benchmarks/bench_selection.py --models inn_chain_recoil,fast,default_particles
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import bench_generators
import numpy as np
from _common import HERE, save_json, table, update_section
from bench_generators import HEPGEN, RUNS, sh, summarise

SELECTION = RUNS / "selection.root"
NLL_DIR = RUNS / "selection_nll"
#: the family of kinematic coordinates in which the NLLs are compared (``COORDINATES`` of the
#: preprocessors, hepgen.physics.representations)
NLL_COORDINATES = "recoil"


def selection_file(n: int, seed: int, jobs: int) -> Path:
    """The selection sample, simulated once (reused while it exists)."""
    if not SELECTION.exists():
        sh([*HEPGEN, "simulate", "-n", str(n), "--seed", str(seed), "--jobs", str(jobs),
            "-o", str(SELECTION)])
    return SELECTION


def evaluate(model: str, reference: Path, n: int) -> dict:
    """The issue's figures for runs/<model> against the selection file (no plots), and its
    per-event log-likelihood of the selection events (saved for paired comparisons)."""
    res = bench_generators.evaluate(RUNS / model, f"selection_{model}", n, [], seed=2,
                                    reference=reference, label="selection", report_prefix="",
                                    validate_extra=("--no-plots",))
    out = summarise(res["metrics"])
    out["nll"] = selection_nll(model, reference)
    out["weights_sha256"] = weights_digest(model)
    return out


def weights_digest(model: str) -> str | None:
    """sha256 of runs/<model>/weights.pt: a row measured another run if this changed."""
    from hepgen.training.run import file_digest

    path = RUNS / model / "weights.pt"
    return file_digest(path) if path.exists() else None


def is_stale(model: str, row: dict) -> bool:
    """Whether ``row`` was measured on weights other than runs/<model>'s now (rows from before
    digests were stored count as current)."""
    return row.get("weights_sha256") not in (None, weights_digest(model))


def selection_nll(model: str, reference: Path, run_dir: Path | None = None,
                  nll_dir: Path = NLL_DIR) -> dict | None:
    """Mean NLL per multiplicity and over all events of the generator in ``run_dir`` (default
    runs/<model>); per-event values to ``nll_dir``/<model>.npz. None for a representation other
    than the recoil one (not comparable)."""
    from hepgen.generators.event import EventGenerator
    from hepgen.physics.io import read_events
    from hepgen.physics.representations import REPRESENTATIONS

    generator, _ = EventGenerator.load(run_dir or RUNS / model)
    if REPRESENTATIONS[generator.representation].COORDINATES != NLL_COORDINATES:
        return None
    events, _ = read_events(reference)
    log_prob = log_prob_in_support(generator, events)
    nll_dir.mkdir(parents=True, exist_ok=True)
    np.savez(nll_dir / f"{model}.npz", **{str(n): v for n, v in log_prob.items()})
    values = np.concatenate([log_prob[n] for n in sorted(log_prob)])
    return {"all": float(-np.nanmean(values)), "outside": int(np.isnan(values).sum()),
            **{f"{n}j": float(-np.nanmean(log_prob[n])) for n in sorted(log_prob)}}


def log_prob_in_support(generator, events) -> dict[int, np.ndarray]:
    """``generator.feature_log_prob(events, kinematic=True)`` with NaN instead of -inf for the
    events outside the generator's support (a preprocessing step's domain, e.g. the dimuon mass
    window of ``recoil-cones-shared-deta-mll``: density 0), which :func:`paired_difference`
    leaves out."""
    log_prob = generator.feature_log_prob(events, kinematic=True)
    return {n: np.where(np.isneginf(v), np.nan, v) for n, v in sorted(log_prob.items())}


def paired_difference(model: str, best: str,
                      nll_dir: Path = NLL_DIR) -> tuple[float, float] | None:
    """NLL(model) - NLL(best) over the same selection events (those in both generators'
    support), and its standard error."""
    files = [nll_dir / f"{m}.npz" for m in (model, best)]
    if not all(f.exists() for f in files):
        return None
    a, b = (np.load(f) for f in files)
    diff = np.concatenate([b[k] - a[k] for k in sorted(a.files)])  # -log a - (-log b)
    diff = diff[np.isfinite(diff)]  # events outside either generator's support left out
    return float(diff.mean()), float(diff.std() / np.sqrt(len(diff)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", required=True, help="run directories under runs/")
    parser.add_argument("--n", type=int, default=300_000, help="generated events per model")
    parser.add_argument("--sim-n", type=int, default=20_000, help="selection events")
    parser.add_argument("--sim-seed", type=int, default=3)
    parser.add_argument("--sim-jobs", type=int, default=2)
    parser.add_argument("--no-results-md", action="store_true")
    parser.add_argument("--nll-only", action="store_true",
                        help="only (re)compute the NLL of --models, keeping their earlier rows")
    parser.add_argument("--fresh", action="store_true",
                        help="forget earlier rows (default: keep them, replacing re-run models)")
    args = parser.parse_args()
    reference = selection_file(args.sim_n, args.sim_seed, args.sim_jobs)
    earlier = HERE / "results" / "selection.json"
    results = {} if args.fresh or not earlier.exists() else json.loads(
        earlier.read_text())["results"]
    for m in args.models.split(","):
        if args.nll_only and m in results and not is_stale(m, results[m]):
            results[m]["nll"] = selection_nll(m, reference)
        else:  # new, or its run directory was replaced since its row: measure everything
            results[m] = evaluate(m, reference, args.n)
    stale = [m for m in results if is_stale(m, results[m])]
    if stale:
        print(f"warning: rows measured on other weights than runs/<model> holds now: {stale} "
              "(marked †; re-run them)", file=sys.stderr)
    ranked = sorted(results, key=lambda m: (results[m].get("nll") is None,
                                            (results[m].get("nll") or {}).get("all", 0.0),
                                            sum(v[0] for v in results[m]["auc"].values())))
    best = ranked[0]

    def nll_cells(m: str) -> list[str]:
        nll = results[m].get("nll")
        if not nll:
            return ["-"] * 5
        diff = paired_difference(m, best)
        return [*(f"{nll[k]:.3f}" for k in ("1j", "2j", "3j")), f"{nll['all']:.4f}",
                "-" if diff is None or m == best else f"{diff[0]:+.4f} ± {diff[1]:.4f}"]

    rows = [[f"{m} †" if m in stale else m, *nll_cells(m),
             *(f"{results[m]['auc'][k][0]:.3f} ± {results[m]['auc'][k][1]:.3f}"
               for k in ("1j", "2j", "3j")),
             f"{sum(v[0] for v in results[m]['auc'].values()) / 3:.3f}",
             f"{results[m]['max_chi2_ndf']:.1f} ({results[m]['worst']})",
             f"{results[m]['n_over_2']} / {results[m]['n_obs']}"] for m in ranked]
    body = table(["model", "NLL 1j", "NLL 2j", "NLL 3j", "NLL all", "Δ NLL vs best",
                  "AUC 1j", "AUC 2j", "AUC 3j", "mean AUC", "max χ²/ndf",
                  "obs with χ²/ndf > 2"], rows)
    body += (f"\n\n{args.n:,} generated events per model (seed 2) against {args.sim_n:,} "
             f"Pythia events simulated with seed {args.sim_seed} ({args.sim_jobs} job(s)) for this "
             "purpose (the training file used seed 1, the test file seed 2). Ranked by NLL (nats "
             "per event in the recoil kinematic coordinates; '-' for the particle map), lowest "
             "first; Δ NLL: paired difference to the best run on the same events, with its "
             "standard error." + (" †: measured on weights the run directory no longer holds."
                                  if stale else "") + "\n")
    print(body)
    save_json("selection", {"n_generated": args.n, "sim_n": args.sim_n,
                            "sim_seed": args.sim_seed, "sim_jobs": args.sim_jobs,
                            "results": results})
    if not args.no_results_md:
        update_section("selection", "Model selection on an independent Pythia sample", body)


if __name__ == "__main__":
    sys.exit(main())
