"""Variational Bayesian linear layers (mean-field Gaussian weights) for Bayesian INNs.

Following arXiv 2110.13632 (and 2104.04543): each weight has a mean and a log-variance,
log sigma^2 initialised near -9 and clamped to [-11, 11]; training uses the local
reparameterisation trick; the loss adds KL(q || prior) / N_train. Posterior draws are explicit:
:func:`draw_weights` returns a *copy* of a network with every Bayesian layer replaced by a plain
``nn.Linear`` holding one weight draw — deterministic within a draw, different across draws,
no hidden cached randomness inside layers.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import Tensor, nn

LOGVAR_INIT: float = -9.0
LOGVAR_MIN: float = -11.0
LOGVAR_MAX: float = 11.0


class BayesianLinear(nn.Module):
    """Linear layer with factorised Gaussian weights ``w ~ N(mu, sigma^2)`` and a Gaussian prior
    ``N(0, 1/prior_precision)``. In training mode it samples with the local reparameterisation
    trick; in eval mode it uses the means (the MAP-like network). Shapes: (B, n_in) -> (B, n_out).
    """

    def __init__(self, n_in: int, n_out: int, prior_precision: float = 1.0) -> None:
        super().__init__()
        self.n_in, self.n_out = n_in, n_out
        self.prior_precision = prior_precision
        bound = 1.0 / math.sqrt(n_in)
        self.weight_mu = nn.Parameter(torch.empty(n_out, n_in).uniform_(-bound, bound))
        self.weight_logvar = nn.Parameter(torch.full((n_out, n_in), LOGVAR_INIT))
        self.bias = nn.Parameter(torch.empty(n_out).uniform_(-bound, bound))

    def _logvar(self) -> Tensor:
        return self.weight_logvar.clamp(LOGVAR_MIN, LOGVAR_MAX)

    def forward(self, x: Tensor) -> Tensor:
        mean = nn.functional.linear(x, self.weight_mu, self.bias)
        if not self.training:
            return mean
        var = nn.functional.linear(x**2, self._logvar().exp())
        return mean + var.clamp_min(1e-30).sqrt() * torch.randn_like(mean)

    def kl(self) -> Tensor:
        """KL(q(w) || p(w)) summed over the weights (scalar)."""
        logvar = self._logvar()
        prec = self.prior_precision
        return 0.5 * torch.sum(
            prec * (self.weight_mu**2 + logvar.exp()) - 1.0 - logvar - math.log(prec)
        )

    def draw(self, generator: torch.Generator | None = None) -> nn.Linear:
        """A plain ``nn.Linear`` with one weight draw from q(w)."""
        eps = torch.randn(self.weight_mu.shape, generator=generator, dtype=self.weight_mu.dtype).to(
            self.weight_mu.device
        )
        layer = nn.Linear(self.n_in, self.n_out).to(self.weight_mu)
        with torch.no_grad():
            layer.weight.copy_(self.weight_mu + (0.5 * self._logvar()).exp() * eps)
            layer.bias.copy_(self.bias)
        return layer


def bayesian_linear_factory(prior_precision: float = 1.0):
    """``(n_in, n_out) -> BayesianLinear`` with a fixed prior precision."""

    def build(n_in: int, n_out: int) -> BayesianLinear:
        return BayesianLinear(n_in, n_out, prior_precision)

    return build


def total_kl(module: nn.Module) -> Tensor:
    """Sum of the KL terms of every Bayesian layer in ``module`` (scalar tensor)."""
    terms = [m.kl() for m in module.modules() if isinstance(m, BayesianLinear)]
    if not terms:
        return torch.zeros(())
    return torch.stack(terms).sum()


def draw_weights(module: nn.Module, seed: int) -> nn.Module:
    """A deep copy of ``module`` with every :class:`BayesianLinear` replaced by one weight draw.

    The draw is a deterministic function of ``seed`` (and the trained parameters).
    """
    gen = torch.Generator().manual_seed(seed)
    drawn = copy.deepcopy(module)
    _replace(drawn, gen)
    return drawn.eval()


def _replace(module: nn.Module, gen: torch.Generator) -> None:
    for name, child in module.named_children():
        if isinstance(child, BayesianLinear):
            setattr(module, name, child.draw(gen))
        else:
            _replace(child, gen)
