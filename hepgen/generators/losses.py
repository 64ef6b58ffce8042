"""Training losses of the invertible families: negative log-likelihood, maximum mean
discrepancy (MMD) on the latent and/or the data side, and their weighted sum.

The QINN paper (Rousselot & Spannowsky, arXiv 2302.12906) compares exactly these choices; they
live here so that classical and quantum INNs train with the same losses. MMD: Gretton et al.,
JMLR 13 (2012) 723, with a sum of Gaussian kernels over several bandwidths (features are
standardised, so bandwidths are in units of one standard deviation).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import Tensor

#: Shorthands accepted for the ``loss`` option (``--loss`` on the command line).
LOSS_SHORTHANDS: dict[str, dict[str, float]] = {
    "nll": {"nll": 1.0, "mmd": 0.0},
    "mmd": {"nll": 0.0, "mmd": 1.0},
    "nll+mmd": {"nll": 1.0, "mmd": 1.0},
}
MMD_SPACES = ("latent", "data", "both")


@dataclass
class LossConfig:
    """``loss = nll * NLL/dim + mmd * MMD^2`` (JSON: ``"loss": "nll+mmd"`` or a dict).

    Attributes:
        nll: weight of the mean negative log-likelihood per dimension.
        mmd: weight of the squared MMD.
        mmd_space: ``latent`` (z = f(x) against N(0, 1) draws: no extra network pass),
            ``data`` (x against samples f^-1(z): one extra inverse pass) or ``both``.
        mmd_bandwidths: Gaussian kernel widths, in standard deviations of the features.
    """

    nll: float = 1.0
    mmd: float = 0.0
    mmd_space: str = "latent"
    mmd_bandwidths: Sequence[float] = field(default_factory=lambda: [0.25, 0.5, 1.0, 2.0])

    def __post_init__(self) -> None:
        if self.nll < 0 or self.mmd < 0 or self.nll + self.mmd <= 0:
            raise ValueError(f"loss weights must be >= 0 with a positive sum, got nll={self.nll}"
                             f" mmd={self.mmd}")
        if self.mmd_space not in MMD_SPACES:
            raise ValueError(f"loss 'mmd_space' must be one of {MMD_SPACES}, got "
                             f"{self.mmd_space!r}")
        if not self.mmd_bandwidths or min(self.mmd_bandwidths) <= 0:
            raise ValueError(f"loss 'mmd_bandwidths' must be positive, got {self.mmd_bandwidths}")
        self.mmd_bandwidths = [float(b) for b in self.mmd_bandwidths]

    @classmethod
    def parse(cls, value: str | Mapping[str, Any] | None) -> LossConfig:
        """From a shorthand (``nll``, ``mmd``, ``nll+mmd``), a dict, or None (plain NLL)."""
        if value is None:
            return cls()
        if isinstance(value, str):
            if value not in LOSS_SHORTHANDS:
                raise ValueError(f"loss must be one of {sorted(LOSS_SHORTHANDS)} or a dict, got "
                                 f"{value!r}")
            return cls(**LOSS_SHORTHANDS[value])
        unknown = set(value) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown loss option(s) {sorted(unknown)}; known: "
                             f"{sorted(cls.__dataclass_fields__)}")
        return cls(**value)

    @property
    def needs_data_samples(self) -> bool:
        return self.mmd > 0 and self.mmd_space in ("data", "both")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def weighted_nll(log_prob: Tensor, dim: int, weights: Tensor | None) -> Tensor:
    """Mean negative log-likelihood per dimension, optionally event-weighted (weights mean 1)."""
    nll = -log_prob / dim
    return (nll * weights).mean() if weights is not None else nll.mean()


def _kernel(a: Tensor, b: Tensor, bandwidths: Sequence[float]) -> Tensor:
    """Sum over bandwidths of exp(-|a_i - b_j|^2 / (2 h^2)); shape (len(a), len(b))."""
    d2 = torch.cdist(a, b).pow(2)
    return sum(torch.exp(-d2 / (2.0 * h * h)) for h in bandwidths)  # type: ignore[return-value]


def mmd2(
    x: Tensor, y: Tensor, bandwidths: Sequence[float], x_weights: Tensor | None = None
) -> Tensor:
    """Squared MMD (biased V-statistic, >= 0) between samples ``x (N, D)`` and ``y (M, D)``.

    ``x_weights (N,)`` (mean 1) weight the events of ``x``; ``y`` is unweighted.
    """
    wx = (x_weights if x_weights is not None else x.new_ones(len(x))) / len(x)
    wy = y.new_full((len(y),), 1.0 / len(y))
    kxx = wx @ _kernel(x, x, bandwidths) @ wx
    kyy = wy @ _kernel(y, y, bandwidths) @ wy
    kxy = wx @ _kernel(x, y, bandwidths) @ wy
    return (kxx + kyy - 2.0 * kxy).clamp_min(0.0)
