"""Run every benchmark and refresh ``benchmarks/RESULTS.md`` (``make bench``).

Each script is run as its own process (clean memory and timing), in order, with the default
settings quoted in RESULTS.md. ``--only NAME[,NAME]`` runs a subset, e.g. ``--only io``.
Expect about half an hour on a 2-core machine, plus about an hour for the QINN study
(``--only`` picks a subset). The QINN study skips runs already in
``results/qinn_study*_runs.jsonl``: delete that file to measure afresh.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: Generator candidates of the precision table (configs/ or benchmarks/configs/; "+rw": with
#: hepgen fit-reweighter).
GENERATOR_MODELS = ("inn", "discflow", "binn_small", "inn_chain", "default_particles",
                    "inn_chain_recoil", "inn_chain_recoil+rw", "staged", "staged+rw",
                    "fast_noaug", "fast_spline", "default_recoil_60ep", "recoil_60full",
                    "binn_chain_recoil", "fast_aug", "aug_smallbatch", "binn_aug",
                    "fast_jetaxis", "jetaxis_aug", "jetaxis_aug+rw", "cone_aug", "fast_cone",
                    "cone_log", "cone_log+rw", "cone_log_dq", "cone_log_dq+rw", "fast_cone_dq",
                    "cone_ens", "cone_ens1", "cone_ens1+rw", "fast_ens1", "cone_fsr",
                    "cone_ens1_fsr", "cone_ens1_fsr+rw", "fast_ens1_fsr", "default", "default+rw")
#: Further candidates of the selection table only (benchmarks/configs/).
#: (staged_aug_nosym in the table is staged_aug with "symmetries" emptied in its generator.json,
#: which is what `generate --no-symmetrize` does; it has no config of its own)
SELECTION_ONLY = ("staged_long", "staged_aug", "deta_aug", "fast_spline_aug", "aug_big",
                  "aug_wide2", "cone_deta", "cone_bins", "cone_long23", "cone_log_wd")

#: name -> argument list; the order is the order of RESULTS.md.
BENCHMARKS: dict[str, list[str]] = {
    "simulate": ["bench_simulate.py", "--n", "2000", "--repeats", "2"],
    "io": ["bench_io.py", "--n-events", "1e6", "--repeats", "3"],
    "validate": ["bench_validate.py", "--sizes", "100000,1000000", "--no-plots-too"],
    "generate": ["bench_generate.py"],
    "generate-fast": ["bench_generate.py", "--model",
                      str(HERE.parent / "data_samples" / "fast_generator"), "--name", "fast"],
    # trains every candidate that is not in runs/ yet (hours on 2 cores), then evaluates
    "generators": ["bench_generators.py", "--reuse", "--models", ",".join(GENERATOR_MODELS)],
    "selection": ["bench_selection.py", "--sim-jobs", "1", "--models",
                  ",".join([*(m for m in GENERATOR_MODELS if "+" not in m and "discflow" not in m
                              and m not in ("inn", "binn_small")), *SELECTION_ONLY])],
    "sampling-pairs": ["bench_sampling_pairs.py", "--repeats", "15", "--models",
                       "fast_cone_dq,fast_ens1,cone_log_dq,cone_ens1"],
    "stage-hybrid": ["bench_stage_hybrid.py", "--models", "cone_log_dq,cone_ens1"],
    "seed-spread": ["bench_seed_spread.py", "--models", "default,default+rw", "--seeds", "1,2,3"],
    "collinear": ["bench_collinear.py", "--models",
                  "cone_log_dq,cone_ens1,cone_fsr,cone_ens1_fsr,fast_ens1,fast_ens1_fsr"],
    "balance-charts": ["bench_balance_charts.py", "--reps",
                       "base=recoil-cone-log-dq,pair=recoil-cone-log-dq-pair,"
                       "ratio=recoil-cone-log-dq-ratio,bipolar=recoil-cone-log-dq-bipolar",
                       "--mix", "base+pair"],
    "quantum-throughput": ["bench_quantum_throughput.py", "--qubits", "4,6,8,10,12",
                           "--repeats", "3"],
    "qinn-study": ["bench_qinn_study.py"],
    "qinn-study-summary": ["bench_qinn_study.py", "--summarise"],
    "qinn-study-long": ["bench_qinn_study.py", "--plan", "nll", "--tag", "_long",
                        "--n-train", "20000", "--epochs", "20"],
    "qinn-study-long-summary": ["bench_qinn_study.py", "--plan", "nll", "--tag", "_long",
                                "--summarise"],
    "qinn-shots": ["bench_qinn_shots.py"],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(BENCHMARKS)}")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {list(BENCHMARKS)}")
    for name in names:
        start = time.perf_counter()
        print(f"== {name}", flush=True)
        rc = subprocess.call([sys.executable, *BENCHMARKS[name]], cwd=HERE)
        print(f"== {name}: exit {rc} after {time.perf_counter() - start:.0f} s", flush=True)
        if rc:
            return rc
    return 0


if __name__ == "__main__":
    sys.exit(main())
