"""Closing the jet-clustering cones: feature steps in the (eta, phi) plane of further jets.

- :class:`ConeSqueeze` (the ``recoil-cone*`` representations): not elementwise, a radial map
  in each further jet's (eta, phi) plane about a reference jet that closes the jet-clustering
  exclusion cone;
- :class:`RelativeAzimuth` (``recoil-cones*``): azimuths about another object than the leading
  jet (a translation on the circle), so a cone can be closed about the second jet.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from hepgen.physics.feature_steps import FeatureStep, FloatArray, check_features, require_finite
from hepgen.physics.observables import wrap_phi


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
