"""Reference event simulation ``zjets-13tev``: Pythia 8 Z/gamma*(->mu mu) + jet, anti-kT R=0.4 jets.

The canonical spec is in ``design.md`` ("The reference data set"): pp at 13 TeV with Pythia 8
defaults (Monash tune), hard process ``WeakBosonAndParton:qqbar2gmZg`` and ``qg2gmZq`` with
pT-hat > :data:`~hepgen.physics.constants.PTHAT_MIN`, Z/gamma* -> mu+ mu- only with
m in [:data:`MLL_MIN`, :data:`MLL_MAX`] GeV. Muons are the two Z/gamma* decay products followed
through QED radiation and recoil copies to their final-state copies; jets are anti-kT R = 0.4 on
all visible final-state particles with |eta| < 5 except those two muons, pT > 20 GeV, |eta| < 5.
Events with 1..3 jets are kept.

This module is the entry point (:func:`simulate`: run and write a file); the parts live in

- :mod:`hepgen.physics.simulation_config`: settings, run configuration, job seeds, counts;
- :mod:`hepgen.physics.pythia_record`: Pythia set-up and decay muons in its particle record;
- :mod:`hepgen.physics.jet_clustering`: jet inputs and anti-kT clustering with ``fastjet``;
- :mod:`hepgen.physics.simulation_loop`: the vectorised event loop of one process;
- :mod:`hepgen.physics.simulation_jobs`: worker processes, output in job order.

``pythia8mc`` and ``fastjet`` are imported lazily, so ``hepgen.physics`` imports without them.
Library code is quiet: progress goes through a callback.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import awkward as ak

from hepgen.physics.errors import HepgenInputError
from hepgen.physics.simulation_config import (
    DEFAULT_BATCH_SIZE,
    REFERENCE_SETTINGS,
    ProgressCallback,
    SimulationConfig,
    SimulationCounts,
    SimulationResult,
    job_seed,
)
from hepgen.physics.simulation_jobs import iter_simulation

#: Events per written chunk (one TTree basket per branch): large baskets keep files small and
#: fast to read; the events of a chunk are about 100 bytes each in memory.
WRITE_CHUNK_EVENTS: int = 10_000
#: Basket compression of simulated reference files (see simulate).
SIMULATE_COMPRESSION: str = "zlib:1"


def rebatched(chunks: Iterator[ak.Array], min_events: int) -> Iterator[ak.Array]:
    """Concatenate consecutive chunks into chunks of at least ``min_events`` events (the last may
    be smaller); order and content are unchanged."""
    pending: list[ak.Array] = []
    n_pending = 0
    for chunk in chunks:
        pending.append(chunk)
        n_pending += len(chunk)
        if n_pending >= min_events:
            yield ak.concatenate(pending)
            pending, n_pending = [], 0
    if pending:
        yield ak.concatenate(pending)


def simulate(
    n_events: int,
    seed: int,
    jobs: int,
    out_path: str | os.PathLike[str],
    progress_callback: ProgressCallback | None = None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    settings: Sequence[str] = REFERENCE_SETTINGS,
) -> SimulationResult:
    """Simulate ``n_events`` kept events with ``jobs`` processes and write them to ``out_path``.

    The file (NanoAOD TTree ``Events``, see :func:`hepgen.physics.io.write_events`) is written
    in chunks of WRITE_CHUNK_EVENTS events to a temporary name and renamed when complete.

    Args:
        n_events: kept events (1..3 jets) over all jobs.
        seed: master seed; job ``j`` runs Pythia with ``job_seed(seed, j)``.
        jobs: worker processes (1 runs in this process).
        out_path: output ``.root`` file; its directory must exist.
        progress_callback: called with the number of newly kept events as they arrive.
        batch_size: events per ``nextBatch`` call.
        settings: Pythia physics settings (default: the reference spec).
    """
    from hepgen.physics.io.writer import write_events

    config = SimulationConfig(n_events, seed, jobs, batch_size, tuple(settings))
    out = Path(out_path)
    if not out.parent.is_dir():
        raise HepgenInputError(f"{out}: output directory {out.parent} does not exist")
    counts = SimulationCounts()
    start = time.perf_counter()
    chunks = iter_simulation(config, counts, progress_callback)
    # ZLIB, not the writer's faster ZSTD default: Pythia sets the pace here, and reference
    # files are kept, so the smaller file wins (and matches the shipped data files).
    write_events(out, rebatched(chunks, WRITE_CHUNK_EVENTS), compression=SIMULATE_COMPRESSION)
    wall = time.perf_counter() - start
    seeds = [job_seed(seed, j) for j in range(jobs)]
    return SimulationResult(config, counts, wall, seeds, out)


__all__ = [
    "DEFAULT_BATCH_SIZE",
    "WRITE_CHUNK_EVENTS",
    "SimulationResult",
    "rebatched",
    "simulate",
]
