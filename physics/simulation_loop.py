"""The event loop of one process: Pythia batches -> kept Z/gamma* + 1..3 jet events.

The hot path is vectorised: ``Pythia.nextBatch`` hands over a batch of events as awkward arrays,
the muon chains are followed with numpy on the flattened particle record
(:mod:`hepgen.physics.pythia_record`), and scikit-hep ``fastjet`` clusters the whole batch in one
call (:mod:`hepgen.physics.jet_clustering`). Events with 1..3 jets are kept.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import awkward as ak
import numpy as np

from hepgen.physics.constants import MAX_JETS, MIN_JETS
from hepgen.physics.events import build_events
from hepgen.physics.jet_clustering import cluster_jets, jet_inputs, make_jet_definition
from hepgen.physics.pythia_record import find_decay_muons, flatten_batch, make_pythia, momenta
from hepgen.physics.simulation_config import (
    DEFAULT_BATCH_SIZE,
    REFERENCE_SETTINGS,
    SimulationCounts,
    job_seed,
)


def process_batch(batch: ak.Array, jetdef: Any) -> tuple[ak.Array, np.ndarray]:
    """Turn a ``nextBatch`` result (N events) into hepgen events for the kept ones.

    Returns:
        (events record of the kept events (K,), jet multiplicity of all N events (N,) int64);
        kept means MIN_JETS <= n_jets <= MAX_JETS. Muon charge is -sign(PDG id).
    """
    particles = flatten_batch(batch)
    muons = find_decay_muons(particles)
    jets = cluster_jets(jet_inputs(particles, muons), jetdef)
    n_jets = ak.to_numpy(ak.num(jets["pt"], axis=1)).astype(np.int64)
    keep = (n_jets >= MIN_JETS) & (n_jets <= MAX_JETS)
    mu = momenta(particles, muons[keep])
    muon = {
        "pt": ak.Array(mu.pt),
        "eta": ak.Array(mu.eta),
        "phi": ak.Array(mu.phi),
        "charge": ak.Array(-np.sign(particles.pid[muons[keep]]).astype(np.int32)),
    }
    jet = {name: values[keep] for name, values in jets.items()}
    return build_events(muon, jet), n_jets


def simulate_chunks(
    n_events: int,
    seed: int,
    batch_size: int = DEFAULT_BATCH_SIZE,
    settings: Sequence[str] = REFERENCE_SETTINGS,
    counts: SimulationCounts | None = None,
) -> Iterator[ak.Array]:
    """Generate until ``n_events`` events are kept, in this process, yielding kept-event chunks.

    Args:
        n_events: kept events to produce.
        seed: the Pythia seed, 1..PYTHIA_SEED_MAX (see :func:`job_seed`).
        batch_size: events generated per ``nextBatch`` call.
        settings: Pythia physics settings.
        counts: if given, updated in place before each chunk is yielded; ``n_generated`` counts
            events up to the last kept one (the unused tail of the final batch is not counted).

    Yields:
        hepgen events arrays (see :mod:`hepgen.physics.events`), non-empty, summing to
        ``n_events``.
    """
    pythia = make_pythia(settings, seed)
    jetdef = make_jet_definition()
    counts = counts if counts is not None else SimulationCounts()
    missing = n_events
    while missing > 0:
        events, n_jets = process_batch(pythia.nextBatch(batch_size), jetdef)
        if len(events) > missing:  # truncate at the last needed kept event
            kept_at = np.flatnonzero((n_jets >= MIN_JETS) & (n_jets <= MAX_JETS))
            n_jets = n_jets[: kept_at[missing - 1] + 1]
            events = events[:missing]
        multiplicity = np.bincount(n_jets)
        counts.add(
            SimulationCounts(
                n_generated=len(n_jets),
                n_kept=len(events),
                n_jets_generated={n: int(c) for n, c in enumerate(multiplicity) if c},
            )
        )
        missing -= len(events)
        if len(events):
            yield events


def simulate_events(
    n_events: int,
    seed: int = 1,
    batch_size: int = DEFAULT_BATCH_SIZE,
    settings: Sequence[str] = REFERENCE_SETTINGS,
) -> ak.Array:
    """``n_events`` kept events in memory from one process (Pythia seed ``job_seed(seed, 0)``)."""
    chunks = simulate_chunks(n_events, job_seed(seed, 0), batch_size, settings)
    return ak.concatenate(list(chunks))
