"""Coupling INN (``inn``) and Bayesian INN (``binn``) feature models (arXiv 2110.13632).

``inn``: affine or rational-quadratic-spline couplings with MLP conditioners.
``binn``: the same blocks with variational Bayesian conditioner layers; loss NLL + KL / N_train;
posterior draws through :meth:`BayesianINNModel.posterior_draw`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from hepgen.flows.bayesian import bayesian_linear_factory, draw_weights, total_kl
from hepgen.flows.conditioners import MLP
from hepgen.flows.inn import CouplingINN, INNConfig
from hepgen.generators.base import FeatureModel, register


def _inn_config(config: Mapping[str, Any]) -> INNConfig:
    known = INNConfig.__dataclass_fields__
    unknown = set(config) - set(known) - {"prior_precision"}
    if unknown:
        raise ValueError(f"unknown INN option(s) {sorted(unknown)}; known: {sorted(known)}")
    return INNConfig(**{k: v for k, v in config.items() if k in known})


def weighted_nll(log_prob: Tensor, dim: int, weights: Tensor | None) -> Tensor:
    """Mean negative log-likelihood per dimension, optionally event-weighted (weights mean 1)."""
    nll = -log_prob / dim
    return (nll * weights).mean() if weights is not None else nll.mean()


@register
class INNModel(FeatureModel):
    """Coupling INN feature model. Config: see :class:`~hepgen.flows.inn.INNConfig`."""

    name = "inn"

    def __init__(self, dim: int, cond_dim: int, config: Mapping[str, Any]) -> None:
        super().__init__(dim, cond_dim, config)
        self.flow = CouplingINN(dim, cond_dim, _inn_config(config), self._conditioner())

    def _conditioner(self):
        return None  # CouplingINN's default MLP

    def forward(self, x: Tensor, c: Tensor | None = None) -> tuple[Tensor, Tensor]:
        return self.flow(x, c)

    def inverse(self, z: Tensor, c: Tensor | None = None) -> tuple[Tensor, Tensor]:
        return self.flow.inverse(z, c)

    def log_prob(self, x: Tensor, c: Tensor | None = None) -> Tensor:
        return self.flow.log_prob(x, c)

    def sample(
        self, n: int, c: Tensor | None = None, generator: torch.Generator | None = None
    ) -> Tensor:
        return self.flow.sample(n, c, generator)

    def loss(self, x: Tensor, c: Tensor | None, weights: Tensor | None = None) -> Tensor:
        return weighted_nll(self.log_prob(x, c), self.dim, weights)


@register
class BayesianINNModel(INNModel):
    """Bayesian INN: every conditioner layer is a :class:`~hepgen.flows.bayesian.BayesianLinear`.

    Extra config: ``prior_precision`` (default 1). Loss: NLL + KL / N_train (per dimension).
    """

    name = "binn"

    def __init__(self, dim: int, cond_dim: int, config: Mapping[str, Any]) -> None:
        self.n_train = 1
        super().__init__(dim, cond_dim, config)

    def _conditioner(self):
        cfg = _inn_config(self.config)
        linear = bayesian_linear_factory(float(self.config.get("prior_precision", 1.0)))

        def build(n_in: int, n_out: int) -> MLP:
            return MLP(n_in, n_out, cfg.hidden, cfg.n_layers, cfg.activation, linear=linear)

        return build

    def n_train_hint(self, n_train: int) -> None:
        self.n_train = max(int(n_train), 1)

    def loss(self, x: Tensor, c: Tensor | None, weights: Tensor | None = None) -> Tensor:
        kl = total_kl(self.flow) / (self.n_train * self.dim)
        return weighted_nll(self.log_prob(x, c), self.dim, weights) + kl

    def posterior_draw(self, seed: int) -> INNModel:
        """A deterministic INN holding one draw of the conditioner weights from the posterior."""
        drawn = INNModel.__new__(INNModel)
        FeatureModel.__init__(drawn, self.dim, self.cond_dim, self.config)
        drawn.flow = draw_weights(self.flow, seed)
        return drawn.eval()
