"""Post-hoc reweighting (hepgen.training.reweighter, the reweighting half of arXiv 2110.13632
sec. 4): storage next to the generator, and weights that move a wrong generator towards data."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from hepgen.generators.event import EventGenerator
from hepgen.physics.errors import HepgenInputError
from hepgen.physics.events import n_jets
from hepgen.physics.observables import evaluate_all
from hepgen.physics.preprocessing import split_by_multiplicity
from hepgen.training.discflow import (
    FOCUS_OBSERVABLES,
    Discriminator,
    DiscriminatorEnsemble,
    WeightProduct,
    load_discriminators,
    stored_weight_norms,
    weight_norms,
)
from hepgen.training.reweighter import (
    ReweighterConfig,
    _folds,
    discriminator_tensors,
    fit_reweighter,
    mean_best_bce,
)
from hepgen.validation.toys import toy_events

TINY = {"n_blocks": 2, "kind": "affine", "hidden": 16, "n_layers": 2}
FAST = ReweighterConfig(epochs=15, patience=5, hidden=32, layers=2, batch_size=256)


@pytest.fixture(scope="module")
def untrained():
    """A generator with fitted preprocessing and random (untrained) networks: clearly wrong
    (means of m_mumu, pT_mumu, pT_j1 25-45 % off), but overlapping the data: weights can only
    move a generator within its own support (with perturbations of 0.3 most of its 1-jet
    events lay far outside the data and a single small discriminator left pT_mumu where it
    was)."""
    torch.manual_seed(0)
    events = toy_events(2000, seed=3)
    generator = EventGenerator("inn", TINY, multiplicity_model="chain")
    generator.fit_preprocessing(events)
    with torch.no_grad():
        for p in generator.parameters():
            p.add_(0.1 * torch.randn(p.shape))
    return generator.eval(), events


@pytest.mark.parametrize("members", [1, 3])
def test_weights_move_a_wrong_generator_towards_the_data(untrained, members):
    generator, events = untrained
    discs = fit_reweighter(generator, events, replace(FAST, members=members, focus=False))
    assert set(discs) == {1, 2, 3}
    kind = Discriminator if members == 1 else DiscriminatorEnsemble
    assert all(isinstance(d, kind) for d in discs.values())
    truth = split_by_multiplicity(events)[1]
    sample, _ = generator.sample_multiplicity(generator.model(1), 1, 6000,
                                              torch.Generator().manual_seed(9),
                                              np.random.default_rng(9))
    w = discs[1].event_weights(sample)
    assert np.isfinite(w).all() and (w > 0).all()
    for name in ("m_mumu", "pt_mumu", "j1_pt"):
        t, g = evaluate_all(truth, [name])[name][0], evaluate_all(sample, [name])[name][0]
        before = abs(np.mean(g) - np.mean(t))
        after = abs(np.average(g, weights=w) - np.mean(t))
        assert after < before, name


@pytest.mark.parametrize(("members", "focus"), [(1, False), (2, False), (2, True)])
def test_stored_like_discflow_and_survive_save_load(untrained, tmp_path, members, focus):
    generator, events = untrained
    discs = fit_reweighter(generator, events,
                           ReweighterConfig(epochs=2, hidden=16, layers=1, members=members,
                                            focus=focus, focus_epochs=2))
    tensors = discriminator_tensors(discs)
    assert any(k.startswith("focus2.") for k in tensors) is focus
    generator.save(tmp_path / "m", extra=discriminator_tensors(discs))
    loaded, extra = EventGenerator.load(tmp_path / "m")
    assert loaded.meta["discflow"]["posthoc"] is True
    assert set(loaded.meta["discflow"]["reweighter_history"]) == {"1", "2", "3"}
    again = load_discriminators(loaded.meta, extra)
    assert type(again[2]) is type(discs[2])
    sample, _ = generator.sample_events(300, seed=2)
    two = split_by_multiplicity(sample)[2]
    np.testing.assert_array_equal(again[2].event_weights(two), discs[2].event_weights(two))


def test_ensemble_weight_is_the_geometric_mean_of_its_members(untrained):
    generator, events = untrained
    discs = fit_reweighter(generator, events,
                           ReweighterConfig(epochs=2, hidden=16, layers=1, members=3,
                                            focus=False))
    ensemble = discs[1]
    assert len(ensemble.members) == 3
    raw = ensemble.encoder.raw(split_by_multiplicity(events)[1])
    logits = torch.stack([m.logit(raw) for m in ensemble.members])
    assert not torch.equal(logits[0], logits[1])  # members differ (own folds and initial weights)
    torch.testing.assert_close(ensemble.logit(raw), logits.mean(0))
    history = generator.meta["discflow"]["reweighter_history"]["1"]
    assert {h["member"] for h in history} == {0, 1, 2}
    assert 0 < mean_best_bce(history) < 1


def test_focused_stage_multiplies_the_first_and_is_stored_with_its_observables(untrained):
    """With ``focus`` each multiplicity's weights are a WeightProduct: the first stage on every
    observable times a small second stage on FOCUS_OBSERVABLES, trained on generated events
    resampled by the first stage's weights."""
    generator, events = untrained
    discs = fit_reweighter(generator, events, replace(FAST, members=2, focus_epochs=5))
    info = generator.meta["discflow"]["focus"]
    assert info["observables"] == {str(n): list(FOCUS_OBSERVABLES[n]) for n in (1, 2, 3)}
    assert {h["member"] for h in info["history"]["2"]} == {0, 1}
    sample, _ = generator.sample_events(400, seed=5)
    two = split_by_multiplicity(sample)[2]
    for n, weights in discs.items():
        assert isinstance(weights, WeightProduct) and len(weights.stages) == 2
        first, second = weights.stages
        assert first.encoder.names == generator.meta["discflow"]["observables"][str(n)]
        assert second.encoder.names == list(FOCUS_OBSERVABLES[n])
    first, second = discs[2].stages
    product = first.event_weights(two) * second.event_weights(two)
    np.testing.assert_allclose(discs[2].event_weights(two), product, rtol=1e-12)
    assert not np.allclose(second.event_weights(two), 1.0)  # the second stage does something


def test_cross_fitting_folds_partition_the_events():
    gen = torch.Generator().manual_seed(0)
    folds = _folds(103, ReweighterConfig(members=4), gen)
    held_out = torch.cat([val for _, val in folds])
    assert sorted(held_out.tolist()) == list(range(103))  # each event held out exactly once
    for train, val in folds:
        assert len(train) + len(val) == 103
        assert not set(train.tolist()) & set(val.tolist())
    (train, val), = _folds(100, ReweighterConfig(members=1, val_fraction=0.2), gen)
    assert len(val) == 20 and len(train) == 80


def test_too_few_events_of_a_multiplicity_is_an_input_error(untrained):
    generator, events = untrained
    only_few = events[few_three_jet_events(events)]
    with pytest.raises(HepgenInputError, match="3 jet"):
        fit_reweighter(generator, only_few, FAST)


def few_three_jet_events(events) -> np.ndarray:
    """All 1- and 2-jet events and only five 3-jet events."""
    counts = n_jets(events)
    keep = counts < 3
    keep[np.flatnonzero(counts == 3)[:5]] = True
    return keep


def test_same_seed_gives_the_same_discriminators(untrained):
    generator, events = untrained
    cfg = ReweighterConfig(epochs=2, hidden=16, layers=1, seed=4)
    torch.manual_seed(123)  # the global torch state must not matter
    a = fit_reweighter(generator, events, cfg)
    torch.manual_seed(321)
    b = fit_reweighter(generator, events, cfg)
    for n in a:
        for key, value in a[n].state_dict().items():
            torch.testing.assert_close(b[n].state_dict()[key], value, rtol=0, atol=0)


def test_fit_stores_the_weight_norms_generate_would_compute(untrained):
    """fit_reweighter stores the per-multiplicity weight normalisations, exactly those
    weight_norms computes from the generator (so `generate --reweight` can skip them)."""
    generator, events = untrained
    discs = fit_reweighter(generator, events,
                           ReweighterConfig(epochs=1, hidden=16, layers=1, members=2))
    stored = stored_weight_norms(generator.meta)
    assert set(stored) == {1, 2, 3}
    assert stored == weight_norms(generator, discs)
    assert stored_weight_norms({}) == {} and stored_weight_norms({"discflow": {}}) == {}
