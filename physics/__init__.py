"""hepgen.physics: events, observables, preprocessing, ROOT I/O and reference simulation.

Depends on numpy, awkward, vector, uproot and hist only: never on torch or pennylane.
"""

from hepgen.physics.errors import HepgenInputError
from hepgen.physics.events import build_events, event_weights, n_jets

__all__ = ["HepgenInputError", "build_events", "event_weights", "n_jets"]
