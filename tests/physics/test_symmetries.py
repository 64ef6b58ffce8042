"""Reflections of the event record, and that they are symmetries of the shipped reference data."""

from __future__ import annotations

import math
from pathlib import Path

import awkward as ak
import numpy as np
import pytest

from hepgen.physics.io import read_events
from hepgen.physics.observables import evaluate_all
from hepgen.physics.symmetries import (
    SYMMETRIES,
    check_symmetries,
    group_elements,
    odd_observables,
    reflect,
)

TRAIN_DATA = Path(__file__).resolve().parents[2] / "data_samples" / "zjets_train.root"
#: A shipped-data asymmetry beyond this many standard errors fails the test.
MAX_PULL = 4.0


def test_group_elements_and_checks():
    assert group_elements(["eta", "phi"]) == [("eta",), ("phi",), ("eta", "phi")]
    assert group_elements([]) == []
    assert set(SYMMETRIES) == {"eta", "phi"}
    with pytest.raises(ValueError, match="augment.*'z'"):
        check_symmetries(["z"])
    with pytest.raises(ValueError, match="distinct"):
        check_symmetries(["eta", "eta"])


@pytest.mark.parametrize("which", [("eta",), ("phi",), ("eta", "phi")])
def test_reflection_negates_its_coordinate_keeps_the_rest_and_is_an_involution(make_events, which):
    events = make_events(300, seed=4)
    out = reflect(events, which)
    for name in ("Muon", "Jet"):
        before, after = events[name], out[name]
        assert ak.all(after.pt == before.pt) and ak.all(after.mass == before.mass)
        sign = -1 if "eta" in which else 1
        assert ak.all(after.eta == sign * before.eta)
        phi = ak.flatten(after.phi)
        assert ak.all((phi > -math.pi) & (phi <= math.pi))
        if "phi" in which:
            assert np.allclose(np.cos(ak.flatten(after.phi)), np.cos(ak.flatten(before.phi)))
            assert np.allclose(np.sin(ak.flatten(after.phi)), -np.sin(ak.flatten(before.phi)))
        else:
            assert ak.all(after.phi == before.phi)
    assert ak.all(out.Muon.charge == events.Muon.charge)
    twice = reflect(out, which)
    assert np.allclose(ak.flatten(twice.Jet.phi), ak.flatten(events.Jet.phi), atol=1e-12)
    assert ak.all(twice.Jet.eta == events.Jet.eta)
    # invariant observables do not move
    names = ("m_mumu", "pt_mumu", "dR_mu1_j1", "ht", "pt_balance")
    a, b = evaluate_all(events, names), evaluate_all(out, names)
    for name in names:
        assert np.allclose(a[name][0], b[name][0], rtol=1e-9, atol=1e-9), name


def test_phi_of_pi_stays_in_range(make_events):
    events = make_events(5, seed=1)
    jets = ak.with_field(events.Jet, ak.ones_like(events.Jet.phi) * math.pi, "phi")
    out = reflect(ak.with_field(events, jets, "Jet"), ["phi"])
    assert ak.all(out.Jet.phi == math.pi)


def test_odd_observables_detect_an_asymmetric_sample(make_events):
    """The check below can fail: events with a forward leading jet only are flagged."""
    events = make_events(2000, seed=2)
    forward = events[ak.to_numpy(events.Jet.eta[:, 0]) > 0]
    values = odd_observables(forward)["eta"]["eta_j1"]
    assert values.mean() / (values.std() / math.sqrt(len(values))) > 20


@pytest.mark.skipif(not TRAIN_DATA.is_file(), reason="shipped training file missing")
def test_the_shipped_reference_data_is_symmetric_under_both_reflections():
    """Odd observables of each reflection average to zero on the 100k training events within
    MAX_PULL standard errors (the basis of ``augment``)."""
    events, _ = read_events(TRAIN_DATA)
    for symmetry, observables in odd_observables(events).items():
        for name, values in observables.items():
            pull = values.mean() / (values.std() / math.sqrt(len(values)))
            assert abs(pull) < MAX_PULL, (symmetry, name, pull)
