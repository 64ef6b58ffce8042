"""Reference simulation throughput: kept (and generated) events per second per core.

Runs :func:`hepgen.physics.simulation.simulate` (Pythia 8 Z/gamma* + jet, anti-kT R=0.4 jets,
1..3 jet selection, chunked ROOT write) end to end, Pythia initialisation and process start-up
included, with 1 job and with 2 jobs (``--jobs``), ``--n`` kept events each, ``--repeats`` times;
medians are reported. The 2-job/1-job ratio of the same run is the parallel scaling (the machine
is shared and noisy: compare ratios, not absolute figures across runs).

Prints a markdown table and writes ``benchmarks/results/simulate.json``.

    python benchmarks/bench_simulate.py --n 2000
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import tempfile
from pathlib import Path
from typing import Any

from _common import median, save_json, table, update_section

from hepgen.physics.simulation import DEFAULT_BATCH_SIZE, SimulationResult, simulate

#: Master seed of the benchmark runs.
SEED = 1
#: Job counts measured by default.
DEFAULT_JOBS: tuple[int, ...] = (1, 2)
#: Kept events per measurement by default.
DEFAULT_N = 2000


def measure(n: int, jobs: int, repeats: int, batch_size: int) -> dict[str, Any]:
    """Median throughput of ``repeats`` runs of ``n`` kept events with ``jobs`` processes."""
    runs: list[SimulationResult] = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeats):
            out = Path(tmp) / f"bench_{jobs}.root"
            runs.append(simulate(n, SEED, jobs, out, batch_size=batch_size))
    kept_per_s = median([r.kept_per_s for r in runs])
    generated_per_s = median([r.generated_per_s for r in runs])
    return {
        "jobs": jobs,
        "n_kept": n,
        "n_generated": median([float(r.counts.n_generated) for r in runs]),
        "wall_time_s": median([r.wall_time_s for r in runs]),
        "kept_per_s": kept_per_s,
        "kept_per_s_per_core": kept_per_s / jobs,
        "generated_per_s_per_core": generated_per_s / jobs,
        "kept_fraction": median([r.counts.n_kept / r.counts.n_generated for r in runs]),
    }


def _versions() -> dict[str, str]:
    return {name: importlib.metadata.version(name) for name in ("pythia8mc", "fastjet")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=DEFAULT_N, help="kept events per measurement")
    parser.add_argument(
        "--jobs", type=int, nargs="+", default=list(DEFAULT_JOBS), help="job counts to measure"
    )
    parser.add_argument("--repeats", type=int, default=1, help="runs per job count (median)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument("--no-results-md", action="store_true", help="do not update RESULTS.md")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    results = [measure(args.n, jobs, args.repeats, args.batch_size) for jobs in args.jobs]
    base = results[0]["kept_per_s"]
    rows = [
        [
            r["jobs"],
            r["n_kept"],
            f"{r['n_generated']:.0f}",
            f"{r['wall_time_s']:.1f}",
            f"{r['kept_per_s']:.1f}",
            f"{r['kept_per_s_per_core']:.1f}",
            f"{r['generated_per_s_per_core']:.1f}",
            f"{r['kept_per_s'] / base:.2f}",
        ]
        for r in results
    ]
    header = [
        "jobs",
        "kept",
        "generated",
        "wall [s]",
        "kept ev/s",
        "kept ev/s/core",
        "generated ev/s/core",
        f"speed-up vs {results[0]['jobs']} job",
    ]
    print(table(header, rows))
    path = save_json(
        "simulate",
        {
            "description": "hepgen simulate end to end (Pythia init, process start, ROOT write)",
            "versions": _versions(),
            "cpu_count": os.cpu_count(),
            "load_average_before": load_before,
            "seed": SEED,
            "batch_size": args.batch_size,
            "repeats": args.repeats,
            "results": results,
        },
    )
    print(f"\nwrote {path}")
    body = table(header, rows) + (
        f"\n\n`hepgen simulate` end to end (Pythia 8 init, process start-up, jet clustering with "
        f"fastjet, ROOT write), {args.n:,} kept events per run, median of {args.repeats} run(s), "
        f"seed {SEED}, `nextBatch` size {args.batch_size}. 'generated' counts Pythia events "
        f"before the dimuon/jet selection; load average before the run {load_before:.2f}.\n"
    )
    if not args.no_results_md:
        update_section("simulate", "simulate: Pythia 8 reference-event throughput", body)


if __name__ == "__main__":
    main()
