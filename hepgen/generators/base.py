"""The generator interface shared by every family, and the registry that finds them.

Two levels:

* :class:`FeatureModel` — a torch module on preprocessed feature vectors ``x (B, D)`` with an
  optional condition ``c (B, C)``. This is what each family implements: coupling INNs, Bayesian
  INNs, free-form flows (encoder/decoder, no exact inverse), flow matching (ODE sampling),
  Gaussianization (``fit`` without backprop), parameter-conditioned TRADE flows (``c`` holds the
  physics parameter), quantum-conditioned INNs (from ``hepgen.quantum``).
* The event-level generator (:mod:`hepgen.generators.event`) wraps one feature model per jet
  multiplicity with its fitted preprocessing and the multiplicity fractions, and turns samples
  into hepgen event records.

Families register under the entry-point group ``hepgen.generators`` (``name = module:Class``).
The core never imports ``hepgen.quantum``: it finds it through the entry point like any
third-party plugin.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from hepgen.generators.names import ENTRY_POINT_GROUP, entry_point_names


class FeatureModel(nn.Module, ABC):
    """A generative model of feature vectors. Subclasses set the class attributes and implement
    :meth:`loss` (or :meth:`fit`), :meth:`sample` and, where the family has a density,
    :meth:`log_prob`.

    Class attributes:
        name: registry name, e.g. ``"inn"``.
        has_log_prob: whether :meth:`log_prob` is an exact density.
        invertible: whether :meth:`forward` / :meth:`inverse` are exact inverses (INN-like).
        gradient_trained: ``False`` for backprop-free families that implement :meth:`fit`.
    """

    name: ClassVar[str] = ""
    has_log_prob: ClassVar[bool] = True
    invertible: ClassVar[bool] = True
    gradient_trained: ClassVar[bool] = True

    def __init__(self, dim: int, cond_dim: int, config: Mapping[str, Any]) -> None:
        super().__init__()
        self.dim, self.cond_dim = dim, cond_dim
        self.config = dict(config)

    # --- training -------------------------------------------------------------------------
    def loss(self, x: Tensor, c: Tensor | None, weights: Tensor | None = None) -> Tensor:
        """Scalar training loss on a batch ``x (B, D)``; optional per-event ``weights (B,)``
        (normalised to mean 1 by the caller)."""
        raise NotImplementedError(f"{self.name}: not trained by gradient; use fit()")

    def fit(self, x: Tensor, c: Tensor | None) -> None:
        """Backprop-free training on the whole training set (``gradient_trained=False``)."""
        raise NotImplementedError(f"{self.name}: trained by gradient; use loss()")

    def n_train_hint(self, n_train: int) -> None:
        """Told the training-set size before training (Bayesian families scale KL by it)."""

    def execution_budget(self, n_train: int, n_val: int) -> dict[str, Any] | None:
        """What one training epoch on ``n_train`` events (and validation on ``n_val``) costs on
        external hardware, for families that have such a cost (quantum circuit executions and
        shots); ``None`` for families that run on the torch device only. The CLI prints it
        before training starts."""
        return None

    # --- sampling and density -------------------------------------------------------------
    @abstractmethod
    def sample(
        self, n: int, c: Tensor | None = None, generator: torch.Generator | None = None
    ) -> Tensor:
        """``n`` samples, shape (n, D)."""

    def log_prob(self, x: Tensor, c: Tensor | None = None) -> Tensor:
        """log p(x | c), shape (B,)."""
        raise NotImplementedError(f"{self.name} has no tractable density")

    def forward(self, x: Tensor, c: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Data -> latent: ``(z (B, D), log|det J| (B,))`` for invertible families."""
        raise NotImplementedError(f"{self.name} is not invertible")

    def inverse(self, z: Tensor, c: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Latent -> data: ``(x (B, D), log|det J| (B,))`` for invertible families."""
        raise NotImplementedError(f"{self.name} is not invertible")


_REGISTRY: dict[str, type[FeatureModel]] = {}


def register(cls: type[FeatureModel]) -> type[FeatureModel]:
    """Class decorator: register a feature model under ``cls.name`` (for in-process plugins)."""
    if not cls.name:
        raise ValueError(f"{cls.__qualname__} has no registry name")
    _REGISTRY[cls.name] = cls
    return cls


def available() -> list[str]:
    """Names of every registered generator family (built-in and entry points)."""
    return sorted(set(_REGISTRY) | set(entry_point_names()))


def get(name: str) -> type[FeatureModel]:
    """The feature-model class registered as ``name``; loads its entry point on first use."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            cls = ep.load()
            _REGISTRY[name] = cls
            return cls
    raise KeyError(f"unknown generator {name!r}; available: {', '.join(available()) or 'none'}")
