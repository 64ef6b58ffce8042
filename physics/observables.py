"""The observable catalogue: pure functions of the event record, with name, unit, label, binning.

Each :class:`Observable` maps an events array (see :mod:`hepgen.physics.events`) of length N to
``(values, defined)``: float64 values of shape (N,) and a boolean mask of shape (N,) that is True
where the observable exists (e.g. ``j2_pt`` only for events with at least two jets). Values
where ``defined`` is False are NaN and must not be used.

All physics formulas live in this module (and :mod:`hepgen.physics.events`); plotting and I/O
call them, never re-derive them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import awkward as ak
import numpy as np

from hepgen.physics.events import has_jets

ObservableFunc = Callable[[ak.Array], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Binning:
    """Default binning of an observable.

    ``kind == "fixed"``: ``bins`` regular bins on [lo, hi].
    ``kind == "quantile"``: ``bins`` bins between the ``lo``/``hi`` *quantiles* (0..1) of the
    reference sample, widened to regular spacing (so plots stay readable).
    ``kind == "integer"``: unit-width bins centred on the integers lo..hi.
    """

    kind: str
    bins: int
    lo: float
    hi: float


@dataclass(frozen=True)
class Observable:
    """One observable of the catalogue.

    Attributes:
        name: stable identifier used in metrics.json keys and file names, e.g. ``"m_mumu"``.
        label: matplotlib/LaTeX axis label, e.g. ``r"$m_{\\mu\\mu}$"``.
        unit: ``"GeV"``, ``"rad"`` or ``""``.
        func: the pure function ``events -> (values (N,), defined (N,))``.
        binning: default binning.
        min_jets: number of jets the observable needs (0 = muons only).
        windows: extra zoom ranges ``(lo, hi)`` for plots, e.g. the Z window for m_mumu.
    """

    name: str
    label: str
    unit: str
    func: ObservableFunc
    binning: Binning
    min_jets: int = 0
    windows: tuple[tuple[float, float], ...] = ()

    def available(self, events: ak.Array) -> bool:
        """Whether the record has the collections this observable needs."""
        return self.min_jets == 0 or has_jets(events)

    def evaluate(self, events: ak.Array) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(values, defined)``, both shape (N,)."""
        values, defined = self.func(events)
        return np.asarray(values, dtype=np.float64), np.asarray(defined, dtype=bool)

    @property
    def axis_label(self) -> str:
        """Label with unit, e.g. ``$m_{\\mu\\mu}$ [GeV]``."""
        return f"{self.label} [{self.unit}]" if self.unit else self.label


# The catalogue (filled below): name -> Observable, in display order.
CATALOGUE: dict[str, Observable] = {}


def catalogue() -> dict[str, Observable]:
    """The full observable catalogue, name -> Observable, in display order."""
    return dict(CATALOGUE)


def available_observables(events: ak.Array) -> tuple[list[Observable], list[Observable]]:
    """Split the catalogue into (available for this record, skipped: needs missing collections)."""
    obs = list(CATALOGUE.values())
    return [o for o in obs if o.available(events)], [o for o in obs if not o.available(events)]
