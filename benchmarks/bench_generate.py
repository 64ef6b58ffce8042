"""Generation throughput: `hepgen generate` events/s per core, vs Pythia, vs the matmul roofline.

Measures, in one run, on a trained generator directory (``--model``):

1. ``hepgen generate`` end to end (subprocess wall time: Python start-up, model load, sampling,
   ROOT write), ``--n`` events, with ``--threads 2`` and ``--threads 1`` (``--threads``),
   ``--repeats`` times each; events/s and events/s per core (= events/s / threads). The rate
   ``hepgen generate`` prints itself (sampling + write loop only, no start-up) is quoted too.
2. ``hepgen simulate`` (Pythia 8) in the same run, ``--sim-n`` kept events with 1 and 2 jobs,
   and the ratio generate-per-core / simulate-per-core at 1 thread / 1 job and 2 / 2 (the
   project's target is >= 1000x).
3. Where the time of one chunk (``--batch-size`` events, in process) goes: network sampling
   (``model.sample`` of every multiplicity, rejection redraws included), the rest of
   ``EventGenerator.sample_events`` (float64 conversion, preprocessing inverse, awkward record
   building, domain check, shuffle) and the ROOT write of the chunk (``write_events``); plus a
   breakdown of the network time of coupling-INN families (conditioner Linear layers,
   activations, spline / affine transform, rest: rotations, ActNorm, slicing, latent draws).
4. A roofline of sorts: FLOPs per event of the conditioners' Linear layers (2 * in * out each,
   all blocks, multiplicities weighted by the training fractions); a pure chain of
   ``torch.nn.functional.linear`` calls with the same shapes and batch sizes gives the machine's
   matmul-only events/s for that network, and a large square float32 matmul its peak-ish GFLOP/s.
5. Peak RSS of ``hepgen generate`` (fresh subprocess each, ``os.wait4``) for n = 1e5, 1e6 and
   1e7 (1e7 only when the measured rate says it takes less than ``--max-memory-run-s``).

The machine is shared and noisy: compare ratios measured in the same run. Prints markdown
tables, writes ``benchmarks/results/generate.json`` and updates the ``generate`` section of
``benchmarks/RESULTS.md`` (``--no-results-md`` to skip).

    python benchmarks/bench_generate.py --model data_samples/default_generator --n 1000000
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from _common import median, save_json, table, update_section

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
#: Default generator directory (relative to the repository root), as `hepgen generate`.
DEFAULT_MODEL = REPO / "data_samples" / "default_generator"
#: Master seed of every run.
SEED = 1
DEFAULT_N = 1_000_000
DEFAULT_BATCH = 100_000
DEFAULT_THREADS: tuple[int, ...] = (2, 1)
DEFAULT_SIM_N = 2000
DEFAULT_SIM_JOBS: tuple[int, ...] = (1, 2)
DEFAULT_MEMORY_SIZES: tuple[int, ...] = (100_000, 1_000_000, 10_000_000)
#: Memory runs predicted to take longer than this [s] are skipped (and said so).
DEFAULT_MAX_MEMORY_RUN_S = 180.0
#: Side of the square float32 matmul giving the machine's peak-ish GFLOP/s.
SQUARE = 2048
#: Project target: generated events per core-second / Pythia kept events per core-second.
TARGET_RATIO = 1000.0
KB = 1024
MB = 1e6
GFLOP = 1e9
_MISSING = object()
#: Label prefix of the parts of a coupling transform (nested in its "net: ..." time).
SUB = "net> "
WROTE = re.compile(r"wrote (\d+) events .* in ([0-9.]+) s")


# --------------------------------------------------------------------------------------------
# Subprocess runs: wall time and peak RSS
# --------------------------------------------------------------------------------------------


#: Runs ``python -m hepgen ARGS`` and prints the process's own peak RSS (VmHWM of its address
#: space, from /proc) to stderr at exit. ``wait4``'s ru_maxrss is not enough: Linux carries the
#: parent's peak over fork + exec, so a small child of a large benchmark process reported the
#: parent's 1.8 GB.
HWM_WRAPPER = """
import re, runpy, sys
sys.argv = ["hepgen", *sys.argv[1:]]
try:
    runpy.run_module("hepgen", run_name="__main__")
finally:
    status = open("/proc/self/status").read()
    sys.stderr.write("HEPGEN_VMHWM_KB " + re.search(r"VmHWM:\\s+(\\d+)", status).group(1) + "\\n")
"""
HWM = re.compile(r"HEPGEN_VMHWM_KB (\d+)")


def run_child(argv: list[str]) -> dict[str, Any]:
    """Run ``argv`` in a fresh process: wall time [s], peak RSS [MB] (the child's own: VmHWM
    when run through :data:`HWM_WRAPPER`, else wait4's ru_maxrss, which may include the
    parent's peak), stdout. Raises RuntimeError with the child's stderr on failure."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(argv, stdout=out, stderr=err, cwd=REPO)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}):\n{stderr[-3000:]}")
    own = HWM.search(stderr)
    peak_kb = int(own.group(1)) if own else usage.ru_maxrss
    return {"wall_s": wall, "peak_rss_mb": peak_kb * KB / MB, "stdout": stdout}


def hepgen(*args: str) -> list[str]:
    return [sys.executable, "-c", HWM_WRAPPER, "--quiet", *args]


def generate_once(model: Path, n: int, threads: int, batch: int, out: Path) -> dict[str, Any]:
    """One ``hepgen generate`` subprocess: wall time, rates, peak RSS."""
    res = run_child(hepgen("generate", "--model", str(model), "-n", str(n), "-o", str(out),
                           "--seed", str(SEED), "--batch-size", str(batch),
                           "--threads", str(threads)))
    match = WROTE.search(res["stdout"])
    loop_s = float(match.group(2)) if match else float("nan")
    if match and int(match.group(1)) != n:
        raise RuntimeError(f"hepgen generate wrote {match.group(1)} events, asked for {n}")
    out.unlink(missing_ok=True)
    return {"wall_s": res["wall_s"], "loop_s": loop_s, "peak_rss_mb": res["peak_rss_mb"]}


def measure_generate(model: Path, n: int, threads: int, batch: int, repeats: int,
                     workdir: Path) -> dict[str, Any]:
    runs = [generate_once(model, n, threads, batch, workdir / "gen.root") for _ in range(repeats)]
    wall = median([r["wall_s"] for r in runs])
    loop = median([r["loop_s"] for r in runs])
    return {
        "threads": threads, "n": n, "batch_size": batch, "repeats": repeats,
        "wall_s": wall, "loop_s": loop,
        "events_per_s": n / wall, "events_per_s_per_core": n / wall / threads,
        "loop_events_per_s": n / loop,
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "runs": runs,
    }


def measure_simulate(n: int, jobs: int, repeats: int, workdir: Path) -> dict[str, Any]:
    out = workdir / "sim.root"
    walls = []
    for _ in range(repeats):
        walls.append(run_child(hepgen("simulate", "-n", str(n), "--seed", str(SEED),
                                      "--jobs", str(jobs), "-o", str(out)))["wall_s"])
        out.unlink(missing_ok=True)
    wall = median(walls)
    return {"jobs": jobs, "n_kept": n, "repeats": repeats, "wall_s": wall, "walls_s": walls,
            "kept_per_s": n / wall, "kept_per_s_per_core": n / wall / jobs}


def measure_memory(model: Path, sizes: list[int], threads: int, batch: int, rate: float,
                   limit_s: float, workdir: Path) -> list[dict[str, Any]]:
    """Peak RSS per n, fresh process each; sizes predicted (from ``rate``) to run longer than
    ``limit_s`` are skipped."""
    rows = []
    for n in sizes:
        predicted = n / rate
        if predicted > limit_s:
            rows.append({"n": n, "skipped": f"predicted {predicted:.0f} s > {limit_s:.0f} s"})
            continue
        r = generate_once(model, n, threads, batch, workdir / "mem.root")
        rows.append({"n": n, "threads": threads, **r, "events_per_s": n / r["wall_s"]})
    return rows


# --------------------------------------------------------------------------------------------
# In-process: one chunk, network breakdown, matmul roofline
# --------------------------------------------------------------------------------------------


class Timers:
    """Accumulated seconds per label."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, label: str, func: Callable) -> Callable:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - start
        return timed

    def hook(self, module: Any, label: str) -> list[Any]:
        """Forward pre/post hooks adding ``module``'s forward time to ``label``."""
        def pre(*_: Any) -> None:
            module._bench_start = time.perf_counter()

        def post(*_: Any) -> None:
            self.seconds[label] += time.perf_counter() - module._bench_start
        return [module.register_forward_pre_hook(pre), module.register_forward_hook(post)]


def _linear_shape(module: Any) -> tuple[int, int] | None:
    """(in, out) of an nn.Linear or a Bayesian linear layer, else None."""
    import torch

    if isinstance(module, torch.nn.Linear):
        return module.in_features, module.out_features
    if hasattr(module, "weight_mu") and hasattr(module, "n_in"):
        return module.n_in, module.n_out
    return None


def _is_activation(module: Any) -> bool:
    from torch import nn

    return isinstance(module, (nn.ReLU, nn.SiLU, nn.GELU, nn.Tanh, nn.ELU, nn.LeakyReLU))


@contextmanager
def instrumented(generator: Any, timers: Timers) -> Iterator[None]:
    """Time ``model.sample`` (label ``network``), the preprocessing inverse, the domain check and,
    inside the network, Linear layers, activations and coupling transforms; undone on exit."""
    import hepgen.generators.event as event_mod

    patched: list[tuple[Any, str, Any]] = []  # (object, attribute, own value or _MISSING)
    handles: list[Any] = []

    def patch(obj: Any, name: str, label: str) -> None:
        patched.append((obj, name, vars(obj).get(name, _MISSING)))
        setattr(obj, name, timers.wrap(label, getattr(obj, name)))

    seen_transforms: set[int] = set()
    for m in generator.multiplicities:
        patch(generator.preprocessors[m], "inverse", "preprocessing inverse")
    # the trained networks: one per multiplicity, or the stages of the multiplicity chain
    for _, model in generator.trainable_units():
        patch(model, "sample", "network")
        for module in model.modules():
            if _linear_shape(module):
                handles += timers.hook(module, "net: Linear layers")
            elif _is_activation(module):
                handles += timers.hook(module, "net: activations")
            transform = getattr(module, "transform", None)
            if transform is not None and hasattr(transform, "inverse") and \
                    id(transform) not in seen_transforms:
                seen_transforms.add(id(transform))
                kind = type(transform).__name__.replace("Transform", "").lower()
                patch(transform, "inverse", f"net: {kind} transform inverse")
                if hasattr(transform, "_transform"):  # spline: zuko object built per call
                    patch(transform, "_transform", f"{SUB}{kind}: build zuko transform "
                          "(soft-clamp, softmax, cumsum, exp)")
    try:
        from zuko.transforms import MonotonicRQSTransform as rqs
    except ImportError:
        rqs = None
    if rqs is not None:
        patch(rqs, "log_abs_det_jacobian", f"{SUB}spline: log|det J| (forward spline re-run)")
        patch(rqs, "_inverse", f"{SUB}spline: inverse (searchsorted, gather, root)")
    if getattr(generator, "fsr", None) is not None:  # photon-jet splitting, after the networks
        patch(generator.fsr, "split", "photon-jet split")
    original_domain = event_mod.in_reference_phase_space
    event_mod.in_reference_phase_space = timers.wrap("domain check", original_domain)
    try:
        yield
    finally:
        event_mod.in_reference_phase_space = original_domain
        for handle in handles:
            handle.remove()
        for obj, name, own in reversed(patched):
            if own is _MISSING:
                delattr(obj, name)
            else:
                setattr(obj, name, own)


def profile_chunk(generator: Any, batch: int, repeats: int, workdir: Path) -> dict[str, Any]:
    """Median seconds per part of one chunk of ``batch`` events (see module docstring)."""
    from hepgen.physics.io import write_events

    generator.sample_events(min(batch, 2000), SEED)  # warm-up: first-call overheads
    parts: dict[str, list[float]] = defaultdict(list)
    rejected: dict[str, int] = {}
    for rep in range(repeats):
        timers = Timers()
        with instrumented(generator, timers):
            start = time.perf_counter()
            events, rejected = generator.sample_events(batch, SEED + rep)
            total = time.perf_counter() - start
        start = time.perf_counter()
        write_events(workdir / "chunk.root", events)
        parts["ROOT write"].append(time.perf_counter() - start)
        (workdir / "chunk.root").unlink()
        sec = timers.seconds
        net_known = sum(v for k, v in sec.items() if k.startswith("net: "))
        parts["network sampling"].append(sec["network"])
        nested = sum(v for k, v in sec.items() if k.startswith(SUB))
        for key, value in sec.items():
            if key.startswith(SUB):
                parts[key].append(value)
            elif key.startswith("net: "):
                if "transform inverse" in key and nested:  # its nested parts are listed apart
                    parts[f"{SUB}{key[5:].split()[0]}: rest of the transform "
                          "(torch.distributions dispatch, where, cat)"].append(value - nested)
                parts[key].append(value)
        parts["net: rest (rotations, ActNorm, slicing, randn)"].append(sec["network"] - net_known)
        parts["preprocessing inverse"].append(sec["preprocessing inverse"])
        parts["domain check"].append(sec["domain check"])
        split = sec.get("photon-jet split", 0.0)
        if "photon-jet split" in sec:
            parts["photon-jet split"].append(split)
        parts["rest of sample_events"].append(
            total - sec["network"] - sec["preprocessing inverse"] - sec["domain check"] - split)
        parts["sample_events total"].append(total)
    result = {name: median(v) for name, v in parts.items()}
    return {"batch_size": batch, "repeats": repeats, "median_s": result, "rejected": rejected}


def _linear_layers(module: Any, share: float = 1.0) -> Iterator[tuple[int, int, float]]:
    """(in, out, share of the events it sees) of every Linear layer under ``module``: a member
    of an ensemble (MixtureModel) of K networks samples 1/K of the events."""
    from hepgen.generators.mixture import MixtureModel

    if isinstance(module, MixtureModel):
        for member in module.members:
            yield from _linear_layers(member, share / len(module.members))
        return
    if (shape := _linear_shape(module)) is not None:
        yield (*shape, share)
    for child in module.children():
        yield from _linear_layers(child, share)


def network_shapes(generator: Any) -> dict[int, list[tuple[int, int, float]]]:
    """(in, out, share of the events) of every Linear layer of each multiplicity's model."""
    return {m: list(_linear_layers(generator.model(m))) for m in generator.multiplicities}


def _best_time(func: Callable[[], object], repeats: int) -> float:
    func()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return median(times)


def roofline(generator: Any, batch: int, repeats: int) -> dict[str, Any]:
    """FLOPs per event; matmul-only events/s of the same Linear shapes; square-matmul GFLOP/s."""
    import torch
    import torch.nn.functional as F

    fractions = {m: generator.fractions[m] for m in generator.multiplicities}
    total = sum(fractions.values())
    shapes = network_shapes(generator)
    flops_per_event = sum(fractions[m] / total * sum(2 * i * o * k for i, o, k in shapes[m])
                          for m in shapes)
    gen = torch.Generator().manual_seed(SEED)
    calls = []
    for m, layer_shapes in shapes.items():
        for i, o, share in layer_shapes:
            rows = max(1, round(batch * fractions[m] / total * share))
            calls.append((torch.randn(rows, i, generator=gen), torch.randn(o, i, generator=gen),
                          torch.randn(o, generator=gen)))

    def chain() -> None:
        for x, w, b in calls:
            F.linear(x, w, b)

    chain_s = _best_time(chain, repeats) if calls else float("nan")
    a = torch.randn(SQUARE, SQUARE, generator=gen)
    b = torch.randn(SQUARE, SQUARE, generator=gen)
    square_s = _best_time(lambda: a @ b, repeats)
    return {
        "linear_shapes": {str(m): s for m, s in shapes.items()},
        "n_linear_layers": sum(len(s) for s in shapes.values()),
        "flops_per_event": flops_per_event,
        "matmul_chain_s": chain_s,
        "matmul_only_events_per_s": batch / chain_s,
        "matmul_chain_gflops": flops_per_event * batch / chain_s / GFLOP,
        "square_matmul_size": SQUARE,
        "square_matmul_gflops": 2 * SQUARE**3 / square_s / GFLOP,
    }


def in_process(model_dir: Path, batch: int, threads_list: list[int], repeats: int,
               workdir: Path) -> dict[str, Any]:
    """Chunk profile and roofline at each torch thread count (one model load)."""
    import torch

    from hepgen.generators.event import EventGenerator

    generator, _ = EventGenerator.load(model_dir)
    by_threads = []
    for threads in threads_list:
        torch.set_num_threads(threads)
        chunk = profile_chunk(generator, batch, repeats, workdir)
        roof = roofline(generator, batch, repeats)
        sampling_rate = batch / chunk["median_s"]["network sampling"]
        roof["sampler_events_per_s"] = sampling_rate
        roof["sampler_over_matmul_only"] = sampling_rate / roof["matmul_only_events_per_s"]
        roof["sampler_gflops"] = roof["flops_per_event"] * sampling_rate / GFLOP
        roof["sampler_over_square_gflops"] = roof["sampler_gflops"] / roof["square_matmul_gflops"]
        by_threads.append({"threads": threads, "chunk": chunk, "roofline": roof})
        print(f"chunk profile, {threads} thread(s): network sampling {sampling_rate:,.0f} "
              "events/s", flush=True)
    return {"family": generator.family, "model_config": generator.model_config,
            "fractions": {str(k): v for k, v in generator.fractions.items()},
            "batch_size": batch, "by_threads": by_threads}


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def _ints(text: str) -> list[int]:
    return [int(float(t)) for t in text.split(",") if t.strip()]


def _profile_tables(prof: dict) -> list[str]:
    """Chunk breakdown, network breakdown and roofline tables, one column group per thread
    count."""
    runs = prof["by_threads"]
    batch = prof["batch_size"]
    chunks = [r["chunk"]["median_s"] for r in runs]
    heads = [f"{r['threads']} thr" for r in runs]
    order = ["network sampling", "preprocessing inverse", "domain check",
             *(["photon-jet split"] if "photon-jet split" in chunks[0] else []),
             "rest of sample_events", "ROOT write"]
    wholes = [c["sample_events total"] + c["ROOT write"] for c in chunks]
    rows = []
    for name in order:
        row: list[Any] = [name]
        for c, whole in zip(chunks, wholes, strict=True):
            row += [f"{c[name]:.2f}", f"{100 * c[name] / whole:.0f}%",
                    f"{batch / c[name]:,.0f}" if c[name] > 0 else "-"]
        rows.append(row)
    total_row: list[Any] = ["**chunk total**"]
    for whole in wholes:
        total_row += [f"**{whole:.2f}**", "100%", f"**{batch / whole:,.0f}**"]
    rows.append(total_row)
    header = ["part"] + [f"{h} {x}" for h in heads
                         for x in ("[s]", "share", "events/s of this part alone")]
    rej = "; ".join(f"{r['threads']} thr: " + ", ".join(
        f"{k} {v}" for k, v in r["chunk"]["rejected"].items()) for r in runs)
    out = [f"### One chunk of {batch:,} events, in process\n\n" + table(header, rows)
           + f"\n\nMedians of {runs[0]['chunk']['repeats']} chunk(s). Redrawn out-of-domain "
           f"samples per chunk: {rej}. 'rest of sample_events': float64 conversion, "
           "finiteness cut, awkward concatenation, shuffle."]

    keys = [k for k in chunks[0] if k.startswith("net: ")]
    keys.sort(key=lambda k: -chunks[0][k])
    subs = sorted((k for k in chunks[0] if k.startswith(SUB)), key=lambda k: -chunks[0][k])
    rows = []

    def net_row(label: str, key: str) -> list[Any]:
        row: list[Any] = [label]
        for c in chunks:
            value = c.get(key, 0.0)
            row += [f"{value:.2f}", f"{100 * value / c['network sampling']:.0f}%"]
        return row

    for key in keys:
        rows.append(net_row(key[5:], key))
        if "transform inverse" in key:
            rows += [net_row(f"↳ {sub[len(SUB):]}", sub) for sub in subs]
    if rows:
        header = ["network component"] + [f"{h} {x}" for h in heads
                                          for x in ("[s]", "share of network")]
        out.append("### Network sampling by component\n\n" + table(header, rows))

    roofs = [r["roofline"] for r in runs]
    roof = roofs[0]
    rows = [
        ["Linear layers (all blocks, all multiplicities)", roof["n_linear_layers"]],
        ["FLOPs per event (2·in·out per Linear, fraction-weighted; an ensemble member's 1/K)",
         f"{roof['flops_per_event']:,.0f}"],
    ]
    spec = [
        ("sampler events/s (network sampling only)", "sampler_events_per_s", "{:,.0f}"),
        ("matmul-only events/s (F.linear chain, same shapes and batch)",
         "matmul_only_events_per_s", "{:,.0f}"),
        ("**(a) sampler / matmul-only**", "sampler_over_matmul_only", "**{:.1%}**"),
        ("sampler GFLOP/s (Linear FLOPs only)", "sampler_gflops", "{:.1f}"),
        ("F.linear chain GFLOP/s", "matmul_chain_gflops", "{:.1f}"),
        (f"{SQUARE}x{SQUARE} float32 matmul GFLOP/s", "square_matmul_gflops", "{:.1f}"),
        ("**(b) sampler GFLOP/s / square matmul GFLOP/s**", "sampler_over_square_gflops",
         "**{:.1%}**"),
    ]
    rows = [[r[0]] + [r[1]] * len(roofs) for r in rows]
    rows += [[label] + [fmt.format(r[key]) for r in roofs] for label, key, fmt in spec]
    out.append("### Sampling vs raw matmul throughput\n\n"
               + table(["quantity"] + heads, rows))
    return out


def report(args: argparse.Namespace, gen: list[dict], sim: list[dict], prof: dict,
           memory: list[dict], load_before: float) -> str:
    parts = []
    rows = [[g["threads"], f"{g['n']:,}", f"{g['wall_s']:.1f}", f"{g['events_per_s']:,.0f}",
             f"{g['events_per_s_per_core']:,.0f}", f"{g['loop_events_per_s']:,.0f}",
             f"{g['peak_rss_mb']:.0f}"] for g in gen]
    parts.append("### hepgen generate, end to end\n\n" + table(
        ["threads", "events", "wall [s]", "events/s", "events/s/core",
         "events/s (sampling+write loop)", "peak RSS [MB]"], rows))
    rows = [[s["jobs"], f"{s['n_kept']:,}", f"{s['wall_s']:.1f}", f"{s['kept_per_s']:.1f}",
             f"{s['kept_per_s_per_core']:.1f}"] for s in sim]
    parts.append("### hepgen simulate (Pythia 8), same run\n\n" + table(
        ["jobs", "kept events", "wall [s]", "kept ev/s", "kept ev/s/core"], rows))
    by_t = {g["threads"]: g for g in gen}
    by_j = {s["jobs"]: s for s in sim}
    rows = []
    for k in sorted(set(by_t) & set(by_j)):
        ratio = by_t[k]["events_per_s_per_core"] / by_j[k]["kept_per_s_per_core"]
        rows.append([f"{k} / {k}", f"{by_t[k]['events_per_s_per_core']:,.0f}",
                     f"{by_j[k]['kept_per_s_per_core']:.1f}", f"{ratio:,.0f}x",
                     "yes" if ratio >= TARGET_RATIO else "no"])
    parts.append("### generate / simulate, per core\n\n" + table(
        ["threads / jobs", "generate ev/s/core", "simulate kept ev/s/core", "ratio",
         f"meets >= {TARGET_RATIO:,.0f}x"], rows))

    parts += _profile_tables(prof)
    rows = []
    for r in memory:
        if "skipped" in r:
            rows.append([f"{r['n']:,}", "-", "-", f"skipped: {r['skipped']}"])
        else:
            rows.append([f"{r['n']:,}", f"{r['wall_s']:.1f}", f"{r['peak_rss_mb']:.0f}", ""])
    parts.append(f"### Peak RSS vs n ({args.memory_threads} thread(s), batch "
                 f"{args.batch_size:,}, fresh process each)\n\n"
                 + table(["events", "wall [s]", "peak RSS [MB]", "note"], rows))
    cfg = prof["model_config"]
    parts.append(
        f"Model `{args.model}` ({prof['family']}, {cfg}), fractions "
        f"{ {k: round(v, 3) for k, v in prof['fractions'].items()} }; seed {SEED}, batch size "
        f"{args.batch_size:,}; medians of {args.repeats} generate run(s) and "
        f"{args.sim_repeats} simulate run(s) per setting. End-to-end figures are subprocess "
        f"wall times (Python start-up, model load, Pythia init included); per core = "
        f"events/s / threads (jobs). Shared 2-core machine, load average before the run "
        f"{load_before:.2f}: compare ratios from the same run.\n"
    )
    return "\n\n".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL,
                        help="trained generator directory (default data_samples/default_generator)")
    parser.add_argument("--n", type=float, default=DEFAULT_N, help="events per generate run")
    parser.add_argument("--threads", type=_ints, default=list(DEFAULT_THREADS),
                        help="comma-separated torch thread counts (default 2,1)")
    parser.add_argument("--repeats", type=int, default=3, help="generate runs per setting")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH)
    parser.add_argument("--sim-n", type=int, default=DEFAULT_SIM_N, help="kept Pythia events")
    parser.add_argument("--sim-jobs", type=_ints, default=list(DEFAULT_SIM_JOBS),
                        help="comma-separated job counts (default 1,2)")
    parser.add_argument("--sim-repeats", type=int, default=2, help="simulate runs per job count")
    parser.add_argument("--profile-threads", type=_ints, default=list(DEFAULT_THREADS),
                        help="comma-separated torch threads of the in-process chunk profile and "
                             "roofline (default 2,1)")
    parser.add_argument("--profile-repeats", type=int, default=3)
    parser.add_argument("--memory-sizes", type=_ints, default=list(DEFAULT_MEMORY_SIZES),
                        help="comma-separated n of the peak-RSS runs (default 1e5,1e6,1e7)")
    parser.add_argument("--memory-threads", type=int, default=2)
    parser.add_argument("--max-memory-run-s", type=float, default=DEFAULT_MAX_MEMORY_RUN_S,
                        help="skip peak-RSS runs predicted to take longer (default 180)")
    parser.add_argument("--no-results-md", action="store_true", help="do not update RESULTS.md")
    parser.add_argument("--name", default="",
                        help="suffix of the results file and RESULTS.md section, for a model "
                        "other than the shipped default (e.g. --name fast)")
    args = parser.parse_args()
    args.model = args.model.resolve()
    n = int(args.n)
    for name in ("generator.json", "weights.pt"):
        if not (args.model / name).is_file():
            print(f"bench_generate: {args.model / name} not found. Pass --model RUN_DIR, a "
                  f"directory written by `hepgen train` (e.g. `hepgen train --config "
                  f"configs/inn.json --out /tmp/gen --epochs 1 --max-events 20000`).",
                  file=sys.stderr)
            return 2

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        gen = []
        for threads in args.threads:
            gen.append(measure_generate(args.model, n, threads, args.batch_size, args.repeats,
                                        workdir))
            print(f"generate, {threads} thread(s): {gen[-1]['events_per_s']:,.0f} events/s",
                  flush=True)
        sim = []
        for jobs in args.sim_jobs:
            sim.append(measure_simulate(args.sim_n, jobs, args.sim_repeats, workdir))
            print(f"simulate, {jobs} job(s): {sim[-1]['kept_per_s']:.1f} kept events/s",
                  flush=True)
        prof = in_process(args.model, args.batch_size, args.profile_threads,
                          args.profile_repeats, workdir)
        # Peak RSS: reuse the throughput runs where n and threads match; rate for prediction.
        ref = next((g for g in gen if g["threads"] == args.memory_threads), gen[0])
        reused = {g["n"]: g for g in gen if g["threads"] == args.memory_threads}
        todo = [s for s in args.memory_sizes if s not in reused]
        fresh = {r["n"]: r for r in measure_memory(
            args.model, todo, args.memory_threads, args.batch_size,
            ref["loop_events_per_s"] if ref["loop_s"] == ref["loop_s"] else ref["events_per_s"],
            args.max_memory_run_s, workdir)}
        memory = []
        for size in args.memory_sizes:
            if size in reused:
                g = reused[size]
                memory.append({"n": size, "threads": g["threads"], "wall_s": g["wall_s"],
                               "peak_rss_mb": g["peak_rss_mb"], "from": "throughput runs"})
            else:
                memory.append(fresh[size])

    body = report(args, gen, sim, prof, memory, load_before)
    print(body)
    ratios = {}
    for g in gen:
        s = next((s for s in sim if s["jobs"] == g["threads"]), None)
        if s:
            ratios[f"{g['threads']}_threads_{s['jobs']}_jobs"] = (
                g["events_per_s_per_core"] / s["kept_per_s_per_core"])
    name = "generate" + (f"_{args.name}" if args.name else "")
    path = save_json(name, {
        "description": "hepgen generate end to end vs hepgen simulate; chunk profile; "
                       "matmul roofline; peak RSS vs n",
        "model": str(args.model),
        "cpu_count": os.cpu_count(),
        "load_average_before": load_before,
        "seed": SEED,
        "generate": gen,
        "simulate": sim,
        "ratio_generate_over_simulate_per_core": ratios,
        "target_ratio": TARGET_RATIO,
        "profile": prof,
        "memory": memory,
    })
    print(f"\nwrote {path}")
    if not args.no_results_md:
        title = "generate: sampling throughput vs Pythia and vs matmul"
        update_section(name, title + (f" ({args.name}: {args.model.name})" if args.name else ""),
                       body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
