"""Invertible map between hepgen events and the feature vectors the networks see.

The representation of the Z + jets precision-INN papers (arXiv 2110.13632), per jet multiplicity
n in {1, 2, 3}, with D = 5 + 4 n = 9 / 13 / 17 features in this order::

    mu1_pt, mu1_eta, mu2_pt, mu2_eta, mu2_phi, (j<k>_pt, j<k>_eta, j<k>_phi, j<k>_mass) for k = 1..n

1. Frame (event <-> array, :meth:`EventPreprocessor.kinematics`): every event is rotated about
   the beam axis so that the leading muon has phi = 0; that phi is dropped and nothing is stored
   (the physics is symmetric in global phi). Every other phi becomes ``delta_phi(phi, phi_mu1)``
   in (-pi, pi] (:func:`hepgen.physics.observables.delta_phi`). Muon masses (a constant) and
   charges are dropped; the inverse draws a uniform global phi and the leading muon's charge
   (with the positive fraction of the training set), or takes both as arrays for exact round trips.
2. Feature steps on float64 arrays of shape (N, D), each an exact bijection with its own domain
   (:mod:`hepgen.physics.feature_steps` documents each step, its domain and its inverse):
   muon pT -> ``log(pT)``; jet pT -> ``log(pT - jet_pt_min + delta)``; jet mass ->
   ``log(m + delta_m)``; phi -> ``artanh((1 - eps) phi / pi)``; then a per-feature
   standardisation fitted on the training set. :meth:`EventPreprocessor.fit` demands jet
   pT >= jet_pt_min of the training events.

Round trips are exact to float64 rounding: pT to ~1e-15 relative; eta, jet mass and phi
(modulo 2 pi) to ~1e-15 times their scale in absolute terms (standardisation shifts by the
mean, so values near 0 keep an absolute, not a relative, precision). Muon pT uses log(pT) with
no offset (muons have no cut). The fitted state is JSON (:meth:`EventPreprocessor.save`), never
a pickle. :mod:`hepgen.physics.recoil` is an alternative map with the same interface and
dimensions (the event's pT balance and the dimuon mass as features; the shipped default uses
it); :mod:`hepgen.physics.representations` picks one by name. This module computes no
four-vector physics itself: it reads pT/eta/phi/mass from the
record and uses :mod:`hepgen.physics.observables` for azimuthal differences.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, ClassVar

import awkward as ak
import numpy as np
import numpy.typing as npt

from hepgen.physics.constants import (
    JET_MASS_LOG_OFFSET,
    JET_PT_LOG_OFFSET,
    JET_PT_MIN,
    MAX_JETS,
    MIN_JETS,
    PHI_ARTANH_EPS,
)
from hepgen.physics.errors import HepgenInputError
from hepgen.physics.events import KINEMATIC_FIELDS, build_events, has_jets, n_jets
from hepgen.physics.feature_steps import (
    FeatureChain,
    FeatureStep,
    LogTransform,
    PhiArtanhTransform,
    ShiftedLogTransform,
    Standardise,
    check_features,
    require_finite,
)
from hepgen.physics.io.atomic import atomic_write_text
from hepgen.physics.observables import delta_phi, wrap_phi

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Muon features (the leading muon's phi is 0 by construction and dropped).
MUON_FEATURES: tuple[str, ...] = ("mu1_pt", "mu1_eta", "mu2_pt", "mu2_eta", "mu2_phi")


def feature_names(n_jets: int) -> tuple[str, ...]:
    """Names of the D = 5 + 4 n features for ``n_jets`` jets (kinematic meaning, frame-rotated)."""
    check_multiplicity(n_jets)
    jets = tuple(f"j{k}_{f}" for k in range(1, n_jets + 1) for f in KINEMATIC_FIELDS)
    return MUON_FEATURES + jets


def feature_dim(n_jets: int) -> int:
    """D = 9 / 13 / 17 for n = 1 / 2 / 3 jets."""
    return len(feature_names(n_jets))


def check_multiplicity(n: int) -> None:
    """Raise ValueError unless ``n`` is a modelled jet multiplicity (MIN_JETS..MAX_JETS)."""
    if not MIN_JETS <= n <= MAX_JETS:
        raise ValueError(f"n_jets must be in {MIN_JETS}..{MAX_JETS}, got {n}")


# --------------------------------------------------------------------------------------------
# Events <-> features
# --------------------------------------------------------------------------------------------


def split_by_multiplicity(events: ak.Array) -> dict[int, ak.Array]:
    """Split a record by jet count: {n: events with exactly n jets} for every n present
    (ascending; a dimuon-only record gives {0: events})."""
    counts = n_jets(events)
    return {int(n): events[counts == n] for n in np.unique(counts)}


def regular_array(values: ak.Array, width: int) -> FloatArray:
    """Jagged (N, var) with every row of length ``width`` -> float64 (N, width)."""
    flat = ak.to_numpy(ak.flatten(values, axis=1)).astype(np.float64)
    return flat.reshape(len(values), width)


def jagged_array(values: FloatArray) -> ak.Array:
    """Regular float64 (N, width) -> jagged awkward (N, var) rows, for building a record."""
    return ak.from_regular(ak.Array(values), axis=1)


class EventPreprocessor:
    """Events with exactly ``n_jets`` jets <-> standardised features (N, 5 + 4 n_jets).

    See the module docstring for the map (arXiv 2110.13632). Usage::

        pre = EventPreprocessor(2).fit(train_events)      # train_events: exactly 2 jets each
        x = pre.forward(events)                           # (N, 13) float64
        back = pre.inverse(x, rng=np.random.default_rng(1))
    """

    FORMAT: ClassVar[str] = "hepgen.preprocessing.EventPreprocessor"
    VERSION: ClassVar[int] = 1
    #: Name of the representation (``hepgen.physics.representations``).
    REPRESENTATION: ClassVar[str] = "particles"
    #: Whether :meth:`inverse` needs the leading muon's charge from outside the features.
    DRAWS_CHARGE: ClassVar[bool] = True
    #: Family of :meth:`kinematics` coordinates: densities from ``forward_and_log_det`` compare
    #: between representations of the same family (their kinematics differ by unit-Jacobian maps).
    COORDINATES: ClassVar[str] = "particles"

    def __init__(
        self,
        n_jets: int,
        *,
        jet_pt_min: float = JET_PT_MIN,
        jet_pt_offset: float = JET_PT_LOG_OFFSET,
        jet_mass_offset: float = JET_MASS_LOG_OFFSET,
        phi_eps: float = PHI_ARTANH_EPS,
    ) -> None:
        check_multiplicity(n_jets)
        self.n_jets, self.jet_pt_min = int(n_jets), float(jet_pt_min)
        self.jet_pt_offset, self.jet_mass_offset = float(jet_pt_offset), float(jet_mass_offset)
        self.phi_eps = float(phi_eps)
        #: Fraction of training events whose leading muon is positive (set by :meth:`fit`).
        self.positive_fraction: float | None = None
        self.chain = FeatureChain(self._steps())

    @property
    def feature_names(self) -> tuple[str, ...]:
        return feature_names(self.n_jets)

    @property
    def dim(self) -> int:
        return len(self.feature_names)

    def _columns(self, suffix: str, prefix: str) -> list[int]:
        return [i for i, n in enumerate(self.feature_names) if n.startswith(prefix) and
                n.endswith(suffix)]

    def _steps(self) -> list[FeatureStep]:
        d = self.dim
        return [
            LogTransform("muon_log_pt", d, self._columns("_pt", "mu")),
            ShiftedLogTransform("jet_log_pt", d, self._columns("_pt", "j"),
                                shift=self.jet_pt_min, offset=self.jet_pt_offset),
            ShiftedLogTransform("jet_log_mass", d, self._columns("_mass", "j"),
                                shift=0.0, offset=self.jet_mass_offset),
            PhiArtanhTransform("phi_artanh", d, self._columns("_phi", ""), eps=self.phi_eps),
            Standardise("standardise", d),
        ]

    # -- the frame: events <-> rotated kinematics (N, D) ------------------------------------

    def _check_record(self, events: ak.Array) -> None:
        n_mu = ak.to_numpy(ak.num(events.Muon, axis=1))
        if (n_mu != 2).any():
            raise HepgenInputError(
                f"{int((n_mu != 2).sum())} event(s) do not have exactly two muons; select the "
                "leading opposite-charge pair first (hepgen.physics.events.select)"
            )
        if not has_jets(events):
            raise HepgenInputError("the event record has no Jet collection; the map needs jets")
        wrong = n_jets(events) != self.n_jets
        if wrong.any():
            raise HepgenInputError(
                f"{int(wrong.sum())} event(s) do not have exactly {self.n_jets} jet(s); split "
                "the record with split_by_multiplicity(events) first"
            )

    @staticmethod
    def global_frame(events: ak.Array) -> tuple[FloatArray, IntArray]:
        """What :meth:`forward` drops: (leading-muon phi [rad] (N,), leading-muon charge (N,))."""
        phi = ak.to_numpy(events.Muon.phi[:, 0]).astype(np.float64)
        return phi, ak.to_numpy(events.Muon.charge[:, 0]).astype(np.int64)

    def kinematics(self, events: ak.Array) -> FloatArray:
        """Frame-rotated kinematics (N, D) in :attr:`feature_names` order: GeV, rad, phi
        relative to the leading muon in (-pi, pi]. Raises HepgenInputError for a wrong record."""
        self._check_record(events)
        mu = {f: regular_array(events.Muon[f], 2) for f in ("pt", "eta", "phi")}
        jet = {f: regular_array(events.Jet[f], self.n_jets) for f in KINEMATIC_FIELDS}
        phi0 = mu["phi"][:, 0]
        columns = [mu["pt"][:, 0], mu["eta"][:, 0], mu["pt"][:, 1], mu["eta"][:, 1],
                   delta_phi(mu["phi"][:, 1], phi0)]
        for k in range(self.n_jets):
            columns += [jet["pt"][:, k], jet["eta"][:, k], delta_phi(jet["phi"][:, k], phi0),
                        jet["mass"][:, k]]
        x = np.column_stack(columns).reshape(len(events), self.dim)
        require_finite(x, "EventPreprocessor", "the event record holds NaN/inf kinematics")
        return x

    def events_from_kinematics(
        self, x: FloatArray, phi_rotation: FloatArray, charge_sign: IntArray
    ) -> ak.Array:
        """Undo :meth:`kinematics`: rotate by ``phi_rotation`` (N,) [rad], leading muon charge
        ``charge_sign`` (N,) in {-1, +1}, second muon opposite. Objects are pT-ordered again by
        :func:`~hepgen.physics.events.build_events` (generated objects may come out of order)."""
        x = check_features(x, self.dim, "events_from_kinematics")
        require_finite(x, "events_from_kinematics", "features overflowed on inversion")
        col = {name: x[:, i] for i, name in enumerate(self.feature_names)}
        rot = np.asarray(phi_rotation, dtype=np.float64)
        muon = {
            "pt": jagged_array(np.column_stack([col["mu1_pt"], col["mu2_pt"]])),
            "eta": jagged_array(np.column_stack([col["mu1_eta"], col["mu2_eta"]])),
            "phi": jagged_array(np.column_stack([wrap_phi(rot), wrap_phi(col["mu2_phi"] + rot)])),
            "charge": jagged_array(np.column_stack([charge_sign, -charge_sign]).astype(np.int32)),
        }
        jets = range(1, self.n_jets + 1)
        stack = {f: np.column_stack([col[f"j{k}_{f}"] for k in jets]).reshape(len(x), -1)
                 for f in KINEMATIC_FIELDS}
        stack["phi"] = wrap_phi(stack["phi"] + rot[:, None])
        return build_events(muon, {f: jagged_array(v) for f, v in stack.items()})

    # -- the public map ---------------------------------------------------------------------

    def fit(self, events: ak.Array) -> EventPreprocessor:
        """Fit the standardisation and the positive-leading-muon fraction on training events
        (exactly ``n_jets`` jets, two opposite-charge muons, jets with pT >= ``jet_pt_min``,
        N >= 2; weights are ignored). Returns self."""
        x = self.kinematics(events)
        jet_pt = x[:, self._columns("_pt", "j")]
        if (jet_pt < self.jet_pt_min).any():
            raise HepgenInputError(
                f"{int((jet_pt < self.jet_pt_min).sum())} training jet(s) below jet_pt_min = "
                f"{self.jet_pt_min} GeV: select the events with the same cut or pass jet_pt_min"
            )
        charge = ak.to_numpy(ak.sum(events.Muon.charge, axis=1))
        if (charge != 0).any():
            raise HepgenInputError(
                f"{int((charge != 0).sum())} training event(s) with a same-sign muon pair; "
                "select the leading opposite-charge pair (hepgen.physics.events.select)"
            )
        self.chain.fit(x)
        self.positive_fraction = float(np.mean(self.global_frame(events)[1] > 0))
        return self

    def forward(self, events: ak.Array) -> FloatArray:
        """Events (N, exactly ``n_jets`` jets) -> standardised features (N, D) float64."""
        return self.chain.forward(self.kinematics(events))

    def in_support(self, events: ak.Array) -> npt.NDArray[np.bool_]:
        """Events (N,) that :meth:`forward` maps: inside every step's domain (e.g. jet pT above
        ``jet_pt_min``, the dimuon mass inside a mass-window chart). A generator with this
        preprocessing has density 0 at the others. Raises like :meth:`kinematics`."""
        return self.chain.in_domain(self.kinematics(events))

    def forward_in_support(self, events: ak.Array
                           ) -> tuple[npt.NDArray[np.bool_], FloatArray, FloatArray]:
        """:meth:`forward_and_log_det` of the events :meth:`in_support`, in one pass:
        (inside (N,), features (M, D), log_det (M,)) for the M events inside, in order."""
        return self.chain.forward_in_domain(self.kinematics(events))

    def forward_and_log_det(self, events: ak.Array) -> tuple[FloatArray, FloatArray]:
        """:meth:`forward` and log |det d features / d kinematics| (N,): with a feature density
        q(x), the density of the events in the kinematic coordinates of :meth:`kinematics` is
        q(x) * exp(log_det)."""
        return self.chain.forward_and_log_det(self.kinematics(events))

    def inverse(
        self,
        features: FloatArray,
        *,
        rng: np.random.Generator | None = None,
        phi_rotation: FloatArray | None = None,
        charge_sign: IntArray | None = None,
    ) -> ak.Array:
        """Features (N, D) -> event record with two opposite-charge muons and ``n_jets`` jets.

        Args:
            features: (N, D) float64, finite.
            rng: draws what the features do not hold, in this order: a global phi uniform in
                [-pi, pi) (unless ``phi_rotation``), then the leading muon's charge, +1 with
                probability :attr:`positive_fraction` (unless ``charge_sign``).
            phi_rotation: (N,) leading-muon phi [rad], e.g. from :meth:`global_frame`.
            charge_sign: (N,) leading-muon charge in {-1, +1}.
        """
        x = self.chain.inverse(check_features(features, self.dim, "EventPreprocessor.inverse"))
        n = len(x)
        if (phi_rotation is None or (charge_sign is None and self.DRAWS_CHARGE)) and rng is None:
            raise ValueError("pass rng=np.random.default_rng(seed), or phi_rotation and "
                             "charge_sign, to fix what the features do not hold")
        if phi_rotation is None:
            phi_rotation = rng.uniform(-np.pi, np.pi, size=n)  # type: ignore[union-attr]
        if not self.DRAWS_CHARGE:
            charge_sign = np.ones(n, dtype=np.int64)  # unused: the features fix the charges
        elif charge_sign is None:
            if self.positive_fraction is None:
                raise RuntimeError("EventPreprocessor is not fitted: call fit(events) first")
            positive = rng.random(n) < self.positive_fraction  # type: ignore[union-attr]
            charge_sign = np.where(positive, 1, -1)
        phi_rotation = np.asarray(phi_rotation, dtype=np.float64)
        charge_sign = np.asarray(charge_sign, dtype=np.int64)
        if phi_rotation.shape != (n,) or charge_sign.shape != (n,):
            raise ValueError(f"phi_rotation and charge_sign need shape ({n},), got "
                             f"{phi_rotation.shape} and {charge_sign.shape}")
        if not np.isin(charge_sign, (-1, 1)).all():
            raise ValueError("charge_sign values must be -1 or +1")
        return self.events_from_kinematics(x, phi_rotation, charge_sign)

    # -- state ------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """JSON-serialisable configuration and fitted state."""
        return {
            "format": self.FORMAT, "version": self.VERSION, "n_jets": self.n_jets,
            "representation": self.REPRESENTATION,
            "jet_pt_min": self.jet_pt_min, "jet_pt_offset": self.jet_pt_offset,
            "jet_mass_offset": self.jet_mass_offset, "phi_eps": self.phi_eps,
            "positive_fraction": self.positive_fraction,
            "feature_names": list(self.feature_names), "steps": self.chain.state_dict(),
        }

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> EventPreprocessor:
        """Rebuild from :meth:`state_dict` (raises ValueError for another format/version)."""
        if state.get("format") != cls.FORMAT or state.get("version") != cls.VERSION:
            raise ValueError(f"not a {cls.FORMAT} v{cls.VERSION} state: "
                             f"{state.get('format')!r} v{state.get('version')!r}")
        pre = cls(state["n_jets"], jet_pt_min=state["jet_pt_min"],
                  jet_pt_offset=state["jet_pt_offset"],
                  jet_mass_offset=state["jet_mass_offset"], phi_eps=state["phi_eps"])
        pre.chain.load_state_dict(state["steps"])
        pre.positive_fraction = state["positive_fraction"]
        return pre

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`state_dict` as JSON (to a temporary name, renamed when complete)."""
        atomic_write_text(path, json.dumps(self.state_dict(), indent=1, allow_nan=False))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> EventPreprocessor:
        """Read a JSON file written by :meth:`save`."""
        return cls.from_state_dict(json.loads(Path(path).read_text(encoding="utf-8")))
