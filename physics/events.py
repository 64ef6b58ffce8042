"""The in-memory event record: awkward arrays of scikit-hep ``vector`` Momentum4D objects.

An *events* array is an ``ak.Array`` of length N (events) with fields

- ``Muon``: ``var * Momentum4D{pt, eta, phi, mass, charge}`` — pT-ordered, pT/mass in GeV,
  ``charge`` int32 in {-1, +1}; muon mass is :data:`~hepgen.physics.constants.MUON_MASS`.
- ``Jet`` (optional; absent for dimuon-only files): ``var * Momentum4D{pt, eta, phi, mass}``,
  pT-ordered.
- ``weight`` (optional): float64 per-event weight; absent means unit weights.
- ``draw`` (optional): int32 posterior-draw index 0..K-1 of each event, for samples of Bayesian
  generators (K blocks of events, one per draw of the network weights); absent otherwise.

Every other module (observables, preprocessing, I/O, validation) speaks this record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import awkward as ak
import numpy as np
import vector

from hepgen.physics.constants import (
    JET_ABS_ETA_MAX,
    JET_PT_MIN,
    MAX_JETS,
    MIN_JETS,
    MUON_MASS,
    SQRT_S,
)
from hepgen.physics.errors import HepgenInputError, HepgenNoEventsError

vector.register_awkward()

#: Kinematic fields of a Momentum4D collection, in the order hepgen stores them.
KINEMATIC_FIELDS: tuple[str, ...] = ("pt", "eta", "phi", "mass")


def _as_jagged(values: object, counts: np.ndarray | None) -> ak.Array:
    arr = ak.Array(values) if not isinstance(values, ak.Array) else values
    if arr.ndim == 1 and counts is not None:
        arr = ak.unflatten(arr, counts)
    return arr


def make_collection(fields: Mapping[str, object], *, sort: bool = True) -> ak.Array:
    """Zip jagged per-object arrays into a pT-ordered ``Momentum4D`` collection.

    Args:
        fields: ``pt``, ``eta``, ``phi``, ``mass`` (GeV, rad), plus optional extras such as
            ``charge``; each a jagged array of shape (N, var). Missing ``mass`` is an error here:
            callers fill constants (e.g. the muon mass) explicitly.
        sort: order objects by descending pT within each event.
    """
    zipped = ak.zip(
        {name: ak.values_astype(fields[name], np.float64) for name in KINEMATIC_FIELDS}
        | {name: fields[name] for name in fields if name not in KINEMATIC_FIELDS},
        with_name="Momentum4D",
    )
    if sort:
        zipped = zipped[ak.argsort(zipped.pt, axis=1, ascending=False, stable=True)]
    return zipped


def build_events(
    muon: Mapping[str, object],
    jet: Mapping[str, object] | None = None,
    weight: np.ndarray | None = None,
    draw: np.ndarray | None = None,
) -> ak.Array:
    """Build the hepgen event record from per-object arrays.

    Args:
        muon: ``pt``, ``eta``, ``phi``, ``charge`` and optionally ``mass`` (default
            :data:`MUON_MASS`), jagged (N, var).
        jet: ``pt``, ``eta``, ``phi``, ``mass``, jagged (N, var), or None for dimuon-only data.
        weight: per-event weights, shape (N,), or None for unit weights.
        draw: per-event posterior-draw indices (N,), integers >= 0 (stored as int32), or None.

    Returns:
        events array of length N (see module docstring).
    """
    mu = dict(muon)
    if "mass" not in mu:
        mu["mass"] = ak.ones_like(mu["pt"], dtype=np.float64) * MUON_MASS
    mu["charge"] = ak.values_astype(mu["charge"], np.int32)
    contents: dict[str, ak.Array] = {"Muon": make_collection(mu)}
    if jet is not None:
        contents["Jet"] = make_collection(jet)
    if weight is not None:
        contents["weight"] = ak.Array(np.asarray(weight, dtype=np.float64))
    if draw is not None:
        contents["draw"] = ak.Array(checked_draws(draw, "build_events"))
    return ak.zip(contents, depth_limit=1)


def checked_draws(draw: object, source: str = "draw") -> np.ndarray:
    """Posterior-draw indices ``draw`` (N,) as int32, after checking that they are integers in
    [0, 2**31); ``source`` names them in the :class:`HepgenInputError` raised otherwise."""
    arr = np.asarray(draw)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise HepgenInputError(
            f"{source}: 'draw' has dtype {arr.dtype} and shape {arr.shape}; expected one integer "
            "posterior-draw index 0..K-1 per event"
        )
    if arr.size and (arr.min() < 0 or arr.max() > np.iinfo(np.int32).max):
        raise HepgenInputError(
            f"{source}: 'draw' has values in [{arr.min()}, {arr.max()}]; expected posterior-draw "
            "indices 0..K-1"
        )
    return arr.astype(np.int32)


def event_draws(events: ak.Array, source: str = "events") -> np.ndarray | None:
    """Per-event posterior-draw indices (N,), int64, or None when the record has no ``draw``.

    Raises:
        HepgenInputError: the field does not hold integers in [0, 2**31) (see
            :func:`checked_draws`; ``source`` names the record in the message).
    """
    if "draw" not in ak.fields(events):
        return None
    return checked_draws(ak.to_numpy(events["draw"]), source).astype(np.int64)


def has_jets(events: ak.Array) -> bool:
    """True when the record carries a ``Jet`` collection."""
    return "Jet" in ak.fields(events)


def n_jets(events: ak.Array) -> np.ndarray:
    """Number of jets per event, shape (N,), int64 (zeros if the record has no jets)."""
    if not has_jets(events):
        return np.zeros(len(events), dtype=np.int64)
    return ak.to_numpy(ak.num(events.Jet, axis=1)).astype(np.int64)


def event_weights(events: ak.Array) -> np.ndarray:
    """Per-event weights, shape (N,), float64 (ones when the record has none)."""
    if "weight" in ak.fields(events):
        return ak.to_numpy(events["weight"]).astype(np.float64)
    return np.ones(len(events), dtype=np.float64)


def with_weights(events: ak.Array, weight: np.ndarray) -> ak.Array:
    """Return a copy of ``events`` with the ``weight`` field set to ``weight`` (N,)."""
    return ak.with_field(events, ak.Array(np.asarray(weight, dtype=np.float64)), "weight")


@dataclass
class SelectionReport:
    """Counts of events read, kept and skipped (with reasons): skipped events are not errors."""

    n_read: int = 0
    n_kept: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def add(self, other: SelectionReport) -> None:
        """Accumulate another chunk's counts into this one."""
        self.n_read += other.n_read
        self.n_kept += other.n_kept
        for reason, count in other.skipped.items():
            self.skipped[reason] = self.skipped.get(reason, 0) + count

    @property
    def n_skipped(self) -> int:
        return sum(self.skipped.values())

    def summary(self) -> str:
        """One log line, e.g. ``read 1000, kept 950, skipped 50 (fewer than two muons: 50)``."""
        text = f"read {self.n_read}, kept {self.n_kept}, skipped {self.n_skipped}"
        if self.skipped:
            text += " (" + ", ".join(f"{k}: {v}" for k, v in self.skipped.items() if v) + ")"
        return text


def select_dimuon(events: ak.Array) -> tuple[ak.Array, dict[str, int]]:
    """Keep the leading opposite-charge muon pair of each event; drop events without one.

    Events with more than two muons (e.g. a photon from the Z splitting into a muon pair) keep
    the first opposite-charge pair in pT order: the leading muon with its highest-pT
    opposite-charge partner, else the next muon, and so on.

    Returns:
        (events with exactly two pT-ordered muons, {skip reason: count}).
    """
    muons = events.Muon
    pairs = ak.argcombinations(muons, 2, axis=1)
    i, j = ak.unzip(pairs)
    opposite = muons.charge[i] != muons.charge[j]
    first = ak.firsts(pairs[opposite], axis=1)
    has_pair = ~ak.is_none(first)
    n_few = int(ak.sum(ak.num(muons, axis=1) < 2))
    n_same_sign = int(len(events) - ak.sum(has_pair)) - n_few
    kept = events[has_pair]
    first = ak.drop_none(first[has_pair])  # option-free, so the muons keep a plain record type
    i0, j0 = first["0"], first["1"]
    idx = ak.from_regular(ak.concatenate([i0[:, None], j0[:, None]], axis=1), axis=1)
    kept = ak.with_field(kept, kept.Muon[idx], "Muon")
    skipped = {"fewer than two muons": n_few, "no opposite-charge muon pair": n_same_sign}
    return kept, {k: v for k, v in skipped.items() if v}


def select_jet_multiplicity(
    events: ak.Array, min_jets: int = MIN_JETS, max_jets: int = MAX_JETS
) -> tuple[ak.Array, dict[str, int]]:
    """Keep events with ``min_jets <= n_jets <= max_jets``; a record without jets passes as is."""
    if not has_jets(events):
        return events, {}
    nj = n_jets(events)
    keep = (nj >= min_jets) & (nj <= max_jets)
    n_skip = int(np.sum(~keep))
    skipped = {f"jet count outside {min_jets}-{max_jets}": n_skip} if n_skip else {}
    return events[keep], skipped


def select(
    events: ak.Array,
    *,
    require_jets: bool = True,
    min_jets: int = MIN_JETS,
    max_jets: int = MAX_JETS,
) -> tuple[ak.Array, SelectionReport]:
    """Apply the hepgen event selection: a leading opposite-charge muon pair and, where the record
    has jets and ``require_jets``, a jet count in [min_jets, max_jets]. Skipped events are
    counted."""
    report = SelectionReport(n_read=len(events))
    events, skipped = select_dimuon(events)
    report.skipped.update(skipped)
    if require_jets:
        events, skipped = select_jet_multiplicity(events, min_jets, max_jets)
        report.skipped.update(skipped)
    report.n_kept = len(events)
    return events, report


def require_events(events: ak.Array, source: str, report: SelectionReport | None = None) -> None:
    """Raise :class:`HepgenNoEventsError` naming ``source`` when no event is left."""
    if len(events) == 0:
        detail = f" ({report.summary()})" if report is not None else ""
        raise HepgenNoEventsError(f"{source}: no event left after selection{detail}")


def in_reference_phase_space(events: ak.Array) -> np.ndarray:
    """Events inside the phase space of the reference data set ``zjets-13tev``: every jet with
    pT >= JET_PT_MIN and |eta| < JET_ABS_ETA_MAX and mass >= 0, MIN_JETS <= n_jets <= MAX_JETS,
    all muon and jet pT, eta, phi finite, and no muon or jet with more energy than a beam,
    SQRT_S / 2 (in the pp centre-of-mass frame no final-state particle can carry more; the
    reference files' most energetic muon has 4.9 TeV, while a flow's far tail can put a
    muon at |eta| = 13 with 10^8 GeV: measured for the shipped default 42 such events in 10^6
    generated). Returns bool (N,).

    Evaluated on the flat object arrays (this runs on every generated chunk: twice as fast as
    per-field awkward reductions with vector's energy)."""
    counts = n_jets(events)
    bad = np.zeros(len(events), dtype=bool)
    for collection, is_jet in ((events.Jet, True), (events.Muon, False)):
        flat = {f: ak.to_numpy(ak.flatten(collection[f])).astype(np.float64, copy=False)
                for f in ("pt", "eta", "phi", *(("mass",) if is_jet else ()))}
        mass = flat["mass"] if is_jet else MUON_MASS
        with np.errstate(over="ignore", invalid="ignore"):  # cosh(huge) -> inf: rejected
            energy2 = np.square(flat["pt"] * np.cosh(flat["eta"])) + np.square(mass)
            ok = (np.isfinite(flat["pt"]) & np.isfinite(flat["eta"]) & np.isfinite(flat["phi"])
                  & (energy2 <= (SQRT_S / 2) ** 2))
            if is_jet:
                ok &= ((flat["pt"] >= JET_PT_MIN) & (np.abs(flat["eta"]) < JET_ABS_ETA_MAX)
                       & (flat["mass"] >= 0))
        owner = np.repeat(np.arange(len(events)), ak.to_numpy(ak.num(collection, axis=1)))
        bad |= np.bincount(owner, weights=~ok, minlength=len(events)) > 0
    return ~bad & (counts >= MIN_JETS) & (counts <= MAX_JETS)

