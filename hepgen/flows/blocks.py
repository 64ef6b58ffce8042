"""Invertible blocks of a coupling INN: coupling, fixed random rotation, ActNorm.

Every block maps ``x (B, D)`` (and an optional condition ``c (B, C)``) to
``(y (B, D), log|det J| (B,))``
in ``forward`` and back in ``inverse``. Exact inverses; exact log-determinants.
References: RealNVP (arXiv 1605.08803), Glow (arXiv 1807.03039), precision INNs (arXiv 2110.13632).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from hepgen.flows.conditioners import ConditionerFactory
from hepgen.flows.transforms import AffineTransform, SplineTransform


class CouplingBlock(nn.Module):
    """Coupling block: ``x = (x_a, x_b)``; ``y_a = x_a``; ``y_b = T(x_b; theta(x_a, c))``.

    The first ``dim // 2`` components condition the rest. Rotations between blocks mix
    components, so no permutation is needed here.
    """

    def __init__(
        self,
        dim: int,
        cond_dim: int,
        transform: AffineTransform | SplineTransform,
        conditioner: ConditionerFactory,
    ) -> None:
        super().__init__()
        if dim < 2:
            raise ValueError(f"a coupling block needs dim >= 2, got {dim}")
        self.dim, self.cond_dim = dim, cond_dim
        self.n_a = dim // 2
        self.n_b = dim - self.n_a
        self.transform = transform
        self.conditioner = conditioner(self.n_a + cond_dim, self.n_b * transform.n_params)

    def _params(self, x_a: Tensor, c: Tensor | None) -> Tensor:
        inputs = x_a if c is None or self.cond_dim == 0 else torch.cat([x_a, c], dim=-1)
        return self.conditioner(inputs).view(-1, self.n_b, self.transform.n_params)

    def forward(self, x: Tensor, c: Tensor | None = None) -> tuple[Tensor, Tensor]:
        x_a, x_b = x[:, : self.n_a], x[:, self.n_a :]
        y_b, logdet = self.transform.forward(x_b, self._params(x_a, c))
        return torch.cat([x_a, y_b], dim=-1), logdet

    def inverse(
        self, y: Tensor, c: Tensor | None = None, with_logdet: bool = True
    ) -> tuple[Tensor, Tensor | None]:
        y_a, y_b = y[:, : self.n_a], y[:, self.n_a :]
        x_b, logdet = self.transform.inverse(y_b, self._params(y_a, c), with_logdet)
        return torch.cat([y_a, x_b], dim=-1), logdet


class FixedRotation(nn.Module):
    """A fixed Haar-random orthogonal matrix ("soft permutation"); log|det| = 0.

    The matrix is drawn from ``seed`` and stored as a buffer (saved with the model).
    """

    def __init__(self, dim: int, seed: int) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        q, r = torch.linalg.qr(torch.randn(dim, dim, generator=gen, dtype=torch.float64))
        q = q * torch.sign(torch.diagonal(r))  # Haar measure
        self.register_buffer("matrix", q.to(torch.get_default_dtype()))

    def forward(self, x: Tensor, c: Tensor | None = None) -> tuple[Tensor, Tensor]:
        return x @ self.matrix.T, x.new_zeros(x.shape[0])

    def inverse(
        self, y: Tensor, c: Tensor | None = None, with_logdet: bool = True
    ) -> tuple[Tensor, Tensor | None]:
        return y @ self.matrix, (y.new_zeros(y.shape[0]) if with_logdet else None)


class ActNorm(nn.Module):
    """Learnable global affine layer ``y = x * exp(log_scale) + shift`` (Glow, arXiv 1807.03039).

    Makes a stack of volume-preserving blocks universal (arXiv 2402.06578).
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.log_scale = nn.Parameter(torch.zeros(dim))
        self.shift = nn.Parameter(torch.zeros(dim))

    def forward(self, x: Tensor, c: Tensor | None = None) -> tuple[Tensor, Tensor]:
        logdet = self.log_scale.sum().expand(x.shape[0])
        return x * torch.exp(self.log_scale) + self.shift, logdet

    def inverse(
        self, y: Tensor, c: Tensor | None = None, with_logdet: bool = True
    ) -> tuple[Tensor, Tensor | None]:
        logdet = -self.log_scale.sum().expand(y.shape[0]) if with_logdet else None
        return (y - self.shift) * torch.exp(-self.log_scale), logdet
