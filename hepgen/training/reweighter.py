"""Post-hoc reweighting of any trained generator (the reweighting half of DiscFlow).

DiscFlow (:mod:`hepgen.training.discflow`, arXiv 2110.13632 sec. 4) trains a discriminator D
alongside the generator and, after training, uses D/(1-D) ~ p_data/p_model as per-event weights.
Here the discriminator is trained once, after the generator: for each jet multiplicity n,
training events (label 1) against ``n_generated`` events from the finished generator (label 0),
on the same physics observables as DiscFlow (m_mumu, pT balance, Delta R, ...), with a held-out
fraction of both for early stopping. This works for every generator, in particular the
multiplicity chain, which DiscFlow's per-network coupling does not support. The result is stored
in the generator directory exactly like DiscFlow's discriminators, so ``hepgen generate
--reweight`` writes the weights (normalised to mean 1 per multiplicity).

A second, focused stage follows by default (``ReweighterConfig.focus``): per multiplicity a
small cross-fitted discriminator on a few pair observables
(:data:`~hepgen.training.discflow.FOCUS_OBSERVABLES`), trained against new generated events
resampled in proportion to the first stage's weights; the event weight is the product of the
two stages (:class:`~hepgen.training.discflow.WeightProduct`, iterative reweighting). Deviations
that are large but confined to a few observables (the collinear jet pairs just outside the
clustering cone) are at the noise level of a discriminator on ~50 observables and resolved by
one on four (benchmarks/RESULTS.md, "Focused second reweighting stage").

Only the training data are used: the test file stays unseen.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

import awkward as ak
import numpy as np
import torch
from torch import Tensor

from hepgen.generators.event import EventGenerator
from hepgen.physics.errors import HepgenInputError
from hepgen.physics.preprocessing import split_by_multiplicity
from hepgen.training.discflow import (
    FOCUS_OBSERVABLES,
    AnyDiscriminator,
    AnyWeights,
    DiscFlowConfig,
    Discriminator,
    DiscriminatorEnsemble,
    WeightProduct,
    balanced_bce,
    discriminator_observables,
    make_discriminator,
    train_discriminator,
    weight_norms,
)


@dataclass
class ReweighterConfig:
    """Hyper-parameters of the post-hoc discriminators (JSON-serialisable)."""

    #: generated events per training event of the multiplicity, and cross-fitted members
    #: (member k held out fold k of ``members``; 1: one discriminator, ``val_fraction`` held
    #: out): 5 and 5 measured better than 2 and 1 on an independent Pythia sample
    #: (benchmarks/RESULTS.md, "Reweighter variants")
    generated_per_truth: float = 5.0
    members: int = 5
    epochs: int = 30
    patience: int = 5
    val_fraction: float = 0.2  # held out for early stopping (members == 1 only)
    hidden: int = 128
    layers: int = 3
    lr: float = 1e-3
    batch_size: int = 1024
    seed: int = 0
    #: a second, focused stage per multiplicity (discflow.FOCUS_OBSERVABLES), trained on
    #: new generated events weighted by the first stage; small networks on few observables
    focus: bool = True
    focus_hidden: int = 32
    focus_layers: int = 2
    focus_epochs: int = 60
    focus_patience: int = 8

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _split(n: int, fraction: float, gen: torch.Generator) -> tuple[Tensor, Tensor]:
    perm = torch.randperm(n, generator=gen)
    n_val = max(1, int(round(fraction * n)))
    return perm[n_val:], perm[:n_val]


def _folds(n: int, cfg: ReweighterConfig, gen: torch.Generator) -> list[tuple[Tensor, Tensor]]:
    """(train, held-out) index pairs, one per member: a random ``val_fraction`` split for a
    single discriminator, else the ``members`` folds of one permutation (cross-fitting)."""
    if cfg.members == 1:
        return [_split(n, cfg.val_fraction, gen)]
    folds = torch.randperm(n, generator=gen).tensor_split(cfg.members)
    return [(torch.cat([f for j, f in enumerate(folds) if j != k]), folds[k])
            for k in range(cfg.members)]


def fit_discriminator(disc: Discriminator, truth: Tensor, fake: Tensor, cfg: ReweighterConfig,
                      gen: torch.Generator,
                      split: tuple[tuple[Tensor, Tensor], tuple[Tensor, Tensor]] | None = None,
                      ) -> list[dict[str, float]]:
    """Train ``disc`` on raw observables (N, K) (its encoder fitted here, on the training
    part of ``truth``) with early stopping on held-out class-balanced BCE; leaves ``disc`` at
    its best epoch, in eval mode, and returns the per-epoch history. ``split``: the (train,
    held-out) indices of truth and of fake (default: a random ``val_fraction`` split)."""
    if split is None:
        split = (_split(len(truth), cfg.val_fraction, gen),
                 _split(len(fake), cfg.val_fraction, gen))
    (t_train, t_val), (f_train, f_val) = split
    disc.encoder.fit(truth[t_train])
    optimizer = torch.optim.Adam(disc.parameters(), lr=cfg.lr)
    best, best_state, since, history = float("inf"), copy.deepcopy(disc.state_dict()), 0, []
    for epoch in range(cfg.epochs):
        train_loss = train_discriminator(disc, optimizer, truth[t_train], fake[f_train], gen,
                                         batch_size=cfg.batch_size)
        val_loss = balanced_bce(disc, truth[t_val], fake[f_val])
        history.append({"epoch": epoch, "train_bce": train_loss, "val_bce": val_loss})
        if val_loss < best:
            best, best_state, since = val_loss, copy.deepcopy(disc.state_dict()), 0
        else:
            since += 1
            if since >= cfg.patience:
                break
    disc.load_state_dict(best_state)
    disc.eval()
    return history


def _fit_stage(names: list[str], hidden: int, layers: int, truth_events: ak.Array,
               fake_events: ak.Array, cfg: ReweighterConfig, seed: int,
               gen: torch.Generator) -> tuple[AnyDiscriminator, list[dict[str, float]]]:
    """One stage's discriminator (a cross-fitted ensemble of ``cfg.members``, initial weights
    from ``seed``, folds and batches from ``gen``) between training and generated events, and
    its per-epoch history (entries keyed by ``"member"``)."""
    with torch.random.fork_rng():  # initial weights from the seed, not the global state
        torch.manual_seed(seed)
        disc = make_discriminator(names, hidden, layers, cfg.members)
    truth, fake = disc.encoder.raw(truth_events), disc.encoder.raw(fake_events)
    members = disc.members if isinstance(disc, DiscriminatorEnsemble) else [disc]
    splits = zip(_folds(len(truth), cfg, gen), _folds(len(fake), cfg, gen), strict=True)
    history = []
    for k, (member, split) in enumerate(zip(members, splits, strict=True)):
        history += [{"member": k, **h}
                    for h in fit_discriminator(member, truth, fake, cfg, gen, split)]
    disc.eval()
    return disc, history


def _fit_focus(generator: EventGenerator, n: int, truth_events: ak.Array,
               first: AnyDiscriminator, cfg: ReweighterConfig
               ) -> tuple[AnyDiscriminator, list[dict[str, float]]]:
    """The focused second stage of ``n``-jet events: new generated events, resampled with
    replacement in proportion to the first stage's weights (an unweighted sample of
    w_1 q), against the training events, on :data:`FOCUS_OBSERVABLES`."""
    seed = int(np.random.SeedSequence([cfg.seed, n, 1]).generate_state(1)[0])
    gen, rng = torch.Generator().manual_seed(seed), np.random.default_rng(seed)
    fake = generator.sample_n_jets(n, int(round(cfg.generated_per_truth * len(truth_events))),
                                   gen, rng)
    w = first.event_weights(fake)
    fake = fake[rng.choice(len(fake), size=len(fake), p=w / w.sum())]
    stage_cfg = replace(cfg, epochs=cfg.focus_epochs, patience=cfg.focus_patience)
    return _fit_stage(list(FOCUS_OBSERVABLES[n]), cfg.focus_hidden, cfg.focus_layers,
                      truth_events, fake, stage_cfg, seed, gen)


def fit_reweighter(
    generator: EventGenerator, events: ak.Array, cfg: ReweighterConfig,
    on_multiplicity: Callable[[int, list[dict[str, float]]], None] | None = None,
) -> dict[int, AnyWeights]:
    """Fit one discriminator (or a cross-fitted ensemble of ``cfg.members``) per multiplicity
    of ``generator`` (training events ``events``), with ``cfg.focus`` a focused second stage
    on top (the two then a :class:`WeightProduct`),
    store them in ``generator.meta["discflow"]`` (with ``"posthoc": True``) and return them.
    Save the generator with :func:`discriminator_tensors` as ``extra`` to keep them."""
    by_n = split_by_multiplicity(events)
    discs: dict[int, AnyWeights] = {}
    histories, focus_histories = {}, {}
    for n in generator.multiplicities:
        if len(by_n.get(n, [])) < 10:
            raise HepgenInputError(f"fewer than 10 training events with {n} jet(s): cannot "
                                   "fit its reweighting discriminator")
        seed = int(np.random.SeedSequence([cfg.seed, n]).generate_state(1)[0])
        gen, rng = torch.Generator().manual_seed(seed), np.random.default_rng(seed)
        n_fake = int(round(cfg.generated_per_truth * len(by_n[n])))
        fake_events = generator.sample_n_jets(n, n_fake, gen, rng)
        disc, histories[str(n)] = _fit_stage(discriminator_observables(n), cfg.hidden,
                                             cfg.layers, by_n[n], fake_events, cfg, seed,
                                             gen)
        discs[n] = disc
        if cfg.focus and n in FOCUS_OBSERVABLES:
            second, focus_histories[str(n)] = _fit_focus(generator, n, by_n[n], disc, cfg)
            discs[n] = WeightProduct([disc, second]).eval()
        if on_multiplicity is not None:
            on_multiplicity(n, histories[str(n)])
    disc_config = DiscFlowConfig(disc_hidden=cfg.hidden, disc_layers=cfg.layers, seed=cfg.seed,
                                 disc_members=cfg.members)
    generator.meta["discflow"] = {
        "observables": {str(n): _first(d).encoder.names for n, d in discs.items()},
        "config": disc_config.to_dict(),
        "posthoc": True,
        "reweighter_config": cfg.to_dict(),
        "reweighter_history": histories,
        # what `generate --reweight` would otherwise compute at every start (same function)
        "weight_norms": {str(n): v for n, v in weight_norms(generator, discs).items()},
    }
    if focus_histories:
        generator.meta["discflow"]["focus"] = {
            "observables": {n: list(FOCUS_OBSERVABLES[int(n)]) for n in focus_histories},
            "hidden": cfg.focus_hidden, "layers": cfg.focus_layers, "members": cfg.members,
            "history": focus_histories,
        }
    return discs


def _first(weights: AnyWeights) -> AnyDiscriminator:
    return weights.stages[0] if isinstance(weights, WeightProduct) else weights


def mean_best_bce(history: list[dict[str, float]]) -> float:
    """Best held-out BCE of each member (entries of ``history`` keyed by ``"member"``),
    averaged over the members."""
    best: dict[int, float] = {}
    for h in history:
        k = int(h.get("member", 0))
        best[k] = min(best.get(k, float("inf")), h["val_bce"])
    return float(np.mean(list(best.values())))


def discriminator_tensors(
    discs: dict[int, AnyWeights],
) -> dict[str, Tensor]:
    """``disc<n>.<param>`` tensors (a :class:`WeightProduct`'s second stage: ``focus<n>.``),
    the layout :func:`~hepgen.training.discflow.load_discriminators` reads from
    ``weights.pt``."""
    out = {}
    for n, d in discs.items():
        stages = list(d.stages) if isinstance(d, WeightProduct) else [d]
        for prefix, stage in zip((f"disc{n}.", f"focus{n}."), stages, strict=False):
            out.update({prefix + k: v for k, v in stage.state_dict().items()})
    return out
