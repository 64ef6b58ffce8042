"""Element-wise bijections used inside coupling blocks: the maths, without any network.

A conditioner network produces the *parameters*; these functions apply the bijection and return
the log-determinant of its Jacobian. Keeping them apart lets an MLP, a Bayesian MLP or a quantum
circuit drive the same exactly-invertible block.

Shapes: ``x`` is (B, D); parameters are (B, D, P) with P parameters per dimension.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from zuko.transforms import MonotonicRQSTransform

#: Default soft-clamp scale alpha of affine couplings (arXiv 2110.13632 uses ~1-5).
DEFAULT_CLAMP: float = 2.0
#: Default spline half-width B: identity (linear tails) outside [-B, B] (arXiv 1906.04032).
DEFAULT_SPLINE_BOUND: float = 5.0


def soft_clamp(s: Tensor, alpha: float = DEFAULT_CLAMP) -> Tensor:
    """Soft clamping of log-scales, ``(2 alpha / pi) * atan(s / alpha)`` in (-alpha, alpha)."""
    return (2.0 * alpha / math.pi) * torch.atan(s / alpha)


class AffineTransform:
    """Affine element-wise bijection ``y = x * exp(s) + t`` with soft-clamped ``s``.

    Parameters per dimension: 2 (raw log-scale, shift).
    """

    n_params: int = 2

    def __init__(self, clamp: float = DEFAULT_CLAMP) -> None:
        self.clamp = clamp

    def _split(self, params: Tensor) -> tuple[Tensor, Tensor]:
        return soft_clamp(params[..., 0], self.clamp), params[..., 1]

    def forward(self, x: Tensor, params: Tensor) -> tuple[Tensor, Tensor]:
        """Returns ``(y (B, D), log|det J| (B,))``."""
        s, t = self._split(params)
        return x * torch.exp(s) + t, s.sum(dim=-1)

    def inverse(
        self, y: Tensor, params: Tensor, with_logdet: bool = True
    ) -> tuple[Tensor, Tensor | None]:
        """Returns ``(x (B, D), log|det J_inverse| (B,))`` (None without ``with_logdet``)."""
        s, t = self._split(params)
        return (y - t) * torch.exp(-s), (-s.sum(dim=-1) if with_logdet else None)


class SplineTransform:
    """Monotonic rational-quadratic spline with K bins on [-B, B], identity outside
    (Durkan et al., arXiv 1906.04032; the spline maths is zuko's ``MonotonicRQSTransform``).

    Parameters per dimension: 3K - 1 (widths K, heights K, inner derivatives K - 1).
    """

    def __init__(self, bins: int = 8, bound: float = DEFAULT_SPLINE_BOUND) -> None:
        self.bins = bins
        self.bound = bound
        self.n_params = 3 * bins - 1

    def _transform(self, params: Tensor) -> MonotonicRQSTransform:
        k = self.bins
        widths, heights, derivs = params[..., :k], params[..., k : 2 * k], params[..., 2 * k :]
        return MonotonicRQSTransform(widths, heights, derivs, bound=self.bound)

    def forward(self, x: Tensor, params: Tensor) -> tuple[Tensor, Tensor]:
        """Returns ``(y (B, D), log|det J| (B,))``."""
        y, ladj = self._transform(params).call_and_ladj(x)
        return y, ladj.sum(dim=-1)

    def inverse(
        self, y: Tensor, params: Tensor, with_logdet: bool = True
    ) -> tuple[Tensor, Tensor | None]:
        """Returns ``(x (B, D), log|det J_inverse| (B,))`` (None without ``with_logdet``)."""
        if not with_logdet:
            return rqs_inverse(y, params, self.bins, self.bound), None
        transform = self._transform(params)
        x = transform.inv(y)
        return x, -transform.log_abs_det_jacobian(x, y).sum(dim=-1)


#: log of the minimum spline slope (zuko's ``MonotonicRQSTransform`` default, 1e-3).
LOG_MIN_SLOPE: float = math.log(1e-3)


def rqs_inverse(y: Tensor, params: Tensor, bins: int, bound: float) -> Tensor:
    """Inverse of the rational-quadratic spline, without log-determinant (sampling path).

    Same maths as zuko's ``MonotonicRQSTransform`` (soft-clamped widths/heights/derivatives,
    minimum slope 1e-3, identity outside [-B, B]; agreement ~1e-13 in float64, tested), written
    by hand because building zuko's transform object dominates sampling time: the K parameters
    of each dimension are laid out along dim 0, so every softmax, cumsum and gather runs over
    contiguous rows of N = batch x dim values (about 2x faster here).

    Args:
        y: (B, D) points to invert.
        params: (B, D, 3K - 1) raw widths K, heights K, inner derivatives K - 1.
    Returns:
        x: (B, D).
    """
    b, d = y.shape
    k = bins
    p = params.reshape(b * d, 3 * k - 1).T.contiguous()  # (3K-1, N)
    wh = p[: 2 * k].view(2, k, -1)
    wh = wh / (1 + (wh * (2 / LOG_MIN_SLOPE)).abs())
    wh = torch.exp(wh - wh.amax(dim=1, keepdim=True))
    wh = wh / wh.sum(dim=1, keepdim=True)  # softmax over the bins
    # (2, K+1, N): horizontal and vertical knots in [-B, B] (differentiable: no out= ops)
    knots = torch.cat([wh.new_zeros(2, 1, wh.shape[-1]), torch.cumsum(wh, dim=1)], dim=1)
    knots = knots * (2 * bound) - bound
    hs, vs = knots[0], knots[1]
    dr = p[2 * k :]
    edge = dr.new_ones(1, dr.shape[-1])
    ds = torch.cat([edge, torch.exp(dr / (1 + (dr * (1 / LOG_MIN_SLOPE)).abs())), edge])
    yf = y.reshape(1, -1)
    idx = (vs[1:-1] <= yf).sum(dim=0, keepdim=True, dtype=torch.int64)  # bin 0..K-1
    inside = (yf >= -bound) & (yf < bound)
    x0, x1 = hs.gather(0, idx), hs.gather(0, idx + 1)
    y0, y1 = vs.gather(0, idx), vs.gather(0, idx + 1)
    d0, d1 = ds.gather(0, idx), ds.gather(0, idx + 1)
    dy = y1 - y0
    slope = dy / (x1 - x0)
    y_rel = yf - y0
    dd = d0 + d1 - 2 * slope
    qa = dy * (slope - d0) + y_rel * dd
    qb = dy * d0 - y_rel * dd
    qc = -slope * y_rel
    z = 2 * qc / (-qb - (qb * qb - 4 * qa * qc).sqrt())  # stable root of the quadratic
    return torch.where(inside, x0 + z * (x1 - x0), yf).view(b, d)


def make_transform(kind: str, **kwargs: float) -> AffineTransform | SplineTransform:
    """``"affine"`` or ``"spline"`` element-wise transform from config keyword arguments."""
    if kind == "affine":
        return AffineTransform(clamp=float(kwargs.get("clamp", DEFAULT_CLAMP)))
    if kind == "spline":
        return SplineTransform(
            bins=int(kwargs.get("bins", 8)), bound=float(kwargs.get("bound", DEFAULT_SPLINE_BOUND))
        )
    raise ValueError(f"coupling kind must be 'affine' or 'spline', got {kind!r}")
