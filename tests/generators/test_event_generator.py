"""EventGenerator: streaming, Bayesian posterior draws, safe and checked model loading."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import torch

from hepgen.generators.event import CONFIG_NAME, WEIGHTS_NAME, EventGenerator
from hepgen.generators.fsr import fsr_config
from hepgen.physics.errors import HepgenInputError

TINY = {"n_blocks": 2, "kind": "affine", "hidden": 16, "n_layers": 2}


def fitted(family: str, make_events, seed: int = 0) -> EventGenerator:
    torch.manual_seed(seed)
    generator = EventGenerator(family, TINY)
    generator.fit_preprocessing(make_events(300, seed=5))
    if family == "binn":  # wider posteriors so that draws differ visibly
        with torch.no_grad():
            for name, param in generator.named_parameters():
                if "logvar" in name:
                    param.fill_(-3.0)
    return generator.eval()


def jet_pt(events: ak.Array) -> np.ndarray:
    return ak.to_numpy(ak.flatten(events.Jet.pt))


# --- streaming -----------------------------------------------------------------------------------
def test_stream_chunks_sum_to_n_and_repeat_for_the_same_seed(make_events):
    generator = fitted("inn", make_events)
    chunks = list(generator.stream(250, seed=3, batch_size=100))
    assert [len(c) for c in chunks] == [100, 100, 50]
    again = list(generator.stream(250, seed=3, batch_size=100))
    for a, b in zip(chunks, again, strict=True):
        np.testing.assert_array_equal(jet_pt(a), jet_pt(b))
        np.testing.assert_array_equal(ak.to_numpy(ak.flatten(a.Muon.phi)),
                                      ak.to_numpy(ak.flatten(b.Muon.phi)))
    other = list(generator.stream(250, seed=4, batch_size=100))
    assert not np.array_equal(jet_pt(other[0])[:20], jet_pt(chunks[0])[:20])
    # chunks are not copies of each other
    assert not np.array_equal(jet_pt(chunks[0])[:20], jet_pt(chunks[1])[:20])


@pytest.mark.parametrize("n, batch", [(1, 100), (7, 3), (64, 64)])
def test_stream_chunk_sizes(make_events, n, batch):
    generator = fitted("inn", make_events)
    sizes = [len(c) for c in generator.stream(n, seed=0, batch_size=batch)]
    assert sum(sizes) == n
    assert all(0 < s <= batch for s in sizes)


def test_stream_posterior_draws_are_blocks_with_a_draw_field(make_events):
    generator = fitted("binn", make_events)
    chunks = list(generator.stream(60, seed=1, batch_size=25, posterior_draws=3))
    assert [len(c) for c in chunks] == [25, 25, 10] * 3
    draws = np.concatenate([ak.to_numpy(c["draw"]) for c in chunks])
    assert draws.dtype == np.int32
    np.testing.assert_array_equal(draws, np.repeat([0, 1, 2], 60))
    again = list(generator.stream(60, seed=1, batch_size=25, posterior_draws=3))
    for a, b in zip(chunks, again, strict=True):
        np.testing.assert_array_equal(jet_pt(a), jet_pt(b))


# --- Bayesian draws ------------------------------------------------------------------------------
def test_posterior_models_deterministic_within_a_draw_and_different_across(make_events):
    generator = fitted("binn", make_events)
    events = make_events(200, seed=8)
    two_jets = events[ak.num(events.Jet, axis=1) == 2]
    x = torch.as_tensor(generator.preprocessors[2].forward(two_jets), dtype=torch.float32)
    first, again, other = (generator.posterior_models(k)[2] for k in (0, 0, 1))
    lp = first.log_prob(x)
    torch.testing.assert_close(first.log_prob(x), lp, rtol=0, atol=0)  # repeated calls
    torch.testing.assert_close(again.log_prob(x), lp, rtol=0, atol=0)  # same draw again
    assert (other.log_prob(x) - lp).abs().max() > 1e-3  # another draw
    # samples: same generator seed -> same samples within a draw, also in training mode
    first.train()
    s1 = first.sample(50, None, torch.Generator().manual_seed(2))
    s2 = first.sample(50, None, torch.Generator().manual_seed(2))
    torch.testing.assert_close(s1, s2, rtol=0, atol=0)
    s3 = other.sample(50, None, torch.Generator().manual_seed(2))
    assert (s3 - s1).abs().max() > 1e-3
    # event level
    ev_a, _ = generator.sample_events(100, seed=0, draw_model=generator.posterior_models(0))
    ev_b, _ = generator.sample_events(100, seed=0, draw_model=generator.posterior_models(0))
    ev_c, _ = generator.sample_events(100, seed=0, draw_model=generator.posterior_models(1))
    np.testing.assert_array_equal(jet_pt(ev_a), jet_pt(ev_b))
    assert not np.allclose(jet_pt(ev_a)[:20], jet_pt(ev_c)[:20])


def test_posterior_models_of_a_non_bayesian_generator_is_an_input_error(make_events):
    generator = fitted("inn", make_events)
    with pytest.raises(HepgenInputError, match="Bayesian"):
        generator.posterior_models(0)
    with pytest.raises(HepgenInputError, match="Bayesian"):
        list(generator.stream(10, seed=0, posterior_draws=2))


# --- preprocessing -------------------------------------------------------------------------------
def test_fractions_and_feature_tensors(make_events):
    events = make_events(300, seed=5)
    generator = EventGenerator("inn", TINY)
    features = generator.fit_preprocessing(events)
    counts = np.bincount(ak.to_numpy(ak.num(events.Jet, axis=1)), minlength=4)[1:]
    assert generator.fractions == pytest.approx({n: counts[n - 1] / 300 for n in (1, 2, 3)})
    for n, x in features.items():
        assert x.shape == (counts[n - 1], 5 + 4 * n) and x.dtype == torch.float32
        assert abs(float(x.mean())) < 0.1  # standardised


def test_symmetrized_sampling_reflects_half_of_the_events_and_survives_save_load(make_events,
                                                                               tmp_path):
    """A generator fitted on forward-jet events only samples mostly forward jets; with
    symmetries ("eta",) half of its events are reflected. Saved and loaded with the generator."""
    events = make_events(600, seed=5)
    forward = events[ak.to_numpy(ak.all(events.Jet.eta > 0, axis=1))]
    fractions = {}
    for symmetries in ((), ("eta",)):
        torch.manual_seed(0)
        generator = EventGenerator("inn", TINY, symmetries=symmetries)
        generator.fit_preprocessing(forward)
        sample, _ = generator.eval().sample_events(4000, seed=1)
        fractions[symmetries] = float(np.mean(ak.to_numpy(sample.Jet.eta[:, 0]) < 0))
    assert fractions[()] < 0.3
    assert abs(fractions[("eta",)] - 0.5) < 0.05
    generator.save(tmp_path)
    loaded, _ = EventGenerator.load(tmp_path)
    assert loaded.symmetries == ("eta",)
    with pytest.raises(ValueError, match="symmetries"):
        EventGenerator("inn", TINY, symmetries=("y",))


@pytest.mark.parametrize("symmetries", [(), ("eta",), ("eta", "phi")])
def test_feature_log_prob_is_the_models_density_averaged_over_the_reflections(make_events,
                                                                             symmetries):
    from hepgen.physics.symmetries import group_elements, reflect

    events = make_events(300, seed=5)
    torch.manual_seed(0)
    generator = EventGenerator("inn", TINY, symmetries=symmetries)
    generator.fit_preprocessing(events)
    generator.eval()
    got = generator.feature_log_prob(events, batch_size=64)
    for n in (1, 2, 3):
        densities = []
        for element in [(), *group_elements(symmetries)]:
            x = generator.features(reflect(events, element) if element else events)[n]
            with torch.no_grad():
                densities.append(torch.exp(generator.model(n).log_prob(x, None).double()))
        expected = torch.log(torch.stack(densities).mean(dim=0)).numpy()
        assert got[n].shape == (int(np.sum(ak.num(events.Jet, axis=1) == n)),)
        np.testing.assert_allclose(got[n], expected, rtol=1e-6, atol=1e-6)
    # kinematic=True adds the preprocessing's log-Jacobian (invariant under the reflections)
    kinematic = generator.feature_log_prob(events, kinematic=True)
    by_n = {n: events[ak.to_numpy(ak.num(events.Jet, axis=1)) == n] for n in (1, 2, 3)}
    for n in (1, 2, 3):
        np.testing.assert_allclose(kinematic[n] - got[n],
                                   generator.preprocessors[n].forward_and_log_det(by_n[n])[1],
                                   rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("representation", ["particles", "recoil-cones-shared-deta-mll"])
def test_feature_log_prob_is_minus_inf_outside_the_support(make_events, representation):
    """Events no preprocessing step maps (a jet below the pT cut; for the mass-window chart a
    dimuon mass above its edge) have density 0: -inf, the others their ordinary values."""
    from hepgen.physics.events import build_events

    events = make_events(400, seed=5)
    torch.manual_seed(0)
    generator = EventGenerator("inn", TINY, representation=representation)
    generator.fit_preprocessing(events)
    generator.eval()
    counts = ak.to_numpy(ak.num(events.Jet, axis=1))
    two = np.nonzero(counts == 2)[0][:3]
    pt = ak.to_numpy(ak.flatten(events.Jet.pt)).copy()
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pt[starts[two] + 1] = 5.0  # the second jet far below the 20 GeV cut
    jet = {f: ak.unflatten(pt if f == "pt" else ak.to_numpy(ak.flatten(events.Jet[f])), counts)
           for f in ("pt", "eta", "phi", "mass")}
    muon = {f: events.Muon[f] for f in ("pt", "eta", "phi", "charge")}
    if representation.endswith("-mll"):  # and a 2-jet event with both muons boosted 40x
        three = np.nonzero(counts == 2)[0][3]
        muon["pt"] = ak.where(np.arange(len(events)) == three, events.Muon.pt * 40.0,
                              events.Muon.pt)
        two = np.append(two, three)
    bad = build_events(muon, jet)
    if representation.endswith("-mll"):  # outside the window's chart by its mass alone
        from hepgen.physics.observables import dimuon

        window = next(s for s in generator.preprocessors[2].chain.steps
                      if s.kind == "mass_window")
        mass = np.asarray(dimuon(bad).mass)
        others = np.setdiff1d(np.nonzero(counts == 2)[0], two)
        assert mass[three] > window.m_max > mass[others].max()
    got = generator.feature_log_prob(bad, kinematic=True)[2]
    ref = generator.feature_log_prob(events, kinematic=True)[2]
    index = np.searchsorted(np.nonzero(counts == 2)[0], two)  # their places among 2-jet events
    assert np.isneginf(got[index]).all()
    keep = np.setdiff1d(np.arange(len(ref)), index)
    assert np.isfinite(got[keep]).all()
    np.testing.assert_allclose(got[keep], ref[keep], rtol=1e-6, atol=1e-6)


def test_fit_preprocessing_needs_every_multiplicity(make_events):
    events = make_events(200, seed=5)
    only_one = events[ak.num(events.Jet, axis=1) == 1]
    with pytest.raises(HepgenInputError, match=r"\[2, 3\]"):
        EventGenerator("inn", TINY).fit_preprocessing(only_one)


def test_sampling_needs_fitted_preprocessing():
    with pytest.raises(RuntimeError, match="preprocessing"):
        EventGenerator("inn", TINY).sample_events(10, seed=0)


# --- loading -------------------------------------------------------------------------------------
class _Exploit:
    """Unpickling this object runs a shell command (what a malicious model file would do)."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")
@pytest.mark.parametrize("writer", ["torch.save", "pickle.dump"])
def test_crafted_pickle_is_refused_without_running_code(make_events, tmp_path, writer):
    model_dir = fitted("inn", make_events).save(tmp_path / "model")
    marker = tmp_path / "pwned"
    payload = {"model.models.1.flow.layers.0.shift": _Exploit(f"touch {marker}")}
    weights = model_dir / WEIGHTS_NAME
    if writer == "torch.save":
        torch.save(payload, weights)
    else:
        with open(weights, "wb") as handle:
            pickle.dump(payload, handle)
    # the exploit is real: an unrestricted load runs it
    if writer == "torch.save":
        torch.load(weights, weights_only=False)
    else:
        pickle.loads(weights.read_bytes())
    assert marker.exists()
    marker.unlink()
    with pytest.raises(HepgenInputError) as info:
        EventGenerator.load(model_dir)
    assert str(weights) in str(info.value)
    assert not marker.exists(), "loading the model file executed code"


def test_load_rejects_non_tensor_content(make_events, tmp_path):
    model_dir = fitted("inn", make_events).save(tmp_path / "model")
    torch.save(["not", "a", "dict"], model_dir / WEIGHTS_NAME)
    with pytest.raises(HepgenInputError, match=WEIGHTS_NAME):
        EventGenerator.load(model_dir)


def test_load_errors_name_the_file(make_events, tmp_path):
    model_dir = fitted("inn", make_events).save(tmp_path / "model")
    config_path = model_dir / CONFIG_NAME
    good = config_path.read_text()
    config_path.write_text("{not json")
    with pytest.raises(HepgenInputError, match=CONFIG_NAME):
        EventGenerator.load(model_dir)
    config_path.write_text(json.dumps({**json.loads(good), "version": 99}))
    with pytest.raises(HepgenInputError, match="version"):
        EventGenerator.load(model_dir)
    config_path.write_text(good)
    tensors = torch.load(model_dir / WEIGHTS_NAME, weights_only=True)
    tensors.pop(next(iter(tensors)))
    torch.save(tensors, model_dir / WEIGHTS_NAME)
    with pytest.raises(HepgenInputError, match=WEIGHTS_NAME):
        EventGenerator.load(model_dir)
    (model_dir / WEIGHTS_NAME).unlink()
    with pytest.raises(HepgenInputError, match="not found"):
        EventGenerator.load(model_dir)
    with pytest.raises(HepgenInputError, match="not found"):
        EventGenerator.load(tmp_path / "nowhere")


def test_save_is_atomic_and_leaves_no_temporary_files(make_events, tmp_path):
    model_dir = fitted("inn", make_events).save(tmp_path / "model")
    assert sorted(p.name for p in model_dir.iterdir()) == sorted([CONFIG_NAME, WEIGHTS_NAME])
    # weights.pt holds tensors only: loadable with weights_only=True
    tensors = torch.load(model_dir / WEIGHTS_NAME, weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in tensors.values())


SHIPPED = Path(__file__).resolve().parents[2] / "data_samples"


def test_shipped_default_has_a_density_for_every_test_file_event():
    """Regression: the shipped default's held-out log-likelihood is finite for every 3-jet
    event of the shipped test file (a 3-jet map fitted too tightly once excluded one of them)
    and for its first 1-jet and 2-jet events."""
    from hepgen.physics.events import n_jets
    from hepgen.physics.io import read_events

    generator, _ = EventGenerator.load(SHIPPED / "default_generator")
    events, _ = read_events(SHIPPED / "zjets_test.root")
    events = events[(n_jets(events) == 3) | (np.arange(len(events)) < 2000)]
    log_prob = generator.feature_log_prob(events, kinematic=True)
    for n in (1, 2, 3):
        assert (len(log_prob[n]) == (n_jets(events) == n).sum()
                and np.isfinite(log_prob[n]).all())


@pytest.mark.parametrize("name, config", [("default_generator", "default.json"),
                                          ("fast_generator", "fast.json")])
def test_shipped_generators_load_and_sample_in_the_physics_domain(name, config):
    generator, extra = EventGenerator.load(SHIPPED / name)
    made_from = json.loads((SHIPPED.parent / "configs" / config).read_text(encoding="utf-8"))
    assert generator.representation == made_from["representation"]
    assert generator.model_config == made_from["model_config"]
    assert generator.stage_model_config == made_from.get("stage_model_config", {})
    assert generator.ensemble == made_from.get("ensemble", {})
    assert generator.fsr_config == fsr_config(made_from.get("fsr"))
    assert generator.multiplicity_model == "chain" and generator.symmetries == ("eta", "phi")
    events, _ = generator.sample_events(2000, seed=3)
    counts = ak.to_numpy(ak.num(events.Jet, axis=1))
    assert set(np.unique(counts)) == {1, 2, 3}
    assert ak.min(events.Jet.pt) >= 20.0 and ak.max(abs(events.Jet.eta)) <= 5.0
    assert ak.all(ak.sum(events.Muon.charge, axis=1) == 0)
    m = ak.to_numpy((events.Muon[:, 0] + events.Muon[:, 1]).mass)
    assert 85.0 < np.median(m) < 97.0  # a Z peak, not noise
