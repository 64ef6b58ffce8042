"""Coupling invertible network (INN): a stack of coupling blocks and fixed rotations.

``x (B, D)`` -> ``z (B, D)`` with standard-normal latent; exact inverse and log-density.
Structure per arXiv 2110.13632: ActNorm, then ``n_blocks`` x (coupling block, fixed rotation).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

from hepgen.flows.blocks import ActNorm, CouplingBlock, FixedRotation
from hepgen.flows.conditioners import ConditionerFactory, mlp_factory
from hepgen.flows.transforms import make_transform

LOG_2PI = math.log(2.0 * math.pi)
#: Rows per slice when sampling (see CouplingINN.sample).
SAMPLE_SLICE = 16_384


@dataclass
class INNConfig:
    """Architecture of a coupling INN (JSON-serialisable)."""

    n_blocks: int = 8
    kind: str = "spline"  # "affine" or "spline"
    hidden: int = 64
    n_layers: int = 2
    activation: str = "silu"
    bins: int = 8
    bound: float = 5.0
    clamp: float = 2.0
    seed: int = 0  # seeds the fixed rotations

    def to_dict(self) -> dict:
        return asdict(self)


class CouplingINN(nn.Module):
    """Conditional coupling INN on R^D with a standard-normal latent.

    Args:
        dim: D, number of features.
        cond_dim: C, number of condition features (0: unconditional).
        config: architecture.
        conditioner: factory of conditioner networks (default an MLP from ``config``), or one
            factory per coupling block (``n_blocks`` of them: e.g. classical and quantum mixed).
    """

    def __init__(
        self,
        dim: int,
        cond_dim: int = 0,
        config: INNConfig | None = None,
        conditioner: ConditionerFactory | Sequence[ConditionerFactory] | None = None,
    ) -> None:
        super().__init__()
        self.dim, self.cond_dim = dim, cond_dim
        self.config = config = config or INNConfig()
        factory = conditioner or mlp_factory(config.hidden, config.n_layers, config.activation)
        factories = list(factory) if isinstance(factory, Sequence) else [factory] * config.n_blocks
        if len(factories) != config.n_blocks:
            raise ValueError(f"{len(factories)} conditioner factories for {config.n_blocks} blocks")
        transform = make_transform(
            config.kind, clamp=config.clamp, bins=config.bins, bound=config.bound
        )
        layers: list[nn.Module] = [ActNorm(dim)]
        for i in range(config.n_blocks):
            layers.append(CouplingBlock(dim, cond_dim, transform, factories[i]))
            layers.append(FixedRotation(dim, seed=config.seed * 1000 + i))
        self.layers = nn.ModuleList(layers)

    def forward(self, x: Tensor, c: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Data -> latent: ``(z (B, D), log|det dz/dx| (B,))``."""
        logdet = x.new_zeros(x.shape[0])
        for layer in self.layers:
            x, ld = layer(x, c)
            logdet = logdet + ld
        return x, logdet

    def inverse(self, z: Tensor, c: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Latent -> data: ``(x (B, D), log|det dx/dz| (B,))``."""
        logdet = z.new_zeros(z.shape[0])
        for layer in reversed(self.layers):
            z, ld = layer.inverse(z, c)
            logdet = logdet + ld
        return z, logdet

    def log_prob(self, x: Tensor, c: Tensor | None = None) -> Tensor:
        """log p(x | c), shape (B,), in units of the features' log-density."""
        return self.latent_log_prob(*self(x, c))

    def latent_log_prob(self, z: Tensor, logdet: Tensor) -> Tensor:
        """log p(x) from the latent ``z = f(x) (B, D)`` and ``log|det df/dx| (B,)``:
        standard-normal log-density of z plus the log-determinant, shape (B,)."""
        return -0.5 * (z**2).sum(dim=-1) - 0.5 * self.dim * LOG_2PI + logdet

    def sample(
        self, n: int, c: Tensor | None = None, generator: torch.Generator | None = None
    ) -> Tensor:
        """Draw ``n`` samples, shape (n, D); ``c`` has shape (n, C) if conditional."""
        ref = next(self.parameters())
        z = torch.randn(n, self.dim, generator=generator, dtype=ref.dtype, device=ref.device)
        parts = []
        # slices of SAMPLE_SLICE rows keep intermediates in cache (and memory flat); the
        # latent is drawn first, so the samples do not depend on the slicing
        for i, z_part in enumerate(z.split(SAMPLE_SLICE)):
            x = z_part
            c_part = c[i * SAMPLE_SLICE : (i + 1) * SAMPLE_SLICE] if c is not None else None
            for layer in reversed(self.layers):  # no log-determinants: sampling only
                x = layer.inverse(x, c_part, with_logdet=False)[0]
            parts.append(x)
        return torch.cat(parts) if len(parts) > 1 else parts[0]
