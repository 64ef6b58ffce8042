"""The observable catalogue: pure functions of the event record, with name, unit, label, binning.

Each :class:`Observable` maps an events array (see :mod:`hepgen.physics.events`) of length N to
``(values, defined)``: float64 values of shape (N,) and a boolean mask of shape (N,) that is True
where the observable exists (e.g. ``j2_pt`` only for events with at least two jets). Values
where ``defined`` is False are NaN and must not be used.

All physics formulas live in this module (and :mod:`hepgen.physics.events`); plotting, I/O and
preprocessing call them, never re-derive them. Four-vector algebra is scikit-hep ``vector`` on
awkward arrays. Conventions: momenta and masses in GeV, angles in rad; azimuthal differences
are wrapped to (-pi, pi] by :func:`wrap_phi`; pair observables are ``a - b`` for the pair named
``<kind>_<a>_<b>`` (objects ordered mu1, mu2, j1, j2, j3).

The catalogue (the Z + jets observables of arXiv 2110.13632, plus jet masses and the pT balance):

- per object ``{mu1,mu2,j1,j2,j3}_{pt,eta,phi}`` and ``{j1,j2,j3}_mass`` (muon masses are the
  constant :data:`~hepgen.physics.constants.MUON_MASS` and are not histogrammed);
- the dimuon system ``m_mumu`` (with the Z window as a zoom), ``pt_mumu``, ``y_mumu``;
- the jet system ``n_jets``, ``ht`` (scalar sum of jet pT), ``m_jj`` (leading two jets) and
  ``pt_balance`` (|vector sum of the pT of both muons and all jets|);
- for every pair of (mu1, mu2, j1, j2, j3): ``deta_a_b``, ``dphi_a_b``, ``dR_a_b``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import combinations

import awkward as ak
import numpy as np
import vector

from hepgen.physics.constants import (
    JET_ABS_ETA_MAX,
    MAX_JETS,
    MIN_JETS,
    MLL_MAX,
    MLL_MIN,
    Z_WINDOW,
)
from hepgen.physics.errors import HepgenInputError
from hepgen.physics.events import has_jets, n_jets

vector.register_awkward()

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
        needs_jet_collection: the record must carry ``Jet`` even if ``min_jets == 0``
            (``n_jets`` is defined for events without jets, but not for a dimuon-only record).
    """

    name: str
    label: str
    unit: str
    func: ObservableFunc
    binning: Binning
    min_jets: int = 0
    windows: tuple[tuple[float, float], ...] = ()
    needs_jet_collection: bool = False

    def available(self, events: ak.Array) -> bool:
        """Whether the record has the collections this observable needs."""
        needs_jets = self.min_jets > 0 or self.needs_jet_collection
        return not needs_jets or has_jets(events)

    def evaluate(self, events: ak.Array) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(values, defined)``, both shape (N,); raise if the record lacks a collection."""
        if not self.available(events):
            raise HepgenInputError(
                f"observable {self.name!r} needs the Jet collection, which this record lacks"
            )
        values, defined = self.func(events)
        return np.asarray(values, dtype=np.float64), np.asarray(defined, dtype=bool)

    @property
    def axis_label(self) -> str:
        """Label with unit, e.g. ``$m_{\\mu\\mu}$ [GeV]``."""
        return f"{self.label} [{self.unit}]" if self.unit else self.label


# --------------------------------------------------------------------------------------------
# Pure physics functions (one formula, one place)
# --------------------------------------------------------------------------------------------


def wrap_phi(phi: np.ndarray) -> np.ndarray:
    """Wrap azimuthal angles [rad] of any shape into (-pi, pi]; +-pi both map to +pi.

    Angles already in (-pi, pi] are returned unchanged (bit for bit); others become
    ``pi - ((pi - phi) mod 2 pi)``, with a rounding of the modulo up to 2 pi folded back, so the
    result always lies in (-pi, pi]. Returns a new float64 array of the input's shape.
    """
    phi = np.asarray(phi, dtype=np.float64)
    wrapped = np.pi - np.mod(np.pi - phi, 2.0 * np.pi)
    wrapped = np.where(wrapped <= -np.pi, wrapped + 2.0 * np.pi, wrapped)
    return np.where((phi > -np.pi) & (phi <= np.pi), phi, wrapped)


def delta_phi(phi_a: np.ndarray, phi_b: np.ndarray) -> np.ndarray:
    """Azimuthal difference ``phi_a - phi_b`` [rad] wrapped to (-pi, pi] (broadcasting shapes)."""
    return wrap_phi(np.asarray(phi_a, dtype=np.float64) - np.asarray(phi_b, dtype=np.float64))


def delta_r(eta_a: np.ndarray, phi_a: np.ndarray, eta_b: np.ndarray, phi_b: np.ndarray
            ) -> np.ndarray:
    """Delta R = sqrt(Delta eta^2 + Delta phi^2) of plain arrays (broadcasting shapes); NaN
    where an input is NaN (e.g. padding for a missing jet). The catalogue's Delta R
    observables use scikit-hep vector's ``deltaR`` on the event record."""
    return np.hypot(np.asarray(eta_a, dtype=np.float64) - eta_b, delta_phi(phi_a, phi_b))


#: Objects of the catalogue: name -> (collection, index in the pT-ordered collection).
OBJECTS: dict[str, tuple[str, int]] = {
    "mu1": ("Muon", 0),
    "mu2": ("Muon", 1),
    **{f"j{i + 1}": ("Jet", i) for i in range(MAX_JETS)},
}

_OBJECT_LABELS: dict[str, str] = {
    "mu1": r"\mu_1",
    "mu2": r"\mu_2",
    **{f"j{i + 1}": f"j_{i + 1}" for i in range(MAX_JETS)},
}


def _object(events: ak.Array, name: str) -> ak.Array:
    """The Momentum4D array (N,) of object ``name``; every event must contain it."""
    collection, index = OBJECTS[name]
    return events[collection][:, index]


def _jets_needed(names: Iterable[str]) -> int:
    """Jets an expression in these objects needs (the highest jet index among them)."""
    return max((OBJECTS[n][1] + 1 for n in names if OBJECTS[n][0] == "Jet"), default=0)


def _muons_needed(names: Iterable[str]) -> int:
    return max((OBJECTS[n][1] + 1 for n in names if OBJECTS[n][0] == "Muon"), default=0)


def objects_present(events: ak.Array, names: Iterable[str]) -> np.ndarray:
    """Boolean mask (N,): True where every named object exists (e.g. ``("mu1", "j2")``)."""
    names = tuple(names)
    mask = ak.to_numpy(ak.num(events.Muon, axis=1)) >= _muons_needed(names)
    jets = _jets_needed(names)
    if jets:
        mask = mask & (n_jets(events) >= jets)
    return np.asarray(mask, dtype=bool)


def _on_defined(
    events: ak.Array, names: Iterable[str], expression: Callable[[ak.Array], ak.Array]
) -> tuple[np.ndarray, np.ndarray]:
    """Evaluate ``expression`` on the events where all named objects exist; NaN elsewhere."""
    defined = objects_present(events, names)
    values = np.full(len(events), np.nan, dtype=np.float64)
    if defined.any():
        subset = events[defined] if not defined.all() else events
        values[defined] = ak.to_numpy(expression(subset)).astype(np.float64)
    return values, defined


def dimuon(events: ak.Array) -> ak.Array:
    """The dimuon system mu1 + mu2 (Momentum4D, shape (N,)); every event needs two muons."""
    return _object(events, "mu1") + _object(events, "mu2")


def _object_field(name: str, field: str) -> ObservableFunc:
    return lambda ev: _on_defined(ev, (name,), lambda e: getattr(_object(e, name), field))


def _pair_func(a: str, b: str, kind: str) -> ObservableFunc:
    def expression(ev: ak.Array) -> ak.Array:
        va, vb = _object(ev, a), _object(ev, b)
        if kind == "deta":
            return va.deltaeta(vb)
        if kind == "dphi":
            return delta_phi(ak.to_numpy(va.phi), ak.to_numpy(vb.phi))
        return va.deltaR(vb)

    return lambda ev: _on_defined(ev, (a, b), expression)


def _m_mumu(events: ak.Array) -> tuple[np.ndarray, np.ndarray]:
    return _on_defined(events, ("mu1", "mu2"), lambda e: dimuon(e).mass)


def _pt_mumu(events: ak.Array) -> tuple[np.ndarray, np.ndarray]:
    return _on_defined(events, ("mu1", "mu2"), lambda e: dimuon(e).pt)


def _y_mumu(events: ak.Array) -> tuple[np.ndarray, np.ndarray]:
    return _on_defined(events, ("mu1", "mu2"), lambda e: dimuon(e).rapidity)


def _m_jj(events: ak.Array) -> tuple[np.ndarray, np.ndarray]:
    return _on_defined(events, ("j1", "j2"), lambda e: (_object(e, "j1") + _object(e, "j2")).mass)


def _ht(events: ak.Array) -> tuple[np.ndarray, np.ndarray]:
    return _on_defined(events, ("j1",), lambda e: ak.sum(e.Jet.pt, axis=1))


def _pt_balance(events: ak.Array) -> tuple[np.ndarray, np.ndarray]:
    def balance(e: ak.Array) -> ak.Array:
        return (dimuon(e) + ak.sum(e.Jet, axis=1)).pt

    return _on_defined(events, ("mu1", "mu2", "j1"), balance)


def _n_jets(events: ak.Array) -> tuple[np.ndarray, np.ndarray]:
    return n_jets(events).astype(np.float64), np.ones(len(events), dtype=bool)


# --------------------------------------------------------------------------------------------
# Default binnings (presentation choices, not physics)
# --------------------------------------------------------------------------------------------

#: Bins of a default histogram.
N_BINS: int = 50
#: m_mumu bins over the full generated range [MLL_MIN, MLL_MAX] (1 GeV wide).
N_BINS_MLL: int = 100
#: Quantile range for steeply falling spectra (pT, masses, H_T, Delta R): start at the minimum.
FALLING_QUANTILES: tuple[float, float] = (0.0, 0.99)
#: Quantile range for two-sided distributions (eta, rapidity, Delta eta).
CENTRAL_QUANTILES: tuple[float, float] = (0.001, 0.999)

_PHI_BINNING = Binning("fixed", N_BINS, -np.pi, np.pi)
_FALLING_BINNING = Binning("quantile", N_BINS, *FALLING_QUANTILES)
_CENTRAL_BINNING = Binning("quantile", N_BINS, *CENTRAL_QUANTILES)
_JET_ETA_BINNING = Binning("fixed", N_BINS, -JET_ABS_ETA_MAX, JET_ABS_ETA_MAX)


# --------------------------------------------------------------------------------------------
# The catalogue
# --------------------------------------------------------------------------------------------


def _object_observables() -> list[Observable]:
    """``<obj>_{pt,eta,phi}`` for every object and ``<jet>_mass`` for jets."""
    out: list[Observable] = []
    for name, (collection, _) in OBJECTS.items():
        jets = _jets_needed((name,))
        sub = _OBJECT_LABELS[name]
        is_jet = collection == "Jet"
        specs = [
            ("pt", rf"$p_{{T,{sub}}}$", "GeV", _FALLING_BINNING),
            ("eta", rf"$\eta_{{{sub}}}$", "", _JET_ETA_BINNING if is_jet else _CENTRAL_BINNING),
            ("phi", rf"$\phi_{{{sub}}}$", "rad", _PHI_BINNING),
        ]
        if is_jet:
            specs.append(("mass", rf"$m_{{{sub}}}$", "GeV", _FALLING_BINNING))
        out += [
            Observable(f"{name}_{field}", label, unit, _object_field(name, field), binning, jets)
            for field, label, unit, binning in specs
        ]
    return out


def _system_observables() -> list[Observable]:
    """Dimuon system and jet-system observables."""
    return [
        Observable(
            "m_mumu", r"$m_{\mu\mu}$", "GeV", _m_mumu,
            Binning("fixed", N_BINS_MLL, MLL_MIN, MLL_MAX), 0, (Z_WINDOW,),
        ),
        Observable("pt_mumu", r"$p_{T,\mu\mu}$", "GeV", _pt_mumu, _FALLING_BINNING),
        Observable("y_mumu", r"$y_{\mu\mu}$", "", _y_mumu, _CENTRAL_BINNING),
        Observable(
            "n_jets", r"$n_\mathrm{jets}$", "", _n_jets,
            Binning("integer", MAX_JETS - MIN_JETS + 1, MIN_JETS, MAX_JETS),
            needs_jet_collection=True,
        ),
        Observable("ht", r"$H_T$", "GeV", _ht, _FALLING_BINNING, 1),
        Observable("m_jj", r"$m_{j_1 j_2}$", "GeV", _m_jj, _FALLING_BINNING, 2),
        Observable(
            "pt_balance", r"$|\sum \vec{p}_{T}|_{\mu\mu + \mathrm{jets}}$", "GeV", _pt_balance,
            _FALLING_BINNING, 1,
        ),
    ]


_PAIR_KINDS: dict[str, tuple[str, str, Binning]] = {
    "deta": (r"\Delta\eta", "", _CENTRAL_BINNING),
    "dphi": (r"\Delta\phi", "rad", _PHI_BINNING),
    "dR": (r"\Delta R", "", _FALLING_BINNING),
}


def _pair_observables() -> list[Observable]:
    """``deta_a_b``, ``dphi_a_b``, ``dR_a_b`` for every pair of objects (a before b)."""
    out: list[Observable] = []
    for a, b in combinations(OBJECTS, 2):
        sub = f"{_OBJECT_LABELS[a]} {_OBJECT_LABELS[b]}"
        for kind, (symbol, unit, binning) in _PAIR_KINDS.items():
            out.append(
                Observable(
                    f"{kind}_{a}_{b}", rf"${symbol}_{{{sub}}}$", unit, _pair_func(a, b, kind),
                    binning, _jets_needed((a, b)),
                )
            )
    return out


# The catalogue: name -> Observable, in display order.
CATALOGUE: dict[str, Observable] = {
    o.name: o for o in _object_observables() + _system_observables() + _pair_observables()
}


def catalogue() -> dict[str, Observable]:
    """The full observable catalogue, name -> Observable, in display order."""
    return dict(CATALOGUE)


def available_observables(events: ak.Array) -> tuple[list[Observable], list[Observable]]:
    """Split the catalogue into (available for this record, skipped: needs missing collections)."""
    obs = list(CATALOGUE.values())
    return [o for o in obs if o.available(events)], [o for o in obs if not o.available(events)]


def evaluate_all(
    events: ak.Array, names: Iterable[str] | None = None
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Evaluate observables on an events record of length N.

    Args:
        events: hepgen event record (see :mod:`hepgen.physics.events`).
        names: observable names; None means every observable available for this record
            (jet observables are skipped for a dimuon-only record).

    Returns:
        name -> (values float64 (N,), defined bool (N,)), in catalogue order for ``names=None``,
        else in the order given.

    Raises:
        HepgenInputError: an unknown name, or a name whose collection the record lacks.
    """
    if names is None:
        selected = available_observables(events)[0]
    else:
        names = list(names)
        unknown = [n for n in names if n not in CATALOGUE]
        if unknown:
            raise HepgenInputError(
                f"unknown observable(s) {unknown}; known: {', '.join(CATALOGUE)}"
            )
        selected = [CATALOGUE[n] for n in names]
    return {o.name: o.evaluate(events) for o in selected}
