"""Precision of the generators: train inn / binn / discflow, generate, validate on the test file.

For each model: ``hepgen train --config configs/<model>.json`` on the shipped training file
(timed), ``hepgen generate`` of ``--n`` events, ``hepgen validate`` against the shipped *test*
file (never used for training or model selection), and the figures of the issue: classifier
AUC per jet multiplicity, chi2/ndf and separation power per observable, training time. The
BINN is also generated with ``--posterior-draws`` and its band coverage reported; DiscFlow also
with ``--reweight``.

    python benchmarks/bench_generators.py                      # all models, train + evaluate
    python benchmarks/bench_generators.py --reuse              # evaluate existing runs only
    python benchmarks/bench_generators.py --models inn --n 200000
    python benchmarks/bench_generators.py --models default+rw    # + hepgen fit-reweighter
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from _common import HERE, save_json, table, update_section

ROOT = HERE.parent
RUNS = HERE / "runs"
TEST_FILE = ROOT / "data_samples" / "zjets_test.root"
TRAIN_FILE = ROOT / "data_samples" / "zjets_train.root"
HEPGEN = [sys.executable, "-m", "hepgen", "-q"]
FROM_REPORTS = False  # --from-reports: summarise existing reports, generate/validate nothing
REGIONS = ("inclusive", "1j", "2j", "3j")
#: Models of the per-observable table (all models are in the summary table).
PER_OBSERVABLE_MODELS = ("inn", "inn_chain", "default_particles", "inn_chain_recoil",
                         "inn_chain_recoil+rw", "binn_chain_recoil", "fast", "discflow + reweight")


def sh(args: list[str]) -> float:
    """Run a command (failing loudly); return its wall time in seconds."""
    start = time.perf_counter()
    subprocess.run(args, check=True, cwd=ROOT)
    return time.perf_counter() - start


def train(model: str, run_dir: Path, config: Path, reuse: bool) -> dict:
    if reuse and (run_dir / "generator.json").exists():
        print(f"reusing {run_dir}", flush=True)
    else:
        shutil.rmtree(run_dir, ignore_errors=True)
        sh([*HEPGEN, "train", "--config", str(config), "--data", str(TRAIN_FILE),
            "--out", str(run_dir), "--seed", "0"])
    return json.loads((run_dir / "run.json").read_text())["meta"]


def evaluate(run_dir: Path, tag: str, n: int, extra: list[str], seed: int = 1, *,
             reference: Path = TEST_FILE, label: str = "test", report_prefix: str = "report_",
             validate_extra: tuple[str, ...] = ()) -> dict:
    """Generate ``n`` events from ``run_dir`` (generate options ``extra``) into
    runs/<tag>.root, validate them against ``reference`` into runs/<report_prefix><tag>/, and
    return the generate time and the metrics (the ROOT file is deleted afterwards)."""
    out = RUNS / f"{tag}.root"
    report = RUNS / f"{report_prefix}{tag}"
    if FROM_REPORTS and (report / "metrics.json").exists():
        print(f"reusing {report}", flush=True)
        return {"generate_s": float("nan"),
                "metrics": json.loads((report / "metrics.json").read_text())}
    gen_s = sh([*HEPGEN, "generate", "--model", str(run_dir), "-n", str(n), "-o", str(out),
                "--seed", str(seed), *extra])
    sh([*HEPGEN, "validate", str(out), str(reference), "-o", str(report), "--labels",
        f"{tag},{label}", "--seed", "0", *validate_extra])
    metrics = json.loads((report / "metrics.json").read_text())
    out.unlink()
    return {"generate_s": gen_s, "metrics": metrics}


def config_path(model: str) -> Path:
    """configs/<model>.json (user-facing configs), else benchmarks/configs/<model>.json (the
    configs of studies)."""
    user = ROOT / "configs" / f"{model}.json"
    return user if user.exists() else HERE / "configs" / f"{model}.json"


def reweighted(base: str, args: argparse.Namespace) -> dict:
    """``<base>+rw``: the trained ``base`` run plus ``hepgen fit-reweighter`` (on the training
    file), generated with ``--reweight``."""
    source, run_dir = RUNS / base, RUNS / f"{base}_rw"
    meta = json.loads((source / "run.json").read_text())["meta"]
    fit_s = 0.0
    if not (args.reuse and (run_dir / "generator.json").exists()):
        shutil.rmtree(run_dir, ignore_errors=True)
        shutil.copytree(source, run_dir)
        fit_s = sh([*HEPGEN, "fit-reweighter", "--model", str(run_dir), "--data",
                    str(TRAIN_FILE)])
    res = evaluate(run_dir, f"{base}_rw", args.n, ["--reweight"])
    return {"train_s": meta["train_seconds"] + fit_s, "generate_s": res["generate_s"],
            **summarise(res["metrics"])}


def summarise(metrics: dict) -> dict:
    """The issue's figures out of a metrics.json."""
    obs = {}
    for name, entry in metrics["observables"].items():
        regions = entry["regions"]
        obs[name] = {
            r: {k: regions[r].get(k) for k in ("chi2_ndf", "separation", "band")}
            for r in REGIONS if r in regions
        }
    chi2 = {name: max(v["chi2_ndf"] for v in o.values()) for name, o in obs.items()}
    every = [v["chi2_ndf"] for o in obs.values() for v in o.values() if v["chi2_ndf"] is not None]
    return {
        "auc": {k: (v["auc"], v["auc_err"]) for k, v in metrics["classifier"].items()},
        "observables": obs,
        "max_chi2_ndf": max(chi2.values()),
        "worst": max(chi2, key=chi2.get),
        "n_over_2": sum(c > 2 for c in chi2.values()),
        "n_obs": len(chi2),
        # over the catalogue's (observable, region) histograms (validate's own mean also
        # counts its m_mumu mass windows)
        "mean_chi2_ndf": float(sum(every) / len(every)),
        "status": metrics["summary"]["status"],
        "generated_weights": metrics.get("generated_weights"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="inn,binn,discflow")
    parser.add_argument("--n", type=int, default=1_000_000, help="generated events per model")
    parser.add_argument("--draws", type=int, default=10, help="BINN posterior draws")
    parser.add_argument("--n-per-draw", type=int, default=200_000)
    parser.add_argument("--reuse", action="store_true", help="reuse trained runs in runs/")
    parser.add_argument("--from-reports", action="store_true",
                        help="with --reuse: summarise the reports already in runs/")
    parser.add_argument("--no-results-md", action="store_true")
    parser.add_argument("--fresh", action="store_true",
                        help="forget the models of earlier runs (default: keep their rows in "
                        "results/generators.json and RESULTS.md, replacing re-run models)")
    args = parser.parse_args()
    global FROM_REPORTS
    FROM_REPORTS = args.from_reports
    RUNS.mkdir(exist_ok=True)
    results: dict[str, dict] = {} if args.fresh else _earlier_results()
    for model in args.models.split(","):
        if model.endswith("+rw"):
            results[model] = reweighted(model[: -len("+rw")], args)
            continue
        run_dir = RUNS / model
        meta = train(model, run_dir, config_path(model), args.reuse)
        res = evaluate(run_dir, model, args.n, [])
        results[model] = {"train_s": meta["train_seconds"], "generate_s": res["generate_s"],
                          **summarise(res["metrics"])}
        if model.startswith("binn"):
            res = evaluate(run_dir, f"{model}_draws", args.n_per_draw,
                           ["--posterior-draws", str(args.draws)])
            results[f"{model} (draws)"] = {"train_s": meta["train_seconds"],
                                       "generate_s": res["generate_s"],
                                       **summarise(res["metrics"])}
        if model.startswith("discflow"):
            res = evaluate(run_dir, f"{model}_rw", args.n, ["--reweight"])
            results["discflow + reweight"] = {"train_s": meta["train_seconds"],
                                              "generate_s": res["generate_s"],
                                              **summarise(res["metrics"])}
    save_json("generators", {"n_generated": args.n, "test_file": str(TEST_FILE.name),
                             "results": results})
    body = render(results, args)
    print(body)
    if not args.no_results_md:
        update_section("generators", "Generators: precision on the shipped test file", body)


def _earlier_results() -> dict[str, dict]:
    """Rows of an earlier run (results/generators.json), to be kept next to the new ones."""
    path = HERE / "results" / "generators.json"
    return json.loads(path.read_text())["results"] if path.exists() else {}


def render(results: dict[str, dict], args: argparse.Namespace) -> str:
    header = ["model", "AUC 1j", "AUC 2j", "AUC 3j", "max χ²/ndf (obs)", "obs with χ²/ndf > 2",
              "train [min]", "verdict"]
    rows = []
    for model, r in results.items():
        auc = [f"{r['auc'][k][0]:.3f} ± {r['auc'][k][1]:.3f}" if k in r["auc"] else "–"
               for k in ("1j", "2j", "3j")]
        rows.append([model, *auc, f"{r['max_chi2_ndf']:.2f} ({r['worst']})",
                     f"{r['n_over_2']} / {r['n_obs']}", f"{r['train_s'] / 60:.1f}", r["status"]])
    text = table(header, rows)
    text += (f"\n\n{args.n:,} generated events per model (BINN band: {args.draws} posterior "
             f"draws × {args.n_per_draw:,}) against the 50,000-event test file. χ²/ndf is the "
             "largest over the regions inclusive, 1j, 2j, 3j. Training on the 100,000-event "
             "training file (10% of it held out for early stopping), 2 CPU cores.\n\n")
    models = [m for m in PER_OBSERVABLE_MODELS if m in results] or list(results)
    header = ["observable"] + [f"{m} χ²/ndf" for m in models] + [f"{m} sep." for m in models]
    rows = []
    for name in results[models[0]]["observables"]:
        row = [name]
        for key in ("chi2_ndf", "separation"):
            for m in models:
                o = results[m]["observables"].get(name, {}).get("inclusive", {})
                v = o.get(key)
                row.append("–" if v is None else (f"{v:.2f}" if key == "chi2_ndf" else f"{v:.1e}"))
        rows.append(row)
    text += (f"Per observable, inclusive region ({', '.join(models)}):\n\n"
             + table(header, rows))
    for model, band in results.items():
        if not model.endswith("(draws)"):
            continue
        rows = []
        for name, o in band["observables"].items():
            b = o.get("inclusive", {}).get("band")
            if b:
                rows.append([name, b.get("n_draws"), _pct(b.get("coverage_band")),
                             _pct(b.get("coverage_total")), f"{b.get('median_rel_width', 0):.3f}"])
        if rows:
            text += (f"\n\n{model}: band coverage (inclusive), the fraction of bins where the "
                     "posterior band alone / band ⊕ statistical errors covers "
                     "|generated − test|:\n\n")
            text += table(["observable", "draws", "band only", "band ⊕ stat",
                           "median rel. width"], rows)
            pooled = [r.get("band") for o in band["observables"].values() for r in o.values()
                      if r.get("band")]
            n_bins = sum(b["n_bins"] for b in pooled)
            if n_bins:
                text += (f"\n\nPooled over every observable and region ({n_bins:,} bins): band "
                         f"only {_pct(sum(b['n_covered_band'] for b in pooled) / n_bins)}, "
                         f"band ⊕ stat {_pct(sum(b['n_covered_total'] for b in pooled) / n_bins)}"
                         " (68 % would be calibrated).")
    return text


def _pct(x) -> str:
    return "–" if x is None else f"{100 * x:.0f}%"


if __name__ == "__main__":
    main()
