"""DiscFlow (arXiv 2110.13632): weight schedule, batch normalisation, loud non-finite weights."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hepgen.generators.event import EventGenerator
from hepgen.physics.preprocessing import split_by_multiplicity
from hepgen.training.discflow import (
    DiscFlowConfig,
    DiscFlowStrategy,
    discriminator_observables,
)
from hepgen.training.trainer import TrainConfig, Trainer, TrainingError

TINY = {"n_blocks": 2, "kind": "affine", "hidden": 16, "n_layers": 2}
N_JETS = 2


def strategy_for(make_events, **cfg) -> tuple[DiscFlowStrategy, EventGenerator, torch.Tensor]:
    torch.manual_seed(0)
    events = make_events(600, seed=4)
    generator = EventGenerator("inn", TINY)
    features = generator.fit_preprocessing(events)
    truth = split_by_multiplicity(events)[N_JETS]
    config = DiscFlowConfig(**{"alpha": 0.5, "start_epoch": 2, "ramp_epochs": 4,
                               "n_generated": 150, "disc_hidden": 16, "disc_layers": 2,
                               "disc_batch_size": 64, **cfg})
    return DiscFlowStrategy(generator, N_JETS, truth, config), generator, features[N_JETS]


def test_exponent_schedule(make_events):
    strategy, _, _ = strategy_for(make_events, alpha=0.5, start_epoch=3, ramp_epochs=4)
    values = [strategy.exponent(e) for e in range(12)]
    assert values[:3] == [0.0, 0.0, 0.0]
    ramp = values[2:7]  # from the last zero to the first full value (epoch 6)
    steps = np.diff(ramp)
    assert np.allclose(steps, 0.5 / 4) and values[6] == pytest.approx(0.5)
    assert values[6:] == [pytest.approx(0.5)] * 6
    # ramp_epochs = 0 switches the coupling on at once
    strategy.config = DiscFlowConfig(alpha=2.0, start_epoch=1, ramp_epochs=0)
    assert [strategy.exponent(e) for e in range(3)] == [0.0, 2.0, 2.0]


def test_weights_are_normalised_to_batch_mean_one_and_follow_the_logits(make_events):
    strategy, _, _ = strategy_for(make_events, alpha=0.5, start_epoch=0, ramp_epochs=1)
    logits = torch.randn(500, generator=torch.Generator().manual_seed(0)) * 3
    strategy.logits = logits
    for idx in (torch.arange(64), torch.arange(100, 500, 3), torch.tensor([7])):
        w = strategy.weights(idx, epoch=5)
        assert w.shape == idx.shape and torch.isfinite(w).all() and (w > 0).all()
        assert abs(float(w.mean()) - 1.0) < 1e-5
        expected = torch.exp(0.5 * logits[idx].double())
        torch.testing.assert_close(w.double(), expected / expected.mean(), rtol=1e-5, atol=0)


def test_large_finite_logits_give_finite_weights(make_events):
    """A saturated discriminator (logit 100: D/(1-D) ~ 3e43, beyond float32) must not turn the
    most under-represented events into weight 0: finite logits give finite, ordered weights
    with batch mean 1."""
    strategy, _, _ = strategy_for(make_events, alpha=1.0, start_epoch=0, ramp_epochs=1)
    logits = torch.tensor([100.0, 95.0, 0.0, -3.0] + [0.5] * 60)
    strategy.logits = logits
    w = strategy.weights(torch.arange(len(logits)), epoch=3)
    assert torch.isfinite(w).all()
    assert abs(float(w.mean()) - 1.0) < 1e-5
    assert float(w[0]) > float(w[1]) > float(w[4]) > float(w[2]) > float(w[3]) >= 0.0


def test_start_epoch_trains_the_discriminator_only_when_the_coupling_is_on(make_events):
    strategy, generator, x = strategy_for(make_events, start_epoch=1, ramp_epochs=2)
    model = generator.model(N_JETS)
    train_idx = torch.arange(len(x))
    strategy.start_epoch(model, train_idx, 0)
    assert strategy.logits is None and strategy.weights(train_idx[:10], 0) is None
    before = {k: v.clone() for k, v in strategy.disc.state_dict().items()}
    model.train()
    strategy.start_epoch(model, train_idx, 1)
    assert model.training, "start_epoch must restore the model's mode"
    assert strategy.logits is not None and strategy.logits.shape == (len(x),)
    assert torch.isfinite(strategy.logits).all()
    changed = [k for k, v in strategy.disc.state_dict().items() if not torch.equal(v, before[k])]
    assert any(k.startswith("net.") for k in changed), "the discriminator was not trained"
    assert strategy.history and strategy.history[-1]["epoch"] == 1
    w = strategy.weights(train_idx[:64], 1)
    assert abs(float(w.mean()) - 1.0) < 1e-5


def test_non_finite_weights_stop_training_naming_alpha(make_events):
    """Crafted logits (NaN, +inf) make the weights non-finite; the trainer stops with a
    TrainingError that tells the user to lower alpha."""

    class Crafted(DiscFlowStrategy):
        def start_epoch(self, model, train_idx, epoch):
            if self.exponent(epoch) == 0.0:
                self.logits = None
                return
            logits = torch.zeros(len(train_idx))
            logits[::3] = math.inf
            logits[1::3] = math.nan
            self.logits = logits

    base, generator, x = strategy_for(make_events, start_epoch=1, ramp_epochs=1)
    truth = split_by_multiplicity(make_events(600, seed=4))[N_JETS]
    crafted = Crafted(generator, N_JETS, truth, base.config)
    trainer = Trainer(generator.model(N_JETS),
                      TrainConfig(epochs=3, batch_size=64, lr=1e-3), strategy=crafted)
    with pytest.raises(TrainingError, match="alpha") as info:
        trainer.fit(x)
    assert "epoch 2" in str(info.value)
    assert crafted.nonfinite > 0


def test_discriminator_observables_skip_constant_and_absolute_azimuths():
    names = discriminator_observables(2)
    assert "n_jets" not in names
    assert "m_mumu" in names and any("j2" in n for n in names)
    assert not any(n.endswith("_phi") and not n.startswith("dphi") for n in names)
    assert not any("j3" in n for n in names)
    assert len(discriminator_observables(3)) > len(names) > len(discriminator_observables(1))
