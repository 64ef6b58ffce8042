"""Feature steps: exact elementwise bijections on columns of (N, D) float64 feature arrays.

The steps of the Z + jets precision-INN representation (arXiv 2110.13632), which
:class:`~hepgen.physics.preprocessing.EventPreprocessor` chains after rotating the events into
the leading-muon frame. Each step is an exact bijection with its own domain, never modifies its
input in place, and describes its parameters and fitted state as JSON
(:meth:`FeatureStep.state_dict`). As the preprocessing uses them:

- muon pT -> ``log(pT)`` (:class:`LogTransform`; domain pT > 0 GeV; no offset, muons have no
  cut);
- jet pT -> ``log(pT - jet_pt_min + delta)`` (:class:`ShiftedLogTransform`, delta =
  :data:`~hepgen.physics.constants.JET_PT_LOG_OFFSET` = 10 MeV). ``log(pT - cut)`` alone is
  -inf for a jet exactly at the cut (float32 files hold such jets); with delta a jet at the
  cut maps to ``log(delta)``, a finite low tail. The domain is pT > cut - delta, so the
  inverse can return jets up to delta below the cut for far-tail latent points: no bijection
  from R reaches pT = cut without extending past it.
  :meth:`~hepgen.physics.preprocessing.EventPreprocessor.fit` demands pT >= cut of the
  training events;
- jet mass -> ``log(m + delta_m)`` (:class:`ShiftedLogTransform`, delta_m =
  :data:`~hepgen.physics.constants.JET_MASS_LOG_OFFSET` = 1 GeV; massless jets map to 0);
- phi -> ``artanh((1 - eps) phi / pi)`` (:class:`PhiArtanhTransform`, eps =
  :data:`~hepgen.physics.constants.PHI_ARTANH_EPS`): the factor (1 - eps) keeps phi = +-pi
  finite (|feature| <= artanh(1 - eps) ~ 7.6) instead of clipping; the inverse
  ``pi tanh(u) / (1 - eps)`` is exact and its result is wrapped to (-pi, pi] when the frame is
  undone, so phi = -pi comes back as +pi (the same direction);
- cos theta* of the recoil representation (:mod:`hepgen.physics.recoil`) ->
  ``artanh((1 - eps) c)`` (:class:`CosineArtanhTransform`, same construction, half-width 1);
- :class:`Standardise`: per-feature mean/std (ddof 0, unweighted) fitted on the training set;
- :class:`RatioTransform` (``recoil-cone-log-dq-ratio``): the pT balance divided by the leading
  jet's pT, before its log;
- :class:`PairRecoilTransform` (``recoil-cone-log-dq-pair``): the pT balance replaced by
  ``b - pT_j1`` (the dimuon pair's pT in Z + 1 jet events) in polar coordinates;
- :class:`BipolarTransform` (``recoil-cone-log-dq-bipolar``): the pT balance in bipolar
  coordinates about b = 0 and b = pT_j1;
- :class:`ConeSqueeze` (the ``recoil-cone*`` representations): not elementwise, a radial map
  in each further jet's (eta, phi) plane about a reference jet that closes the jet-clustering
  exclusion cone;
- :class:`RelativeAzimuth` (``recoil-cones*``): azimuths about another object than the leading
  jet (a translation on the circle), so a cone can be closed about the second jet.

:class:`FeatureChain` applies steps in order (forward) and in reverse order (inverse).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from hepgen.physics.observables import wrap_phi

FloatArray = npt.NDArray[np.float64]


def check_features(x: npt.ArrayLike, dim: int, where: str) -> FloatArray:
    """Return ``x`` as a float64 array of shape (N, dim) (a new array: never modified in place).

    Raises:
        ValueError: ``x`` is not two-dimensional with ``dim`` columns (names ``where``).
    """
    arr = np.array(x, dtype=np.float64, copy=True)
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise ValueError(f"{where}: expected an array of shape (N, {dim}), got {arr.shape}")
    return arr


def require_finite(x: FloatArray, where: str, hint: str) -> None:
    """Raise ValueError (naming ``where``, with ``hint``) when ``x`` holds NaN or inf."""
    bad = ~np.isfinite(x)
    if bad.any():
        raise ValueError(f"{where}: {int(bad.sum())} non-finite value(s) (NaN/inf); {hint}")


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
        require_finite(y, f"{self.name}.inverse", "the generator produced invalid features")
        y[:, self.columns] = self._inverse(y[:, self.columns])
        return y

    def forward_log_det(self, x: FloatArray) -> FloatArray:
        """log |det d forward / d x| (N,) at the inputs x (N, dim) (elementwise: a sum over the
        selected columns of log |derivative|)."""
        x = check_features(x, self.dim, f"{self.name}.forward_log_det")
        return self._log_derivative(x[:, self.columns]).sum(axis=1)

    def domain(self) -> str:
        """The forward domain of each selected column, in words."""
        return "finite values"

    def _log_derivative(self, block: FloatArray) -> FloatArray:
        raise NotImplementedError

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

    def _log_derivative(self, block: FloatArray) -> FloatArray:
        return -np.log(block)

    def _inverse(self, block: FloatArray) -> FloatArray:
        return np.exp(block)


class RatioTransform(FeatureStep):
    """``u = x / ref`` on the first of two columns ``(x, ref)``, ``ref > 0`` passing through;
    inverse ``u * ref``; log |det| = -log(ref).

    The recoil representation's pT balance over the leading jet's pT: a Z at rest in a
    Z + 1 jet event needs balance = leading jet exactly (the pair's pT is their difference),
    a dip of the data at |b| / pT_j1 = 1 along the jet that sits at one fixed point of the
    (log ratio, phi) plane instead of on a line that moves with pT_j1. Measured no better than
    log |b| (benchmarks/RESULTS.md, "Charts of the pT balance"); kept as a study.
    """

    kind = "ratio"

    def __init__(self, name: str, dim: int, columns: Sequence[int]) -> None:
        super().__init__(name, dim, columns)
        if len(self.columns) != 2 or self.columns[0] == self.columns[1]:
            raise ValueError(f"{name}: columns are (x, ref), two different ones; "
                             f"got {self.columns}")

    def domain(self) -> str:
        return "x finite, ref in (0, inf)"

    def _outside_domain(self, block: FloatArray) -> npt.NDArray[np.bool_]:
        bad = ~np.isfinite(block)
        bad[:, 1] |= ~(block[:, 1] > 0.0)
        return bad

    def _forward(self, block: FloatArray) -> FloatArray:
        return np.column_stack([block[:, 0] / block[:, 1], block[:, 1]])

    def _inverse(self, block: FloatArray) -> FloatArray:
        return np.column_stack([block[:, 0] * block[:, 1], block[:, 1]])

    def _log_derivative(self, block: FloatArray) -> FloatArray:
        return np.column_stack([-np.log(block[:, 1]), np.zeros(len(block))])


class _BalanceAboutJet(FeatureStep):
    """Steps on the columns ``(balance_pt, balance_phi, j1_pt)`` of the recoil kinematics that
    use ``q = b - pT_j1`` (phi relative to the leading jet, at phi = 0); ``j1_pt`` passes
    through."""

    def __init__(self, name: str, dim: int, columns: Sequence[int]) -> None:
        super().__init__(name, dim, columns)
        if len(set(self.columns)) != 3:
            raise ValueError(f"{name}: columns are (balance_pt, balance_phi, j1_pt), three "
                             f"different ones; got {self.columns}")

    def domain(self) -> str:
        return "balance_pt > 0, j1_pt > 0, pair pT > 0"

    @staticmethod
    def _pair(block: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(q_x, q_y) [GeV] of a (N, 3) column block."""
        b, phi, jet = block[:, 0], block[:, 1], block[:, 2]
        return b * np.cos(phi) - jet, b * np.sin(phi)

    def _outside_domain(self, block: FloatArray) -> npt.NDArray[np.bool_]:
        bad = ~np.isfinite(block)
        ok = ~bad.any(axis=1)
        qx, qy = self._pair(np.where(bad, 1.0, block))
        bad[:, 0] |= ok & ~((block[:, 0] > 0.0) & (np.hypot(qx, qy) > 0.0))
        bad[:, 2] |= ok & ~(block[:, 2] > 0.0)
        return bad


class PairRecoilTransform(_BalanceAboutJet):
    """The pT balance ``b`` (|b|, phi_b) -> ``q = b - pT_j1`` as (|q|, phi'), on columns
    ``(balance_pt, balance_phi, j1_pt)`` of the recoil kinematics (phi relative to the leading
    jet, which sits at phi = 0): in a Z + 1 jet event q is the dimuon pair's transverse
    momentum (with more jets, the pair's plus the further jets'). phi' is the azimuth of -q, so
    the usual pair recoiling against the jet sits at phi' = 0, a pair on the jet's side at
    +-pi. ``j1_pt`` passes through.

    log |det| = log|b| - log|q| (polar -> Cartesian -> polar). Domain: |b| > 0 and q != 0.
    """

    kind = "pair_recoil"

    def _forward(self, block: FloatArray) -> FloatArray:
        qx, qy = self._pair(block)
        return np.column_stack([np.hypot(qx, qy), np.arctan2(-qy, -qx), block[:, 2]])

    def _inverse(self, block: FloatArray) -> FloatArray:
        q, phi, jet = block[:, 0], block[:, 1], block[:, 2]
        bx, by = jet - q * np.cos(phi), -q * np.sin(phi)
        return np.column_stack([np.hypot(bx, by), np.arctan2(by, bx), jet])

    def _log_derivative(self, block: FloatArray) -> FloatArray:
        qx, qy = self._pair(block)
        zero = np.zeros(len(block))
        return np.column_stack([np.log(block[:, 0]) - np.log(np.hypot(qx, qy)), zero, zero])


class BipolarTransform(_BalanceAboutJet):
    """The pT balance ``b`` (|b|, phi_b) -> bipolar coordinates (tau, sigma) with foci at
    b = 0 and b = pT_j1 (in a Z + 1 jet event the pair at rest, ``q = b - pT_j1 = 0``), on
    columns ``(balance_pt, balance_phi, j1_pt)`` of the recoil kinematics (phi relative to the
    leading jet, at phi = 0); ``j1_pt`` passes through::

        tau + i sigma = log(b / q)   (b, q as complex numbers),
        tau = log(|b| / |q|) in R,   sigma = arg(b) - arg(q) in (-pi, pi].

    A conformal map that sends *both* foci to infinity: a balanced event (|b| -> 0) and a Z at
    rest (|q| -> 0) are both tails of tau, so neither the peak of the balance nor the dip of
    the data at pT_mumu -> 0 (a Z + 1 jet event with the pair at rest needs the balance to
    equal the jet) has to be drawn by a cancellation between features. Near |b| -> 0 it is
    (log(|b| / pT_j1), phi_b - pi); sigma = 0 is the jet axis outside the segment between the
    foci, +-pi the segment itself.

    log |det| = 2 log pT_j1 - log|b| - 2 log|q| (polar -> Cartesian: |b|; the conformal map:
    |d log(b / q) / db|^2 = pT_j1^2 / (|b|^2 |q|^2)). Domain: |b| > 0, pT_j1 > 0, q != 0.

    Measured worse (benchmarks/RESULTS.md, "Charts of the pT balance"): the plane's point at
    infinity maps to (tau, sigma) = (0, 0), an interior point the flow does not keep empty, so
    it draws three times too many events with |b| of 50-100 GeV. (A plane without two points
    and infinity has no chart onto the whole feature plane; a cut, as the azimuth's, is needed.)
    Kept as a study.
    """

    kind = "bipolar"

    def _pair_pt(self, block: FloatArray) -> FloatArray:
        """|q| = |b - pT_j1| [GeV] of a (N, 3) column block."""
        return np.hypot(*self._pair(block))

    def _forward(self, block: FloatArray) -> FloatArray:
        b, phi, jet = block[:, 0], block[:, 1], block[:, 2]
        tau = np.log(b) - np.log(self._pair_pt(block))
        # arg(b conj(q)) with q = b - jet: Im = -jet b_y, Re = |b|^2 - jet b_x
        sigma = np.arctan2(-jet * b * np.sin(phi), b * (b - jet * np.cos(phi)))
        return np.column_stack([tau, sigma, jet])

    def _inverse(self, block: FloatArray) -> FloatArray:
        tau, sigma, jet = block[:, 0], block[:, 1], block[:, 2]
        e = np.exp(tau + 1j * sigma)
        w = jet * e / (e - 1.0)  # b / (b - jet) = e
        return np.column_stack([np.abs(w), np.angle(w), jet])

    def _log_derivative(self, block: FloatArray) -> FloatArray:
        zero = np.zeros(len(block))
        ld = (2.0 * np.log(block[:, 2]) - np.log(block[:, 0])
              - 2.0 * np.log(self._pair_pt(block)))
        return np.column_stack([ld, zero, zero])


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

    def _log_derivative(self, block: FloatArray) -> FloatArray:
        return -np.log((block - self.shift) + self.offset)

    def _inverse(self, block: FloatArray) -> FloatArray:
        return (np.exp(block) - self.offset) + self.shift

    def params(self) -> dict[str, Any]:
        return {"shift": self.shift, "offset": self.offset}

    def load_params(self, params: dict[str, Any]) -> None:
        self.shift, self.offset = float(params["shift"]), float(params["offset"])


class _ArtanhTransform(FeatureStep):
    """``u = artanh((1 - eps) x / h)`` on x in [-h, h] (half-width h = :attr:`HALF_WIDTH`);
    inverse ``h tanh(u) / (1 - eps)``, clipped to [-h, h] when :attr:`CLIP_INVERSE`."""

    HALF_WIDTH: ClassVar[float]
    CLIP_INVERSE: ClassVar[bool]

    def __init__(self, name: str, dim: int, columns: Sequence[int], *, eps: float) -> None:
        super().__init__(name, dim, columns)
        if not 0.0 < eps < 1.0:
            raise ValueError(f"{name}: eps must be in (0, 1), got {eps}")
        self.eps = float(eps)

    def _outside_domain(self, block: FloatArray) -> npt.NDArray[np.bool_]:
        return ~(np.isfinite(block) & (np.abs(block) <= self.HALF_WIDTH))

    def _forward(self, block: FloatArray) -> FloatArray:
        return np.arctanh((1.0 - self.eps) * (block / self.HALF_WIDTH))

    def _log_derivative(self, block: FloatArray) -> FloatArray:
        scale = (1.0 - self.eps) / self.HALF_WIDTH
        return np.log(scale) - np.log1p(-np.square(scale * block))

    def _inverse(self, block: FloatArray) -> FloatArray:
        x = self.HALF_WIDTH * (np.tanh(block) / (1.0 - self.eps))
        return np.clip(x, -self.HALF_WIDTH, self.HALF_WIDTH) if self.CLIP_INVERSE else x

    def params(self) -> dict[str, Any]:
        return {"eps": self.eps}

    def load_params(self, params: dict[str, Any]) -> None:
        self.eps = float(params["eps"])


class PhiArtanhTransform(_ArtanhTransform):
    """``u = artanh((1 - eps) phi / pi)`` on phi in [-pi, pi]; inverse ``pi tanh(u) / (1 - eps)``.

    The factor (1 - eps) keeps phi = +-pi finite (|u| <= artanh(1 - eps)); the inverse of any
    finite u lies in (-pi / (1 - eps), pi / (1 - eps)): wrap it to (-pi, pi] when leaving the
    rotated frame (not clipped: an angle wraps). arXiv 2110.13632 uses artanh(phi / pi).
    """

    kind = "phi_artanh"
    HALF_WIDTH = np.pi
    CLIP_INVERSE = False

    def domain(self) -> str:
        return "[-pi, pi]"


class CosineArtanhTransform(_ArtanhTransform):
    """``u = artanh((1 - eps) c)`` on c in [-1, 1] (a cosine, e.g. cos theta* of the decay);
    inverse ``tanh(u) / (1 - eps)``, clipped to [-1, 1] (a cosine does not wrap)."""

    kind = "cos_artanh"
    HALF_WIDTH = 1.0
    CLIP_INVERSE = True

    def domain(self) -> str:
        return "[-1, 1]"


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
        require_finite(x, f"{self.name}.fit", "training features must be finite")
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

    def _log_derivative(self, block: FloatArray) -> FloatArray:
        _, std = self._fitted()
        return np.broadcast_to(-np.log(std), block.shape)

    def _inverse(self, block: FloatArray) -> FloatArray:
        mean, std = self._fitted()
        return block * std + mean

    def params(self) -> dict[str, Any]:
        mean, std = self.mean, self.std
        return {"mean": None if mean is None else mean.tolist(),
                "std": None if std is None else std.tolist()}

    def load_params(self, params: dict[str, Any]) -> None:
        self.mean, self.std = _optional_array(params["mean"]), _optional_array(params["std"])


class RelativeAzimuth(FeatureStep):
    """Azimuths about a reference object: columns ``(phi_ref, phi_1, phi_2, ...)`` [rad] ->
    ``(phi_ref, wrap(phi_1 - phi_ref), ...)``, wrapped to (-pi, pi]; inverse
    ``wrap(phi_k + phi_ref)``; a translation on the circle, so log |det| = 0.

    Puts a further jet in the frame of a jet other than the leading one (whose frame the
    recoil representations use), so :class:`ConeSqueeze` can close the jet-clustering cone
    about that jet (``recoil-cones-log-dq``: the third jet about the second). ``back=True``
    is the inverse map as a forward step (``wrap(phi_k + phi_ref)``): back to the frame the
    angles were in.
    """

    kind = "relative_azimuth"

    def __init__(self, name: str, dim: int, columns: Sequence[int], *,
                 back: bool = False) -> None:
        super().__init__(name, dim, columns)
        if len(self.columns) < 2 or len(set(self.columns)) != len(self.columns):
            raise ValueError(f"{name}: columns are (phi_ref, phi_1, ...), at least two "
                             f"different ones; got {self.columns}")
        self.back = bool(back)

    def _shift(self, block: FloatArray, sign: float) -> FloatArray:
        out = block.copy()
        out[:, 1:] = wrap_phi(block[:, 1:] + sign * block[:, :1])
        return out

    def _forward(self, block: FloatArray) -> FloatArray:
        return self._shift(block, 1.0 if self.back else -1.0)

    def _inverse(self, block: FloatArray) -> FloatArray:
        return self._shift(block, -1.0 if self.back else 1.0)

    def params(self) -> dict[str, Any]:
        return {"back": self.back}

    def load_params(self, params: dict[str, Any]) -> None:
        self.back = bool(params.get("back", False))

    def _log_derivative(self, block: FloatArray) -> FloatArray:
        return np.zeros(block.shape)


class ConeSqueeze(FeatureStep):
    """Closes the exclusion cone about a reference jet in the (eta, phi) plane of further jets.

    Anti-kT jets of radius R are (almost) never closer than R: in the plane of a further jet's
    (eta_k - eta_ref, phi_k) (phi already relative to the reference jet) the density has a hole
    of radius ~R about the origin, with a ridge just outside it (the collinear enhancement of
    QCD splittings). A flow cannot tear a hole into its Gaussian base; this step maps the
    punctured disk r_in < r < r_out onto the whole disk r' < r_out, radially, and leaves r >=
    r_out alone::

        r' = f(r) = r - r_in ((r_out - r) / (r_out - r_in))**2,   f(r_in) = 0, f(r_out) = r_out,
        f'(r) = 1 + 2 r_in (r_out - r) / (r_out - r_in)**2 > 0,   f'(r_out) = 1,

    so the map and its Jacobian det = (r'/r) f'(r) are continuous at r_out (no new edge in the
    density) and the ring of pairs just outside the cone becomes a peak at the origin.
    ``profile="log"`` uses instead ``f(r) = r_out (1 + log(r / r_out))`` with r_out fitted as
    e r_in (the one choice that makes f'(r_out) = 1), which stretches the ring just outside the
    cone e-fold radially instead of compressing it (measured better on the shipped data:
    benchmarks/RESULTS.md, "Model selection"); its inverse is ``r_out exp(r' / r_out - 1)``.
    Both send the cone's rim to a point, so a finite density p(r) at the rim would become a
    1/r' spike at the origin of the feature plane (the shipped data's p(r) vanishes at the rim,
    so the log profile keeps a finite density there). ``profile="sqrt"`` (measured worse) uses
    ``f(r) = 2 sqrt(r_in (r - r_in))`` with r_out fitted as 2 r_in (again f(r_out) = r_out,
    f'(r_out) = 1): then r' f'(r) = 2 r_in is constant, the map is area-preserving up to the
    factor det = 2 r_in / r in [1, 2], and the feature-plane density near the origin is
    p(r) / (4 pi r_in), finite; inverse ``r_in + r'**2 / (4 r_in)``.

    Columns: ``(eta_ref, eta_2, phi_2, eta_3, phi_3, ...)``, or with ``relative=True``
    ``(deta_2, phi_2, deta_3, phi_3, ...)`` (eta already relative to the reference jet's); only
    the further jets' columns change. ``r_in`` is fitted as ``r_in_fraction`` (default
    :attr:`R_IN_FRACTION`) of the
    smallest separation in the training data (0.95 x 0.378 for the shipped file: anti-kT with
    R = 0.4 measures distances in rapidity, so pseudorapidity separations can be slightly below
    R), at most r_out / 2 and, with ``at_most`` (a squeeze earlier in the same chain), at most
    that squeeze's fitted radius: anti-kT leaves a hole of the same R about every jet, and a
    radius fitted on coordinates an earlier squeeze has already moved (the third jet pulled
    towards the second can land closer to the leading jet than any physical third jet) would
    come out larger than the physical one and exclude unseen events. Domain: every separation
    > r_in. ``r_out`` < pi keeps the disk inside the phi range.
    """

    kind = "cone_squeeze"
    #: r_in as a fraction of the smallest training separation.
    R_IN_FRACTION: ClassVar[float] = 0.95
    PROFILES: ClassVar[tuple[str, ...]] = ("quadratic", "log", "sqrt")
    #: r_out / r_in fixed by continuity of f' at r_out, for the profiles that fix it
    R_OUT_OVER_R_IN: ClassVar[dict[str, float]] = {"log": float(np.e), "sqrt": 2.0}

    def __init__(self, name: str, dim: int, columns: Sequence[int], *,
                 r_out: float = 1.5, relative: bool = False, profile: str = "quadratic",
                 r_in_fraction: float | None = None,
                 at_most: ConeSqueeze | None = None) -> None:
        super().__init__(name, dim, columns)
        self.at_most = at_most
        if profile not in self.PROFILES:
            raise ValueError(f"{name}: profile must be one of {self.PROFILES}, got {profile!r}")
        self.relative, self.profile = bool(relative), profile
        if len(self.columns) < 2 or len(self.columns) % 2 != (0 if relative else 1):
            layout = "(deta_k, phi_k, ...)" if relative else "(eta_ref, eta_k, phi_k, ...)"
            raise ValueError(f"{name}: columns are {layout}, got {self.columns}")
        if not 0.0 < r_out < np.pi:
            raise ValueError(f"{name}: r_out must be in (0, pi), got {r_out}")
        self.r_out = float(r_out)
        self.r_in: float | None = None
        self.r_in_fraction = float(self.R_IN_FRACTION if r_in_fraction is None
                                   else r_in_fraction)
        if not 0.0 < self.r_in_fraction < 1.0:
            raise ValueError(f"{name}: r_in_fraction must be in (0, 1), got {r_in_fraction}")

    def fit(self, x: FloatArray) -> None:
        """Fit r_in on the training kinematics (N, dim)."""
        x = check_features(x, self.dim, f"{self.name}.fit")
        block = x[:, self.columns]
        require_finite(block, f"{self.name}.fit", "training features must be finite")
        self.r_in = min(self.r_in_fraction * float(self._radius(block).min()), 0.5 * self.r_out)
        if self.at_most is not None:  # fitted before this step in the chain
            self.r_in = min(self.r_in, self.at_most._fitted())
        if self.profile in self.R_OUT_OVER_R_IN:
            self.r_out = float(self.R_OUT_OVER_R_IN[self.profile] * self.r_in)

    def domain(self) -> str:
        return f"jet separations Delta R > r_in = {self._fitted():.4g}"

    def _fitted(self) -> float:
        if self.r_in is None:
            raise RuntimeError(f"{self.name} is not fitted: call fit(training data) first")
        return self.r_in

    def _parts(self, block: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(reference eta (N, 1) or zeros, deta (N, K), phi (N, K)) of a column block."""
        if self.relative:
            return np.zeros((len(block), 1)), block[:, 0::2], block[:, 1::2]
        return block[:, :1], block[:, 1::2] - block[:, :1], block[:, 2::2]

    @property
    def _first(self) -> int:
        """Index in the column block of the first further jet's eta column."""
        return 0 if self.relative else 1

    def _assemble(self, block: FloatArray, ref: FloatArray, deta: FloatArray,
                  dphi: FloatArray) -> FloatArray:
        out = block.copy()
        out[:, self._first :: 2], out[:, self._first + 1 :: 2] = ref + deta, dphi
        return out

    def _radius(self, block: FloatArray) -> FloatArray:
        _, deta, dphi = self._parts(block)
        return np.hypot(deta, dphi)

    def _outside_domain(self, block: FloatArray) -> npt.NDArray[np.bool_]:
        finite = np.isfinite(block)
        r = self._radius(np.where(finite, block, 0.0))
        too_close = np.zeros(block.shape, bool)
        too_close[:, self._first :: 2] = r <= self._fitted()  # flagged on the jet's eta column
        return too_close | ~finite

    def _f(self, r: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(f(r), f'(r)) inside the disk (r < r_out)."""
        r_in, span = self._fitted(), self.r_out - self._fitted()
        if self.profile == "log":  # r_out = e r_in: f = r_out (1 + log(r / r_out)), C1 at r_out
            return self.r_out * (1.0 + np.log(r / self.r_out)), self.r_out / r
        if self.profile == "sqrt":  # r_out = 2 r_in: f = 2 sqrt(r_in (r - r_in)), C1 at r_out
            root = np.sqrt(r_in * (r - r_in))
            return 2.0 * root, r_in / root
        return (r - r_in * np.square((self.r_out - r) / span),
                1.0 + 2.0 * r_in * (self.r_out - r) / span**2)

    def _f_inverse(self, r_new: FloatArray) -> FloatArray:
        """r with f(r) = r_new, for 0 <= r_new < r_out."""
        if self.profile == "log":
            return self.r_out * np.exp(r_new / self.r_out - 1.0)
        if self.profile == "sqrt":
            return self._fitted() + np.square(r_new) / (4.0 * self._fitted())
        r_in, span = self._fitted(), self.r_out - self._fitted()
        c = self.r_out - r_new  # solve a u^2 + u = c for u = r_out - r (stable root)
        return self.r_out - 2.0 * c / (1.0 + np.sqrt(1.0 + 4.0 * (r_in / span**2) * c))

    def _forward(self, block: FloatArray) -> FloatArray:
        ref, deta, dphi = self._parts(block)
        r = np.hypot(deta, dphi)
        inside = r < self.r_out
        scale = np.ones_like(r)
        scale[inside] = self._f(r[inside])[0] / r[inside]
        return self._assemble(block, ref, scale * deta, scale * dphi)

    def _inverse(self, block: FloatArray) -> FloatArray:
        ref, deta, dphi = self._parts(block)
        r_new = np.hypot(deta, dphi)
        inside = r_new < self.r_out
        scale = np.ones_like(r_new)
        scale[inside] = (self._f_inverse(r_new[inside])
                         / np.maximum(r_new[inside], np.finfo(np.float64).tiny))
        origin = inside & (r_new == 0.0)  # no direction: put it at (f^-1(0), 0)
        deta = np.where(origin, self._f_inverse(np.zeros(1))[0], deta)
        scale[origin] = 1.0
        return self._assemble(block, ref, scale * deta, scale * dphi)

    def _log_derivative(self, block: FloatArray) -> FloatArray:
        r = self._radius(block)
        inside = r < self.r_out
        log_det = np.zeros_like(r)
        if self.profile == "sqrt":  # det = 2 r_in / r, finite down to the rim
            log_det[inside] = np.log(2.0 * self._fitted() / r[inside])
        else:
            f, df = self._f(r[inside])
            log_det[inside] = np.log(f / r[inside]) + np.log(df)
        out = np.zeros(block.shape)
        out[:, self._first :: 2] = log_det  # once per jet, on its eta column
        return out

    def params(self) -> dict[str, Any]:
        return {"r_out": self.r_out, "r_in": self.r_in, "relative": self.relative,
                "profile": self.profile, "r_in_fraction": self.r_in_fraction}

    def load_params(self, params: dict[str, Any]) -> None:
        self.r_out = float(params["r_out"])
        self.r_in = None if params["r_in"] is None else float(params["r_in"])
        self.relative = bool(params.get("relative", False))
        self.profile = str(params.get("profile", "quadratic"))
        self.r_in_fraction = float(params.get("r_in_fraction", self.R_IN_FRACTION))


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

    def forward_and_log_det(self, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(N, dim) kinematics -> (features (N, dim), log |det d features / d kinematics| (N,)),
        in one pass through the steps."""
        total = np.zeros(len(x))
        for step in self.steps:
            y = step.forward(x)  # checks the domain before the log-det is evaluated there
            total += step.forward_log_det(x)
            x = y
        return x, total

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
