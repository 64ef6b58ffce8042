"""The dimuon mass inside the generation window: a chart without the window's edges.

The reference events are generated with the Z/gamma* mass in a window [M_min, M_max]
(:data:`~hepgen.physics.constants.MLL_MIN`, :data:`~hepgen.physics.constants.MLL_MAX` = 50,
150 GeV). Final-state radiation only lowers the dimuon mass, so m_mumu never exceeds M_max and
its density *steps down* at M_min (below it only events that radiated, 2 % of the shipped
training file). A flow on log(m) draws both edges smooth: measured on the log-m default
(10^6 events with ``--reweight`` against each of the three Pythia files), 1.33-1.36 times the
data's density at 45-50 GeV, 0.75-0.79 at 50-52 GeV and 0.6-0.73 at 140-150 GeV.

:class:`MassWindowTransform` maps ``m`` to the logit of the window, ``v = log(m / (M_max - m))``
(so the upper edge becomes a tail and (0, M_max) the whole real line), then compresses the part
below M_min by the factor ``r``: ``u = v`` above, ``u = v_min + r (v - v_min)`` below
(``v_min = v(M_min)``). With ``r`` the data's density just below M_min over that just above
(fitted on the training features) the density in u has no step at M_min. Exact inverse (a
logistic function on each side) and log-derivative; a chain step like the others.

Training masses above M_max: photon-jet dressing with the rule of the generators before
2026-11-25 lifts 12 of 10^5 training masses above M_max, so ``fit`` widens the logit's edge to
1.25 x the largest (266 GeV for that default's 1-jet stage) and M_max is a tail no longer: 3.4
in 10^4 generated events lay above 150 GeV, none in the data (benchmarks/RESULTS.md, "The
dimuon mass window, full chain", which also records a second compression above M_max that did
not help). The photon-jet option ``"fsr": {"mll_max":
150}`` leaves those events undressed, so the edge stays at M_max (measured there: none above,
140-150 GeV 0.69 -> 0.91 of the data; the shipped default since 2026-11-25 uses it).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from hepgen.physics.constants import MLL_MAX, MLL_MIN
from hepgen.physics.feature_steps import FeatureStep, FloatArray, check_features


class MassWindowTransform(FeatureStep):
    """``u`` of the module docstring on 0 < m < m_max; one column, GeV."""

    kind = "mass_window"
    #: width [GeV] of the two bins either side of m_min whose counts give the ratio r
    EDGE_WIDTH: ClassVar[float] = 2.0
    #: r is kept in [R_MIN, 1] (few events below m_min: no stretch beyond 1 / R_MIN)
    R_MIN: ClassVar[float] = 0.02
    #: m_max / largest training mass when the training masses exceed the window
    HEADROOM: ClassVar[float] = 1.25

    def __init__(self, name: str, dim: int, columns: list[int], *, m_min: float = MLL_MIN,
                 m_max: float = MLL_MAX) -> None:
        super().__init__(name, dim, columns)
        if len(self.columns) != 1:
            raise ValueError(f"{name}: one column (the dimuon mass), got {self.columns}")
        if not 0 < m_min < m_max:
            raise ValueError(f"{name}: expected 0 < m_min < m_max, got {m_min}, {m_max}")
        self.m_min, self.m_max, self.ratio = float(m_min), float(m_max), 1.0
        self.window_max = self.m_max  # the generation window's edge; m_max may widen in fit

    def fit(self, x: FloatArray) -> None:
        """The step ratio r; and m_max widened to HEADROOM x the largest training mass when the
        training masses reach the window's upper edge (photon-jet dressing adds hadrons to a
        few muons: 12 of 10^5 dressed training events lie above 150 GeV, up to 220 GeV)."""
        x = check_features(x, self.dim, self.name)
        m = x[:, self.columns[0]]
        if (m <= 0).any() or not np.isfinite(m).all():
            raise ValueError(f"{self.name}: training masses must be finite and > 0 GeV")
        self.m_max = max(self.window_max, self.HEADROOM * float(m.max())) if (
            m >= self.window_max).any() else self.window_max
        below = np.count_nonzero((m >= self.m_min - self.EDGE_WIDTH) & (m < self.m_min))
        above = np.count_nonzero((m >= self.m_min) & (m < self.m_min + self.EDGE_WIDTH))
        self.ratio = float(np.clip(below / max(above, 1), self.R_MIN, 1.0))

    def domain(self) -> str:
        return f"(0, {self.m_max:g}) GeV"

    def _outside_domain(self, block: FloatArray) -> npt.NDArray[np.bool_]:
        return ~(np.isfinite(block) & (block > 0.0) & (block < self.m_max))

    def _logit(self, m: FloatArray) -> FloatArray:
        return np.log(m) - np.log(self.m_max - m)

    def _forward(self, block: FloatArray) -> FloatArray:
        v, v_min = self._logit(block), self._logit(np.float64(self.m_min))
        return np.where(block >= self.m_min, v, v_min + self.ratio * (v - v_min))

    def _log_derivative(self, block: FloatArray) -> FloatArray:
        slope = np.where(block >= self.m_min, 1.0, self.ratio)
        return np.log(slope * (1.0 / block + 1.0 / (self.m_max - block)))

    def _inverse(self, block: FloatArray) -> FloatArray:
        v_min = self._logit(np.float64(self.m_min))
        v = np.where(block >= v_min, block, v_min + (block - v_min) / self.ratio)
        return self.m_max / (1.0 + np.exp(-np.clip(v, -700.0, 700.0)))

    def params(self) -> dict[str, Any]:
        return {"m_min": self.m_min, "m_max": self.m_max, "window_max": self.window_max,
                "ratio": self.ratio}

    def load_params(self, params: dict[str, Any]) -> None:
        self.m_min, self.m_max = float(params["m_min"]), float(params["m_max"])
        self.window_max = float(params["window_max"])
        self.ratio = float(params["ratio"])
