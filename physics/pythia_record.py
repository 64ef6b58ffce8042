"""Pythia 8 set-up and the particle record of its event batches (reference simulation).

:func:`make_pythia` builds a quiet, seeded ``pythia8mc.Pythia`` (imported lazily, so
``hepgen.physics`` imports without it). ``Pythia.nextBatch`` hands over a batch of events as
awkward arrays; :func:`flatten_batch` turns their particle records into flat numpy arrays
(:class:`FlatParticles`) on which the muons are found: the two Z/gamma* decay products followed
through QED radiation and recoil copies to their final-state copies (:func:`last_copies`,
:func:`find_decay_muons`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import awkward as ak
import numpy as np
import vector

from hepgen.physics.constants import PDG_MUON, PDG_Z
from hepgen.physics.errors import HepgenInputError
from hepgen.physics.simulation_config import PYTHIA_SEED_MAX

#: Settings that keep Pythia silent (library code is quiet).
QUIET_SETTINGS: tuple[str, ...] = ("Print:quiet = on", "Next:numberCount = 0")
#: Safety bound on the length of a particle's copy chain in the event record.
MAX_COPY_CHAIN: int = 10_000


def make_pythia(settings: Sequence[str], seed: int) -> Any:
    """An initialised, quiet ``pythia8mc.Pythia`` with ``settings`` and ``Random:seed = seed``.

    Raises:
        HepgenInputError: a setting Pythia does not accept, or a seed outside 1..PYTHIA_SEED_MAX.
        RuntimeError: Pythia initialisation failed.
    """
    import pythia8mc

    if not 1 <= seed <= PYTHIA_SEED_MAX:
        raise HepgenInputError(f"Pythia seed must be in 1..{PYTHIA_SEED_MAX}, got {seed}")
    pythia = pythia8mc.Pythia("", False)
    seeding = ("Random:setSeed = on", f"Random:seed = {seed}")
    for line in (*QUIET_SETTINGS, *settings, *seeding):
        if not pythia.readString(line):
            raise HepgenInputError(f"Pythia rejected the setting {line!r}")
    if not pythia.init():
        raise RuntimeError("Pythia initialisation failed; check the settings")
    return pythia


class FlatParticles(NamedTuple):
    """The particle records of a batch of N events, flattened to P particles (all numpy, (P,)).

    ``event`` is the event number of each particle, ``offset`` the flat index of the event's
    entry 0 (so a Pythia record index ``i`` of that event is flat index ``offset + i``); the
    mother/daughter indices are Pythia record indices (0 = none). Momenta in GeV.
    """

    n_events: int
    counts: np.ndarray
    event: np.ndarray
    offset: np.ndarray
    pid: np.ndarray
    status: np.ndarray
    mother1: np.ndarray
    daughter1: np.ndarray
    daughter2: np.ndarray
    px: np.ndarray
    py: np.ndarray
    pz: np.ndarray
    e: np.ndarray


def flatten_batch(batch: ak.Array) -> FlatParticles:
    """Flatten the ``prt`` records of a ``Pythia.nextBatch`` result (N events) to numpy arrays."""
    prt = batch["prt"]
    counts = ak.to_numpy(ak.num(prt, axis=1)).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    event = np.repeat(np.arange(len(counts)), counts)

    def flat(values: ak.Array) -> np.ndarray:
        return ak.to_numpy(ak.flatten(values, axis=1))

    momentum = prt["p"]
    return FlatParticles(
        n_events=len(counts),
        counts=counts,
        event=event,
        offset=starts[event],
        pid=flat(prt["id"]),
        status=flat(prt["status"]),
        mother1=flat(prt["mother1"]),
        daughter1=flat(prt["daughter1"]),
        daughter2=flat(prt["daughter2"]),
        px=flat(momentum["px"]),
        py=flat(momentum["py"]),
        pz=flat(momentum["pz"]),
        e=flat(momentum["e"]),
    )


def last_copies(particles: FlatParticles, index: np.ndarray) -> np.ndarray:
    """Follow each particle down its chain of same-id daughters to its last copy.

    Pythia's ``iBotCopyId`` rule: a particle is replaced by its daughter with the same PDG id
    (shower recoil copies have ``daughter1 == daughter2``; a QED emission ``mu -> mu gamma``
    has daughters ``(mu, gamma)``) until it has no such daughter.

    Args:
        particles: the flattened batch.
        index: flat indices of the starting particles, shape (K,).

    Returns:
        flat indices of their last copies, shape (K,).
    """
    p = particles
    current = index.copy()
    for _ in range(MAX_COPY_CHAIN):
        base = p.offset[current]
        nxt = current
        for dau in (p.daughter2, p.daughter1):  # daughter1 checked last, so it takes precedence
            d = dau[current]
            flat_d = np.where(d > 0, base + d, current)
            nxt = np.where((d > 0) & (p.pid[flat_d] == p.pid[current]), flat_d, nxt)
        if np.array_equal(nxt, current):
            return current
        current = nxt
    raise RuntimeError(f"particle copy chain longer than {MAX_COPY_CHAIN} entries")


def find_decay_muons(particles: FlatParticles) -> np.ndarray:
    """Flat indices of the final-state copies of the two Z/gamma* decay muons, shape (N, 2).

    The decay muons are the |id| = 13 particles whose first mother is a Z/gamma* (id 23);
    each is followed to its last copy with :func:`last_copies`.

    Raises:
        RuntimeError: an event without exactly one opposite-charge decay-muon pair, or a last
            copy that is not final state (the settings do not describe Z/gamma* -> mu mu).
    """
    p = particles
    mother_pid = p.pid[p.offset + p.mother1]
    first = np.flatnonzero((np.abs(p.pid) == PDG_MUON) & (mother_pid == PDG_Z))
    per_event = np.bincount(p.event[first], minlength=p.n_events)
    if not np.all(per_event == 2):
        bad = int(np.sum(per_event != 2))
        raise RuntimeError(
            f"{bad} of {p.n_events} events lack exactly two muons from the Z/gamma* decay; "
            f"the settings must force {PDG_Z}:onIfAny = {PDG_MUON}"
        )
    final = last_copies(p, first).reshape(p.n_events, 2)
    if not np.all(p.status[final] > 0) or not np.all(p.pid[final].sum(axis=1) == 0):
        raise RuntimeError("a Z/gamma* decay muon chain did not end in a final-state mu+ mu- pair")
    return final


def momenta(particles: FlatParticles, index: np.ndarray) -> Any:
    """``vector`` numpy Momentum4D objects of the flat particles ``index`` (any shape)."""
    p = particles
    return vector.array({"px": p.px[index], "py": p.py[index], "pz": p.pz[index], "E": p.e[index]})
