"""A data-driven radial map of the further jets' (eta, phi) planes about the leading jet.

After :class:`~hepgen.physics.cone_squeeze.ConeSqueeze` has closed the jet-clustering cone,
the collinear pairs just outside it are an annular ridge about the origin of each further
jet's plane (measured for the shipped data: the second jet's density at squeezed radius 0.4-0.8
is a ring the coupling flows under-fill by 20-45 %, benchmarks/RESULTS.md, "Reweighter and
cones"). A ring is the classic hard shape for a coupling flow; a radius alone is easy.
:class:`RadialProfile` takes the radial profile inside the squeeze's disk (r < R = the
squeeze's r_out) from the training data and maps it onto a smooth, ring-free target, leaving
r >= R alone, so the flow sees a density without the ridge:

- ``M(u)``, u = r^2: the fraction of training events with radius below r, piecewise linear in u
  between equal-count knots (``knots`` intervals, fewer when the disk holds few events: at
  least :attr:`RadialProfile.MIN_PER_KNOT` events each), ``M(R^2) = M_R``;
- target area density inside the disk ``g(u') = c (1 + a (1 - u'/R^2))`` with ``c`` the
  data's area density just outside the disk (ring R..1.2R, so the density is continuous at R)
  and ``a`` fixed by the mass, ``pi R^2 c (1 + a / 2) = M_R``; its mass function
  ``G(u') = pi c (u' (1 + a) - a u'^2 / (2 R^2))``;
- the map ``u' = G^-1(M(u))`` (``G(R^2) = M_R``: continuous at R); the direction is kept.

For a radial map the 2-d Jacobian determinant is ``du'/du = M'(u) / (pi g(u'))``. The map is a
fixed, monotone change of coordinates fitted once on the training file (like the
standardisation); it is a chain step with an exact inverse and log-determinant, so likelihoods
stay in the kinematic coordinates.

Columns: ``(eta_ref, eta_2, phi_2, eta_3, phi_3, ...)`` as the squeeze's (non-relative); one
profile per further jet.

Measured (``recoil-cones-shared-flat``, benchmarks/RESULTS.md, "Chain stages and the collinear
ring"): the flow still under-fills the region just outside the cone once the ring is flat, so
the deficit is not a matter of the radial marginal's shape; kept as a study.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from hepgen.physics.cone_squeeze import ConeSqueeze
from hepgen.physics.feature_steps import FeatureStep, FloatArray, check_features, require_finite


class RadialProfile(FeatureStep):
    """Maps each further jet's radial density inside ``disk``'s radius onto a ring-free target
    (module docstring). ``disk``: the :class:`ConeSqueeze` before this step (its r_out is the
    disk radius R, read when fitting)."""

    kind = "radial_profile"
    #: fewest training events per knot interval of M(u)
    MIN_PER_KNOT: ClassVar[int] = 150
    #: the ring outside the disk whose density fixes the target at R: R .. SHELL R
    SHELL: ClassVar[float] = 1.2
    #: the target density at the origin stays >= (1 + A_MIN) c
    A_MIN: ClassVar[float] = -0.9

    def __init__(self, name: str, dim: int, columns: Sequence[int], *, disk: ConeSqueeze,
                 knots: int = 10) -> None:
        super().__init__(name, dim, columns)
        if len(self.columns) < 3 or len(self.columns) % 2 != 1:
            raise ValueError(f"{name}: columns are (eta_ref, eta_k, phi_k, ...), got "
                             f"{self.columns}")
        if knots < 1:
            raise ValueError(f"{name}: knots must be >= 1, got {knots}")
        self.disk, self.knots = disk, int(knots)
        self.r_max: float | None = None
        #: per further jet: u knots, M at the knots, c, a
        self.profiles: list[dict[str, Any]] | None = None

    # ---------------------------------------------------------------- fit
    def fit(self, x: FloatArray) -> None:
        """Fit R and each further jet's profile on training kinematics (N, dim), after the
        squeeze."""
        x = check_features(x, self.dim, f"{self.name}.fit")
        block = x[:, self.columns]
        require_finite(block, f"{self.name}.fit", "training features must be finite")
        self.r_max = float(self.disk.r_out)
        u = self._radius2(block)
        self.profiles = [self._fit_profile(u[:, k]) for k in range(u.shape[1])]

    def _fit_profile(self, u: FloatArray) -> dict[str, Any]:
        r2, n = self.disk.r_out**2, len(u)
        inside = np.sort(u[u < r2])
        if len(inside) == 0:  # nothing to flatten: the identity (M and G both uniform)
            return {"u": [0.0, r2], "m": [0.0, 1.0], "c": 1.0 / (np.pi * r2), "a": 0.0}
        count = max(1, min(self.knots, len(inside) // self.MIN_PER_KNOT))
        inner = np.quantile(inside, np.arange(1, count) / count) if count > 1 else []
        knots_u = np.unique(np.concatenate([[0.0], inner, [r2]]))
        mass = len(inside) / n
        knots_m = mass * np.linspace(0.0, 1.0, len(knots_u))
        shell = np.count_nonzero((u >= r2) & (u < self.SHELL**2 * r2)) / n
        c = shell / (np.pi * r2 * (self.SHELL**2 - 1.0))
        a = 2.0 * (mass / (np.pi * r2 * c) - 1.0) if c > 0 else 0.0
        if c <= 0 or a < self.A_MIN:  # too little beyond R: give up continuity, keep mass
            a = max(a, self.A_MIN) if c > 0 else 0.0
            c = mass / (np.pi * r2 * (1.0 + a / 2.0)) if mass > 0 else 1.0
        return {"u": knots_u.tolist(), "m": knots_m.tolist(), "c": float(c), "a": float(a)}

    # ---------------------------------------------------------------- the map
    def _fitted(self) -> float:
        if self.r_max is None or self.profiles is None:
            raise RuntimeError(f"{self.name} is not fitted: call fit(training data) first")
        return self.r_max

    def _parts(self, block: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        return block[:, :1], block[:, 1::2] - block[:, :1], block[:, 2::2]

    def _radius2(self, block: FloatArray) -> FloatArray:
        _, deta, dphi = self._parts(block)
        return np.square(deta) + np.square(dphi)

    def _profile(self, k: int) -> tuple[FloatArray, FloatArray, float, float]:
        p = self.profiles[k]  # type: ignore[index]
        return np.asarray(p["u"]), np.asarray(p["m"]), p["c"], p["a"]

    def _target_u(self, m: FloatArray, c: float, a: float) -> FloatArray:
        """u' with G(u') = m (the root in [0, R^2])."""
        r2, mp = self._fitted() ** 2, m / (np.pi * c)
        disc = np.maximum((1.0 + a) ** 2 - 2.0 * a * mp / r2, 0.0)
        return 2.0 * mp / ((1.0 + a) + np.sqrt(disc))

    def _map(self, u: FloatArray, k: int) -> tuple[FloatArray, FloatArray]:
        """(u', log du'/du) inside the disk for jet k."""
        knots_u, knots_m, c, a = self._profile(k)
        j = np.clip(np.searchsorted(knots_u, u, side="right") - 1, 0, len(knots_u) - 2)
        slope = (knots_m[j + 1] - knots_m[j]) / (knots_u[j + 1] - knots_u[j])
        u_new = self._target_u(knots_m[j] + slope * (u - knots_u[j]), c, a)
        density = np.pi * c * (1.0 + a * (1.0 - u_new / self._fitted() ** 2))
        return u_new, np.log(slope) - np.log(density)

    def _unmap(self, u_new: FloatArray, k: int) -> FloatArray:
        knots_u, knots_m, c, a = self._profile(k)
        m = np.pi * c * (u_new * (1.0 + a) - a * np.square(u_new) / (2.0 * self._fitted() ** 2))
        j = np.clip(np.searchsorted(knots_m, m, side="right") - 1, 0, len(knots_m) - 2)
        slope = (knots_m[j + 1] - knots_m[j]) / (knots_u[j + 1] - knots_u[j])
        return knots_u[j] + (m - knots_m[j]) / slope

    def _scaled(self, block: FloatArray, inverse: bool) -> FloatArray:
        ref, deta, dphi = self._parts(block)
        u = np.square(deta) + np.square(dphi)
        scale = np.ones_like(u)
        for k in range(u.shape[1]):
            inside = (u[:, k] < self._fitted() ** 2) & (u[:, k] > 0.0)
            uk = u[inside, k]
            target = self._unmap(uk, k) if inverse else self._map(uk, k)[0]
            scale[inside, k] = np.sqrt(target / uk)
        out = block.copy()
        out[:, 1::2], out[:, 2::2] = ref + scale * deta, scale * dphi
        return out

    def _forward(self, block: FloatArray) -> FloatArray:
        return self._scaled(block, inverse=False)

    def _inverse(self, block: FloatArray) -> FloatArray:
        return self._scaled(block, inverse=True)

    def _log_derivative(self, block: FloatArray) -> FloatArray:
        u = self._radius2(block)
        out = np.zeros(block.shape)
        for k in range(u.shape[1]):
            inside = u[:, k] < self._fitted() ** 2
            log_det = np.zeros(len(u))
            log_det[inside] = self._map(u[inside, k], k)[1]
            out[:, 1 + 2 * k] = log_det  # once per jet, on its eta column
        return out

    # ---------------------------------------------------------------- state
    def params(self) -> dict[str, Any]:
        return {"r_max": self.r_max, "knots": self.knots, "profiles": self.profiles}

    def load_params(self, params: dict[str, Any]) -> None:
        self.r_max = None if params["r_max"] is None else float(params["r_max"])
        self.knots = int(params["knots"])
        self.profiles = params["profiles"]
