"""Jets of the reference simulation: anti-kT R = 0.4 with scikit-hep ``fastjet``.

Jets are clustered from all visible final-state particles with |eta| < 5 except the two
Z/gamma* decay muons (:func:`jet_inputs`), and kept with pT > 20 GeV and |eta| < 5
(:func:`cluster_jets`); ``fastjet`` clusters a whole batch of events in one call. ``fastjet`` is
imported lazily, so ``hepgen.physics`` imports without it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from collections.abc import Iterator
from typing import Any

import awkward as ak
import numpy as np
import vector

from hepgen.physics.constants import (
    JET_ABS_ETA_MAX,
    JET_INPUT_ABS_ETA_MAX,
    JET_PT_MIN,
    JET_RADIUS,
    PDG_NEUTRINOS,
)
from hepgen.physics.pythia_record import FlatParticles, momenta

vector.register_awkward()


@contextlib.contextmanager
def _stdout_fd_silenced() -> Iterator[None]:
    """Redirect file descriptor 1 (C/C++ stdout) to /dev/null for the duration of the block."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).fflush(None)  # flush C stdio buffers before restoring
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


_FASTJET_READY = False


def make_jet_definition(radius: float = JET_RADIUS) -> Any:
    """The anti-kT jet definition of the reference data set; silences the fastjet banner once."""
    global _FASTJET_READY
    import fastjet

    jetdef = fastjet.JetDefinition(fastjet.antikt_algorithm, radius)
    if not _FASTJET_READY:  # fastjet prints its banner to C++ stdout at the first clustering
        dummy = ak.Array([[{"px": 1.0, "py": 0.0, "pz": 0.0, "E": 1.0}]])
        with _stdout_fd_silenced():
            fastjet.ClusterSequence(dummy, jetdef).inclusive_jets()
        _FASTJET_READY = True
    return jetdef


def jet_inputs(particles: FlatParticles, muons: np.ndarray) -> ak.Array:
    """Visible final-state particles with |eta| < 5, except the decay muons, shape (N, var).

    Visible: final state (status > 0) and not a neutrino. Returns records ``{px, py, pz, E}``
    [GeV], the input format of scikit-hep ``fastjet``.
    """
    p = particles
    candidate = (p.status > 0) & ~np.isin(np.abs(p.pid), PDG_NEUTRINOS)
    candidate[muons.ravel()] = False
    index = np.flatnonzero(candidate)
    with np.errstate(divide="ignore", invalid="ignore"):  # pT = 0: |eta| = inf, rejected
        eta = momenta(p, index).eta
    index = index[np.abs(eta) < JET_INPUT_ABS_ETA_MAX]
    counts = np.bincount(p.event[index], minlength=p.n_events)
    fields = {"px": p.px[index], "py": p.py[index], "pz": p.pz[index], "E": p.e[index]}
    return ak.unflatten(ak.zip(fields), counts)


def cluster_jets(inputs: ak.Array, jetdef: Any) -> dict[str, ak.Array]:
    """Anti-kT jets of every event with pT > JET_PT_MIN and |eta| < JET_ABS_ETA_MAX.

    Args:
        inputs: (N, var) records ``{px, py, pz, E}`` [GeV].
        jetdef: a ``fastjet.JetDefinition`` (see :func:`make_jet_definition`).

    Returns:
        ``pt``, ``eta``, ``phi``, ``mass`` jagged (N, var) [GeV, rad], not yet pT-ordered. Jet
        masses are >= 0: fastjet's signed mass of a (nearly) massless single-particle jet is
        rounding at the 1e-6 GeV level and is taken as 0 — ``sqrt(max(m^2, 0))``.
    """
    import fastjet

    jets = fastjet.ClusterSequence(inputs, jetdef).inclusive_jets(min_pt=JET_PT_MIN)
    p4 = ak.zip(
        {"px": jets["px"], "py": jets["py"], "pz": jets["pz"], "E": jets["E"]},
        with_name="Momentum4D",
    )
    p4 = p4[np.abs(p4.eta) < JET_ABS_ETA_MAX]
    mass = np.sqrt(np.maximum(p4.tau2, 0.0))
    return {"pt": p4.pt, "eta": p4.eta, "phi": p4.phi, "mass": mass}
