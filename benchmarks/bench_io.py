"""ROOT I/O throughput: write and read NanoAOD-style Z+jets files (events per second).

Measures, on toy events (``hepgen.validation.toys.toy_events``: 2 opposite-charge muons from a
Breit-Wigner Z, 1-3 jets, per-event weights in [0.5, 1.5)):

- ``write_events``: atomic chunked TTree write (mktree + extend);
- ``read_events``: read + check + build the record + select, nanoaod schema;
- raw ``uproot`` read of the same branches into awkward arrays (the baseline: the ratio
  read_events / raw says what the checks, record building and selection cost);
- ``read_events`` of the same events stored as an RNTuple;
- the TTree written and read with each basket compression (:data:`COMPARED_COMPRESSIONS`;
  the writer's default is ZSTD level 1), with file sizes.

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

from hepgen.physics.events import with_weights
from hepgen.physics.io import DEFAULT_STEP_SIZE, SCHEMAS, read_events, write_events
from hepgen.validation.toys import toy_events

#: Per-event weights of the toy sample (written as the weight branch).
TOY_WEIGHT_RANGE = (0.5, 1.5)
SEED = 12345
BYTES_PER_MB = 1e6
#: Compressions compared (write, read, size); the writer's default first.
COMPARED_COMPRESSIONS = ("zstd:1", "zlib:1", "lz4:1", "lzma:1", "none")


def weighted_toy_events(n: int, seed: int = SEED) -> ak.Array:
    """n toy events with jets and weights (valid hepgen records)."""
    rng = np.random.default_rng(seed)
    return with_weights(toy_events(n, seed=rng), rng.uniform(*TOY_WEIGHT_RANGE, n))


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
    events = weighted_toy_events(n_events)
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
    results["compression"] = compare_compressions(events, repeats, step, workdir)
    return results


def compare_compressions(events: ak.Array, repeats: int, step: int, workdir: Path
                         ) -> dict[str, dict[str, float]]:
    """Write / read_events medians [s] and file size [MB] for each compression."""
    out = {}
    for spec in COMPARED_COMPRESSIONS:
        path = workdir / f"bench_{spec.replace(':', '_')}.root"
        write = _timed(lambda p=path, c=spec: write_events(p, _chunks(events, step),
                                                           compression=c), repeats)
        read = _timed(lambda p=path: read_events(p, step_size=step), repeats)
        out[spec] = {"write_s": median(write), "read_s": median(read),
                     "size_mb": path.stat().st_size / BYTES_PER_MB}
        path.unlink()
    return out


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
    compression = results.pop("compression")
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
    base = compression["zlib:1"]
    body += "\nBasket compression (same events, `write_events(..., compression=...)`):\n\n"
    body += table(["compression", "write [s]", "write events/s", "write time / zlib:1",
                   "read_events [s]", "size [MB]", "size / zlib:1"],
                  [[spec, f"{c['write_s']:.2f}", f"{n_events / c['write_s']:.3g}",
                    f"{c['write_s'] / base['write_s']:.2f}", f"{c['read_s']:.2f}",
                    f"{c['size_mb']:.1f}", f"{c['size_mb'] / base['size_mb']:.2f}"]
                   for spec, c in compression.items()])
    body += "\n"
    print(body)
    save_json(
        "io",
        {
            "n_events": n_events,
            "repeats": args.repeats,
            "step_size": args.step_size,
            "file_size_mb": sizes,
            "results": results,
            "compression": compression,
        },
    )
    if not args.no_results_md:
        update_section("io", "ROOT I/O throughput", body)


if __name__ == "__main__":
    main()
