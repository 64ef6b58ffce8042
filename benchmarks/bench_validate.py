"""Speed and peak memory of ``hepgen.validation.validate`` on N vs N toy Z + jets events.

Each configuration runs in a fresh subprocess (so its peak resident memory, ``ru_maxrss``, is its
own): the worker makes two independent toy samples with ``hepgen.validation.toys.toy_events``
(same distribution), then runs ``validate`` on the full observable catalogue with figures, the
HTML report and the per-multiplicity classifier (training capped at
``classifier.MAX_TRAIN_PER_CLASS`` events per class). Stage times come from the progress
callback: evaluating the observables (before the first step), histograms + metrics + figures,
classifier, report.

Prints a markdown table, writes ``benchmarks/results/validate.json`` and updates the
``validate`` section of ``benchmarks/RESULTS.md``.

    python benchmarks/bench_validate.py --sizes 100000,1000000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import save_json, table, update_section

SEEDS = (1, 2)
KB_PER_MB = 1024.0


def _rss_mb() -> float:
    """Current resident set size [MB] (Linux /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return float(line.split()[1]) / KB_PER_MB
    return float("nan")


def worker(n_events: int, plots: bool) -> dict:
    """Run one validation in this process and return its figures."""
    from hepgen.validation import validate
    from hepgen.validation.classifier import MAX_TRAIN_PER_CLASS
    from hepgen.validation.toys import toy_events

    t0 = time.perf_counter()
    gen, ref = toy_events(n_events, seed=SEEDS[0]), toy_events(n_events, seed=SEEDS[1])
    toys_s = time.perf_counter() - t0
    rss_inputs = _rss_mb()
    marks: dict[str, float] = {}

    def on_step(step: str, done: int, total: int) -> None:
        marks.setdefault(step.split()[0], time.perf_counter())

    with tempfile.TemporaryDirectory() as tmp:
        t1 = time.perf_counter()
        result = validate(gen, ref, Path(tmp) / "report", progress=on_step, plots=plots)
        t_end = time.perf_counter()
        html_mb = (Path(tmp) / "report" / "index.html").stat().st_size / 1e6
    first_hist = marks.get("histogram", t_end)
    first_clf = marks.get("classifier", marks.get("report", t_end))
    s = result.metrics["summary"]
    return {
        "n_events": n_events,
        "plots": plots,
        "toys_s": toys_s,
        "validate_s": t_end - t1,
        "evaluate_s": first_hist - t1,
        "histograms_s": first_clf - first_hist,
        "classifier_s": marks.get("report", t_end) - first_clf,
        "report_s": t_end - marks.get("report", t_end),
        "rss_inputs_mb": rss_inputs,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / KB_PER_MB,
        "n_histograms": s["n_histograms"],
        "mean_chi2_ndf": s["mean_chi2_ndf"],
        "n_fail": s["n_fail"],
        "auc": {k: [v["auc"], v["auc_err"]] for k, v in result.metrics["classifier"].items()},
        "classifier_max_train_per_class": MAX_TRAIN_PER_CLASS,
        "html_mb": html_mb,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", default="100000,1000000", help="comma-separated events per sample"
    )
    parser.add_argument(
        "--no-plots-too", action="store_true", help="also run each size without figures"
    )
    parser.add_argument("--worker", nargs=2, metavar=("N", "PLOTS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(int(args.worker[0]), args.worker[1] == "1")))
        return
    runs = []
    for n in (int(x) for x in args.sizes.split(",")):
        for plots in (True, False) if args.no_plots_too else (True,):
            cmd = [sys.executable, __file__, "--worker", str(n), "1" if plots else "0"]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            runs.append(json.loads(out.strip().splitlines()[-1]))
            r = runs[-1]
            print(
                f"N = {n:,} per sample, plots={plots}: {r['validate_s']:.1f} s, "
                f"peak {r['peak_rss_mb']:.0f} MB",
                flush=True,
            )
    header = [
        "events / sample",
        "figures",
        "validate [s]",
        "evaluate",
        "histograms+plots",
        "classifier",
        "report",
        "peak RSS [MB]",
        "RSS inputs [MB]",
        "histograms",
        "mean χ²/ndf",
        "AUC 1j/2j/3j",
    ]
    rows = [
        [
            f"{r['n_events']:,}",
            "yes" if r["plots"] else "no",
            f"{r['validate_s']:.1f}",
            f"{r['evaluate_s']:.1f}",
            f"{r['histograms_s']:.1f}",
            f"{r['classifier_s']:.1f}",
            f"{r['report_s']:.1f}",
            f"{r['peak_rss_mb']:.0f}",
            f"{r['rss_inputs_mb']:.0f}",
            r["n_histograms"],
            f"{r['mean_chi2_ndf']:.2f}",
            " / ".join(f"{a:.4f}±{e:.4f}" for a, e in r["auc"].values()),
        ]
        for r in runs
    ]
    text = table(header, rows)
    print(text)
    save_json("validate", {"runs": runs})
    note = (
        "\n\nTwo independent toy samples of the same distribution (`hepgen.validation.toys`), full "
        "observable catalogue, figures + self-contained HTML, classifier per jet multiplicity "
        f"(training capped at {runs[0]['classifier_max_train_per_class']:,} events per class, one "
        "OpenMP thread). The classifier trains in a worker thread during the histogram stage: "
        "'classifier' is the wait left after the histograms. Peak RSS includes the two input "
        "samples (RSS inputs). Shared 2-core machine: timings are noisy."
    )
    update_section("validate", "validate: N vs N toy events", text + note)


if __name__ == "__main__":
    main()
