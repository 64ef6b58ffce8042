"""How much do the test-file figures move with the generation seed alone?

The precision table (bench_generators.py) generates 1,000,000 events with seed 1. Here the same
trained generators generate with seeds 1..K and each sample is validated against the test file
(the classifier is retrained each time, with its own seed 0): the spread of the AUCs and of the
largest χ²/ndf is what a single row can be trusted to, next to its bootstrap error.

    python benchmarks/bench_seed_spread.py --models default,default+rw --seeds 1,2,3
"""

from __future__ import annotations

import argparse
import sys

import bench_generators
import numpy as np
from _common import save_json, table, update_section
from bench_generators import RUNS, evaluate, summarise


def spread(model: str, seeds: list[int], n: int) -> dict[int, dict]:
    """Figures per seed of run ``model`` (``<run>+rw``: generated with ``--reweight``)."""
    base, extra = (model[:-3], ["--reweight"]) if model.endswith("+rw") else (model, [])
    run_dir = RUNS / (f"{base}_rw" if extra else base)
    out = {}
    for seed in seeds:
        tag = f"{run_dir.name}_seed{seed}"
        result = evaluate(run_dir, tag, n, extra, seed=seed, report_prefix="spread_")
        out[seed] = summarise(result["metrics"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="default,default+rw",
                        help="run directories under runs/ ('<run>+rw': with --reweight)")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--from-reports", action="store_true",
                        help="summarise the spread_* reports already in runs/ where they exist")
    args = parser.parse_args()
    bench_generators.FROM_REPORTS = args.from_reports
    seeds = [int(s) for s in args.seeds.split(",")]
    results = {m: spread(m, seeds, args.n) for m in args.models.split(",")}
    rows = []
    for model, by_seed in results.items():
        for seed, r in by_seed.items():
            rows.append([model, seed, *(f"{r['auc'][k][0]:.3f} ± {r['auc'][k][1]:.3f}"
                                        for k in ("1j", "2j", "3j")),
                         f"{r['max_chi2_ndf']:.2f} ({r['worst']})",
                         f"{r['n_over_2']} / {r['n_obs']}"])
        aucs = {k: [r["auc"][k][0] for r in by_seed.values()] for k in ("1j", "2j", "3j")}
        chi2 = [r["max_chi2_ndf"] for r in by_seed.values()]
        rows.append([f"**{model}: mean ± sd**", "",
                     *(f"**{np.mean(v):.3f} ± {np.std(v, ddof=1):.3f}**" for v in aucs.values()),
                     f"**{np.mean(chi2):.2f} ± {np.std(chi2, ddof=1):.2f}**",
                     f"**{np.mean([r['n_over_2'] for r in by_seed.values()]):.1f}**"])
    body = table(["model", "seed", "AUC 1j", "AUC 2j", "AUC 3j", "max χ²/ndf",
                  "obs with χ²/ndf > 2"], rows)
    body += (f"\n\n{args.n:,} generated events per seed against the 50,000-event test file; "
             "± on a row: the classifier's bootstrap error; mean ± sd: over the seeds (sample "
             "standard deviation). Models: run directories under benchmarks/runs/ (the shipped "
             "default since 2026-11-25 (third change): `mll150_ens4` and `mll150_ens4_rw`, the "
             "same networks with its reweighter; before it `mll150` / `mll150_rw`, `mll_ens3` / "
             "`mll_ens3_rw`, `mll_fsr` / `mll_fsr_rw` and `default` / `default_focus_rw`; the "
             "fast generator (data_samples/fast_generator) since 2026-11-25: `fast_mll150`, "
             "before it `fast`; others: the notes in 'The dimuon mass window, full chain', "
             "'The fast generator in the mass window' and 'Chain stages and the collinear "
             "ring').")
    update_section("seed-spread", "Test-file figures vs the generation seed", body)
    save_json("seed_spread", {"results": {m: {str(s): r for s, r in v.items()}
                                          for m, v in results.items()},
                              "command": " ".join(sys.argv)})


if __name__ == "__main__":
    main()
