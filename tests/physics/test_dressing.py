"""Dressing muons with their collinear jets, and the inverse split (hepgen.physics.dressing)."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest

from hepgen.physics.dressing import (
    DECISION_FEATURES,
    SPLIT_CONDITIONS,
    Split,
    decision_features,
    dress,
    split_conditions,
    split_features,
    split_is_valid,
    split_jet,
    undress,
)
from hepgen.physics.events import build_events
from hepgen.physics.io import read_events

TRAIN_DATA = Path(__file__).resolve().parents[2] / "data_samples" / "zjets_train.root"


def _events(muons: list[list[tuple[float, float, float, int]]],
            jets: list[list[tuple[float, float, float, float]]]) -> ak.Array:
    """Events from per-event lists of (pt, eta, phi, charge) muons and (pt, eta, phi, m) jets."""
    mu = {f: ak.Array([[m[i] for m in ev] for ev in muons]) for i, f in
          enumerate(("pt", "eta", "phi", "charge"))}
    mu["charge"] = ak.values_astype(mu["charge"], np.int32)
    jet = {f: ak.Array([[j[i] for j in ev] for ev in jets]) for i, f in
           enumerate(("pt", "eta", "phi", "mass"))}
    return build_events(mu, jet)


@pytest.fixture(scope="module")
def shipped() -> ak.Array:
    return read_events(TRAIN_DATA)[0][:30_000]


def test_a_second_jet_along_a_muon_is_dressed_into_it_and_comes_back():
    events = _events(
        [[(50.0, 0.0, 0.0, -1), (40.0, 0.5, 3.0, 1)],   # j2 0.07 from mu-: dressed
         [(50.0, 0.0, 0.0, -1), (40.0, 0.5, 3.0, 1)],   # j2 0.3 away: kept
         [(50.0, 0.0, 0.0, -1), (40.0, 0.5, 3.0, 1)]],  # only the leading jet is close: kept
        [[(60.0, 1.0, -2.0, 5.0), (25.0, 0.05, 0.05, 2.0)],
         [(60.0, 1.0, -2.0, 5.0), (25.0, 0.3, 0.0, 2.0)],
         [(60.0, 0.0, 0.05, 5.0), (25.0, -2.0, 1.0, 2.0)]])
    core, split = dress(events)
    assert split.muon.tolist() == [0, -1, -1]
    assert ak.num(core.Jet).tolist() == [1, 2, 2]
    assert core.Muon.pt[0, 0] == pytest.approx(75.0, rel=1e-3)  # collinear: pT adds up
    assert core.Muon.charge[0].tolist() == [-1, 1]
    assert split.jet["pt"][0] == 25.0 and np.isnan(split.jet["pt"][1])
    back = undress(core, split)
    for coll in ("Muon", "Jet"):
        for f in ("pt", "eta", "phi", "mass"):
            np.testing.assert_allclose(ak.to_numpy(ak.flatten(back[coll][f])),
                                       ak.to_numpy(ak.flatten(events[coll][f])), atol=1e-12)


def test_the_dressed_muon_index_follows_the_core_pt_order():
    # the softer muon radiates a hard jet: dressed, it becomes the leading muon
    events = _events([[(50.0, 0.0, 0.0, -1), (30.0, 1.0, 2.0, 1)]],
                     [[(80.0, -1.0, -1.0, 5.0), (40.0, 1.05, 2.02, 1.0)]])
    core, split = dress(events)
    assert split.muon.tolist() == [0]
    assert core.Muon.charge[0, 0] == 1 and core.Muon.pt[0, 0] > 69.0


def test_round_trip_on_the_shipped_data_is_exact_and_every_split_obeys_the_rule(shipped):
    core, split = dress(shipped)
    n_jets = ak.to_numpy(ak.num(shipped.Jet))
    assert 0.02 < split.mask[n_jets >= 2].mean() < 0.06  # ~3.5 % of multi-jet events
    assert not split.mask[n_jets == 1].any()
    back = undress(core, split)
    for coll in ("Muon", "Jet"):
        for f in ("pt", "eta", "phi", "mass"):
            np.testing.assert_allclose(ak.to_numpy(ak.flatten(back[coll][f])),
                                       ak.to_numpy(ak.flatten(shipped[coll][f])),
                                       rtol=1e-10, atol=1e-10)
    assert ak.all(back.Muon.charge == shipped.Muon.charge)
    assert split_is_valid(core, split).all()


def test_split_features_invert_exactly(shipped):
    core, split = dress(shipped)
    rows = split.mask
    sub, muon = core[rows], split.muon[rows]
    jet = {f: v[rows] for f, v in split.jet.items()}
    x = split_features(sub, muon, jet)
    assert x.shape == (rows.sum(), 4) and np.isfinite(x).all()
    back = split_jet(sub, muon, x)
    for f in ("pt", "eta", "phi", "mass"):
        np.testing.assert_allclose(back[f], jet[f], atol=1e-9)
    c = split_conditions(sub, muon)
    assert c.shape == (rows.sum(), len(SPLIT_CONDITIONS)) and np.isfinite(c).all()


def test_split_is_valid_rejects_what_dressing_would_not_give_back():
    events = _events([[(50.0, 0.0, 0.0, -1), (40.0, 0.5, 3.0, 1)]] * 4,
                     [[(60.0, 1.0, -2.0, 5.0)]] * 4)
    jets = {"pt": np.array([25.0, 70.0, 25.0, 10.0]), "eta": np.array([0.05, 0.05, 0.5, 0.05]),
            "phi": np.array([0.05, 0.05, 0.0, 0.05]), "mass": np.ones(4)}
    ok = split_is_valid(events, Split(np.zeros(4, dtype=np.int64), jets))
    # fine; above the leading jet's pT; too far from the muon; below the jet pT cut
    assert ok.tolist() == [True, False, False, False]
    assert split_is_valid(events, Split(np.full(4, -1), jets)).all()


def test_split_is_valid_rejects_a_split_below_a_core_jet_along_the_other_muon():
    """A core's second jet along muon 2 (one the rule left undressed) with more pT than a split
    jet along muon 1: dress() of the undressed event would take the core's jet first."""
    events = _events([[(50.0, 0.0, 0.0, -1), (40.0, 0.5, 3.0, 1)]] * 2,
                     [[(80.0, 1.0, -2.0, 5.0), (30.0, 0.55, 3.05, 2.0)]] * 2)
    jets = {"pt": np.array([25.0, 35.0]), "eta": np.zeros(2), "phi": np.zeros(2),
            "mass": np.ones(2)}
    ok = split_is_valid(events, Split(np.zeros(2, dtype=np.int64), jets))
    assert ok.tolist() == [False, True]


def test_mll_max_keeps_a_dressing_that_would_leave_the_mass_window_undone():
    """Back-to-back 70 GeV muons (m = 140 GeV) with a 25 GeV jet along the first: dressed, the
    dimuon mass is ~165 GeV; with mll_max=150 the event stays as it is (the jet kept), and a
    generated split of such a core breaks the rule."""
    events = _events([[(70.0, 0.0, 0.0, -1), (70.0, 0.0, np.pi, 1)],
                      [(70.0, 0.0, 0.0, -1), (30.0, 0.0, np.pi, 1)]],
                     [[(80.0, 1.0, 1.5, 5.0), (25.0, 0.05, 0.05, 2.0)]] * 2)
    _, free = dress(events)
    core, split = dress(events, mll_max=150.0)
    assert free.muon.tolist() == [0, 0]
    assert split.muon.tolist() == [-1, 0]  # the second stays below 150 GeV when dressed
    assert ak.num(core.Jet).tolist() == [2, 1]
    assert np.isnan(split.jet["pt"][0]) and split.jet["pt"][1] == 25.0
    dressed, _ = dress(events)
    back = {"pt": np.full(2, 25.0), "eta": np.full(2, 0.05), "phi": np.full(2, 0.05),
            "mass": np.full(2, 2.0)}
    assert split_is_valid(dressed, Split(np.zeros(2, dtype=np.int64), back)).all()
    ok = split_is_valid(dressed, Split(np.zeros(2, dtype=np.int64), back), mll_max=150.0)
    assert ok.tolist() == [False, True]


def test_mll_max_dresses_no_shipped_event_above_the_window(shipped):
    from hepgen.physics.observables import dimuon

    free, _ = dress(shipped)
    core, split = dress(shipped, mll_max=150.0)
    assert (np.asarray(dimuon(free).mass) > 150.0).any()  # the case the rule is for
    assert np.asarray(dimuon(core).mass).max() <= 150.0
    assert split_is_valid(core, split, mll_max=150.0).all()
    back = undress(core, split)
    for coll in ("Muon", "Jet"):
        for f in ("pt", "eta", "phi"):
            np.testing.assert_allclose(ak.flatten(back[coll][f]).to_numpy(),
                                       ak.flatten(shipped[coll][f]).to_numpy(), atol=1e-6)


def test_decision_features_are_reflection_invariant_and_finite(shipped):
    from hepgen.physics.symmetries import reflect

    core, _ = dress(shipped[:2000])
    f = decision_features(core)
    assert f.shape == (2000, len(DECISION_FEATURES)) and np.isfinite(f).all()
    np.testing.assert_allclose(decision_features(reflect(core, ("eta", "phi"))), f, atol=1e-9)


def test_split_log_jacobian_is_minus_that_of_the_inverse_map(shipped):
    """d(k_core, s)/d k_n by dressing equals the inverse of d k_n / d(k_core, s) by undressing
    (central differences through undress, an independent path), jet-mass rows left out."""
    from hepgen.physics.dressing import _free_columns, split_log_jacobian
    from hepgen.physics.preprocessing import split_by_multiplicity
    from hepgen.physics.representations import make_preprocessor

    core, split = dress(shipped)
    n_jets = ak.to_numpy(ak.num(shipped.Jet))
    by_n = split_by_multiplicity(core)
    pre = {n: make_preprocessor(n, "recoil-cone-log-dq").fit(by_n[n]) for n in (1, 2)}
    rows = np.nonzero(split.mask & (n_jets == 2))[0][:40]
    forward = split_log_jacobian(shipped[rows], pre[2], pre[1])
    sub, muon = core[rows], split.muon[rows]
    jet = {f: v[rows] for f, v in split.jet.items()}
    k_core, s = pre[1].kinematics(sub), split_features(sub, muon, jet)
    phi0, charge = pre[1].global_frame(sub)
    free_core, free_n = _free_columns(pre[1].feature_names), _free_columns(pre[2].feature_names)
    inputs = np.concatenate([k_core, s], axis=1)
    columns = [*free_core, k_core.shape[1], k_core.shape[1] + 1, k_core.shape[1] + 2]

    def undressed(values: np.ndarray) -> np.ndarray:
        c = pre[1].events_from_kinematics(values[:, : k_core.shape[1]], phi0, charge)
        j = split_jet(c, muon, values[:, k_core.shape[1]:])
        return pre[2].kinematics(undress(c, Split(muon, j)))[:, free_n]

    jac = np.empty((len(rows), len(columns), len(columns)))
    for a, col in enumerate(columns):
        h = 1e-6 * np.maximum(1.0, np.abs(inputs[:, col]))
        up, down = inputs.copy(), inputs.copy()
        up[:, col] += h
        down[:, col] -= h
        jac[:, :, a] = (undressed(up) - undressed(down)) / (2 * h[:, None])
    inverse = np.linalg.slogdet(jac)[1] + np.log1p(
        np.maximum(jet["mass"], 0.0))  # d log(1 + m) / dm for the split jet's mass
    massive = jet["mass"] > 0  # massless: the dequantised value enters instead; not compared
    np.testing.assert_allclose(forward[massive], -inverse[massive], atol=1e-5)
