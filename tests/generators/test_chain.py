"""The autoregressive multiplicity chain (hepgen.generators.chain) and EventGenerator's chain
mode: stage layout, training pairs, sampling order, save/load, physics domain, posterior draws,
and training through train_generator."""

from __future__ import annotations

import json

import awkward as ak
import numpy as np
import pytest
import torch

from hepgen.generators.chain import (
    ChainView,
    one_hot,
    stage_columns,
    stage_condition,
    stage_data,
    stage_dims,
)
from hepgen.generators.event import EventGenerator
from hepgen.physics.errors import HepgenInputError
from hepgen.physics.preprocessing import feature_dim
from hepgen.training.run import RUN_NAME, RunConfig, train_generator

TINY = {"n_blocks": 2, "kind": "affine", "hidden": 16, "n_layers": 2}


def chain_generator(make_events, family: str = "inn", seed: int = 0,
                    representation: str = "particles") -> EventGenerator:
    torch.manual_seed(seed)
    generator = EventGenerator(family, TINY, multiplicity_model="chain",
                               representation=representation)
    generator.fit_preprocessing(make_events(400, seed=5))
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():  # move away from the near-identity start
        for name, param in generator.named_parameters():
            if "logvar" in name:
                param.fill_(-3.0)
            else:
                param.add_(0.1 * torch.randn(param.shape, generator=gen))
    return generator.eval()


def test_stage_layout_covers_every_feature_once():
    assert stage_dims(1) == (9, 3) and stage_dims(2) == (4, 12) and stage_dims(3) == (4, 13)
    for n in (1, 2, 3):
        cols = [c for k in range(1, n + 1) for c in range(feature_dim(n))[stage_columns(k)]]
        assert cols == list(range(feature_dim(n)))


def test_stage_data_pairs_events_with_their_conditions():
    features = {n: torch.full((10 * n, feature_dim(n)), float(n)) for n in (1, 2, 3)}
    x1, c1 = stage_data(1, features)
    assert x1.shape == (60, 9) and c1.shape == (60, 3)
    torch.testing.assert_close(c1.sum(0), torch.tensor([10.0, 20.0, 30.0]))  # one-hot counts
    x2, c2 = stage_data(2, features)
    assert x2.shape == (50, 4) and c2.shape == (50, 12)
    assert (c2[:20, -3:] == one_hot(2, 20)).all() and (c2[20:, -3:] == one_hot(3, 30)).all()
    assert (c2[:20, :9] == 2.0).all() and (x2[20:] == 3.0).all()
    x3, c3 = stage_data(3, features)
    assert x3.shape == (30, 4) and c3.shape == (30, 13)


def test_view_samples_stage_by_stage_with_the_right_conditions(make_events):
    """The first 9 columns of an n-jet sample are stage 1's draw given one-hot(n); the j2
    columns are stage 2's draw given those (same random stream)."""
    generator = chain_generator(make_events)
    stages = generator.stages()
    view = generator.model(2)
    assert isinstance(view, ChainView) and view.dim == 13
    x = view.sample(64, None, torch.Generator().manual_seed(3))
    gen = torch.Generator().manual_seed(3)
    first = stages[0].sample(64, one_hot(2, 64), gen)
    second = stages[1].sample(64, stage_condition(2, first, 2), gen)
    torch.testing.assert_close(x, torch.cat([first, second], dim=-1))
    # the condition matters: stage 1 given n = 1 gives other draws from the same stream
    other = stages[0].sample(64, one_hot(1, 64), torch.Generator().manual_seed(3))
    assert not torch.allclose(other, first)


def test_view_log_prob_is_the_sum_of_the_stages(make_events):
    generator = chain_generator(make_events)
    view = generator.model(3)
    x = view.sample(32, None, torch.Generator().manual_seed(1))
    expected = sum(
        m.log_prob(x[:, stage_columns(k)], stage_condition(k, x, 3))
        for k, m in enumerate(generator.stages(), start=1))
    torch.testing.assert_close(view.log_prob(x), expected)
    assert torch.isfinite(view.log_prob(x)).all()
    with pytest.raises(ValueError, match="no external condition"):
        view.sample(3, torch.zeros(3, 1))


@pytest.mark.parametrize("representation", ["particles", "recoil"])
def test_chain_generator_save_load_and_domain(make_events, tmp_path, representation):
    generator = chain_generator(make_events, representation=representation)
    generator.save(tmp_path / "m")
    config = json.loads((tmp_path / "m" / "generator.json").read_text())
    assert config["multiplicity_model"] == "chain"
    assert config["representation"] == representation
    loaded, _ = EventGenerator.load(tmp_path / "m")
    assert loaded.multiplicity_model == "chain"
    assert {p.REPRESENTATION for p in loaded.preprocessors.values()} == {representation}
    a, _ = generator.sample_events(300, seed=4)
    b, _ = loaded.sample_events(300, seed=4)
    np.testing.assert_array_equal(ak.to_numpy(ak.flatten(a.Jet.pt)),
                                  ak.to_numpy(ak.flatten(b.Jet.pt)))
    counts = ak.to_numpy(ak.num(a.Jet, axis=1))
    assert set(np.unique(counts)) == {1, 2, 3}
    assert ak.to_numpy(ak.flatten(a.Jet.pt)).min() >= 20.0
    assert ak.all(a.Jet.pt[:, :-1] >= a.Jet.pt[:, 1:])


def test_chain_posterior_draws_share_stages_and_differ_between_draws(make_events):
    generator = chain_generator(make_events, family="binn")
    assert generator.is_bayesian
    draw0, again, draw1 = (generator.posterior_models(k) for k in (0, 0, 1))
    x0 = draw0[2].sample(50, None, torch.Generator().manual_seed(0))
    torch.testing.assert_close(again[2].sample(50, None, torch.Generator().manual_seed(0)), x0)
    assert not torch.allclose(draw1[2].sample(50, None, torch.Generator().manual_seed(0)), x0)
    # one draw of stage 1 serves every multiplicity
    assert draw0[1].stages[0] is draw0[3].stages[0]


def test_train_generator_with_the_chain(make_events, tmp_path):
    config = RunConfig.from_dict({"model": "inn", "multiplicity": "chain",
                                  "model_config": TINY, "train": {"epochs": 2}})
    generator = train_generator(make_events(500, seed=2), config, tmp_path / "run")
    run = json.loads((tmp_path / "run" / RUN_NAME).read_text())
    assert set(run["history"]) == {"chain1", "chain2", "chain3"}
    assert all((tmp_path / "run" / f"chain{k}" / "done.pt").exists() for k in (1, 2, 3))
    loaded, _ = EventGenerator.load(tmp_path / "run")
    events, _ = loaded.sample_events(100, seed=0)
    assert len(events) == 100
    assert generator.multiplicity_model == "chain"


@pytest.mark.parametrize("data, match", [
    ({"model": "inn", "multiplicity": "tree"}, "'multiplicity'"),
    ({"model": "discflow", "multiplicity": "chain"}, "separate"),
    ({"model": "inn", "representation": "polar"}, "'representation'"),
    ({"model": "inn", "stage_model_config": {"2": {"hidden": 8}}}, "needs"),
    ({"model": "inn", "multiplicity": "chain", "stage_model_config": {"4": {}}}, "stages"),
    ({"model": "inn", "multiplicity": "chain", "stage_model_config": {"2": {"kind": "x"}}},
     "stage 2"),
])
def test_run_config_rejects_bad_multiplicity_options(data, match):
    with pytest.raises(HepgenInputError, match=match):
        RunConfig.from_dict(data)


def test_stage_config_gives_stages_their_own_network_and_survives_save_load(make_events,
                                                                             tmp_path):
    generator = EventGenerator("inn", TINY, multiplicity_model="chain",
                               stage_model_config={"3": {"hidden": 8, "n_blocks": 1}})
    generator.fit_preprocessing(make_events(400, seed=5))
    sizes = [sum(p.numel() for p in m.parameters()) for m in generator.stages()]
    assert sizes[2] < sizes[1]
    assert generator.config_of_stage(3)["hidden"] == 8
    assert generator.config_of_stage(2) == TINY
    generator.save(tmp_path / "m")
    loaded, _ = EventGenerator.load(tmp_path / "m")
    assert loaded.stage_model_config == {"3": {"hidden": 8, "n_blocks": 1}}
    a, _ = generator.eval().sample_events(200, seed=1)
    b, _ = loaded.sample_events(200, seed=1)
    np.testing.assert_array_equal(ak.to_numpy(ak.flatten(a.Jet.eta)),
                                  ak.to_numpy(ak.flatten(b.Jet.eta)))
    with pytest.raises(ValueError, match="needs the multiplicity chain"):
        EventGenerator("inn", TINY, stage_model_config={"2": {"hidden": 8}})
