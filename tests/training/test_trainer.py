"""Trainer: atomic per-epoch checkpoints, exact resume, bit-identical seeds, loud failures."""

from __future__ import annotations

import math

import pytest
import torch

from hepgen.generators.base import get
from hepgen.training.trainer import (
    CHECKPOINT_NAME,
    TrainConfig,
    Trainer,
    TrainingError,
    split_train_val,
)

TINY = {"n_blocks": 2, "kind": "affine", "hidden": 16, "n_layers": 2}
DIM = 9


class Interrupted(Exception):
    """Stands in for a kill between two epochs."""


def features(n: int = 240, seed: int = 0) -> torch.Tensor:
    """Correlated Gaussian features (N, DIM), float32 like the real feature tensors."""
    gen = torch.Generator().manual_seed(seed)
    mix = torch.randn(DIM, DIM, generator=gen) / 3 + torch.eye(DIM)
    return torch.randn(n, DIM, generator=gen) @ mix + 0.5


def model(family: str = "inn", seed: int = 0):
    torch.manual_seed(seed)
    return get(family)(DIM, 0, TINY)


def config(**kwargs) -> TrainConfig:
    return TrainConfig(**{"epochs": 4, "batch_size": 64, "lr": 3e-3, "patience": 100, **kwargs})


def assert_same_state(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_split_is_disjoint_complete_and_seeded():
    train, val = split_train_val(100, 0.2, seed=3)
    assert len(val) == 20 and len(train) == 80
    assert sorted(torch.cat([train, val]).tolist()) == list(range(100))
    assert torch.equal(split_train_val(100, 0.2, seed=3)[1], val)
    assert not torch.equal(split_train_val(100, 0.2, seed=4)[1], val)
    assert len(split_train_val(10, 0.0, seed=0)[1]) == 0


def test_training_lowers_the_loss_and_keeps_the_best_model():
    x = features()
    trainer = Trainer(model(), config(epochs=6))
    start = trainer.evaluate(x, None)
    state = trainer.fit(x)
    assert len(state.history) == 6
    assert min(r.val_loss for r in state.history) < start - 0.05
    best = min(state.history, key=lambda r: r.val_loss)
    assert state.best_epoch == best.epoch and state.best_val == best.val_loss
    # the model left in the trainer is the best one: same validation loss
    _, val_idx = split_train_val(len(x), 0.1, 0)
    assert trainer.evaluate(x[val_idx], None) == pytest.approx(best.val_loss, rel=1e-6)
    assert not trainer.model.training


def test_checkpoint_every_epoch_loads_weights_only(tmp_path):
    seen = []

    def on_epoch(record):
        payload = torch.load(tmp_path / CHECKPOINT_NAME, weights_only=True)
        seen.append((record.epoch, payload["epoch"], len(payload["history"])))

    Trainer(model(), config(epochs=3), tmp_path).fit(features(), on_epoch=on_epoch)
    assert seen == [(0, 1, 1), (1, 2, 2), (2, 3, 3)]
    assert sorted(p.name for p in tmp_path.iterdir()) == [CHECKPOINT_NAME]


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    """A write that dies half-way (disk full, kill) leaves the previous checkpoint intact."""
    x = features()
    real_save = torch.save
    calls = {"n": 0}

    def dying_save(obj, f, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            if hasattr(f, "write"):  # a file handle (atomic_write) or a path
                f.write(b"PK\x03\x04 half a zip file")
            else:
                with open(f, "wb") as handle:
                    handle.write(b"PK\x03\x04 half a zip file")
            raise OSError("disk full")
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", dying_save)
    with pytest.raises(OSError, match="disk full"):
        Trainer(model(), config(epochs=4), tmp_path).fit(x)
    monkeypatch.setattr(torch, "save", real_save)
    payload = torch.load(tmp_path / CHECKPOINT_NAME, weights_only=True)
    assert payload["epoch"] == 2


@pytest.mark.parametrize("family", ["inn", "binn"])
def test_resume_after_interruption_equals_an_uninterrupted_run(tmp_path, family):
    """Stop after epoch 2 of 5, resume in a fresh trainer and model: bit-identical weights,
    optimiser state and history (BINN training draws from the global torch RNG)."""
    x = features()
    torch.manual_seed(123)
    full = Trainer(model(family), config(epochs=5), tmp_path / "full")
    full.fit(x)

    def stop_after_two(record):
        if record.epoch == 1:
            raise Interrupted

    torch.manual_seed(123)
    first = Trainer(model(family), config(epochs=5), tmp_path / "cut")
    with pytest.raises(Interrupted):
        first.fit(x, on_epoch=stop_after_two)
    torch.manual_seed(999)  # whatever happens in between
    resumed = Trainer(model(family, seed=7), config(epochs=5), tmp_path / "cut")
    resumed.fit(x, resume=True)
    assert_same_state(resumed.model.state_dict(), full.model.state_dict())
    assert [vars(r) for r in resumed.state.history] == [vars(r) for r in full.state.history]
    final_full = torch.load(tmp_path / "full" / CHECKPOINT_NAME, weights_only=True)
    final_cut = torch.load(tmp_path / "cut" / CHECKPOINT_NAME, weights_only=True)
    assert_same_state(final_cut["model"], final_full["model"])
    assert final_cut["optimizer"]["state"].keys() == final_full["optimizer"]["state"].keys()
    for k, v in final_full["optimizer"]["state"].items():
        for name, tensor in v.items():
            assert torch.equal(final_cut["optimizer"]["state"][k][name], tensor)


def test_resume_without_checkpoint_fails_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match="checkpoint"):
        Trainer(model(), config(), tmp_path).fit(features(), resume=True)


def test_same_seed_twice_is_bit_identical_and_another_seed_differs():
    x = features()
    runs = []
    for seed in (0, 0, 1):
        trainer = Trainer(model(), config(epochs=2, seed=seed))
        trainer.fit(x)
        runs.append(trainer.model.state_dict())
    assert_same_state(runs[0], runs[1])
    assert any(not torch.equal(runs[0][k], runs[2][k]) for k in runs[0])


def test_bayesian_model_is_told_the_training_set_size():
    m = model("binn")
    Trainer(m, config(epochs=1, val_fraction=0.25)).fit(features(200))
    assert m.n_train == 150


def test_non_finite_loss_stops_training_with_a_hint():
    x = features()
    x[5, 3] = math.nan
    with pytest.raises(TrainingError, match="--lr"):
        Trainer(model(), config(epochs=1, val_fraction=0.0, batch_size=512)).fit(x)


def test_early_stopping_stops_after_patience(tmp_path):
    """With lr = 0 nothing improves after the first epoch: stop after `patience` epochs without
    improvement, i.e. after 1 + patience epochs."""
    trainer = Trainer(model(), config(epochs=20, lr=0.0, patience=2), tmp_path)
    state = trainer.fit(features())
    assert state.best_epoch == 0
    assert len(state.history) == 3


def test_weights_from_a_strategy_reach_the_loss():
    """A WeightStrategy's per-event weights are used in the training loss."""

    class Recording:
        def __init__(self):
            self.calls = []

        def start_epoch(self, model, train_idx, epoch):
            self.n_train = len(train_idx)

        def weights(self, idx, epoch):
            self.calls.append(idx.clone())
            return torch.ones(len(idx))

        def state_dict(self):
            return {}

        def load_state_dict(self, state):
            pass

    strategy = Recording()
    trainer = Trainer(model(), config(epochs=2, batch_size=50), strategy=strategy)
    trainer.fit(features(200))
    idx = torch.cat(strategy.calls[: math.ceil(180 / 50)])
    assert sorted(idx.tolist()) == list(range(180))  # one epoch covers the training subset once
    assert strategy.n_train == 180


def test_an_identical_variant_changes_nothing():
    """Augmenting with a copy equal to the data gives bit-identical training: the gather over
    variants picks the right rows of the right events."""
    x = features()
    runs = []
    for variants in (None, [(x.clone(), None)]):
        torch.manual_seed(0)
        trainer = Trainer(model(), config(epochs=2))
        trainer.fit(x, variants=variants)
        runs.append(trainer.model.state_dict())
    assert_same_state(runs[0], runs[1])


def test_variants_are_shown_to_the_loss_at_random_and_validation_stays_on_x():
    """With one shifted copy, about half of each epoch's training rows come from the copy, each
    row is its own event's copy, and the validation loss is computed on the data as given."""
    x = features(400)
    shifted = x + 100.0
    net = model()
    seen, evaluated = [], []
    real_loss = net.loss

    def recording_loss(xb, c=None, weights=None):
        (seen if net.training else evaluated).append(xb.detach().clone())
        return real_loss(xb, c, weights)

    net.loss = recording_loss
    Trainer(net, config(epochs=3, lr=0.0)).fit(x, variants=[(shifted, None)])
    rows = torch.cat(seen)
    from_copy = rows[:, 0] > 50
    assert 0.4 < from_copy.float().mean() < 0.6
    known = {tuple(r) for r in torch.cat([x, shifted]).tolist()}
    assert all(tuple(r) in known for r in rows.tolist())
    assert (torch.cat(evaluated)[:, 0] < 50).all()
    with pytest.raises(ValueError, match="shapes"):
        Trainer(model(), config(epochs=1)).fit(x, variants=[(x[:, :3], None)])


def test_resume_with_augmentation_equals_an_uninterrupted_run(tmp_path):
    x = features()
    variants = [(-x, None)]
    full = Trainer(model(), config(epochs=4), tmp_path / "full")
    full.fit(x, variants=variants)

    def stop(record):
        if record.epoch == 1:
            raise Interrupted

    with pytest.raises(Interrupted):
        Trainer(model(), config(epochs=4), tmp_path / "cut").fit(x, variants=variants,
                                                                 on_epoch=stop)
    resumed = Trainer(model(seed=5), config(epochs=4), tmp_path / "cut")
    resumed.fit(x, variants=variants, resume=True)
    assert_same_state(resumed.model.state_dict(), full.model.state_dict())
