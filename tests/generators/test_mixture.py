"""Ensembles (hepgen.generators.mixture) and EventGenerator's ``ensemble`` option: the mixture
density, how samples are drawn from the members, construction, save/load, and training through
train_generator (members trained apart, member 0 equal to the single network, resume)."""

from __future__ import annotations

import json
import math

import awkward as ak
import numpy as np
import pytest
import torch

from hepgen.generators.event import EventGenerator, check_ensemble
from hepgen.generators.inn import INNModel
from hepgen.generators.mixture import MixtureModel
from hepgen.physics.errors import HepgenInputError
from hepgen.training.run import RUN_NAME, RunConfig, train_generator

TINY = {"n_blocks": 2, "kind": "affine", "hidden": 16, "n_layers": 2}
TRAIN = {"epochs": 2, "batch_size": 64, "lr": 2e-3}


def members(k: int, dim: int = 3, cond: int = 2) -> list[INNModel]:
    out = []
    for i in range(k):
        torch.manual_seed(i)
        model = INNModel(dim, cond, {**TINY, "seed": i})
        with torch.no_grad():  # away from the identity start, differently per member
            for p in model.parameters():
                p.add_(0.2 * torch.randn(p.shape))
        out.append(model.eval())
    return out


def test_log_prob_is_the_log_of_the_mean_member_density():
    models = members(3)
    mix = MixtureModel(models)
    x, c = torch.randn(50, 3), torch.randn(50, 2)
    with torch.no_grad():
        expected = torch.log(torch.stack([m.log_prob(x, c).exp() for m in models]).mean(0))
        torch.testing.assert_close(mix.log_prob(x, c), expected, rtol=1e-5, atol=1e-5)
        single = MixtureModel([models[0]])
        torch.testing.assert_close(single.log_prob(x, c), models[0].log_prob(x, c))


def test_mixture_of_copies_has_the_copy_density():
    model = members(1)[0]
    x, c = torch.randn(20, 3), torch.randn(20, 2)
    with torch.no_grad():
        torch.testing.assert_close(MixtureModel([model, model]).log_prob(x, c),
                                   model.log_prob(x, c), rtol=1e-6, atol=1e-5)


def test_each_event_comes_from_one_uniformly_drawn_member():
    """Replay the draw: member indices from the generator, then each member's samples."""
    models = members(3)
    mix = MixtureModel(models)
    c = torch.randn(3000, 2)
    with torch.no_grad():
        x = mix.sample(3000, c, torch.Generator().manual_seed(4))
        gen = torch.Generator().manual_seed(4)
        member = torch.randint(3, (3000,), generator=gen)
        for k, model in enumerate(models):
            index = (member == k).nonzero(as_tuple=True)[0]
            torch.testing.assert_close(x[index], model.sample(len(index), c[index], gen))
    counts = torch.bincount(member, minlength=3).double()
    assert ((counts - 1000).abs() < 5 * math.sqrt(1000)).all()  # uniform within 5 sigma
    assert mix.sample(0, c[:0]).shape == (0, 3)


def test_mixture_checks_its_members():
    with pytest.raises(ValueError, match="at least one"):
        MixtureModel([])
    with pytest.raises(ValueError, match="widths"):
        MixtureModel([INNModel(3, 2, TINY), INNModel(4, 2, TINY)])
    with pytest.raises(TypeError, match="Bayesian"):
        MixtureModel(members(2)).posterior_draw(seed=1)


def test_bayesian_members_give_a_mixture_of_posterior_draws():
    from hepgen.generators.inn import BayesianINNModel
    mix = MixtureModel([BayesianINNModel(3, 0, TINY), BayesianINNModel(3, 0, {**TINY, "seed": 1})])
    drawn = mix.posterior_draw(seed=5)
    assert isinstance(drawn, MixtureModel) and len(drawn) == 2
    x = torch.randn(10, 3)
    with torch.no_grad():
        torch.testing.assert_close(drawn.log_prob(x), mix.posterior_draw(seed=5).log_prob(x))


@pytest.mark.parametrize("ensemble, match", [
    ({"4": 2}, "keys must be among"), ({"2": 0}, ">= 1"), ({"2": True}, ">= 1"),
    ({"2": 2.5}, ">= 1"), ([["2", 3]], "expected an object"), ("3", "expected an object"),
])
def test_bad_ensemble_options_are_refused(ensemble, match):
    with pytest.raises(ValueError, match=match):
        check_ensemble(ensemble, {1, 2, 3})
    with pytest.raises(HepgenInputError, match="ensemble"):
        RunConfig.from_dict({"model": "inn", "multiplicity": "chain", "ensemble": ensemble})


def test_ensemble_does_not_combine_with_discflow():
    with pytest.raises(HepgenInputError, match="'ensemble' does not combine"):
        RunConfig.from_dict({"model": "discflow", "ensemble": {"2": 2}})


def test_generator_with_ensemble_names_members_and_survives_save_load(make_events, tmp_path):
    torch.manual_seed(0)
    generator = EventGenerator("inn", TINY, multiplicity_model="chain",
                               ensemble={"3": 3, "2": 2})
    assert generator.ensemble == {"2": 2, "3": 3}
    names = [(n, i, m) for n, i, m, _ in generator.training_networks()]
    assert names == [("chain1", 1, 0), ("chain2", 2, 0), ("chain2_m1", 2, 1), ("chain3", 3, 0),
                     ("chain3_m1", 3, 1), ("chain3_m2", 3, 2)]
    seeds = [m.inn_config.seed for _, _, _, m in generator.training_networks()]
    assert seeds == [0, 0, 1, 0, 1, 2]
    generator.fit_preprocessing(make_events(400, seed=5))
    generator.save(tmp_path / "m")
    loaded, _ = EventGenerator.load(tmp_path / "m")
    assert loaded.ensemble == {"2": 2, "3": 3}
    a, _ = generator.eval().sample_events(300, seed=1)
    b, _ = loaded.sample_events(300, seed=1)
    np.testing.assert_array_equal(ak.to_numpy(ak.flatten(a.Jet.pt)),
                                  ak.to_numpy(ak.flatten(b.Jet.pt)))


def test_separate_networks_take_an_ensemble_per_multiplicity():
    generator = EventGenerator("inn", TINY, ensemble={"1": 2})
    assert [n for n, *_ in generator.training_networks()] == ["j1", "j1_m1", "j2", "j3"]
    assert isinstance(generator.model(1), MixtureModel)


def ensemble_config(**extra) -> RunConfig:
    return RunConfig.from_dict({"model": "inn", "multiplicity": "chain", "model_config": TINY,
                                "train": TRAIN, **extra})


def test_trained_members_differ_and_member_zero_is_the_single_network(make_events, tmp_path):
    events = make_events(400, seed=1)
    single = train_generator(events, ensemble_config(), tmp_path / "single", seed=2)
    mixed = train_generator(events, ensemble_config(ensemble={"2": 3}), tmp_path / "mix", seed=2)
    stage = mixed.models["chain2"]
    assert isinstance(stage, MixtureModel) and len(stage) == 3
    for a, b in zip(single.models["chain2"].state_dict().values(),
                    stage.members[0].state_dict().values(), strict=True):
        assert torch.equal(a, b)
    w = [torch.cat([p.flatten() for p in m.parameters()]) for m in stage.members]
    assert not torch.equal(w[0], w[1]) and not torch.equal(w[1], w[2])
    assert sorted(p.name for p in (tmp_path / "mix").iterdir() if p.is_dir()) == [
        "chain1", "chain2", "chain2_m1", "chain2_m2", "chain3"]
    run = json.loads((tmp_path / "mix" / RUN_NAME).read_text())
    assert {"chain2_m1", "chain2_m2"} <= set(run["history"])
    assert run["meta"]["run_config"]["ensemble"] == {"2": 3}


def test_an_ensemble_run_resumes_from_a_single_networks_finished_stages(make_events, tmp_path):
    """Adding members to a finished run: the finished stages are reused, the members train."""
    events = make_events(400, seed=1)
    train_generator(events, ensemble_config(), tmp_path / "run", seed=2)
    direct = train_generator(events, ensemble_config(ensemble={"3": 2}), tmp_path / "direct",
                             seed=2)
    resumed = train_generator(events, ensemble_config(ensemble={"3": 2}), tmp_path / "run",
                              seed=2, resume=True)
    for a, b in zip(direct.state_dict().values(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_a_members_initial_weights_do_not_depend_on_other_ensembles():
    torch.manual_seed(3)
    a = EventGenerator("inn", TINY, multiplicity_model="chain", ensemble={"3": 2})
    torch.manual_seed(3)
    b = EventGenerator("inn", TINY, multiplicity_model="chain", ensemble={"1": 2, "2": 3, "3": 2})
    for x, y in zip(a.models["chain3"].state_dict().values(),
                    b.models["chain3"].state_dict().values(), strict=True):
        assert torch.equal(x, y)
    torch.manual_seed(4)
    c = EventGenerator("inn", TINY, multiplicity_model="chain", ensemble={"3": 2})
    assert not torch.equal(c.models["chain3"].members[1].flow.layers[1].conditioner.net[0].weight,
                           a.models["chain3"].members[1].flow.layers[1].conditioner.net[0].weight)
