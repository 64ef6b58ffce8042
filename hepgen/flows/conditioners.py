"""Conditioner networks: map (x_a, condition) to the parameters of an element-wise bijection.

Every conditioner is a ``torch.nn.Module`` with signature
``forward(inputs (B, n_in)) -> (B, n_out)``
built by a factory ``(n_in, n_out) -> nn.Module``. The coupling block does not care whether it
is an MLP, a Bayesian MLP or a parametrised quantum circuit.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

ConditionerFactory = Callable[[int, int], nn.Module]

#: The last layer starts at this fraction of its default initialisation, so every coupling block
#: starts close to the identity (arXiv 2110.13632; FrEIA's AllInOneBlock does the same).
LAST_LAYER_INIT_SCALE: float = 0.02

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "silu": nn.SiLU, "gelu": nn.GELU}


class MLP(nn.Module):
    """A plain MLP conditioner: ``n_layers`` hidden layers of width ``hidden``.

    Shapes: (B, n_in) -> (B, n_out).
    """

    def __init__(
        self,
        n_in: int,
        n_out: int,
        hidden: int = 64,
        n_layers: int = 2,
        activation: str = "silu",
        linear: Callable[[int, int], nn.Module] = nn.Linear,
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        layers: list[nn.Module] = []
        width = n_in
        for _ in range(n_layers):
            layers += [linear(width, hidden), ACTIVATIONS[activation]()]
            width = hidden
        last = linear(width, n_out)
        with torch.no_grad():  # weights and biases only: never e.g. a Bayesian log-variance
            for name, param in last.named_parameters():
                if name in ("weight", "bias", "weight_mu"):
                    param.mul_(LAST_LAYER_INIT_SCALE)
        layers.append(last)
        self.net = nn.Sequential(*layers)

    def forward(self, inputs: Tensor) -> Tensor:
        return self.net(inputs)


def mlp_factory(
    hidden: int = 64, n_layers: int = 2, activation: str = "silu"
) -> ConditionerFactory:
    """A factory of :class:`MLP` conditioners with fixed width/depth/activation."""

    def build(n_in: int, n_out: int) -> nn.Module:
        return MLP(n_in, n_out, hidden=hidden, n_layers=n_layers, activation=activation)

    return build
