"""Evaluate every observable once per sample into flat columns, and define the regions compared.

A :class:`Sample` holds, for N events, the per-event weights (N,), jet multiplicities (N,) and
for each observable its ``(values (N,), defined (N,))`` pair. Every later step (histograms,
metrics, classifier) slices these columns with boolean masks; the awkward record is not touched
again, so each observable is evaluated exactly once per sample.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import awkward as ak
import numpy as np

from hepgen.physics.constants import MAX_JETS, MIN_JETS
from hepgen.physics.errors import HepgenInputError
from hepgen.physics.events import event_weights, has_jets, n_jets
from hepgen.physics.observables import Observable

#: Key of the region with all events.
INCLUSIVE = "inclusive"


@dataclass(frozen=True)
class Region:
    """A slice of events: all events (``n_jets is None``) or exactly ``n_jets`` jets."""

    key: str
    n_jets: int | None
    title: str

    def accepts(self, observable: Observable) -> bool:
        """Whether the observable can exist in this region (enough jets)."""
        return self.n_jets is None or self.n_jets >= observable.min_jets


def inclusive_region(with_jets: bool) -> Region:
    """The inclusive region, titled for Z+jets or dimuon samples."""
    title = r"Z$\to\mu\mu$ + jets, inclusive" if with_jets else r"$\mu\mu$ inclusive"
    return Region(INCLUSIVE, None, title)


def multiplicity_regions(min_jets: int = MIN_JETS, max_jets: int = MAX_JETS) -> list[Region]:
    """Exclusive jet-multiplicity regions ``"1j"``, ``"2j"``, ``"3j"``."""
    return [
        Region(f"{n}j", n, rf"Z$\to\mu\mu$ + {n} jet" + ("s" if n > 1 else ""))
        for n in range(min_jets, max_jets + 1)
    ]


@dataclass
class Sample:
    """Flat per-event columns of one events record.

    Attributes:
        label: name shown in plots and tables (e.g. ``"generated"``).
        weights: per-event weights (N,), float64 (ones for unweighted files).
        n_jets: jet multiplicity (N,), int64 (zeros for records without jets).
        has_jets: whether the record has a ``Jet`` collection.
        values: observable name -> values (N,), NaN where undefined.
        defined: observable name -> mask (N,).
    """

    label: str
    weights: np.ndarray
    n_jets: np.ndarray
    has_jets: bool
    values: dict[str, np.ndarray] = field(default_factory=dict)
    defined: dict[str, np.ndarray] = field(default_factory=dict)
    _sorted: tuple[str, np.ndarray] | None = field(default=None, init=False, repr=False)

    @property
    def n_events(self) -> int:
        return int(self.weights.size)

    @property
    def weighted(self) -> bool:
        """True unless every weight is exactly 1."""
        return bool(np.any(self.weights != 1.0))

    def region_mask(self, region: Region) -> np.ndarray:
        """Events in the region, mask (N,)."""
        if region.n_jets is None:
            return np.ones(self.n_events, dtype=bool)
        return self.n_jets == region.n_jets

    def column(
        self, name: str, region: Region, window: tuple[float, float] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(values (M,), weights (M,)) of observable ``name`` where defined, in the region and,
        if given, inside the half-open ``window`` [lo, hi)."""
        mask = self.defined[name] & self.region_mask(region)
        if window is not None:
            v = self.values[name]
            mask &= (v >= window[0]) & (v < window[1])
        return self.values[name][mask], self.weights[mask]

    def sorted_column(
        self, name: str, region: Region, window: tuple[float, float] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """As :meth:`column`, with the values sorted ascending and the weights in that order.

        The sort order of an observable is computed once and kept for the most recently used
        observable only, so looping over the regions and windows of one observable sorts once
        (the sorted values serve the quantile binning and the Wasserstein distance).
        """
        if self._sorted is None or self._sorted[0] != name:
            idx = np.flatnonzero(self.defined[name])
            self._sorted = (name, idx[np.argsort(self.values[name][idx])])
        order = self._sorted[1]
        if region.n_jets is not None:
            order = order[self.n_jets[order] == region.n_jets]
        values = self.values[name][order]
        if window is not None:
            lo, hi = np.searchsorted(values, window, side="left")
            order, values = order[lo:hi], values[lo:hi]
        return values, self.weights[order]

    def summary(self) -> dict[str, object]:
        """Counts for metrics.json: events, sum of weights, multiplicity fractions."""
        total = float(self.weights.sum())
        out: dict[str, object] = {
            "n_events": self.n_events,
            "sum_weights": total,
            "weighted": self.weighted,
            "has_jets": self.has_jets,
        }
        if self.has_jets:
            out["jet_multiplicity_fractions"] = {
                f"{n}j": float(self.weights[self.n_jets == n].sum() / total) if total else 0.0
                for n in np.unique(self.n_jets).tolist()
            }
        return out


def evaluate_sample(events: ak.Array, observables: Sequence[Observable], label: str) -> Sample:
    """Evaluate each observable once on ``events``.

    Raises:
        HepgenInputError: non-finite weights, or a non-finite observable value where it is
            defined (counted, with the observable named) — never silently replaced.
    """
    weights = event_weights(events)
    bad = int(np.sum(~np.isfinite(weights)))
    if bad:
        raise HepgenInputError(
            f"{label}: {bad} of {weights.size} event weights are not finite; fix or drop them"
        )
    sample = Sample(label, weights, n_jets(events), has_jets(events))
    for obs in observables:
        values, defined = obs.evaluate(events)
        if values.shape != (len(events),) or defined.shape != (len(events),):
            raise ValueError(f"observable {obs.name}: expected shape ({len(events)},)")
        bad = int(np.sum(defined & ~np.isfinite(values)))
        if bad:
            raise HepgenInputError(
                f"{label}: observable {obs.name} is not finite for {bad} events where it is "
                "defined; check the input kinematics"
            )
        sample.values[obs.name] = values
        sample.defined[obs.name] = defined
    return sample
