"""The autoregressive multiplicity chain of the precision-INN papers (arXiv 2110.13632).

Instead of one network per jet multiplicity, three conditional networks share the work:

* stage 1 models the first 9 features of every event (muons and leading jet, or in the recoil
  representation leading jet, pT balance, dimuon and decay), conditioned
  on the one-hot jet multiplicity, trained on *all* events;
* stage 2 models the second jet (features 9-12) given stage 1's features and the one-hot
  multiplicity, trained on the events with 2 or 3 jets;
* stage 3 models the third jet (features 13-16) given the first 13 features, trained on 3-jet
  events.

The density of an n-jet event is the product of its stages' densities, so every view is an exact
flow on its 5 + 4 n features. Features are those of the event's multiplicity in either
representation (:mod:`hepgen.physics.representations`), which share the layout: a 9-feature
block, then 4 per further jet. The stages split them by columns and the per-multiplicity
preprocessing is unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from hepgen.generators.base import FeatureModel
from hepgen.physics.constants import MAX_JETS, MIN_JETS
from hepgen.physics.preprocessing import feature_dim

#: features of each further jet (the layout both representations share)
JET_FEATURES = feature_dim(2) - feature_dim(1)
N_MULTIPLICITIES = MAX_JETS - MIN_JETS + 1


def stage_dims(stage: int) -> tuple[int, int]:
    """(features, condition width) of stage ``stage`` = 1, 2, 3."""
    if stage == 1:
        return feature_dim(1), N_MULTIPLICITIES
    if stage == 2:
        return JET_FEATURES, feature_dim(1) + N_MULTIPLICITIES
    return JET_FEATURES, feature_dim(stage - 1)


def stage_columns(stage: int) -> slice:
    """Columns of an n-jet feature vector (n >= stage) that stage ``stage`` models."""
    start = 0 if stage == 1 else feature_dim(stage - 1)
    return slice(start, feature_dim(stage))


def one_hot(n_jets: int, count: int, like: Tensor | None = None) -> Tensor:
    """One-hot multiplicity, shape (count, N_MULTIPLICITIES)."""
    out = torch.zeros(count, N_MULTIPLICITIES,
                      dtype=like.dtype if like is not None else torch.get_default_dtype(),
                      device=like.device if like is not None else None)
    out[:, n_jets - MIN_JETS] = 1.0
    return out


def stage_condition(stage: int, x: Tensor, n_jets: int) -> Tensor:
    """The condition of stage ``stage`` for n-jet features ``x (B, >= feature_dim(stage-1))``."""
    if stage == 1:
        return one_hot(n_jets, len(x), x)
    if stage == 2:
        return torch.cat([x[:, : feature_dim(1)], one_hot(n_jets, len(x), x)], dim=-1)
    return x[:, : feature_dim(stage - 1)]


def stage_data(stage: int, features: dict[int, Tensor]) -> tuple[Tensor, Tensor]:
    """Training pairs (x, c) of a stage from the per-multiplicity features (N_n, 5 + 4 n)."""
    xs, cs = [], []
    for n, f in sorted(features.items()):
        if n >= stage:
            xs.append(f[:, stage_columns(stage)])
            cs.append(stage_condition(stage, f, n))
    return torch.cat(xs), torch.cat(cs)


class ChainView(nn.Module):
    """The n-jet generator made of the first n stages: ``sample``, ``log_prob`` on the
    5 + 4 n features, like a per-multiplicity feature model (the stages are shared)."""

    def __init__(self, stages: Sequence[FeatureModel], n_jets: int) -> None:
        super().__init__()
        self.stages = nn.ModuleList(stages[:n_jets])
        self.n_jets = n_jets
        self.dim = feature_dim(n_jets)

    def sample(self, n: int, c: Tensor | None = None,
               generator: torch.Generator | None = None) -> Tensor:
        """``n`` samples of the n-jet features, shape (n, 5 + 4 n); ``c`` must be None."""
        if c is not None:
            raise ValueError("the multiplicity chain takes no external condition")
        ref = next(self.parameters())
        x = torch.zeros(n, 0, dtype=ref.dtype, device=ref.device)
        for stage, model in enumerate(self.stages, start=1):
            cond = stage_condition(stage, x, self.n_jets)  # stage 1: x is (n, 0)
            x = torch.cat([x, model.sample(n, cond, generator)], dim=-1)
        return x

    def log_prob(self, x: Tensor, c: Tensor | None = None) -> Tensor:
        """log p(x | n) of n-jet features ``x (B, 5 + 4 n)``: the sum over the stages."""
        total = x.new_zeros(len(x))
        for stage, model in enumerate(self.stages, start=1):
            cond = stage_condition(stage, x, self.n_jets)
            total = total + model.log_prob(x[:, stage_columns(stage)], cond)
        return total


def posterior_views(stages: Sequence[FeatureModel], multiplicities: Sequence[int],
                    seed: int) -> dict[int, ChainView]:
    """One posterior draw of every stage, shared by the views of all multiplicities."""
    drawn = [m.posterior_draw(seed=seed + k) for k, m in enumerate(stages)]  # type: ignore
    return {n: ChainView(drawn, n).eval() for n in multiplicities}
