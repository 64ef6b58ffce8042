"""Chain generators assembled stage by stage: cost against precision on an independent Pythia
sample.

The chain's stage 1 (Z + leading jet, every event) costs 92 % of the shipped default's network
FLOPs per event; the j2 / j3 stages run on the 24 % / 5 % of events with further jets. Stages
of generators with the same representation and preprocessing state (fitted on the same
training file, so identical) are interchangeable: stage k of an assembled generator is stage k
of the source named for it, the photon-jet splitter that of a fourth source (default: the
default's). Sources: ``default`` and
``fast`` (the shipped generators) or a run under runs/ (``hepgen train`` of
benchmarks/configs/<run>.json, of which only stage 1 is used here).

Each assembled generator generates ``--n`` events (one seed) that are validated against the
100,000-event selection sample of bench_reweighter.py (Pythia seed 4, never the test file);
its mean NLL per multiplicity on the same sample (recoil coordinates); and its in-process
sampling time for chunks of 100,000 events at one thread, all generators interleaved in one
run (medians), as a ratio to the shipped fast generator's.

    python benchmarks/bench_stage_mix.py \
        --mixes fast=fast:fast:fast:fast,default=default:default:default,fast1=fast:default:default
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from statistics import median

import bench_generators
import numpy as np
import torch
from _common import save_json, table, update_section
from bench_generators import RUNS, evaluate, summarise
from bench_reweighter import SELECTION, selection_file

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = {"default": ROOT / "data_samples" / "default_generator",
           "fast": ROOT / "data_samples" / "fast_generator"}
CONFIG, WEIGHTS = "generator.json", "weights.pt"
CHUNK = 100_000


def source_dir(name: str) -> Path:
    """A shipped generator by name, else runs/<name>."""
    return SHIPPED.get(name, RUNS / name)


def stage_config(path: Path, k: int) -> dict:
    """The feature-model config of chain stage k of the generator saved in ``path``."""
    from hepgen.generators.event import EventGenerator

    return EventGenerator.load(path)[0].config_of_stage(k)


def assemble(sources: dict[int, Path], splitter: Path, out: Path) -> Path:
    """Write a generator whose chain stage k is stage k of ``sources[k]`` and whose photon-jet
    splitter (and everything else: representation, preprocessing, fractions) is ``splitter``'s.

    Raises ValueError if a source's preprocessing or ensemble size differs (its stage would see
    other features).
    """
    from hepgen.physics.io.atomic import atomic_write, atomic_write_text

    base = json.loads((splitter / CONFIG).read_text())
    configs = {k: json.loads((p / CONFIG).read_text()) for k, p in sources.items()}
    for k, config in configs.items():
        if config["preprocessing"] != base["preprocessing"]:
            raise ValueError(f"{sources[k]}: preprocessing differs from {splitter}'s")
        if config["ensemble"][str(k)] != base["ensemble"][str(k)]:
            raise ValueError(f"{sources[k]}: stage {k} ensemble size differs from {splitter}'s")
    config = {**base, "model_config": stage_config(sources[1], 1),
              "stage_model_config": {str(k): stage_config(sources[k], k) for k in configs
                                     if k != 1},
              "meta": {**base["meta"], "assembled_from": {str(k): str(p)
                                                          for k, p in sources.items()}}}
    config["meta"].pop("discflow", None)  # the reweighter was fitted on other stages
    tensors = {}
    for k, path in sources.items():
        prefix = f"model.models.chain{k}."
        weights = torch.load(path / WEIGHTS, weights_only=True)
        tensors.update({n: v for n, v in weights.items() if n.startswith(prefix)})
    weights = torch.load(splitter / WEIGHTS, weights_only=True)
    tensors.update({n: v for n, v in weights.items() if n.startswith("model.fsr.")})
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / WEIGHTS, lambda f: torch.save(tensors, f), binary=True)
    atomic_write_text(out / CONFIG, json.dumps(config, indent=1, allow_nan=False))
    return out


def nll(run_dir: Path) -> dict[str, float]:
    """Mean negative log-likelihood per multiplicity on the selection sample (recoil
    coordinates, nats per event)."""
    from hepgen.generators.event import EventGenerator
    from hepgen.physics.io import read_events

    generator, _ = EventGenerator.load(run_dir)
    events, _ = read_events(SELECTION)
    log_prob = generator.feature_log_prob(events, kinematic=True)
    values = np.concatenate([log_prob[n] for n in sorted(log_prob)])
    return {"all": float(-values.mean()),
            **{f"{n}j": float(-log_prob[n].mean()) for n in sorted(log_prob)}}


def sampling_times(run_dirs: dict[str, Path], repeats: int) -> dict[str, float]:
    """Median seconds per chunk of CHUNK events (sample_events, one thread), interleaved."""
    from hepgen.generators.event import EventGenerator

    torch.set_num_threads(1)
    generators = {name: EventGenerator.load(d)[0] for name, d in run_dirs.items()}
    times: dict[str, list[float]] = {name: [] for name in generators}
    with torch.no_grad():
        for generator in generators.values():
            generator.sample_events(10_000, 0)  # warm-up
        for r in range(repeats):
            for name, generator in generators.items():
                start = time.perf_counter()
                generator.sample_events(CHUNK, r + 1)
                times[name].append(time.perf_counter() - start)
    return {name: median(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mixes", required=True,
                        help="NAME=S1:S2:S3[:SPLITTER],... (stage k from source Sk, the "
                             "photon-jet splitter from SPLITTER, default 'default'; a source: "
                             "default, fast or a run under runs/)")
    parser.add_argument("--n", type=int, default=1_000_000, help="generated events per mix")
    parser.add_argument("--gen-seed", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5, help="timed chunks per mix")
    parser.add_argument("--from-reports", action="store_true",
                        help="summarise reports already in runs/ where they exist")
    parser.add_argument("--no-results-md", action="store_true")
    args = parser.parse_args()
    bench_generators.FROM_REPORTS = args.from_reports

    selection_file(100_000, 4, 2)
    mixes = {}
    for item in args.mixes.split(","):
        name, spec = item.split("=")
        parts = spec.split(":")
        if len(parts) not in (3, 4):
            parser.error(f"--mixes: {item!r}: expected NAME=S1:S2:S3[:SPLITTER]")
        mixes[name] = parts if len(parts) == 4 else [*parts, "default"]
    run_dirs = {name: assemble({k + 1: source_dir(s) for k, s in enumerate(parts[:3])},
                               source_dir(parts[3]), RUNS / f"mix_{name}")
                for name, parts in mixes.items()}
    seconds = sampling_times(run_dirs, args.repeats)
    results = {}
    for name, run_dir in run_dirs.items():
        res = evaluate(run_dir, f"sel_mix_{name}", args.n, [], seed=args.gen_seed,
                       reference=SELECTION, label="selection", report_prefix="report_",
                       validate_extra=("--no-plots",))
        results[name] = {**summarise(res["metrics"]), "nll": nll(run_dir),
                         "chunk_s": seconds[name], "stages": mixes[name]}
    ref_s = results.get("fast", {}).get("chunk_s")
    rows = []
    for name, r in results.items():
        rows.append([name, " / ".join(r["stages"]),
                     *(f"{r['nll'][k]:.4f}" for k in ("1j", "2j", "3j", "all")),
                     *(f"{r['auc'][k][0]:.3f}" for k in ("1j", "2j", "3j")),
                     f"{r['max_chi2_ndf']:.2f} ({r['worst']})",
                     f"{r['n_over_2']} / {r['n_obs']}", f"{r['mean_chi2_ndf']:.3f}",
                     f"{r['chunk_s']:.2f}",
                     f"{r['chunk_s'] / ref_s:.2f}" if ref_s else "-"])
    header = ["mix", "stage 1 / j2 / j3 / splitter from", "NLL 1j", "NLL 2j", "NLL 3j", "NLL all",
              "AUC 1j", "AUC 2j", "AUC 3j", "max χ²/ndf", "obs > 2", "mean χ²/ndf",
              "chunk [s]", "chunk / fast's"]
    body = table(header, rows) + (
        f"\n\n{args.n:,} generated events per mix (seed {args.gen_seed}) against the 100,000 "
        "Pythia events of the selection sample (seed 4; never the test file); NLL: nats per "
        "event on the same sample (recoil coordinates); chunk: median seconds of "
        f"`sample_events` for {CHUNK:,} events at one thread ({args.repeats} chunks per mix, "
        "mixes interleaved, network sampling + photon-jet split + record, no ROOT writing).\n")
    print(body)
    save_json("stage_mix", {"results": results})
    if not args.no_results_md:
        update_section("stage-mix", "Chain stages mixed across generators (selection sample)",
                       body)


if __name__ == "__main__":
    sys.exit(main())
