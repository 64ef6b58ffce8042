"""Jets along a muon: dressing a muon with its collinear jet, and the inverse split.

In the reference data set about 3.5 % of 2-jet events have their second jet within
Delta R 0.2 of a muon (photons the muon radiated, clustered with a little hadronic activity:
median jet mass ~3 GeV, 7 % exactly massless; benchmarks/RESULTS.md, "Jets along a muon").
The recoil representation computes the muon direction from the pT balance *after* all jets, so
no per-jet map can centre such a jet on its muon, and the chain generates it ~7x too rarely.

Here such an event is factorised (in the spirit of the FSR-splitting of parton showers) into

* a *core* event: the muon *dressed* with the jet (3-momenta added, muon mass kept) and the
  jet removed, one jet fewer; the ordinary generator models these;
* a *split*: which core muon radiated (index in the core's pT order) and the jet's kinematics
  relative to the dressed muon: :func:`split_features`, 4 features, 4 conditions.

The map is a bijection between events and (core, split) given the rule of :func:`dress`: among
the non-leading jets (k >= 2) the highest-pT one within ``radius`` of a muon is dressed into
the nearer muon. The leading jet is never dressed (its collinear case is right already: the
recoil map's decay frame is built about it), so the core keeps >= 1 jet and the split jet stays
below the leading jet's pT. With ``mll_max`` (the generation window's upper edge) an event is
not dressed when the dressed dimuon mass would exceed it: the split jet's hadrons can lift the
dressed mass above the window (12 of 10^5 shipped training events, up to 220 GeV), and a
generator whose cores may leave the window cannot draw its edge. :func:`split_is_valid` checks
a generated split obeys the rule.

Arrays are float64; momenta in GeV, angles in rad.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import awkward as ak
import numpy as np
import vector

from hepgen.physics.constants import (
    JET_ABS_ETA_MAX,
    JET_PT_MIN,
    JET_RADIUS,
    MUON_MASS,
)
from hepgen.physics.events import KINEMATIC_FIELDS, build_events
from hepgen.physics.observables import delta_phi, delta_r, wrap_phi
from hepgen.physics.preprocessing import regular_array
from hepgen.physics.recoil import dequantized_mass

#: Default dressing radius: jets (k >= 2) closer than this to a muon are split off it.
DRESSING_RADIUS: float = 0.2
#: Features of a split, conditions of its kinematics, features of the split decision.
SPLIT_FEATURES = ("logit_z", "signed_deta", "dphi", "log_mass")
SPLIT_CONDITIONS = ("log_pt_dressed", "abs_eta_dressed", "log_pt_j1", "two_core_jets")
DECISION_FEATURES = ("log_pt_mu1", "abs_eta_mu1", "log_pt_mu2", "abs_eta_mu2", "log_m_mumu",
                     "log_pt_j1", "dr_mu1_j1", "dr_mu2_j1", "dr_mu1_j2", "dr_mu2_j2",
                     "two_core_jets")
#: Delta R put for a missing second core jet in the decision features.
NO_JET_DR = 6.0


@dataclass
class Split:
    """What :func:`dress` took out of each event: ``muon`` (N,) int64 is -1 (not dressed) or the
    index (0, 1) of the dressed muon in the core event's pT order; ``jet`` the removed jet's
    pt, eta, phi, mass, each (N,) float64 (NaN where not dressed)."""

    muon: np.ndarray
    jet: dict[str, np.ndarray]

    @property
    def mask(self) -> np.ndarray:
        return self.muon >= 0


def _momentum(pt: np.ndarray, eta: np.ndarray, phi: np.ndarray) -> vector.MomentumNumpy3D:
    """3-momenta (N,) [GeV] from pt, eta, phi (scikit-hep vector)."""
    return vector.array({"pt": pt, "eta": eta, "phi": phi})


def _muon_momentum(mu: dict[str, np.ndarray], rows: np.ndarray, i: np.ndarray
                   ) -> vector.MomentumNumpy3D:
    """3-momenta of muon ``i`` (per row) of rows ``rows``."""
    return _momentum(mu["pt"][rows, i], mu["eta"][rows, i], mu["phi"][rows, i])


def _set_muon(mu: dict[str, np.ndarray], rows: np.ndarray, i: np.ndarray,
              p: vector.MomentumNumpy3D) -> None:
    """Write 3-momenta ``p`` into muon ``i`` of rows ``rows`` (pt, eta, phi; mass is kept)."""
    for f in ("pt", "eta", "phi"):
        mu[f][rows, i] = getattr(p, f)


@dataclass
class Objects:
    """The muons (N, 2) and jets (N, 3; NaN-padded, pT-ordered) of events as float64 arrays
    per field (``charge`` too for muons): what the functions here compute on. Row selection
    is plain numpy indexing, so repeated work on subsets (a sampler's redraws) stays cheap."""

    mu: dict[str, np.ndarray]
    jets: dict[str, np.ndarray]

    @classmethod
    def of(cls, events: ak.Array | Objects) -> Objects:
        """From an event record (1-3 jets, two muons); an Objects comes back as it is."""
        if isinstance(events, Objects):
            return events
        mu = {f: regular_array(events.Muon[f], 2) for f in ("pt", "eta", "phi", "charge")}
        padded = ak.pad_none(events.Jet, 3, axis=1, clip=True)
        jets = {f: ak.to_numpy(ak.fill_none(padded[f], np.nan)).astype(np.float64)
                for f in KINEMATIC_FIELDS}
        return cls(mu, jets)

    def __len__(self) -> int:
        return len(self.mu["pt"])

    def __getitem__(self, rows: np.ndarray) -> Objects:
        return Objects({f: v[rows] for f, v in self.mu.items()},
                       {f: v[rows] for f, v in self.jets.items()})

    def copy(self) -> Objects:
        return Objects({f: v.copy() for f, v in self.mu.items()},
                       {f: v.copy() for f, v in self.jets.items()})

    @property
    def n_jets(self) -> np.ndarray:
        return (~np.isnan(self.jets["pt"])).sum(axis=1)

    def record(self) -> ak.Array:
        """The event record (muons and jets pT-ordered on build)."""
        keep = ~np.isnan(self.jets["pt"])
        counts = keep.sum(axis=1)
        jet = {f: ak.unflatten(v[keep], counts) for f, v in self.jets.items()}
        mu = dict(self.mu)
        mu["charge"] = mu["charge"].astype(np.int32)
        muon = {f: ak.from_regular(ak.Array(v), axis=1) for f, v in mu.items()}
        return build_events(muon, jet)


def dress(events: ak.Array, radius: float = DRESSING_RADIUS, mll_max: float | None = None
          ) -> tuple[ak.Array, Split]:
    """Core events (every muon with a non-leading jet within ``radius`` dressed with it, the
    jet removed) and the :class:`Split` that :func:`undress` needs to restore them. Events
    without such a jet, and with ``mll_max`` [GeV] those whose dressed dimuon mass would exceed
    it, come back unchanged (their record rebuilt: Muon and Jet only)."""
    objects = Objects.of(events).copy()
    mu, jets = objects.mu, objects.jets
    n = len(objects)
    dr = delta_r(jets["eta"][:, :, None], jets["phi"][:, :, None],
                 mu["eta"][:, None, :], mu["phi"][:, None, :])  # (N, J, 2)
    nearest = np.argmin(np.where(np.isnan(dr), np.inf, dr), axis=2)  # (N, J)
    close = np.nan_to_num(dr.min(axis=2), nan=np.inf) < radius
    close[:, 0] = False  # the leading jet is never dressed
    has = close.any(axis=1)
    k = np.argmax(close, axis=1)  # first = highest-pT close jet
    rows = np.nonzero(has)[0]
    jet = {f: np.full(n, np.nan) for f in KINEMATIC_FIELDS}
    for f in KINEMATIC_FIELDS:
        jet[f][rows] = jets[f][rows, k[rows]]
    i = nearest[rows, k[rows]]
    dressed = _muon_momentum(mu, rows, i) + _momentum(jet["pt"][rows], jet["eta"][rows],
                                                      jet["phi"][rows])
    if mll_max is not None:
        keep = _dimuon_mass(mu, rows, i, dressed) <= mll_max
        for f in KINEMATIC_FIELDS:
            jet[f][rows[~keep]] = np.nan
        rows, i, dressed = rows[keep], i[keep], dressed[keep]
    _set_muon(mu, rows, i, dressed)
    for f in KINEMATIC_FIELDS:
        jets[f][rows, k[rows]] = np.nan
    return objects.record(), Split(_core_index(mu, rows, i, n), jet)


def _dimuon_mass(mu: dict[str, np.ndarray], rows: np.ndarray, i: np.ndarray,
                 p_i: vector.MomentumNumpy3D) -> np.ndarray:
    """m_mumu [GeV] (M,) of rows ``rows`` with muon ``i`` (M,) given the 3-momentum ``p_i``
    (the other muon as it is; both with the muon mass)."""
    o = 1 - i
    mass = np.full(len(rows), MUON_MASS)
    mine = vector.array({"pt": p_i.pt, "eta": p_i.eta, "phi": p_i.phi, "mass": mass})
    other = vector.array({"pt": mu["pt"][rows, o], "eta": mu["eta"][rows, o],
                          "phi": mu["phi"][rows, o], "mass": mass})
    return np.asarray((mine + other).mass)


def _core_index(mu: dict[str, np.ndarray], rows: np.ndarray, i: np.ndarray, n: int
                ) -> np.ndarray:
    """Index of muon ``i`` of rows ``rows`` after ordering the two muons by pT (stable)."""
    out = np.full(n, -1, dtype=np.int64)
    other = 1 - i
    pt_i, pt_o = mu["pt"][rows, i], mu["pt"][rows, other]
    # build_events sorts descending and stable: the first muon wins ties
    first = (pt_i > pt_o) | ((pt_i == pt_o) & (i == 0))
    out[rows] = np.where(first, 0, 1)
    return out


def undress(core: ak.Array | Objects, split: Split) -> ak.Array:
    """The events :func:`dress` factorised: the split jets back, their muons' momenta reduced
    by them (muon mass kept). Rows with ``split.muon == -1`` come back unchanged."""
    objects = Objects.of(core)
    mu, jets = {f: v.copy() for f, v in objects.mu.items()}, objects.jets
    rows = np.nonzero(split.mask)[0]
    i = split.muon[rows]
    _set_muon(mu, rows, i, _muon_momentum(mu, rows, i)
              - _momentum(split.jet["pt"][rows], split.jet["eta"][rows], split.jet["phi"][rows]))
    extra = {f: split.jet[f][:, None].copy() for f in KINEMATIC_FIELDS}
    for f in KINEMATIC_FIELDS:
        extra[f][~split.mask] = np.nan
    return Objects(mu, {f: np.concatenate([jets[f], extra[f]], axis=1) for f in jets}).record()


def _logit(z: np.ndarray) -> np.ndarray:
    return np.log(z) - np.log1p(-z)


def split_conditions(core: ak.Array | Objects, muon: np.ndarray) -> np.ndarray:
    """Conditions (N, 4) of the split kinematics of core events whose muon ``muon`` (N,)
    radiated: log pT [GeV] and |eta| of the dressed muon, log pT of the leading jet, and
    whether the core has 2 jets (1.0) or 1 (0.0)."""
    objects = Objects.of(core)
    mu, jets = objects.mu, objects.jets
    rows = np.arange(len(muon))
    return np.stack([np.log(mu["pt"][rows, muon]), np.abs(mu["eta"][rows, muon]),
                     np.log(jets["pt"][:, 0]), (objects.n_jets >= 2).astype(float)], axis=1)


def split_features(core: ak.Array | Objects, muon: np.ndarray, jet: dict[str, np.ndarray]
                   ) -> np.ndarray:
    """Features (N, 4) of split jets ``jet`` (fields (N,)) off muon ``muon`` (N,) of ``core``:

    * ``logit_z``: logit of z = pT(jet) / pT(dressed muon) (z in (0, 1) for collinear splits);
    * ``signed_deta``: (eta_jet - eta_dressed) * sign(eta_dressed), invariant under eta -> -eta;
    * ``dphi``: phi_jet - phi_dressed;
    * ``log_mass``: log(1 GeV + m), m dequantised below 0 for exactly massless jets.
    """
    mu = Objects.of(core).mu
    rows = np.arange(len(muon))
    pt_d, eta_d, phi_d = (mu[f][rows, muon] for f in ("pt", "eta", "phi"))
    sign = np.where(eta_d < 0, -1.0, 1.0)
    mass = dequantized_mass(jet["mass"][:, None], jet["pt"][:, None])[:, 0]
    return np.stack([_logit(jet["pt"] / pt_d), (jet["eta"] - eta_d) * sign,
                     delta_phi(jet["phi"], phi_d), np.log1p(mass)], axis=1)


def split_jet(core: ak.Array | Objects, muon: np.ndarray, x: np.ndarray) -> dict[str, np.ndarray]:
    """Inverse of :func:`split_features`: the split jets' pt, eta, phi, mass (N,) from
    features ``x (N, 4)``; generated masses below 0 become 0 (massless)."""
    mu = Objects.of(core).mu
    rows = np.arange(len(muon))
    pt_d, eta_d, phi_d = (mu[f][rows, muon] for f in ("pt", "eta", "phi"))
    sign = np.where(eta_d < 0, -1.0, 1.0)
    z = 1.0 / (1.0 + np.exp(-x[:, 0]))
    return {"pt": z * pt_d, "eta": eta_d + x[:, 1] * sign, "phi": wrap_phi(phi_d + x[:, 2]),
            "mass": np.maximum(np.expm1(x[:, 3]), 0.0)}


def split_is_valid(core: ak.Array | Objects, split: Split, radius: float = DRESSING_RADIUS,
                   mll_max: float | None = None) -> np.ndarray:
    """Rows (N,) whose split obeys the dressing rule, so that :func:`dress` of the undressed
    event gives back this core: the jet inside the reference phase space (pT, |eta|), below the
    leading jet's pT, at least JET_RADIUS from every core jet, within ``radius`` of the
    undressed muon and not nearer the other muon, above the pT of every non-leading core jet
    within ``radius`` of a muon; with ``mll_max`` [GeV] the core's dimuon mass
    (the dressed one) at most that. Rows without a split are valid."""
    objects = Objects.of(core)
    mu, jets = objects.mu, objects.jets
    rows = np.nonzero(split.mask)[0]
    ok = np.ones(len(split.muon), dtype=bool)
    if not len(rows):
        return ok
    i = split.muon[rows]
    j = {f: split.jet[f][rows] for f in KINEMATIC_FIELDS}
    p_mu = _muon_momentum(mu, rows, i) - _momentum(j["pt"], j["eta"], j["phi"])
    pt_mu, eta_mu, phi_mu = p_mu.pt, p_mu.eta, p_mu.phi
    o = 1 - i
    dr_own = delta_r(j["eta"], j["phi"], eta_mu, phi_mu)
    dr_other = delta_r(j["eta"], j["phi"], mu["eta"][rows, o], mu["phi"][rows, o])
    dr_jets = delta_r(j["eta"][:, None], j["phi"][:, None], jets["eta"][rows], jets["phi"][rows])
    # a core's non-leading jet along a muon (one the rule left, e.g. by mll_max) with more pT
    # than the split jet would be dressed first
    later = {f: jets[f][rows, 1:] for f in ("pt", "eta", "phi")}
    near = np.minimum(delta_r(later["eta"], later["phi"], eta_mu[:, None], phi_mu[:, None]),
                      delta_r(later["eta"], later["phi"], mu["eta"][rows, o][:, None],
                              mu["phi"][rows, o][:, None]))
    first = ~np.any((np.nan_to_num(near, nan=np.inf) < radius)
                    & (later["pt"] > j["pt"][:, None]), axis=1)
    good = (np.isfinite(pt_mu) & (pt_mu > 0) & np.isfinite(eta_mu)
            & (j["pt"] >= JET_PT_MIN) & (np.abs(j["eta"]) < JET_ABS_ETA_MAX)
            & (j["pt"] < jets["pt"][rows, 0]) & (dr_own < radius) & (dr_own <= dr_other)
            & np.all(np.nan_to_num(dr_jets, nan=np.inf) >= JET_RADIUS, axis=1) & first)
    if mll_max is not None:
        good &= _dimuon_mass(mu, rows, i, _muon_momentum(mu, rows, i)) <= mll_max
    ok[rows] = good
    return ok


def decision_features(core: ak.Array | Objects) -> np.ndarray:
    """Features (N, 11) of core events for the split decision, all invariant under the eta and
    phi reflections: log pT and |eta| of both muons, log m_mumu, log pT of the leading jet,
    Delta R of each muon to the first two jets (NO_JET_DR for a missing jet), 2-core-jet flag
    (the cores that may split have 1 or 2 jets)."""
    objects = Objects.of(core)
    mu, jets = objects.mu, objects.jets
    first, second = (vector.array({"pt": mu["pt"][:, a], "eta": mu["eta"][:, a],
                                   "phi": mu["phi"][:, a],
                                   "mass": np.full(len(objects), MUON_MASS)}) for a in (0, 1))
    # a pair is at least 2 m_mu heavy; rounding gave a pair far in a flow's tail (a muon at
    # eta -13 with 10^8 GeV, before the generators' beam-energy check) a mass^2 below zero
    pair_mass = np.maximum(np.nan_to_num(np.asarray((first + second).mass, dtype=np.float64),
                                         nan=2.0 * MUON_MASS), 2.0 * MUON_MASS)
    dr = [np.nan_to_num(delta_r(mu["eta"][:, a], mu["phi"][:, a], jets["eta"][:, k],
                                jets["phi"][:, k]), nan=NO_JET_DR)
          for a in (0, 1) for k in (0, 1)]
    return np.stack([np.log(mu["pt"][:, 0]), np.abs(mu["eta"][:, 0]), np.log(mu["pt"][:, 1]),
                     np.abs(mu["eta"][:, 1]), np.log(pair_mass),
                     np.log(jets["pt"][:, 0]), dr[0], dr[2], dr[1], dr[3],
                     (objects.n_jets >= 2).astype(float)], axis=1)


def _free_columns(names: tuple[str, ...]) -> list[int]:
    """Kinematic columns other than jet masses (``j<k>_mass``; the dimuon mass stays)."""
    return [i for i, name in enumerate(names) if not (name.startswith("j") and
                                                      name.endswith("_mass"))]


def split_log_jacobian(events: ak.Array, pre_n: Any, pre_core: Any,
                       radius: float = DRESSING_RADIUS, step: float = 1e-6,
                       mll_max: float | None = None) -> np.ndarray:
    """log |det d(k_core, s) / d k_n| (N,) of the dressing map at n-jet ``events`` that all
    dress: k_n, k_core the kinematic coordinates of the n-jet and (n-1)-jet preprocessors
    (``pre_n.kinematics``, ``pre_core.kinematics``), s the :func:`split_features`.

    Jet masses pass through unchanged (the core's) or into s only (the split jet's
    log(1 + m)), so their rows and columns factor out: the determinant is
    prod 1 / (1 + m_split) times that of the remaining (5 + 3 n)-square block, taken by central
    differences in float64 (relative step ``step``). Gives the density of the events in k_n from
    that of (core, split) (:meth:`hepgen.generators.event.EventGenerator.feature_log_prob`).
    """
    k = pre_n.kinematics(events)
    phi0, charge = pre_n.global_frame(events)
    free_in = _free_columns(pre_n.feature_names)
    free_core = _free_columns(pre_core.feature_names)

    def outputs(kk: np.ndarray) -> np.ndarray:
        core, split = dress(pre_n.events_from_kinematics(kk, phi0, charge), radius, mll_max)
        if not split.mask.all():
            raise ValueError("split_log_jacobian: an event stopped dressing under a step of "
                             f"{step:g}; lower the step")
        s = split_features(core, split.muon, split.jet)
        return np.concatenate([pre_core.kinematics(core)[:, free_core], s[:, :3]], axis=1)

    jac = np.empty((len(k), len(free_in), len(free_in)))
    for j, col in enumerate(free_in):
        h = step * np.maximum(1.0, np.abs(k[:, col]))
        up, down = k.copy(), k.copy()
        up[:, col] += h
        down[:, col] -= h
        jac[:, :, j] = (outputs(up) - outputs(down)) / (2.0 * h[:, None])
    _, log_det = np.linalg.slogdet(jac)
    _, split = dress(events, radius, mll_max)
    mass = dequantized_mass(split.jet["mass"][:, None], split.jet["pt"][:, None])[:, 0]
    return log_det - np.log1p(mass)
