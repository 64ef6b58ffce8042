"""In-process sampling rate of several trained runs, measured alternately in one process.

Made to price a change that should not cost sampling time (e.g. an ensemble against its single
network): every repeat samples ``--n`` events from each run in turn (``sample_events``: network,
preprocessing inverse, domain check), so machine load hits all runs alike; medians are quoted
with the ratio to the first run.

    python benchmarks/bench_sampling_pairs.py --models fast_cone_dq,fast_ens1,cone_log_dq,cone_ens1
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from _common import median, save_json, table, update_section
from bench_generators import RUNS

from hepgen.generators.event import EventGenerator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", required=True, help="run directories under runs/")
    parser.add_argument("--n", type=int, default=100_000, help="events per sample call")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-results-md", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    models = args.models.split(",")
    generators = {m: EventGenerator.load(RUNS / m)[0] for m in models}
    times: dict[str, list[float]] = {m: [] for m in models}
    for repeat in range(args.repeats):
        for m, generator in generators.items():
            start = time.perf_counter()
            generator.sample_events(args.n, seed=repeat)
            times[m].append(time.perf_counter() - start)
    rates = {m: args.n / median(t) for m, t in times.items()}
    spread = {m: statistics.pstdev(args.n / t for t in times[m]) for m in models}
    rows = [[m, f"{rates[m]:,.0f}", f"{spread[m]:,.0f}", f"{rates[m] / rates[models[0]]:.3f}"]
            for m in models]
    body = table(["run", "events/s (median)", "spread (std)", f"ratio to {models[0]}"], rows)
    body += (f"\n\n{args.n:,} events per call, {args.repeats} repeats, runs alternated in one "
             f"process, {args.threads} thread(s); sample_events only (no ROOT writing).")
    print(body)
    save_json("sampling_pairs", {"n": args.n, "repeats": args.repeats, "threads": args.threads,
                                 "times_s": times, "rates": rates})
    if not args.no_results_md:
        update_section("sampling-pairs", "Sampling rate of paired runs (in process)", body)


if __name__ == "__main__":
    main()
