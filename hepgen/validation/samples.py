"""Evaluate every observable once per sample into flat columns, and define the regions compared.

A :class:`Sample` holds, for N events, the per-event weights (N,), jet multiplicities (N,), the
posterior-draw indices (N,) of Bayesian generators (or None) and for each observable its
``(values (N,), defined (N,))`` pair. Every later step (histograms,
metrics, classifier) slices these columns with boolean masks; the awkward record is not touched
again, so each observable is evaluated exactly once per sample.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

import awkward as ak
import numpy as np

from hepgen.physics.constants import MAX_JETS, MIN_JETS
from hepgen.physics.errors import HepgenInputError
from hepgen.physics.events import event_draws, event_weights, has_jets, n_jets
from hepgen.physics.observables import EventView, Observable

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
        draws: posterior-draw index per event (N,), int64 >= 0, or None (no ``draw`` field).
    """

    label: str
    weights: np.ndarray
    n_jets: np.ndarray
    has_jets: bool
    values: dict[str, np.ndarray] = field(default_factory=dict)
    defined: dict[str, np.ndarray] = field(default_factory=dict)
    draws: np.ndarray | None = None
    _sorted: tuple[str, np.ndarray] | None = field(default=None, init=False, repr=False)

    @property
    def n_events(self) -> int:
        return int(self.weights.size)

    @functools.cached_property
    def draw_ids(self) -> np.ndarray:
        """The distinct posterior-draw indices (K,), ascending; empty without draws."""
        if self.draws is None:
            return np.zeros(0, dtype=np.int64)
        return np.unique(self.draws)

    @property
    def n_draws(self) -> int:
        """K, the number of distinct posterior draws (0 without a ``draw`` field)."""
        return int(self.draw_ids.size)

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

    def sorted_order(
        self, name: str, region: Region, window: tuple[float, float] | None = None
    ) -> np.ndarray:
        """Indices (M,) of the events of :meth:`column`, ordered by ascending value.

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
        if window is not None:
            lo, hi = np.searchsorted(self.values[name][order], window, side="left")
            order = order[lo:hi]
        return order

    def sorted_column(
        self, name: str, region: Region, window: tuple[float, float] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """As :meth:`column`, with the values sorted ascending and the weights in that order
        (see :meth:`sorted_order`)."""
        order = self.sorted_order(name, region, window)
        return self.values[name][order], self.weights[order]

    def summary(self) -> dict[str, object]:
        """Counts for metrics.json: events, sum of weights, multiplicity fractions."""
        total = float(self.weights.sum())
        out: dict[str, object] = {
            "n_events": self.n_events,
            "sum_weights": total,
            "weighted": self.weighted,
            "has_jets": self.has_jets,
            "posterior_draws": self.draw_summary(),
        }
        if self.has_jets:
            out["jet_multiplicity_fractions"] = {
                f"{n}j": float(self.weights[self.n_jets == n].sum() / total) if total else 0.0
                for n in np.unique(self.n_jets).tolist()
            }
        return out

    def draw_summary(self) -> dict[str, int] | None:
        """``{n_draws, min_events_per_draw, max_events_per_draw}``, or None without draws."""
        if self.draws is None:
            return None
        _, counts = np.unique(self.draws, return_counts=True)
        return {
            "n_draws": int(counts.size),
            "min_events_per_draw": int(counts.min()) if counts.size else 0,
            "max_events_per_draw": int(counts.max()) if counts.size else 0,
        }


def evaluate_sample(events: ak.Array, observables: Sequence[Observable], label: str) -> Sample:
    """Evaluate each observable once on ``events``.

    A ``draw`` field (posterior-draw index per event) is kept as :attr:`Sample.draws`.

    Raises:
        HepgenInputError: non-finite weights, draw indices that are not integers >= 0, or a
            non-finite observable value where it is
            defined (counted, with the observable named) — never silently replaced.
    """
    weights = event_weights(events)
    bad = int(np.sum(~np.isfinite(weights)))
    if bad:
        raise HepgenInputError(
            f"{label}: {bad} of {weights.size} event weights are not finite; fix or drop them"
        )
    draws = event_draws(events, label)
    sample = Sample(label, weights, n_jets(events), has_jets(events), draws=draws)
    view = EventView.of(events)  # the objects once, for every observable
    for obs in observables:
        values, defined = obs.evaluate(view)
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
