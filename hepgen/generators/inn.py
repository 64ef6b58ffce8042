"""Coupling INN (``inn``) and Bayesian INN (``binn``) feature models (arXiv 2110.13632).

``inn``: affine or rational-quadratic-spline couplings with MLP conditioners.
``binn``: the same blocks with variational Bayesian conditioner layers; loss NLL + KL / N_train;
posterior draws through :meth:`BayesianINNModel.posterior_draw`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from torch import Tensor

from hepgen.flows.bayesian import bayesian_linear_factory, draw_weights, total_kl
from hepgen.flows.conditioners import MLP
from hepgen.flows.inn import CouplingINN, INNConfig
from hepgen.generators.base import FeatureModel, register
from hepgen.generators.losses import LossConfig, mmd2, weighted_nll


def _inn_config(config: Mapping[str, Any], extra: frozenset[str] = frozenset()) -> INNConfig:
    """The :class:`INNConfig` part of ``config``; keys in ``extra`` belong to the family."""
    known = INNConfig.__dataclass_fields__
    unknown = set(config) - set(known) - set(extra)
    if unknown:
        raise ValueError(f"unknown option(s) {sorted(unknown)}; known: "
                         f"{sorted(set(known) | set(extra))}")
    return INNConfig(**{k: v for k, v in config.items() if k in known})


@register
class INNModel(FeatureModel):
    """Coupling INN feature model. Config: see :class:`~hepgen.flows.inn.INNConfig`, plus
    ``loss`` (:class:`~hepgen.generators.losses.LossConfig`: ``nll``, ``mmd``, ``nll+mmd``)."""

    name = "inn"
    #: config keys besides the INNConfig fields (subclasses extend this)
    extra_config_keys: ClassVar[frozenset[str]] = frozenset({"loss"})

    def __init__(self, dim: int, cond_dim: int, config: Mapping[str, Any]) -> None:
        super().__init__(dim, cond_dim, config)
        self.inn_config = _inn_config(config, self.extra_config_keys)
        self.loss_config = LossConfig.parse(config.get("loss"))
        self.flow = CouplingINN(dim, cond_dim, self.inn_config, self._conditioner())

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
        """``nll * NLL/dim + mmd * MMD^2`` as configured (``weights (B,)`` weight the data)."""
        cfg = self.loss_config
        z, logdet = self.flow(x, c)
        total = x.new_zeros(())
        if cfg.nll > 0:
            log_prob = self.flow.latent_log_prob(z, logdet)
            total = total + cfg.nll * weighted_nll(log_prob, self.dim, weights)
        if cfg.mmd > 0 and cfg.mmd_space in ("latent", "both"):
            total = total + cfg.mmd * mmd2(z, torch.randn_like(z), cfg.mmd_bandwidths, weights)
        if cfg.needs_data_samples:
            generated, _ = self.flow.inverse(torch.randn_like(x), c)
            total = total + cfg.mmd * mmd2(x, generated, cfg.mmd_bandwidths, weights)
        return total


@register
class BayesianINNModel(INNModel):
    """Bayesian INN: every conditioner layer is a :class:`~hepgen.flows.bayesian.BayesianLinear`.

    Extra config: ``prior_precision`` (default 1). Loss: NLL + KL / N_train (per dimension).
    """

    name = "binn"
    extra_config_keys = INNModel.extra_config_keys | {"prior_precision"}

    def __init__(self, dim: int, cond_dim: int, config: Mapping[str, Any]) -> None:
        self.n_train = 1
        super().__init__(dim, cond_dim, config)

    def _conditioner(self):
        cfg = self.inn_config
        linear = bayesian_linear_factory(float(self.config.get("prior_precision", 1.0)))

        def build(n_in: int, n_out: int) -> MLP:
            return MLP(n_in, n_out, cfg.hidden, cfg.n_layers, cfg.activation, linear=linear)

        return build

    def n_train_hint(self, n_train: int) -> None:
        self.n_train = max(int(n_train), 1)

    def loss(self, x: Tensor, c: Tensor | None, weights: Tensor | None = None) -> Tensor:
        kl = total_kl(self.flow) / (self.n_train * self.dim)
        return super().loss(x, c, weights) + kl

    def posterior_draw(self, seed: int) -> INNModel:
        """A deterministic INN holding one draw of the conditioner weights from the posterior."""
        drawn = INNModel.__new__(INNModel)
        FeatureModel.__init__(drawn, self.dim, self.cond_dim, self.config)
        drawn.inn_config, drawn.loss_config = self.inn_config, self.loss_config
        drawn.flow = draw_weights(self.flow, seed)
        return drawn.eval()
