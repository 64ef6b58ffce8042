"""Tests of the observable catalogue (hepgen.physics.observables) on hand-computed events."""

from __future__ import annotations

import math

import awkward as ak
import numpy as np
import pytest

from hepgen.physics.constants import MLL_MAX, MLL_MIN, MUON_MASS, Z_WINDOW
from hepgen.physics.errors import HepgenInputError
from hepgen.physics.events import build_events
from hepgen.physics.observables import (
    CATALOGUE,
    EventView,
    available_observables,
    catalogue,
    delta_phi,
    delta_r,
    evaluate_all,
    wrap_phi,
)

OBJECTS = ("mu1", "mu2", "j1", "j2", "j3")


def make_events(muons: list[list[tuple]], jets: list[list[tuple]] | None = None) -> ak.Array:
    """Event record from per-event object lists.

    muons: per event [(pt, eta, phi, charge), ...]; jets: per event [(pt, eta, phi, mass), ...]
    or None for a dimuon-only record.
    """

    def collection(rows: list[list[tuple]], fields: tuple[str, ...]) -> dict[str, ak.Array]:
        return {f: ak.Array([[obj[i] for obj in ev] for ev in rows]) for i, f in enumerate(fields)}

    mu = collection(muons, ("pt", "eta", "phi", "charge"))
    jet = None if jets is None else collection(jets, ("pt", "eta", "phi", "mass"))
    if jet is not None:  # empty events give an unknown type; fix the element type
        jet = {f: ak.values_astype(v, np.float64) for f, v in jet.items()}
    return build_events(mu, jet)


def value(events: ak.Array, name: str) -> np.ndarray:
    values, _ = CATALOGUE[name].evaluate(events)
    return values


def test_catalogue_names_are_the_stable_identifiers():
    per_object = [f"mu{i}_{f}" for i in (1, 2) for f in ("pt", "eta", "phi")]
    per_object += [f"j{i}_{f}" for i in (1, 2, 3) for f in ("pt", "eta", "phi", "mass")]
    system = ["m_mumu", "pt_mumu", "y_mumu", "n_jets", "ht", "m_jj", "pt_balance"]
    pairs = [
        f"{kind}_{a}_{b}"
        for i, a in enumerate(OBJECTS)
        for b in OBJECTS[i + 1:]
        for kind in ("deta", "dphi", "dR")
    ]
    assert list(CATALOGUE) == per_object + system + pairs
    assert len(CATALOGUE) == 55
    assert catalogue() == CATALOGUE and catalogue() is not CATALOGUE


@pytest.mark.parametrize(
    ("name", "min_jets"),
    [("mu2_pt", 0), ("m_mumu", 0), ("dR_mu1_mu2", 0), ("j1_mass", 1), ("ht", 1),
     ("pt_balance", 1), ("deta_mu1_j1", 1), ("m_jj", 2), ("dphi_j1_j2", 2), ("j2_eta", 2),
     ("dR_mu2_j3", 3), ("j3_phi", 3), ("dR_j2_j3", 3), ("n_jets", 0)],
)
def test_min_jets(name, min_jets):
    assert CATALOGUE[name].min_jets == min_jets


def test_units_labels_and_binnings_are_sane():
    for obs in CATALOGUE.values():
        assert obs.unit in ("GeV", "rad", "")
        assert obs.label.startswith("$") and obs.label.endswith("$")
        assert obs.binning.kind in ("fixed", "quantile", "integer")
        assert obs.binning.bins > 0 and obs.binning.lo < obs.binning.hi
        if obs.binning.kind == "quantile":
            assert 0.0 <= obs.binning.lo < obs.binning.hi <= 1.0
    m = CATALOGUE["m_mumu"]
    assert (m.binning.lo, m.binning.hi) == (MLL_MIN, MLL_MAX)
    assert Z_WINDOW in m.windows
    assert m.axis_label == r"$m_{\mu\mu}$ [GeV]"
    assert CATALOGUE["dphi_j1_j2"].binning.lo == -math.pi
    assert CATALOGUE["dphi_j1_j2"].unit == "rad"


def test_back_to_back_muons_give_the_exact_invariant_mass_and_rapidity():
    # mu1 = (pT, eta, 0), mu2 = (pT, eta, pi): the transverse momenta cancel, so
    # E = 2 sqrt(pT^2 cosh^2 eta + m^2), pz = 2 pT sinh eta, m_mumu = 2 sqrt(pT^2 + m^2).
    pt, eta = 45.0, 0.7
    ev = make_events([[(pt, eta, 0.0, 1), (pt, eta, math.pi, -1)],
                      [(pt, 0.0, 0.0, 1), (pt, 0.0, math.pi, -1)]])
    e = 2 * math.sqrt(pt**2 * math.cosh(eta) ** 2 + MUON_MASS**2)
    pz = 2 * pt * math.sinh(eta)
    expected_mass = 2 * math.sqrt(pt**2 + MUON_MASS**2)
    np.testing.assert_allclose(value(ev, "m_mumu"), [expected_mass] * 2, rtol=1e-12)
    np.testing.assert_allclose(value(ev, "y_mumu"), [0.5 * math.log((e + pz) / (e - pz)), 0.0],
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(value(ev, "pt_mumu"), [0.0, 0.0], atol=1e-12)


def test_pt_mumu_of_perpendicular_muons():
    ev = make_events([[(30.0, 0.0, 0.0, 1), (40.0, 1.0, math.pi / 2, -1)]])
    np.testing.assert_allclose(value(ev, "pt_mumu"), [50.0], rtol=1e-12)


def test_per_object_values_are_pt_ordered_fields():
    ev = make_events([[(20.0, -1.0, 0.5, -1), (60.0, 2.0, -0.5, 1)]],
                     [[(25.0, 0.1, 1.0, 3.0), (90.0, -0.2, 2.0, 7.0)]])
    assert value(ev, "mu1_pt").tolist() == [60.0]
    assert value(ev, "mu2_eta").tolist() == [-1.0]
    assert value(ev, "mu1_phi").tolist() == [-0.5]
    assert value(ev, "j1_mass").tolist() == [7.0]
    assert value(ev, "j2_pt").tolist() == [25.0]


def test_wrap_phi_range_and_identity_inside():
    phi = np.array([math.pi, -math.pi, 0.0, -1e-20, 1e-300, 3 * math.pi, -3 * math.pi,
                    2 * math.pi, 7.0, -7.0, 1e6, -1e6])
    w = wrap_phi(phi)
    assert ((w > -math.pi) & (w <= math.pi)).all()
    assert w[0] == math.pi and w[1] == math.pi and w[3] == -1e-20 and w[4] == 1e-300
    np.testing.assert_allclose(np.cos(w), np.cos(phi), atol=1e-9)
    np.testing.assert_allclose(np.sin(w), np.sin(phi), atol=1e-9)
    rng = np.random.default_rng(3)
    x = rng.uniform(-50, 50, 1000)
    wx = wrap_phi(x)
    assert ((wx > -math.pi) & (wx <= math.pi)).all()
    np.testing.assert_allclose(np.exp(1j * wx), np.exp(1j * x), atol=1e-12)


def test_delta_phi_wraps_across_pi():
    ev = make_events([
        [(50.0, 0.0, 3.0, 1), (40.0, 0.0, -3.0, -1)],          # 6 - 2 pi
        [(50.0, 0.0, -3.0, 1), (40.0, 0.0, 3.0, -1)],          # -6 + 2 pi
        [(50.0, 0.0, math.pi / 2, 1), (40.0, 0.0, -math.pi / 2, -1)],  # exactly pi
        [(50.0, 0.0, -math.pi / 2, 1), (40.0, 0.0, math.pi / 2, -1)],  # -pi -> +pi
        [(50.0, 0.0, 0.25, 1), (40.0, 0.0, -0.5, -1)],
    ])
    np.testing.assert_allclose(
        value(ev, "dphi_mu1_mu2"),
        [6.0 - 2 * math.pi, -6.0 + 2 * math.pi, math.pi, math.pi, 0.75], rtol=1e-12,
    )
    assert delta_phi(np.array([0.0]), np.array([math.pi]))[0] == math.pi


def test_delta_eta_sign_and_delta_r():
    ev = make_events([[(50.0, 0.4, 0.1, 1), (40.0, -1.0, 2.0, -1)]],
                     [[(80.0, 0.1, 0.5, 5.0), (30.0, 2.0, -3.0, 1.0)]])
    np.testing.assert_allclose(value(ev, "deta_mu1_j1"), [0.3], rtol=1e-12)
    np.testing.assert_allclose(value(ev, "dphi_mu1_j1"), [-0.4], rtol=1e-12)
    np.testing.assert_allclose(value(ev, "dR_mu1_j1"), [0.5], rtol=1e-12)
    # j1-j2: d_eta = -1.9, d_phi = 3.5 - 2 pi; Delta R uses the wrapped d_phi
    dphi = 3.5 - 2 * math.pi
    np.testing.assert_allclose(value(ev, "dphi_j1_j2"), [dphi], rtol=1e-12)
    np.testing.assert_allclose(value(ev, "dR_j1_j2"), [math.hypot(1.9, dphi)], rtol=1e-12)
    np.testing.assert_allclose(value(ev, "deta_mu2_j2"), [-3.0], rtol=1e-12)


def test_m_jj_ht_and_n_jets():
    # massless jets at eta = 0, 90 degrees apart: m^2 = 2 pT1 pT2 (cosh d_eta - cos d_phi)
    mu = [(50.0, 0.0, 0.0, 1), (40.0, 0.0, 3.0, -1)]
    ev = make_events([mu, mu], [[(40.0, 0.0, 0.0, 0.0), (30.0, 0.0, math.pi / 2, 0.0),
                                 (25.0, 1.0, 1.0, 2.0)],
                                [(40.0, 0.0, 0.0, 0.0)]])
    np.testing.assert_allclose(value(ev, "m_jj")[0], math.sqrt(2 * 40.0 * 30.0), rtol=1e-12)
    np.testing.assert_allclose(value(ev, "ht"), [95.0, 40.0], rtol=1e-12)
    assert value(ev, "n_jets").tolist() == [3.0, 1.0]


def test_m_jj_with_massive_jets():
    # identical jets (pT, eta = 0, m) back to back: m_jj = 2 E = 2 sqrt(pT^2 + m^2)
    mu = [(50.0, 0.0, 0.0, 1), (40.0, 0.0, 3.0, -1)]
    ev = make_events([mu], [[(30.0, 0.0, 0.0, 4.0), (30.0, 0.0, math.pi, 4.0)]])
    np.testing.assert_allclose(value(ev, "m_jj"), [2 * math.sqrt(30.0**2 + 4.0**2)], rtol=1e-12)


def test_pt_balance():
    balanced = [[(50.0, 0.3, 0.0, 1), (30.0, -1.0, math.pi, -1)], [(20.0, 2.0, math.pi, 1.0)]]
    # muons (50, 0) + (0, 40); jet (-10, 0): |(40, 40)| = 40 sqrt 2
    unbalanced = [[(50.0, 0.0, 0.0, 1), (40.0, 0.5, math.pi / 2, -1)], [(10.0, 1.0, math.pi, 3.0)]]
    ev = make_events([balanced[0], unbalanced[0]], [balanced[1], unbalanced[1]])
    np.testing.assert_allclose(value(ev, "pt_balance"), [0.0, 40 * math.sqrt(2)], atol=1e-12)


def test_undefined_entries_for_missing_jets():
    mu = [(50.0, 0.0, 0.0, 1), (40.0, 0.0, 3.0, -1)]
    ev = make_events([mu, mu, mu], [[(40.0, 0.0, 0.0, 1.0)],
                                    [(40.0, 0.0, 0.0, 1.0), (30.0, 1.0, 1.0, 1.0)],
                                    []])
    for name, expected in [("j1_pt", [True, True, False]), ("j2_pt", [False, True, False]),
                           ("dR_j1_j2", [False, True, False]), ("j3_eta", [False] * 3),
                           ("ht", [True, True, False]), ("m_mumu", [True] * 3),
                           ("n_jets", [True] * 3)]:
        values, defined = CATALOGUE[name].evaluate(ev)
        assert defined.tolist() == expected, name
        assert np.isnan(values[~defined]).all() and np.isfinite(values[defined]).all(), name
    assert value(ev, "n_jets").tolist() == [1.0, 2.0, 0.0]


def test_every_observable_on_a_mixed_record():
    rng = np.random.default_rng(7)
    muons, jets = [], []
    for k in range(12):
        muons.append([(60.0 - k, rng.normal(), rng.uniform(-3, 3), 1),
                      (30.0 - k, rng.normal(), rng.uniform(-3, 3), -1)])
        jets.append([(100.0 - 20 * j, rng.normal(), rng.uniform(-3, 3), 5.0)
                     for j in range(1 + k % 3)])
    ev = make_events(muons, jets)
    n = np.array([1 + k % 3 for k in range(12)])
    results = evaluate_all(ev)
    assert list(results) == list(CATALOGUE)
    for name, (values, defined) in results.items():
        assert values.shape == defined.shape == (12,)
        assert values.dtype == np.float64 and defined.dtype == bool
        np.testing.assert_array_equal(defined, n >= CATALOGUE[name].min_jets, err_msg=name)
        assert np.isfinite(values[defined]).all() and np.isnan(values[~defined]).all(), name


def test_dimuon_only_record_makes_jet_observables_unavailable():
    ev = make_events([[(50.0, 0.0, 0.0, 1), (40.0, 0.0, 3.0, -1)]])
    available, skipped = available_observables(ev)
    skipped_names = {o.name for o in skipped}
    assert {"j1_pt", "ht", "m_jj", "pt_balance", "n_jets", "dR_mu1_j1"} <= skipped_names
    assert {o.name for o in available} == {
        "mu1_pt", "mu1_eta", "mu1_phi", "mu2_pt", "mu2_eta", "mu2_phi",
        "m_mumu", "pt_mumu", "y_mumu", "deta_mu1_mu2", "dphi_mu1_mu2", "dR_mu1_mu2",
    }
    assert set(evaluate_all(ev)) == {o.name for o in available}
    with pytest.raises(HepgenInputError, match="Jet collection"):
        evaluate_all(ev, ["j1_pt"])


def test_evaluate_all_selected_names_and_unknown_name():
    ev = make_events([[(50.0, 0.0, 0.0, 1), (40.0, 0.0, 3.0, -1)]], [[(30.0, 0.0, 1.0, 2.0)]])
    assert list(evaluate_all(ev, ["ht", "m_mumu"])) == ["ht", "m_mumu"]
    with pytest.raises(HepgenInputError, match="unknown observable"):
        evaluate_all(ev, ["m_zz"])


def test_evaluation_does_not_modify_the_record():
    ev = make_events([[(50.0, 0.0, 0.0, 1), (40.0, 0.0, 3.0, -1)]], [[(30.0, 0.0, 1.0, 2.0)]])
    before = ev.to_list()
    evaluate_all(ev)
    assert ev.to_list() == before


def test_delta_r_of_plain_arrays_wraps_phi_broadcasts_and_matches_the_catalogue():
    # (0.3, 0.4) apart -> 0.5; across phi = pi: 6 - 2 pi in phi
    np.testing.assert_allclose(delta_r(np.array([0.0, 1.0]), np.array([0.0, 3.0]),
                                       np.array([0.3, 1.0]), np.array([0.4, -3.0])),
                               [0.5, 2 * math.pi - 6.0], atol=1e-12)
    assert delta_r(np.zeros((2, 3)), np.zeros((2, 3)), np.zeros((2, 1)), np.ones((2, 1))).shape \
        == (2, 3)
    assert np.isnan(delta_r(np.array([np.nan]), np.array([0.0]), np.array([0.0]),
                            np.array([0.0])))[0]
    ev = make_events([[(50.0, 0.2, 3.0, 1), (40.0, -0.7, -2.9, -1)]])
    expected, _ = catalogue()["dR_mu1_mu2"].evaluate(ev)
    mu = ev.Muon
    np.testing.assert_allclose(delta_r(mu.eta[:, 0].to_numpy(), mu.phi[:, 0].to_numpy(),
                                       mu.eta[:, 1].to_numpy(), mu.phi[:, 1].to_numpy()),
                               expected, atol=1e-12)


def test_event_view_matches_awkward_vector_on_the_record_in_its_float_type():
    """The flat view computes what scikit-hep vector computes on the awkward record, bit for
    bit, in the record's own float type (float32 as read from ROOT), and sums every jet."""
    rng = np.random.default_rng(3)
    muons = [[(rng.uniform(20, 90), rng.normal(), rng.uniform(-3, 3), 1),
              (rng.uniform(5, 20), rng.normal(), rng.uniform(-3, 3), -1)] for _ in range(50)]
    jets = [[(rng.uniform(20, 200), rng.normal(0, 2), rng.uniform(-3, 3), rng.uniform(0, 9))
             for _ in range(k % 5)] for k in range(50)]  # 0..4 jets: beyond the catalogue's 3
    ev = make_events(muons, jets)
    ev = ak.zip({c: ak.zip({f: (ak.values_astype(ev[c][f], np.float32) if f != "charge"
                                else ev[c][f]) for f in ev[c].fields}, with_name="Momentum4D")
                 for c in ("Muon", "Jet")}, depth_limit=1)
    nj = ak.to_numpy(ak.num(ev.Jet))
    view = EventView.of(ev)
    assert view.objects["j1"].pt.dtype == np.float32 and len(view) == 50
    two = nj >= 2
    pair = ev[two].Jet[:, 0] + ev[two].Jet[:, 1]
    m_jj, defined = CATALOGUE["m_jj"].evaluate(view)
    np.testing.assert_array_equal(defined, two)
    np.testing.assert_array_equal(m_jj[two], ak.to_numpy(pair.mass).astype(np.float64))
    dr, _ = CATALOGUE["dR_mu2_j1"].evaluate(ev)
    first = nj >= 1
    np.testing.assert_array_equal(
        dr[first], ak.to_numpy(ev[first].Muon[:, 1].deltaR(ev[first].Jet[:, 0])).astype(float))
    ht, _ = CATALOGUE["ht"].evaluate(view)
    np.testing.assert_allclose(ht[nj == 4], ak.to_numpy(ak.sum(ev.Jet.pt, axis=1))[nj == 4])
    balance, _ = CATALOGUE["pt_balance"].evaluate(view)
    total = ev.Muon[:, 0] + ev.Muon[:, 1] + ak.sum(ev.Jet, axis=1)
    np.testing.assert_allclose(balance[first], ak.to_numpy(total.pt)[first], rtol=1e-5)


def test_event_view_of_events_with_one_muon():
    ev = make_events([[(50.0, 0.0, 0.0, 1)], [(50.0, 0.0, 0.0, 1), (40.0, 1.0, 3.0, -1)]],
                     [[(30.0, 0.0, 1.0, 2.0)], [(30.0, 0.0, 1.0, 2.0)]])
    results = evaluate_all(EventView.of(ev), ["mu2_pt", "m_mumu", "mu1_pt", "dR_mu1_j1"])
    assert results["mu2_pt"][1].tolist() == [False, True]
    assert np.isnan(results["m_mumu"][0][0]) and np.isfinite(results["m_mumu"][0][1])
    assert results["mu1_pt"][1].all() and results["dR_mu1_j1"][1].all()
