"""ROOT I/O throughput: write and read NanoAOD-style Z+jets files (events per second).

Measures, on toy events (2 opposite-charge muons, 1-3 jets; same recipe as the test fixture
``make_events`` in tests/conftest.py, copied here because benchmarks do not import tests):

- ``write_events``: atomic chunked TTree write (mktree + extend);
- ``read_events``: read + check + build the record + select, nanoaod schema;
- raw ``uproot`` read of the same branches into awkward arrays (the baseline: the ratio
  read_events / raw says what the checks, record building and selection cost);
- ``read_events`` of the same events stored as an RNTuple.

Each is repeated ``--repeats`` times; medians are reported. Prints a markdown table, writes
``benchmarks/results/io.json`` and updates the ``io`` section of ``benchmarks/RESULTS.md``.

    python benchmarks/bench_io.py --n-events 1000000 --repeats 3
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import awkward as ak
import numpy as np
import uproot
from _common import median, save_json, table, update_section

from hepgen.physics.constants import JET_ABS_ETA_MAX, JET_PT_MIN, MAX_JETS, MIN_JETS
from hepgen.physics.events import build_events
from hepgen.physics.io import DEFAULT_STEP_SIZE, SCHEMAS, read_events, write_events

#: Toy kinematics [GeV, rad] (as tests/conftest.py).
TOY_MUON_PT_MIN = 5.0
TOY_MUON_PT_SCALE = 30.0
TOY_MUON_ABS_ETA_MAX = 2.4
TOY_JET_PT_SCALE = 40.0
TOY_JET_MASS_FRACTION = (0.05, 0.2)
TOY_WEIGHT_RANGE = (0.5, 1.5)
N_MUONS = 2
SEED = 12345
BYTES_PER_MB = 1e6


def _objects(
    rng: np.random.Generator, counts: np.ndarray, pt_min: float, pt_scale: float, abs_eta: float
) -> dict[str, ak.Array]:
    total = int(counts.sum())
    flat = {
        "pt": pt_min + rng.exponential(pt_scale, total),
        "eta": rng.uniform(-abs_eta, abs_eta, total),
        "phi": rng.uniform(-np.pi, np.pi, total),
    }
    return {name: ak.unflatten(values, counts) for name, values in flat.items()}


def toy_events(n: int, seed: int = SEED) -> ak.Array:
    """n toy events with jets and weights (valid hepgen records; kinematics are not physics)."""
    rng = np.random.default_rng(seed)
    n_mu = np.full(n, N_MUONS)
    muon = _objects(rng, n_mu, TOY_MUON_PT_MIN, TOY_MUON_PT_SCALE, TOY_MUON_ABS_ETA_MAX)
    sign = rng.choice(np.array([-1, 1]), n)
    muon["charge"] = ak.unflatten(np.stack([sign, -sign], axis=1).ravel(), n_mu)
    n_jet = rng.integers(MIN_JETS, MAX_JETS + 1, n)
    jet = _objects(rng, n_jet, JET_PT_MIN, TOY_JET_PT_SCALE, JET_ABS_ETA_MAX)
    jet["mass"] = jet["pt"] * ak.unflatten(
        rng.uniform(*TOY_JET_MASS_FRACTION, int(n_jet.sum())), n_jet
    )
    return build_events(muon, jet, rng.uniform(*TOY_WEIGHT_RANGE, n))


def _chunks(events: ak.Array, step: int) -> list[ak.Array]:
    return [events[i : i + step] for i in range(0, len(events), step)]


def _timed(func: Callable[[], object], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return times


def _write_rntuple(path: Path, events: ak.Array) -> None:
    """The same events as an RNTuple with NanoAOD branch names (uproot >= 5.7)."""
    content: dict[str, object] = {
        f"Muon_{f}": ak.values_astype(events.Muon[f], "int32" if f == "charge" else "float32")
        for f in ("pt", "eta", "phi", "charge")
    }
    content |= {
        f"Jet_{f}": ak.values_astype(events.Jet[f], "float32") for f in ("pt", "eta", "phi", "mass")
    }
    content["weight"] = ak.to_numpy(events.weight).astype(np.float32)
    with uproot.recreate(path) as file:
        file["Events"] = content


def run(n_events: int, repeats: int, step: int, workdir: Path) -> dict[str, dict[str, float]]:
    """Median seconds and events/s of each operation on n_events toy events."""
    events = toy_events(n_events)
    ttree, rntuple = workdir / "bench.root", workdir / "bench_rntuple.root"
    branches = list(SCHEMAS["nanoaod"].branches())

    def raw_read() -> None:
        with uproot.open(ttree) as file:
            for _ in file["Events"].iterate(filter_name=branches, step_size=step):
                pass

    timings = {
        "write_events (TTree)": _timed(lambda: write_events(ttree, _chunks(events, step)), repeats)
    }
    timings["raw uproot read (TTree)"] = _timed(raw_read, repeats)
    timings["read_events (TTree)"] = _timed(lambda: read_events(ttree, step_size=step), repeats)
    _write_rntuple(rntuple, events)
    timings["read_events (RNTuple)"] = _timed(lambda: read_events(rntuple, step_size=step), repeats)
    sizes = {"TTree": ttree.stat().st_size, "RNTuple": rntuple.stat().st_size}
    results = {
        name: {"median_s": median(t), "events_per_s": n_events / median(t), "times_s": t}
        for name, t in timings.items()
    }
    results["file size MB"] = {k: v / BYTES_PER_MB for k, v in sizes.items()}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-events", type=float, default=1e6, help="toy events (default 1e6)")
    parser.add_argument("--repeats", type=int, default=3, help="repetitions, medians reported")
    parser.add_argument(
        "--step-size", type=int, default=DEFAULT_STEP_SIZE, help="entries per chunk"
    )
    parser.add_argument("--no-results-md", action="store_true", help="do not update RESULTS.md")
    args = parser.parse_args()
    n_events = int(args.n_events)
    with tempfile.TemporaryDirectory() as tmp:
        results = run(n_events, args.repeats, args.step_size, Path(tmp))
    sizes = results.pop("file size MB")
    raw = results["raw uproot read (TTree)"]["median_s"]
    rows = [
        [name, f"{r['median_s']:.2f}", f"{r['events_per_s']:.3g}", f"{r['median_s'] / raw:.2f}"]
        for name, r in results.items()
    ]
    body = table(["operation", "median [s]", "events/s", "time / raw uproot read"], rows)
    body += (
        f"\n\n{n_events:,} toy Z+jets events (1-3 jets, weights), step size {args.step_size:,}, "
        f"{args.repeats} repeats; files: TTree {sizes['TTree']:.1f} MB, "
        f"RNTuple {sizes['RNTuple']:.1f} MB.\n"
    )
    print(body)
    save_json(
        "io",
        {
            "n_events": n_events,
            "repeats": args.repeats,
            "step_size": args.step_size,
            "file_size_mb": sizes,
            "results": results,
        },
    )
    if not args.no_results_md:
        update_section("io", "ROOT I/O throughput", body)


if __name__ == "__main__":
    main()
