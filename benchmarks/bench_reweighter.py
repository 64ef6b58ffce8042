"""Choosing the post-hoc reweighter (``hepgen fit-reweighter``) on an independent Pythia sample.

The reweighter's discriminators are fitted on the training file only; their fitting noise goes
into every generated event's weight. Variants here differ in how many cross-fitted members a
multiplicity's discriminator has (``--members``, arXiv 2110.13632's D averaged over K fits) and
in how many generated events each training event is matched with (``--generated-per-event``);
each variant is fitted with several seeds. The trained generator is the same for every row, and
so are its generated events (one ``--seed``): only the weights differ. The figures are measured
against a *selection* sample, simulated once with its own seed (``--sim-seed``, default 4; the
training file used 1, the test file 2, bench_selection.py's sample 3), never the test file.
Its first 50,000 events are those of bench_stage_hybrid.py's diagnosis sample (same seed, and
job 0 of two draws the same stream as one job), used there for a diagnosis only.

    python benchmarks/bench_reweighter.py --base cone_ens1_fsr --variants 1:2,5:2,5:5 --seeds 0,1
    python benchmarks/bench_reweighter.py --base default --variants 5:5,5:5:focus --seeds 0,1
"""

from __future__ import annotations

import argparse
import shutil
import sys

from _common import median, save_json, table, update_section
from bench_generators import HEPGEN, REGIONS, RUNS, TRAIN_FILE, evaluate, sh, summarise

SELECTION = RUNS / "selection_large.root"
#: files of a run directory the reweighted copies need
RUN_FILES = ("generator.json", "weights.pt", "run.json")
#: RESULTS.md title of each section this script can write (--section)
TITLES = {"reweighter": "Reweighter variants on an independent Pythia sample",
          "reweighter-focus": "Focused second reweighting stage (selection sample)"}


def selection_file(n: int, seed: int, jobs: int) -> None:
    """The selection sample, simulated once (reused while it exists)."""
    if not SELECTION.exists():
        sh([*HEPGEN, "simulate", "-n", str(n), "--seed", str(seed), "--jobs", str(jobs),
            "-o", str(SELECTION)])


def fit(base: str, members: int, per_event: float, seed: int, focus: bool
        ) -> tuple[str, float]:
    """Copy runs/<base> and fit its reweighter (with or without the focused second stage);
    returns (run name, fit seconds)."""
    name = f"rwsel_{base}_m{members}_r{per_event:g}{'_focus' if focus else ''}_s{seed}"
    run_dir = RUNS / name
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir()
    for f in RUN_FILES:
        shutil.copy2(RUNS / base / f, run_dir / f)
    seconds = sh([*HEPGEN, "fit-reweighter", "--model", str(run_dir), "--data", str(TRAIN_FILE),
                  "--members", str(members), "--generated-per-event", str(per_event),
                  "--seed", str(seed), *([] if focus else ["--no-focus"])])
    return name, seconds


def figures(metrics: dict) -> dict:
    """Summary figures plus the weights' standard deviation per multiplicity."""
    out = summarise(metrics)
    weights = out.get("generated_weights") or {}
    out["weight_std"] = {k: v["std"] for k, v in weights.get("regions", {}).items()}
    return out


def row(label: str, fits: list[dict]) -> list[str]:
    """Medians over the seeds of one variant (the spread as min-max where there are several)."""
    def cell(values: list[float], fmt: str) -> str:
        text = format(median(values), fmt)
        return text if len(values) == 1 else f"{text} ({min(values):{fmt}}–{max(values):{fmt}})"

    aucs = [cell([f["auc"][r][0] for f in fits], ".3f") for r in REGIONS[1:]]
    std = [cell([f["weight_std"].get(r, 0.0) for f in fits], ".3f") for r in REGIONS[1:]]
    return [label, str(len(fits)), *aucs, cell([f["max_chi2_ndf"] for f in fits], ".2f"),
            cell([float(f["n_over_2"]) for f in fits], ".0f"),
            cell([f["mean_chi2_ndf"] for f in fits], ".3f"), *std,
            cell([f["fit_s"] for f in fits], ".0f")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="cone_ens1_fsr", help="trained run under runs/")
    parser.add_argument("--variants", default="1:2,5:2,5:5",
                        help="comma-separated MEMBERS:GENERATED_PER_EVENT[:focus] (':focus': "
                             "with the focused second stage, else --no-focus)")
    parser.add_argument("--seeds", default="0,1", help="reweighter seeds per variant")
    parser.add_argument("--n", type=int, default=1_000_000, help="generated events")
    parser.add_argument("--gen-seed", type=int, default=2)
    parser.add_argument("--sim-n", type=int, default=100_000)
    parser.add_argument("--sim-seed", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--no-results-md", action="store_true")
    parser.add_argument("--section", default="reweighter", choices=list(TITLES),
                        help="RESULTS.md section to write (reweighter-focus: the focused stage's)")
    args = parser.parse_args()

    selection_file(args.sim_n, args.sim_seed, args.jobs)
    common = dict(seed=args.gen_seed, reference=SELECTION, label="selection",
                  report_prefix="report_", validate_extra=("--no-plots",))
    results: dict[str, list[dict]] = {}
    base = evaluate(RUNS / args.base, f"rwsel_{args.base}_plain", args.n, [], **common)
    results["no weights"] = [{**figures(base["metrics"]), "fit_s": 0.0}]
    for variant in args.variants.split(","):
        parts = variant.split(":")
        members, per_event, focus = int(parts[0]), float(parts[1]), parts[2:] == ["focus"]
        label = f"K={members}, r={per_event:g}{' + focus' if focus else ''}"
        for seed in (int(s) for s in args.seeds.split(",")):
            name, fit_s = fit(args.base, members, per_event, seed, focus)
            res = evaluate(RUNS / name, name, args.n, ["--reweight"], **common)
            results.setdefault(label, []).append({**figures(res["metrics"]), "fit_s": fit_s})
            print(label, seed, {k: results[label][-1][k] for k in
                                ("auc", "max_chi2_ndf", "worst", "n_over_2", "mean_chi2_ndf")},
                  flush=True)

    header = ["reweighter", "fits", "AUC 1j", "AUC 2j", "AUC 3j", "max χ²/ndf", "obs > 2",
              "mean χ²/ndf", "w std 1j", "w std 2j", "w std 3j", "fit [s]"]
    body = table(header, [row(label, fits) for label, fits in results.items()])
    body += (
        f"\n\n`{args.base}`: {args.n:,} generated events (seed {args.gen_seed}, the same events in "
        f"every row; only the weights differ) against {args.sim_n:,} Pythia events simulated "
        f"with seed {args.sim_seed} for this purpose (never the test file). K: cross-fitted "
        "discriminators per multiplicity (`--members`); r: generated events per training event "
        "(`--generated-per-event`); '+ focus': with the focused second stage (`hepgen "
        "fit-reweighter` default since 2026-11-24; FOCUS_OBSERVABLES in "
        "hepgen.training.discflow), the other rows `--no-focus`. Medians over the reweighter seeds "
        f"({args.seeds}), min–max in brackets; χ²/ndf over inclusive, 1j, 2j, 3j; 'mean χ²/ndf' "
        "averages the 171 (observable, region) histograms; w std: standard deviation of the "
        "weights per multiplicity; fit: `hepgen fit-reweighter` wall time on 2 cores.\n"
    )
    print(body)
    save_json(args.section, {"base": args.base, "results": results})
    if not args.no_results_md:
        update_section(args.section, TITLES[args.section], body)


if __name__ == "__main__":
    sys.exit(main())
