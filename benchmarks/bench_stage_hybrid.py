"""Which chain stage do the 2- and 3-jet classifier AUCs come from?

An independent Pythia sample (``hepgen simulate -n 60000 --seed 4``, never the test file) is
split in halves A and B. From A's n-jet events the real first blocks are kept and the later
jets sampled by the generator's own stages conditionally on them (one sample per event, so no
real block appears twice); these *hybrid* events, and ``--n`` fully generated events, are each
compared with B by ``hepgen validate``. If the hybrids are as distinguishable as the generated
events, the excess is the later stages'; if they sit at the A-vs-B floor, it is stage 1's.

    python benchmarks/bench_stage_hybrid.py --models cone_log_dq,default
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import awkward as ak
import numpy as np
import torch
from _common import save_json, table, update_section
from bench_generators import HEPGEN, RUNS, sh

from hepgen.generators.chain import stage_columns, stage_condition
from hepgen.generators.event import EventGenerator
from hepgen.physics.io import read_events
from hepgen.physics.io.writer import write_events
from hepgen.physics.preprocessing import split_by_multiplicity

SAMPLE = RUNS / "diag.root"


def hybrid_events(generator: EventGenerator, events: ak.Array, parts: list[tuple[int, int]],
                  seed: int) -> ak.Array:
    """For each (n, k): A's n-jet events with stages k..n resampled given the earlier ones."""
    by_n = split_by_multiplicity(events)
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    stages, out = generator.stages(), []
    for n, first in parts:
        x = torch.as_tensor(generator.preprocessors[n].forward(by_n[n]), dtype=torch.float32)
        with torch.no_grad():
            for k in range(first, n + 1):
                x[:, stage_columns(k)] = stages[k - 1].eval().sample(
                    len(x), stage_condition(k, x, n), gen)
        out.append(generator.events_in_domain(n, x, rng))
    merged = ak.concatenate(out)
    return merged[rng.permutation(len(merged))]


def aucs(generated: Path, reference: Path, report: Path) -> dict[str, list[float]]:
    sh([*HEPGEN, "validate", str(generated), str(reference), "-o", str(report), "--no-plots",
        "--seed", "0"])
    metrics = json.loads((report / "metrics.json").read_text())
    return {k: [v["auc"], v["auc_err"]] for k, v in metrics["classifier"].items()
            if isinstance(v, dict) and "auc" in v}


def measure(model: str, events: ak.Array, n: int) -> dict[str, dict[str, list[float]]]:
    """AUCs against half B of: half A itself, the hybrids, ``n`` fully generated events."""
    work = RUNS / f"hybrid_{model}"
    work.mkdir(parents=True, exist_ok=True)
    half = len(events) // 2
    files = {"A (real)": work / "a.root", "B": work / "b.root"}
    write_events(files["A (real)"], events[:half])
    write_events(files["B"], events[half:])
    generator, _ = EventGenerator.load(RUNS / model)
    if generator.fsr is not None:  # its stages model core events; real blocks would need them
        raise SystemExit(f"{model}: generators with photon-jet splitting (fsr) are not "
                         "supported here (the hybrids would lack the split jets)")
    samples = {
        "j2, j3 stages on real stage-1 blocks": [(2, 2), (3, 2)],
        "j3 stage on real stage-1 and j2 blocks": [(3, 3)],
    }
    for i, (label, parts) in enumerate(samples.items()):
        files[label] = work / f"hybrid{i}.root"
        write_events(files[label], hybrid_events(generator, events[:half], parts, seed=7 + i))
    files["fully generated"] = work / "generated.root"
    sh([*HEPGEN, "generate", "--model", str(RUNS / model), "-n", str(n), "-o",
        str(files["fully generated"]), "--seed", "3"])
    return {label: aucs(path, files["B"], work / f"report{i}")
            for i, (label, path) in enumerate(files.items()) if label != "B"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="default",
                        help="run directories under runs/ (chains), comma-separated")
    parser.add_argument("--n", type=int, default=300_000, help="fully generated events")
    parser.add_argument("--no-results-md", action="store_true")
    args = parser.parse_args()
    if not SAMPLE.exists():
        sh([*HEPGEN, "simulate", "-n", "60000", "--seed", "4", "--jobs", "1", "-o", str(SAMPLE)])
    events, _ = read_events(SAMPLE)
    results = {model: measure(model, events, args.n) for model in args.models.split(",")}
    rows = [[model, label] + [f"{r[k][0]:.3f} ± {r[k][1]:.3f}" if k in r else "-"
                              for k in ("1j", "2j", "3j")]
            for model, by_label in results.items() for label, r in by_label.items()]
    body = table(["model", "sample vs half B", "AUC 1 jet", "AUC 2 jets", "AUC 3 jets"], rows)
    body += (f"\n\n{SAMPLE.name}: 60,000 Pythia events (seed 4), halves of {len(events) // 2:,}; "
             "hybrids: one sample per real event of half A; fully generated: "
             f"{args.n:,} events (seed 3).")
    print(body)
    save_json("stage_hybrid", {"results": results})
    if not args.no_results_md:
        update_section("stage-hybrid", "Which stage the AUC comes from (hybrid events)", body)


if __name__ == "__main__":
    main()
