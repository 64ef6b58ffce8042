"""hepgen.physics: events, observables, preprocessing, ROOT I/O and reference simulation.

Depends on numpy, awkward, vector, uproot and hist only: never on torch or pennylane. The
names below load on first use (PEP 562), so ``hepgen.physics.errors`` alone — what the
command line needs to build its parsers — does not import awkward.
"""

from __future__ import annotations

from typing import Any

from hepgen.physics.errors import HepgenInputError

__all__ = ["HepgenInputError", "build_events", "event_weights", "n_jets"]


def __getattr__(name: str) -> Any:
    if name in ("build_events", "event_weights", "n_jets"):
        from hepgen.physics import events

        return getattr(events, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
