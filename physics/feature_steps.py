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
- the steps of other charts of the pT balance (:mod:`hepgen.physics.balance_charts`) and of the
  closed jet-clustering cones (:mod:`hepgen.physics.cone_squeeze`), on several columns at once.

:class:`FeatureChain` applies steps in order (forward) and in reverse order (inverse).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

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

    def forward_in_domain(self, x: FloatArray, log_det: bool = True
                          ) -> tuple[npt.NDArray[np.bool_], FloatArray, FloatArray]:
        """One pass of :meth:`forward_and_log_det` over the rows of kinematics ``x`` (N, dim)
        inside every step's forward domain, each step judged on the output of the steps before
        it: (inside (N,), features (M, dim), log |det| (M,); zeros without ``log_det``) of the
        M rows inside, in order."""
        inside = np.zeros(len(x), dtype=bool)
        rows, total = np.arange(len(x)), np.zeros(len(x))
        for step in self.steps:
            ok = ~step._outside_domain(x[:, step.columns]).any(axis=1)
            rows, x, total = rows[ok], x[ok], total[ok]
            y = step.forward(x)
            if log_det:
                total += step.forward_log_det(x)
            x = y
        inside[rows] = True
        return inside, x, total

    def in_domain(self, x: FloatArray) -> npt.NDArray[np.bool_]:
        """Rows (N,) of kinematics ``x`` (N, dim) that :meth:`forward` maps without raising."""
        return self.forward_in_domain(x, log_det=False)[0]

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
