"""Other charts of the recoil representation's pT balance (studies): feature steps on the
columns of the balance and the leading jet.

- :class:`RatioTransform` (``recoil-cone-log-dq-ratio``): the pT balance divided by the leading
  jet's pT, before its log;
- :class:`PairRecoilTransform` (``recoil-cone-log-dq-pair``): the pT balance replaced by
  ``b - pT_j1`` (the dimuon pair's pT in Z + 1 jet events) in polar coordinates;
- :class:`BipolarTransform` (``recoil-cone-log-dq-bipolar``): the pT balance in bipolar
  coordinates about b = 0 and b = pT_j1.

Measured no better than the shipped chart (benchmarks/RESULTS.md, "Charts of the pT balance").
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from hepgen.physics.feature_steps import FeatureStep, FloatArray


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
