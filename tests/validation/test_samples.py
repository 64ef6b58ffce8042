"""Per-sample columns: each observable evaluated once, region masks, sorted slices."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from hepgen.physics.errors import HepgenInputError
from hepgen.physics.events import n_jets, with_weights
from hepgen.physics.observables import Binning, Observable
from hepgen.validation.samples import (
    INCLUSIVE,
    evaluate_sample,
    inclusive_region,
    multiplicity_regions,
)
from hepgen.validation.toys import toy_events


def _lead_jet_pt(events: ak.Array) -> tuple[np.ndarray, np.ndarray]:
    nj = n_jets(events)
    values = np.full(len(events), np.nan)
    first = ak.firsts(events.Jet.pt)
    values[nj > 0] = ak.to_numpy(first[nj > 0])
    return values, nj > 0


CALLS = {"n": 0}


def _counted_mu_pt(events: ak.Array) -> tuple[np.ndarray, np.ndarray]:
    CALLS["n"] += 1
    return ak.to_numpy(events.Muon.pt[:, 0]), np.ones(len(events), bool)


MU = Observable("t_mu1_pt", "mu", "GeV", _counted_mu_pt, Binning("fixed", 10, 0, 100))
JET = Observable("t_j1_pt", "j", "GeV", _lead_jet_pt, Binning("quantile", 10, 0, 1), min_jets=1)


def test_each_observable_is_evaluated_once_and_regions_slice() -> None:
    events = toy_events(3000, seed=1)
    CALLS["n"] = 0
    s = evaluate_sample(events, [MU, JET], "gen")
    assert CALLS["n"] == 1 and s.n_events == 3000 and not s.weighted
    regions = multiplicity_regions()
    assert [r.key for r in regions] == ["1j", "2j", "3j"]
    sizes = [s.region_mask(r).sum() for r in regions]
    assert sum(sizes) == 3000
    assert inclusive_region(True).key == INCLUSIVE and not regions[0].accepts(
        Observable("x", "x", "", _lead_jet_pt, JET.binning, min_jets=2)
    )


def test_sorted_column_matches_column() -> None:
    events = with_weights(toy_events(2000, seed=2), np.random.default_rng(0).uniform(0.5, 2, 2000))
    s = evaluate_sample(events, [MU, JET], "gen")
    for region in [inclusive_region(True), *multiplicity_regions()]:
        for window in (None, (30.0, 60.0)):
            v, w = s.column("t_j1_pt", region, window)
            sv, sw = s.sorted_column("t_j1_pt", region, window)
            order = np.argsort(v, kind="stable")
            np.testing.assert_array_equal(sv, v[order])
            np.testing.assert_allclose(np.sort(sw), np.sort(w))
            assert np.all(np.diff(sv) >= 0)
    # switching observables re-sorts
    sv, _ = s.sorted_column("t_mu1_pt", inclusive_region(True))
    assert sv.size == 2000 and np.all(np.diff(sv) >= 0)


def test_non_finite_values_and_weights_fail_loudly() -> None:
    events = toy_events(100, seed=3)

    def bad(ev):
        v = np.ones(len(ev))
        v[:3] = np.inf
        return v, np.ones(len(ev), bool)

    with pytest.raises(HepgenInputError, match="not finite for 3 events"):
        evaluate_sample(events, [Observable("bad", "b", "", bad, MU.binning)], "gen")
    with pytest.raises(HepgenInputError, match="2 of 100 event weights"):
        w = np.ones(100)
        w[:2] = np.nan
        evaluate_sample(with_weights(events, w), [MU], "gen")
