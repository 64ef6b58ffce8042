"""Ensembles: an equal-weight mixture of independently trained feature models.

A deep ensemble (Lakshminarayanan, Pritzel, Blundell, arXiv 1612.01474) used as a generator: K
members of one family, each trained on the same data from its own initial weights, seed and
batch order, combined as the mixture

    p(x | c) = (1/K) sum_k p_k(x | c).

The mixture density is exact (log-sum-exp of the members' log densities), so held-out NLLs of an
ensemble compare with those of a single network; sampling draws each event's member uniformly
and costs what one member costs per event. Where a network sees few training events (the 2- and
3-jet stages of the multiplicity chain see 25 % and 5 % of the events), much of its error is the
variance of the fit, different for every member; averaging members removes that part
(benchmarks/RESULTS.md, "Ensembles").

A mixture is not a bijection: ``forward`` / ``inverse`` are not available (the family-level
property tests of :mod:`hepgen.generators.base` run on the members).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from hepgen.generators.base import FeatureModel


class MixtureModel(FeatureModel):
    """Equal-weight mixture of ``members`` (same dim and condition width), shape conventions
    of :class:`~hepgen.generators.base.FeatureModel`: ``x (B, D)``, ``c (B, C)``."""

    name = "mixture"
    invertible = False

    def __init__(self, members: Sequence[FeatureModel]) -> None:
        if not members:
            raise ValueError("a mixture needs at least one member")
        first = members[0]
        if any((m.dim, m.cond_dim) != (first.dim, first.cond_dim) for m in members):
            raise ValueError("mixture members must share feature and condition widths")
        super().__init__(first.dim, first.cond_dim, {"members": len(members)})
        self.members = nn.ModuleList(members)

    @property
    def has_log_prob(self) -> bool:  # type: ignore[override]
        return all(m.has_log_prob for m in self.members)

    def __len__(self) -> int:
        return len(self.members)

    def log_prob(self, x: Tensor, c: Tensor | None = None) -> Tensor:
        """log (1/K) sum_k p_k(x | c), shape (B,)."""
        values = torch.stack([m.log_prob(x, c) for m in self.members])
        return torch.logsumexp(values, dim=0) - math.log(len(self.members))

    def sample(
        self, n: int, c: Tensor | None = None, generator: torch.Generator | None = None
    ) -> Tensor:
        """``n`` samples (n, D): each event's member drawn uniformly, then sampled from it."""
        member = torch.randint(len(self.members), (n,), generator=generator)
        out: Tensor | None = None
        for k, model in enumerate(self.members):
            index = (member == k).nonzero(as_tuple=True)[0]
            if index.numel() == 0:
                continue
            cond = c[index.to(c.device)] if c is not None else None
            x = model.sample(int(index.numel()), cond, generator)
            if out is None:
                out = x.new_empty(n, x.shape[1])
            out[index.to(x.device)] = x
        if out is None:  # n = 0
            ref = next(self.parameters())
            return ref.new_empty(0, self.dim)
        return out

    def posterior_draw(self, seed: int) -> MixtureModel:
        """The mixture of one posterior draw of each member (Bayesian members only)."""
        if not all(hasattr(m, "posterior_draw") for m in self.members):
            raise TypeError("posterior draws need Bayesian members")
        return MixtureModel([m.posterior_draw(seed=seed + 7919 * k)  # type: ignore[operator]
                             for k, m in enumerate(self.members)]).eval()
