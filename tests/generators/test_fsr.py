"""Photon-jet splitting (hepgen.generators.fsr) and EventGenerator's ``fsr`` option: config
checks, the branch draw, generated splits that dressing gives back, training through
train_generator, save/load."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import torch

from hepgen.generators.event import EventGenerator
from hepgen.generators.fsr import FSR_DEFAULTS, PhotonJetSplitter, fsr_config
from hepgen.physics.dressing import dress
from hepgen.physics.errors import HepgenInputError
from hepgen.physics.events import in_reference_phase_space
from hepgen.physics.io import read_events
from hepgen.training.run import RunConfig, train_generator

TRAIN_DATA = Path(__file__).resolve().parents[2] / "data_samples" / "zjets_train.root"
TINY = {"n_blocks": 2, "kind": "affine", "hidden": 16, "n_layers": 2}
FSR = {"decision_train": {"epochs": 3}, "kinematics_train": {"epochs": 20, "batch_size": 64},
       "kinematics": {"n_blocks": 2, "hidden": 16}}


@pytest.fixture(scope="module")
def shipped() -> ak.Array:
    return read_events(TRAIN_DATA)[0][:20_000]


@pytest.fixture(scope="module")
def trained(shipped, tmp_path_factory) -> tuple[EventGenerator, Path]:
    config = RunConfig.from_dict({"model": "inn", "multiplicity": "chain",
                                  "representation": "recoil", "model_config": TINY,
                                  "train": {"epochs": 1, "batch_size": 256}, "fsr": FSR})
    out = tmp_path_factory.mktemp("fsr_run")
    torch.manual_seed(0)
    return train_generator(shipped, config, out, seed=0), out


def test_fsr_config_merges_over_the_defaults_and_names_bad_options():
    assert fsr_config(None) is None and fsr_config({}) is None
    merged = fsr_config({"radius": 0.3, "kinematics": {"hidden": 32}})
    assert merged["radius"] == 0.3
    assert merged["kinematics"] == {**FSR_DEFAULTS["kinematics"], "hidden": 32}
    assert merged["decision"] == FSR_DEFAULTS["decision"]
    with pytest.raises(ValueError, match="unknown key.*'radus'"):
        fsr_config({"radus": 0.2})
    with pytest.raises(ValueError, match="radius"):
        fsr_config({"radius": 0.5})
    assert fsr_config({"radius": 0.2})["mll_max"] is None  # the rule of the older generators
    assert fsr_config({"mll_max": 150})["mll_max"] == 150
    for bad in (0, -5.0, "150", True):
        with pytest.raises(ValueError, match="mll_max"):
            fsr_config({"mll_max": bad})
    for bad in ({"fsr": {"radius": True}}, {"fsr": {"decision_train": {"epoch": 3}}},
                {"fsr": {"x": 1}}):
        with pytest.raises(HepgenInputError, match="fsr|epoch"):
            RunConfig.from_dict({"model": "inn", **bad})
    with pytest.raises(HepgenInputError, match="'fsr' does not combine"):
        RunConfig.from_dict({"model": "discflow", "fsr": {"radius": 0.2}})


def test_branches_are_drawn_with_the_classifier_probabilities(shipped):
    core, split = dress(shipped)
    splitter = PhotonJetSplitter(fsr_config({"radius": 0.2}))
    splitter.fit(core, split)
    last = splitter.decision.net[-1]
    probs = torch.tensor([0.7, 0.2, 0.1], dtype=torch.float64)
    with torch.no_grad():
        last.weight.zero_()
        last.bias.copy_(probs.log())
    branch = splitter.branch(core, np.random.default_rng(3))
    eligible = splitter.eligible(core)
    assert (branch[~eligible] == -1).all()  # 3-jet cores never split
    counts = np.bincount(branch[eligible] + 1, minlength=3)
    n = eligible.sum()
    expected = probs.numpy() * n
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected))


@pytest.mark.parametrize("mll_max", [None, 150.0, 95.0])
def test_generated_splits_are_undone_exactly_by_dressing(trained, shipped, mll_max):
    """split() then dress() gives back the core events: the generated splits obey the dressing
    rule, so the event <-> (core, split) map the networks were trained on holds for samples
    (with the window's upper edge as ``mll_max``, and a low one that the rule often meets)."""
    generator, _ = trained
    splitter = generator.fsr
    core, _ = dress(shipped[:3000], mll_max=mll_max)
    bias = splitter.decision.net[-1].bias
    saved = bias.detach().clone()
    with torch.no_grad():  # make every eligible core event split, to test many splits
        bias.copy_(torch.tensor([-30.0, 0.0, 0.0]))
    splitter.mll_max = mll_max
    try:
        events, redrawn = splitter.split(core, torch.Generator().manual_seed(1),
                                         np.random.default_rng(2))
    finally:
        splitter.mll_max = None
        with torch.no_grad():
            bias.copy_(saved)
    assert redrawn >= 0 and in_reference_phase_space(events).all() and len(events) == len(core)
    # split() puts the unsplit events first: match events to cores by the leading jet, which
    # dressing never touches
    order_in = np.argsort(ak.to_numpy(core.Jet.pt[:, 0]))
    order_out = np.argsort(ak.to_numpy(events.Jet.pt[:, 0]))
    core, events = core[order_in], events[order_out]
    added = ak.to_numpy(ak.num(events.Jet) - ak.num(core.Jet))
    eligible = splitter.eligible(core)
    assert set(added[~eligible]) == {0} and set(added) <= {0, 1}
    # forced, some cannot split (e.g. a muon below the 20 GeV jet cut): left unsplit
    assert added[eligible].mean() > 0.5
    again, split = dress(events, mll_max=mll_max)
    assert (split.mask == (added == 1)).all()
    assert split.mask.sum() > 0
    for coll in ("Muon", "Jet"):
        for f in ("pt", "eta", "phi", "mass"):
            np.testing.assert_allclose(ak.to_numpy(ak.flatten(again[coll][f])),
                                       ak.to_numpy(ak.flatten(core[coll][f])), atol=1e-9)


def test_sample_events_reports_redrawn_splits(trained):
    generator, _ = trained
    events, rejected = generator.sample_events(2000, seed=5)
    assert len(events) == 2000 and rejected["fsr"] >= 0
    assert in_reference_phase_space(events).all()


def test_feature_log_prob_adds_the_branch_and_split_densities(trained, shipped):
    generator, _ = trained
    events = shipped[:4000]
    log_q = generator.feature_log_prob(events, kinematic=True)
    assert set(log_q) == {1, 2, 3}
    assert all(np.isfinite(v).all() for v in log_q.values())
    # an unsplit event: the core density plus log p(no split | core)
    core, split = dress(events)
    n_jets = ak.to_numpy(ak.num(events.Jet))
    pick = np.nonzero((n_jets == 2) & ~split.mask)[0][:50]
    one = generator.feature_log_prob(events[pick], kinematic=True)[2]
    plain = generator._core_log_prob(events[pick], 2, 1024, True)
    expected = plain + generator.fsr.log_branch(core[pick], split.muon[pick])
    np.testing.assert_allclose(one, expected, rtol=1e-6, atol=1e-6)
    assert (generator.fsr.log_branch(core[pick], split.muon[pick]) < 0).all()


def test_save_load_keeps_the_splitter_and_gives_identical_samples(trained):
    generator, out = trained
    loaded, _ = EventGenerator.load(out)
    assert loaded.fsr_config == generator.fsr_config
    a, _ = generator.sample_events(2000, seed=11)
    b, _ = loaded.sample_events(2000, seed=11)
    for coll in ("Muon", "Jet"):
        for f in ("pt", "eta", "phi", "mass"):
            np.testing.assert_array_equal(ak.to_numpy(ak.flatten(a[coll][f])),
                                          ak.to_numpy(ak.flatten(b[coll][f])))
    history = (out / "run.json").read_text()
    assert '"fsr_decision"' in history and '"fsr_kinematics"' in history


def test_sample_n_jets_gives_the_generators_n_jet_events_splits_included(trained):
    """Discriminators and weight normalisations per multiplicity (fit-reweighter, generate
    --reweight) must see the n-jet events the generator writes, not its n-jet cores."""
    generator, _ = trained
    events = generator.sample_n_jets(2, 700, torch.Generator().manual_seed(0),
                                     np.random.default_rng(0))
    assert len(events) == 700 and set(ak.to_numpy(ak.num(events.Jet))) == {2}
    assert in_reference_phase_space(events).all()
