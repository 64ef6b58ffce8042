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
2. Feature steps on float64 arrays of shape (N, D), each an exact bijection with its own domain:

   - muon pT -> ``log(pT)`` (:class:`LogTransform`; domain pT > 0 GeV);
   - jet pT -> ``log(pT - jet_pt_min + delta)`` (:class:`ShiftedLogTransform`, delta =
     :data:`~hepgen.physics.constants.JET_PT_LOG_OFFSET` = 10 MeV). ``log(pT - cut)`` alone is
     -inf for a jet exactly at the cut (float32 files hold such jets); with delta a jet at the
     cut maps to ``log(delta)``, a finite low tail. The domain is pT > cut - delta, so the
     inverse can return jets up to delta below the cut for far-tail latent points: no bijection
     from R reaches pT = cut without extending past it. :meth:`EventPreprocessor.fit` demands
     pT >= cut of the training events;
   - jet mass -> ``log(m + delta_m)`` (:class:`ShiftedLogTransform`, delta_m =
     :data:`~hepgen.physics.constants.JET_MASS_LOG_OFFSET` = 1 GeV; massless jets map to 0);
   - phi -> ``artanh((1 - eps) phi / pi)`` (:class:`PhiArtanhTransform`, eps =
     :data:`~hepgen.physics.constants.PHI_ARTANH_EPS`): the factor (1 - eps) keeps phi = +-pi
     finite (|feature| <= artanh(1 - eps) ~ 7.6) instead of clipping; the inverse
     ``pi tanh(u) / (1 - eps)`` is exact and its result is wrapped to (-pi, pi] when the frame is
     undone, so phi = -pi comes back as +pi (the same direction);
   - :class:`Standardise`: per-feature mean/std (ddof 0, unweighted) fitted on the training set.

Round trips are exact to float64 rounding: pT to ~1e-15 relative; eta, jet mass and phi
(modulo 2 pi) to ~1e-15 times their scale in absolute terms (standardisation shifts by the
mean, so values near 0 keep an absolute, not a relative, precision). Muon pT uses log(pT) with
no offset (muons have no cut). The fitted state is JSON (:meth:`EventPreprocessor.save`), never
a pickle. This module computes no four-vector physics itself: it reads pT/eta/phi/mass from the
record and uses :mod:`hepgen.physics.observables` for azimuthal differences.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
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
from hepgen.physics.io.atomic import atomic_write_text
from hepgen.physics.observables import delta_phi, wrap_phi

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Muon features (the leading muon's phi is 0 by construction and dropped).
MUON_FEATURES: tuple[str, ...] = ("mu1_pt", "mu1_eta", "mu2_pt", "mu2_eta", "mu2_phi")


def feature_names(n_jets: int) -> tuple[str, ...]:
    """Names of the D = 5 + 4 n features for ``n_jets`` jets (kinematic meaning, frame-rotated)."""
    _check_multiplicity(n_jets)
    jets = tuple(f"j{k}_{f}" for k in range(1, n_jets + 1) for f in KINEMATIC_FIELDS)
    return MUON_FEATURES + jets


def feature_dim(n_jets: int) -> int:
    """D = 9 / 13 / 17 for n = 1 / 2 / 3 jets."""
    return len(feature_names(n_jets))


def _check_multiplicity(n: int) -> None:
    if not MIN_JETS <= n <= MAX_JETS:
        raise ValueError(f"n_jets must be in {MIN_JETS}..{MAX_JETS}, got {n}")


def check_features(x: npt.ArrayLike, dim: int, where: str) -> FloatArray:
    """Return ``x`` as a float64 array of shape (N, dim) (a new array: never modified in place).

    Raises:
        ValueError: ``x`` is not two-dimensional with ``dim`` columns (names ``where``).
    """
    arr = np.array(x, dtype=np.float64, copy=True)
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise ValueError(f"{where}: expected an array of shape (N, {dim}), got {arr.shape}")
    return arr


def _require_finite(x: FloatArray, where: str, hint: str) -> None:
    bad = ~np.isfinite(x)
    if bad.any():
        raise ValueError(f"{where}: {int(bad.sum())} non-finite value(s) (NaN/inf); {hint}")


# --------------------------------------------------------------------------------------------
# Feature steps: exact bijections on some columns of an (N, dim) float64 array
# --------------------------------------------------------------------------------------------


class FeatureStep:
    """An elementwise bijection applied to ``columns`` of an (N, dim) array; others pass through.

    Subclasses implement ``_forward``/``_inverse`` on the selected (N, k) block and
    ``_outside_domain`` (mask of forward-domain violations). ``fit`` is a no-op unless the step
    has fitted state. Arrays are never modified in place.
    """

    kind: ClassVar[str] = ""

    def __init__(self, name: str, dim: int, columns: Sequence[int]) -> None:
        self.name, self.dim, self.columns = name, int(dim), tuple(int(c) for c in columns)
        if any(not 0 <= c < self.dim for c in self.columns):
            raise ValueError(f"{name}: columns {self.columns} out of range for dim {self.dim}")

    def fit(self, x: FloatArray) -> None:
        """Fit the step's state on training features (N, dim); stateless steps only check x."""
        check_features(x, self.dim, self.name)

    def forward(self, x: FloatArray) -> FloatArray:
        """Map (N, dim) -> (N, dim); raises ValueError for values outside the step's domain."""
        x = check_features(x, self.dim, f"{self.name}.forward")
        block = x[:, self.columns]
        outside = self._outside_domain(block)
        if outside.any():
            raise ValueError(
                f"{self.name}.forward: {int(outside.sum())} value(s) outside the domain "
                f"{self.domain()} (first: {block[outside][0]!r})"
            )
        x[:, self.columns] = self._forward(block)
        return x

    def inverse(self, y: FloatArray) -> FloatArray:
        """Exact inverse of :meth:`forward`, (N, dim) -> (N, dim); y must be finite."""
        y = check_features(y, self.dim, f"{self.name}.inverse")
        _require_finite(y, f"{self.name}.inverse", "the generator produced invalid features")
        y[:, self.columns] = self._inverse(y[:, self.columns])
        return y

    def domain(self) -> str:
        """The forward domain of each selected column, in words."""
        return "finite values"

    def _outside_domain(self, block: FloatArray) -> npt.NDArray[np.bool_]:
        return ~np.isfinite(block)

    def _forward(self, block: FloatArray) -> FloatArray:
        raise NotImplementedError

    def _inverse(self, block: FloatArray) -> FloatArray:
        raise NotImplementedError

    def params(self) -> dict[str, Any]:
        """Parameters and fitted state as JSON-serialisable values."""
        return {}

    def load_params(self, params: dict[str, Any]) -> None:
        """Restore :meth:`params`."""

    def state_dict(self) -> dict[str, Any]:
        """JSON-serialisable description: kind, name, dim, columns and :meth:`params`."""
        return {"kind": self.kind, "name": self.name, "dim": self.dim,
                "columns": list(self.columns), "params": self.params()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Load a :meth:`state_dict`; the step's kind, name, dim and columns must match."""
        mine = (self.kind, self.name, self.dim, list(self.columns))
        theirs = (state.get("kind"), state.get("name"), state.get("dim"), state.get("columns"))
        if mine != theirs:
            raise ValueError(f"state of step {theirs} does not match step {mine}")
        self.load_params(state["params"])


class LogTransform(FeatureStep):
    """``u = log(x)`` on x > 0 (muon pT in GeV); inverse ``exp(u)``."""

    kind = "log"

    def domain(self) -> str:
        return "(0, inf)"

    def _outside_domain(self, block: FloatArray) -> npt.NDArray[np.bool_]:
        return ~(np.isfinite(block) & (block > 0.0))

    def _forward(self, block: FloatArray) -> FloatArray:
        return np.log(block)

    def _inverse(self, block: FloatArray) -> FloatArray:
        return np.exp(block)


class ShiftedLogTransform(FeatureStep):
    """``u = log(x - shift + offset)`` on x > shift - offset; inverse ``exp(u) - offset + shift``.

    Jet pT: shift = the pT cut, offset = :data:`JET_PT_LOG_OFFSET` (a jet at the cut maps to
    log(offset)); jet mass: shift = 0, offset = :data:`JET_MASS_LOG_OFFSET`. Units of x.
    """

    kind = "shifted_log"

    def __init__(
        self, name: str, dim: int, columns: Sequence[int], *, shift: float, offset: float
    ) -> None:
        super().__init__(name, dim, columns)
        if not offset > 0.0:
            raise ValueError(f"{name}: offset must be > 0, got {offset}")
        self.shift, self.offset = float(shift), float(offset)

    def domain(self) -> str:
        return f"({self.shift - self.offset!r}, inf)"

    def _outside_domain(self, block: FloatArray) -> npt.NDArray[np.bool_]:
        return ~(np.isfinite(block) & (block - self.shift + self.offset > 0.0))

    def _forward(self, block: FloatArray) -> FloatArray:
        return np.log((block - self.shift) + self.offset)

    def _inverse(self, block: FloatArray) -> FloatArray:
        return (np.exp(block) - self.offset) + self.shift

    def params(self) -> dict[str, Any]:
        return {"shift": self.shift, "offset": self.offset}

    def load_params(self, params: dict[str, Any]) -> None:
        self.shift, self.offset = float(params["shift"]), float(params["offset"])


class PhiArtanhTransform(FeatureStep):
    """``u = artanh((1 - eps) phi / pi)`` on phi in [-pi, pi]; inverse ``pi tanh(u) / (1 - eps)``.

    The factor (1 - eps) keeps phi = +-pi finite (|u| <= artanh(1 - eps)); the inverse of any
    finite u lies in (-pi / (1 - eps), pi / (1 - eps)): wrap it to (-pi, pi] when leaving the
    rotated frame. arXiv 2110.13632 uses artanh(phi / pi).
    """

    kind = "phi_artanh"

    def domain(self) -> str:
        return "[-pi, pi]"

    def __init__(self, name: str, dim: int, columns: Sequence[int], *, eps: float) -> None:
        super().__init__(name, dim, columns)
        if not 0.0 < eps < 1.0:
            raise ValueError(f"{name}: eps must be in (0, 1), got {eps}")
        self.eps = float(eps)

    def _outside_domain(self, block: FloatArray) -> npt.NDArray[np.bool_]:
        return ~(np.isfinite(block) & (np.abs(block) <= np.pi))

    def _forward(self, block: FloatArray) -> FloatArray:
        return np.arctanh((1.0 - self.eps) * (block / np.pi))

    def _inverse(self, block: FloatArray) -> FloatArray:
        return np.pi * (np.tanh(block) / (1.0 - self.eps))

    def params(self) -> dict[str, Any]:
        return {"eps": self.eps}

    def load_params(self, params: dict[str, Any]) -> None:
        self.eps = float(params["eps"])


class Standardise(FeatureStep):
    """``u = (x - mean) / std`` per column, mean/std (ddof 0) fitted on training data (N >= 2)."""

    kind = "standardise"

    def __init__(self, name: str, dim: int) -> None:
        super().__init__(name, dim, range(dim))
        self.mean: FloatArray | None = None
        self.std: FloatArray | None = None

    def fit(self, x: FloatArray) -> None:
        """Fit mean and std on (N, dim) training features; raises for a constant column."""
        x = check_features(x, self.dim, f"{self.name}.fit")
        _require_finite(x, f"{self.name}.fit", "training features must be finite")
        std = x.std(axis=0)
        if len(x) < 2 or not (std > 0.0).all():
            raise ValueError(
                f"{self.name}.fit: need >= 2 events with spread in every feature "
                f"(N = {len(x)}, zero-spread columns {np.flatnonzero(~(std > 0.0)).tolist()})"
            )
        self.mean, self.std = x.mean(axis=0), std

    def _fitted(self) -> tuple[FloatArray, FloatArray]:
        if self.mean is None or self.std is None:
            raise RuntimeError(f"{self.name} is not fitted: call fit(training data) first")
        return self.mean, self.std

    def _forward(self, block: FloatArray) -> FloatArray:
        mean, std = self._fitted()
        return (block - mean) / std

    def _inverse(self, block: FloatArray) -> FloatArray:
        mean, std = self._fitted()
        return block * std + mean

    def params(self) -> dict[str, Any]:
        mean, std = self.mean, self.std
        return {"mean": None if mean is None else mean.tolist(),
                "std": None if std is None else std.tolist()}

    def load_params(self, params: dict[str, Any]) -> None:
        self.mean, self.std = _optional_array(params["mean"]), _optional_array(params["std"])


def _optional_array(values: Sequence[float] | None) -> FloatArray | None:
    return None if values is None else np.asarray(values, dtype=np.float64)


class FeatureChain:
    """Steps applied in order (forward) and in reverse order (inverse); all share ``dim``."""

    def __init__(self, steps: Sequence[FeatureStep]) -> None:
        dims = {s.dim for s in steps}
        names = [s.name for s in steps]
        if len(dims) != 1 or len(set(names)) != len(names):
            raise ValueError(f"steps need one common dim and unique names: {dims}, {names}")
        self.steps, self.dim = list(steps), dims.pop()

    def fit(self, x: FloatArray) -> None:
        """Fit each step on the output of the steps before it."""
        for step in self.steps:
            step.fit(x)
            x = step.forward(x)

    def forward(self, x: FloatArray) -> FloatArray:
        """(N, dim) kinematics -> (N, dim) features."""
        for step in self.steps:
            x = step.forward(x)
        return x

    def inverse(self, y: FloatArray) -> FloatArray:
        """(N, dim) features -> (N, dim) kinematics."""
        for step in reversed(self.steps):
            y = step.inverse(y)
        return y

    def state_dict(self) -> list[dict[str, Any]]:
        return [s.state_dict() for s in self.steps]

    def load_state_dict(self, state: list[dict[str, Any]]) -> None:
        if len(state) != len(self.steps):
            raise ValueError(f"state has {len(state)} steps, chain has {len(self.steps)}")
        for step, step_state in zip(self.steps, state, strict=True):
            step.load_state_dict(step_state)


# --------------------------------------------------------------------------------------------
# Events <-> features
# --------------------------------------------------------------------------------------------


def split_by_multiplicity(events: ak.Array) -> dict[int, ak.Array]:
    """Split a record by jet count: {n: events with exactly n jets} for every n present
    (ascending; a dimuon-only record gives {0: events})."""
    counts = n_jets(events)
    return {int(n): events[counts == n] for n in np.unique(counts)}


def _regular(values: ak.Array, width: int) -> FloatArray:
    """Jagged (N, var) with every row of length ``width`` -> float64 (N, width)."""
    flat = ak.to_numpy(ak.flatten(values, axis=1)).astype(np.float64)
    return flat.reshape(len(values), width)


def _jagged(values: FloatArray) -> ak.Array:
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

    def __init__(
        self,
        n_jets: int,
        *,
        jet_pt_min: float = JET_PT_MIN,
        jet_pt_offset: float = JET_PT_LOG_OFFSET,
        jet_mass_offset: float = JET_MASS_LOG_OFFSET,
        phi_eps: float = PHI_ARTANH_EPS,
    ) -> None:
        _check_multiplicity(n_jets)
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
        mu = {f: _regular(events.Muon[f], 2) for f in ("pt", "eta", "phi")}
        jet = {f: _regular(events.Jet[f], self.n_jets) for f in KINEMATIC_FIELDS}
        phi0 = mu["phi"][:, 0]
        columns = [mu["pt"][:, 0], mu["eta"][:, 0], mu["pt"][:, 1], mu["eta"][:, 1],
                   delta_phi(mu["phi"][:, 1], phi0)]
        for k in range(self.n_jets):
            columns += [jet["pt"][:, k], jet["eta"][:, k], delta_phi(jet["phi"][:, k], phi0),
                        jet["mass"][:, k]]
        x = np.column_stack(columns).reshape(len(events), self.dim)
        _require_finite(x, "EventPreprocessor", "the event record holds NaN/inf kinematics")
        return x

    def events_from_kinematics(
        self, x: FloatArray, phi_rotation: FloatArray, charge_sign: IntArray
    ) -> ak.Array:
        """Undo :meth:`kinematics`: rotate by ``phi_rotation`` (N,) [rad], leading muon charge
        ``charge_sign`` (N,) in {-1, +1}, second muon opposite. Objects are pT-ordered again by
        :func:`~hepgen.physics.events.build_events` (generated objects may come out of order)."""
        x = check_features(x, self.dim, "events_from_kinematics")
        _require_finite(x, "events_from_kinematics", "features overflowed on inversion")
        col = {name: x[:, i] for i, name in enumerate(self.feature_names)}
        rot = np.asarray(phi_rotation, dtype=np.float64)
        muon = {
            "pt": _jagged(np.column_stack([col["mu1_pt"], col["mu2_pt"]])),
            "eta": _jagged(np.column_stack([col["mu1_eta"], col["mu2_eta"]])),
            "phi": _jagged(np.column_stack([wrap_phi(rot), wrap_phi(col["mu2_phi"] + rot)])),
            "charge": _jagged(np.column_stack([charge_sign, -charge_sign]).astype(np.int32)),
        }
        jets = range(1, self.n_jets + 1)
        stack = {f: np.column_stack([col[f"j{k}_{f}"] for k in jets]).reshape(len(x), -1)
                 for f in KINEMATIC_FIELDS}
        stack["phi"] = wrap_phi(stack["phi"] + rot[:, None])
        return build_events(muon, {f: _jagged(v) for f, v in stack.items()})

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
        if (phi_rotation is None or charge_sign is None) and rng is None:
            raise ValueError("pass rng=np.random.default_rng(seed), or phi_rotation and "
                             "charge_sign, to fix what the features do not hold")
        if phi_rotation is None:
            phi_rotation = rng.uniform(-np.pi, np.pi, size=n)  # type: ignore[union-attr]
        if charge_sign is None:
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
