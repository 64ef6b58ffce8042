"""Tests of the recoil representation (hepgen.physics.recoil) and the representation registry
(hepgen.physics.representations)."""

from __future__ import annotations

import functools
import math

import awkward as ak
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from hepgen.physics.balance_charts import PairRecoilTransform, RatioTransform
from hepgen.physics.cone_squeeze import ConeSqueeze, RelativeAzimuth
from hepgen.physics.constants import JET_PT_LOG_OFFSET, JET_PT_MIN, MLL_MAX, MUON_MASS
from hepgen.physics.errors import HepgenInputError
from hepgen.physics.events import build_events
from hepgen.physics.observables import delta_phi, evaluate_all
from hepgen.physics.preprocessing import EventPreprocessor, feature_names, split_by_multiplicity
from hepgen.physics.recoil import (
    RecoilConeDeltaEtaPreprocessor,
    RecoilConeLogDequantBipolarPreprocessor,
    RecoilConeLogDequantPairPreprocessor,
    RecoilConeLogDequantPreprocessor,
    RecoilConeLogDequantRatioPreprocessor,
    RecoilConeLogPreprocessor,
    RecoilConePreprocessor,
    RecoilConesBothLogDequantPreprocessor,
    RecoilConesBothTightPreprocessor,
    RecoilConesLogDequantPreprocessor,
    RecoilConeSqrtDequantPreprocessor,
    RecoilConesSharedDeltaEtaMassPreprocessor,
    RecoilConesSharedDeltaEtaPreprocessor,
    RecoilConesSharedFlatPreprocessor,
    RecoilConesSharedPreprocessor,
    RecoilDeltaEtaPreprocessor,
    RecoilJetAxisPreprocessor,
    RecoilPreprocessor,
    dequantized_mass,
    recoil_feature_names,
)
from hepgen.physics.representations import (
    REPRESENTATIONS,
    make_preprocessor,
    preprocessor_from_state,
)
from hepgen.validation.toys import toy_events

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def _jagged(a) -> ak.Array:
    return ak.from_regular(ak.Array(np.asarray(a)), axis=1)


CLASSES = [RecoilPreprocessor, RecoilDeltaEtaPreprocessor, RecoilJetAxisPreprocessor,
           RecoilConePreprocessor, RecoilConeDeltaEtaPreprocessor, RecoilConeLogPreprocessor,
           RecoilConeLogDequantPreprocessor, RecoilConeLogDequantRatioPreprocessor,
           RecoilConeLogDequantPairPreprocessor, RecoilConeLogDequantBipolarPreprocessor,
           RecoilConeSqrtDequantPreprocessor, RecoilConesLogDequantPreprocessor,
           RecoilConesBothLogDequantPreprocessor, RecoilConesBothTightPreprocessor,
           RecoilConesSharedPreprocessor, RecoilConesSharedFlatPreprocessor,
           RecoilConesSharedDeltaEtaPreprocessor, RecoilConesSharedDeltaEtaMassPreprocessor]


@functools.cache
def _fitted(n_jets: int, cls: type = RecoilPreprocessor) -> tuple[RecoilPreprocessor, ak.Array]:
    """A preprocessor fitted on the toy events of ``n_jets`` jets (cached: tests only read it)."""
    events = split_by_multiplicity(toy_events(3000, seed=7))[n_jets]
    return cls(n_jets).fit(events), events


def _assert_same(a: ak.Array, b: ak.Array, rtol: float, atol: float = 1e-9) -> None:
    for coll in ("Muon", "Jet"):
        for f in ("pt", "eta", "mass"):
            x, y = (ak.to_numpy(ak.flatten(e[coll][f])) for e in (a, b))
            np.testing.assert_allclose(y, x, rtol=rtol, atol=atol, err_msg=f"{coll}.{f}")
        x, y = (ak.to_numpy(ak.flatten(e[coll].phi)) for e in (a, b))
        assert np.abs(np.angle(np.exp(1j * (y - x)))).max() < atol, f"{coll}.phi"
    assert a.Muon.charge.tolist() == b.Muon.charge.tolist()


def test_layout_matches_the_particle_map_block_structure():
    for n in (1, 2, 3):
        names = recoil_feature_names(n)
        assert len(names) == len(feature_names(n)) == 5 + 4 * n
        assert names[9:] == feature_names(n)[9:]  # the chain's per-jet blocks are the same
    assert "z_mass" in recoil_feature_names(1) and "balance_pt" in recoil_feature_names(1)
    with pytest.raises(ValueError, match="n_jets"):
        RecoilPreprocessor(0)


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("n_jets", [1, 2, 3])
def test_round_trip_on_toy_events_with_exact_charges(n_jets, cls):
    pre, events = _fitted(n_jets, cls)
    before = events.to_list()
    x = pre.forward(events)
    assert x.shape == (len(events), 5 + 4 * n_jets) and np.isfinite(x).all()
    np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=1e-9)
    phi, _ = pre.global_frame(events)
    back = pre.inverse(x, phi_rotation=phi)  # no rng, no charges: the features fix them
    assert events.to_list() == before
    _assert_same(events, back, rtol=1e-9)
    np.testing.assert_allclose(ak.to_numpy(ak.flatten(back.Muon.mass)), MUON_MASS)


@st.composite
def _events(draw: st.DrawFn, n_jets: int) -> ak.Array:
    """One valid event: any muon pair with m_mumu >= 1 GeV and |y| < 5, pT-ordered jets."""
    pt = [draw(st.floats(1.0, 800.0)) for _ in range(2)]
    assume(abs(pt[0] - pt[1]) > 1e-3 * max(pt))  # strictly ordered through a round trip
    eta = [draw(st.floats(-4.0, 4.0)) for _ in range(2)]
    phi = [draw(st.floats(-math.pi, math.pi)) for _ in range(2)]
    q = draw(st.sampled_from([-1, 1]))
    order = np.argsort(pt)[::-1]
    muon = {"pt": np.array(pt)[order][None], "eta": np.array(eta)[order][None],
            "phi": np.array(phi)[order][None], "charge": np.array([q, -q])[None]}
    jet_pt = JET_PT_MIN + np.cumsum([draw(st.floats(1e-3, 500.0)) for _ in range(n_jets)])[::-1]
    def per_jet(values: st.SearchStrategy[float]) -> np.ndarray:
        return np.array([draw(values) for _ in range(n_jets)])[None]

    jet = {"pt": jet_pt[None], "eta": per_jet(st.floats(-5, 5)),
           "phi": per_jet(st.floats(-math.pi, math.pi)), "mass": per_jet(st.floats(0.0, 100.0))}
    events = build_events({k: _jagged(v) for k, v in muon.items()},
                          {k: _jagged(v) for k, v in jet.items()})
    pair = events.Muon[:, 0] + events.Muon[:, 1]
    assume(float(pair.mass[0]) >= 1.0 and abs(float(pair.rapidity[0])) < 5.0)
    return events


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("n_jets", [1, 3])
@SETTINGS
@given(data=st.data())
def test_round_trip_on_random_valid_events(n_jets, cls, data):
    pre, _ = _fitted(n_jets, cls)
    events = data.draw(_events(n_jets))
    if issubclass(cls, RecoilConePreprocessor) and n_jets > 1:  # domain: Delta R(j1, jk) > r_in
        cones = {step.name: step for step in pre.chain.steps if isinstance(step, ConeSqueeze)}
        jets = events.Jet[0]
        # every cone: (reference jet, further jets); recoil-cones-log-dq: j3 about j2
        about = ({"cone_squeeze": (0, [1]), "cone_squeeze_j2": (1, [2])}
                 if "cone_squeeze_j2" in cones else {"cone_squeeze": (0, list(range(1, n_jets)))})
        for name, step in cones.items():
            ref, further = about[name]
            r = np.hypot(ak.to_numpy(jets.eta[further] - jets.eta[ref]),
                         delta_phi(ak.to_numpy(jets.phi[further]), float(jets.phi[ref])))
            assume((r > step.r_in * (1 + 1e-6)).all())
        if getattr(cls, "THIRD_ABOUT_BOTH", False):  # and j3, squeezed about j2,
            assume(_in_domain(pre, events))  # outside j1's cone: no closed form; ask forward
    if cls.MASS_WINDOW:  # domain: m_mumu below the generation window's upper edge
        pair = events.Muon[:, 0] + events.Muon[:, 1]
        assume(float(pair.mass[0]) < MLL_MAX * (1 - 1e-6))
    phi, _ = pre.global_frame(events)
    # extreme draws (a 1 GeV muon against 800 GeV of jets) lose ~1e-9 absolute in the boosts
    _assert_same(events, pre.inverse(pre.forward(events), phi_rotation=phi), rtol=1e-7,
                 atol=1e-7)


def _in_domain(pre: RecoilPreprocessor, events: ak.Array) -> bool:
    try:
        pre.forward(events)
    except ValueError as err:
        if "outside the domain" in str(err):
            return False
        raise
    return True


def test_features_are_the_catalogue_observables():
    """z_mass and balance_pt agree with the validation catalogue (an independent code path)."""
    pre, events = _fitted(2)
    kin = pre.kinematics(events)
    obs = evaluate_all(events, ["m_mumu", "pt_balance", "y_mumu"])
    names = pre.feature_names
    np.testing.assert_allclose(kin[:, names.index("z_mass")], obs["m_mumu"][0], rtol=1e-10)
    np.testing.assert_allclose(kin[:, names.index("balance_pt")], obs["pt_balance"][0],
                               rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(kin[:, names.index("z_rapidity")], obs["y_mumu"][0], atol=1e-10)
    np.testing.assert_array_equal(kin[:, names.index("j1_pt")],
                                  ak.to_numpy(events.Jet.pt[:, 0]))


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("n_jets", [1, 2, 3])
def test_inverse_of_any_features_is_a_valid_record(n_jets, cls):
    pre, _ = _fitted(n_jets, cls)
    x = np.random.default_rng(3).normal(size=(2000, pre.dim)) * 2.0
    events = pre.inverse(x, rng=np.random.default_rng(4))
    assert ak.all(ak.num(events.Muon, axis=1) == 2) and ak.all(ak.num(events.Jet) == n_jets)
    assert ak.all(ak.sum(events.Muon.charge, axis=1) == 0)
    assert ak.all(events.Muon.pt[:, 0] >= events.Muon.pt[:, 1])
    assert ak.all(events.Jet.pt[:, :-1] >= events.Jet.pt[:, 1:])
    assert ak.min(events.Jet.pt) > JET_PT_MIN - JET_PT_LOG_OFFSET
    phi = ak.to_numpy(ak.flatten(events.Jet.phi))
    assert ((phi > -np.pi) & (phi <= np.pi)).all()
    # the generated pair mass is the z_mass feature, through the decay and the boosts
    kin = pre.chain.inverse(x)
    m = ak.to_numpy((events.Muon[:, 0] + events.Muon[:, 1]).mass)
    np.testing.assert_allclose(m, kin[:, pre.feature_names.index("z_mass")], rtol=1e-6)


def test_delta_eta_variant_differs_only_in_the_further_jets_eta():
    plain, events = _fitted(3)
    relative = RecoilDeltaEtaPreprocessor(3)
    a, b = plain.kinematics(events), relative.kinematics(events)
    names = relative.feature_names
    assert names == tuple(n.replace("_eta", "_deta") if n[:2] in ("j2", "j3") else n
                          for n in plain.feature_names)
    eta = ak.to_numpy(events.Jet.eta).astype(np.float64)
    for k in (2, 3):
        np.testing.assert_allclose(b[:, names.index(f"j{k}_deta")], eta[:, k - 1] - eta[:, 0])
    same = [i for i, n in enumerate(names) if "deta" not in n]
    np.testing.assert_array_equal(a[:, same], b[:, same])


def test_registry_save_load_and_errors(tmp_path):
    pre, events = _fitted(2)
    pre.save(tmp_path / "p.json")
    state = RecoilPreprocessor.load(tmp_path / "p.json").state_dict()
    assert state["representation"] == "recoil"
    again = preprocessor_from_state(state)
    assert isinstance(again, RecoilPreprocessor)
    np.testing.assert_array_equal(again.forward(events), pre.forward(events))
    particles = make_preprocessor(2, "particles").fit(events)
    assert type(preprocessor_from_state(particles.state_dict())) is EventPreprocessor
    assert set(REPRESENTATIONS) == {"particles", "recoil", "recoil-deta", "recoil-jetaxis",
                                    "recoil-cone", "recoil-cone-deta", "recoil-cone-log",
                                    "recoil-cone-log-dq", "recoil-cone-log-dq-ratio",
                                    "recoil-cone-log-dq-pair", "recoil-cone-log-dq-bipolar",
                                    "recoil-cone-sqrt-dq", "recoil-cones-log-dq",
                                    "recoil-cones-both-log-dq", "recoil-cones-both-log-dq-tight",
                                    "recoil-cones-both-log-dq-shared",
                                    "recoil-cones-shared-flat", "recoil-cones-shared-deta",
                                    "recoil-cones-shared-deta-mll"}
    assert {name for name, cls in REPRESENTATIONS.items() if cls.COORDINATES == "recoil"} == (
        set(REPRESENTATIONS) - {"particles"})
    cone = make_preprocessor(2, "recoil-cone").fit(events)
    assert type(preprocessor_from_state(cone.state_dict())) is RecoilConePreprocessor
    np.testing.assert_array_equal(preprocessor_from_state(cone.state_dict()).forward(events),
                                  cone.forward(events))
    deta = make_preprocessor(2, "recoil-deta").fit(events)
    assert type(preprocessor_from_state(deta.state_dict())) is RecoilDeltaEtaPreprocessor
    with pytest.raises(ValueError, match="representation must be one of"):
        make_preprocessor(2, "cartesian")
    with pytest.raises(ValueError, match="unknown preprocessing format"):
        preprocessor_from_state({**state, "format": "something"})


def test_wrong_records_are_refused():
    pre, events = _fitted(1)
    with pytest.raises(HepgenInputError, match="exactly 1 jet"):
        pre.forward(split_by_multiplicity(toy_events(500, seed=1))[2])
    with pytest.raises(ValueError, match="rng"):
        pre.inverse(np.zeros((2, pre.dim)))


@pytest.mark.parametrize("cls", CLASSES)
def test_forward_log_det_matches_finite_differences(cls):
    """The feature chain's analytic log-Jacobian equals the log |det| of a numerical Jacobian."""
    pre, events = _fitted(2, cls)
    kin = pre.kinematics(events[:20])
    features, got = pre.chain.forward_and_log_det(kin)
    np.testing.assert_array_equal(features, pre.chain.forward(kin))
    h = 1e-6
    for i in range(len(kin)):
        jac = np.empty((pre.dim, pre.dim))
        for j in range(pre.dim):
            up, down = kin[i : i + 1].copy(), kin[i : i + 1].copy()
            up[0, j] += h
            down[0, j] -= h
            jac[:, j] = (pre.chain.forward(up) - pre.chain.forward(down))[0] / (2 * h)
        assert got[i] == pytest.approx(np.linalg.slogdet(jac)[1], abs=1e-5)
    np.testing.assert_allclose(pre.forward_and_log_det(events[:20])[1], got)


def test_jet_axis_puts_a_muon_along_the_leading_jet_at_cos_one():
    """An event whose negative (positive) muon flies along the leading jet has decay_costheta
    +1 (-1) about the jet axis; the other decay features agree with the plain recoil map."""
    muon = {"pt": _jagged([[40.0, 30.0]]), "eta": _jagged([[0.7, -1.2]]),
            "phi": _jagged([[0.3, 2.9]]), "charge": _jagged([[-1, 1]])}
    jet = {"pt": _jagged([[35.0]]), "eta": _jagged([[0.7]]), "phi": _jagged([[0.3]]),
           "mass": _jagged([[0.0]])}
    events = build_events(muon, jet)
    names = recoil_feature_names(1)
    along = RecoilJetAxisPreprocessor(1).kinematics(events)
    plain = RecoilPreprocessor(1).kinematics(events)
    assert along[0, names.index("decay_costheta")] == pytest.approx(1.0, abs=1e-9)
    same = [i for i, n in enumerate(names) if not n.startswith("decay_")]
    np.testing.assert_array_equal(along[:, same], plain[:, same])
    swapped = build_events({**muon, "charge": _jagged([[1, -1]])}, jet)
    cos = RecoilJetAxisPreprocessor(1).kinematics(swapped)[0, names.index("decay_costheta")]
    assert cos == pytest.approx(-1.0, abs=1e-9)


def test_dequantized_mass_moves_only_exact_zeros_into_the_box():
    rng = np.random.default_rng(11)
    pt = rng.uniform(20.0, 300.0, size=(20000, 2))
    mass = np.where(rng.random((20000, 2)) < 0.5, 0.0, rng.uniform(0.0, 30.0, (20000, 2)))
    out = dequantized_mass(mass, pt, width=0.5)
    zero = mass == 0.0
    np.testing.assert_array_equal(out[~zero], mass[~zero])
    assert ((out[zero] > -0.5) & (out[zero] < 0.0)).all()
    np.testing.assert_array_equal(dequantized_mass(mass, pt, width=0.5), out)  # deterministic
    np.testing.assert_array_equal(dequantized_mass(mass[:7], pt[:7], width=0.5), out[:7])
    u = -out[zero] / 0.5  # uniform on (0, 1): mean 1/2, variance 1/12
    assert abs(u.mean() - 0.5) < 0.01 and abs(u.var() - 1 / 12) < 0.005


def test_dequantized_representation_returns_massless_jets_exactly():
    pre, events = _fitted(2, RecoilConeLogDequantPreprocessor)
    names = pre.feature_names
    massless = events[:50]
    massless = ak.with_field(massless, ak.zeros_like(massless.Jet.mass), ("Jet", "mass"))
    kin = pre.kinematics(massless)
    for k in (1, 2):
        column = kin[:, names.index(f"j{k}_mass")]
        assert ((column < 0.0) & (column > -0.5)).all()
    phi, _ = pre.global_frame(massless)
    back = pre.inverse(pre.forward(massless), phi_rotation=phi)
    assert ak.all(back.Jet.mass == 0.0)
    x = pre.forward(massless)
    x[:, names.index("j1_mass")] = -50.0  # far below the box: still a massless jet
    assert ak.all(pre.inverse(x, phi_rotation=phi).Jet.mass[:, 0] == 0.0)


def test_ratio_variant_models_the_balance_over_the_leading_jet_pt():
    """recoil-cone-log-dq-ratio: its balance feature is log(|b| / pT_j1) before the
    standardisation; all other features equal those of recoil-cone-log-dq."""
    plain, events = _fitted(2, RecoilConeLogDequantPreprocessor)
    ratio = RecoilConeLogDequantRatioPreprocessor(2).fit(events)
    kin = plain.kinematics(events)
    names = plain.feature_names
    a, b = (pre.chain.steps[-1].inverse(pre.forward(events)) for pre in (plain, ratio))
    i, j = names.index("balance_pt"), names.index("j1_pt")
    np.testing.assert_allclose(b[:, i], np.log(kin[:, i] / kin[:, j]), rtol=1e-12, atol=1e-12)
    same = [k for k in range(len(names)) if k != i]
    np.testing.assert_allclose(b[:, same], a[:, same], rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="two different"):
        RatioTransform("r", 3, [0, 0])
    with pytest.raises(ValueError, match=r"ref in \(0, inf\)"):
        RatioTransform("r", 2, [0, 1]).forward(np.array([[1.0, 0.0]]))


def test_pair_variant_models_the_pair_pt_of_one_jet_events():
    """recoil-cone-log-dq-pair: in Z + 1 jet events its balance feature is log pT_mumu (the
    catalogue's) before the standardisation, and its angle 0 for a pair opposite the jet."""
    pre, events = _fitted(1, RecoilConeLogDequantPairPreprocessor)
    names = pre.feature_names
    x = pre.chain.steps[-1].inverse(pre.forward(events))
    pt_mumu = evaluate_all(events, ["pt_mumu"])["pt_mumu"][0]
    np.testing.assert_allclose(x[:, names.index("balance_pt")], np.log(pt_mumu), rtol=1e-9)
    step = PairRecoilTransform("p", 3, [0, 1, 2])
    q = step.forward(np.array([[10.0, math.pi, 50.0]]))  # pair of 60 GeV opposite the jet
    np.testing.assert_allclose(q, [[60.0, 0.0, 50.0]], atol=1e-12)
    with pytest.raises(ValueError, match="pair pT > 0"):
        step.forward(np.array([[50.0, 0.0, 50.0]]))  # the pair at rest


def test_cones_variant_closes_the_third_jets_cone_about_the_second_jet():
    """recoil-cones-log-dq: for three jets the third jet's cone is closed about the second jet
    (its azimuth taken about the second jet's), the second jet's about the leading one; with
    one or two jets it is recoil-cone-log-dq."""
    pre, events = _fitted(3, RecoilConesLogDequantPreprocessor)
    names, kin = pre.feature_names, pre.kinematics(events)
    col = {n: names.index(n) for n in names}
    squeezed = pre.chain.steps[1].forward(pre.chain.steps[0].forward(kin))
    about_j2 = ConeSqueeze("c", 3, [0, 1, 2], profile="log")
    about_j2.load_params(pre.chain.steps[1].params())
    dphi = delta_phi(kin[:, col["j3_phi"]], kin[:, col["j2_phi"]])
    expected = about_j2.forward(np.column_stack([kin[:, col["j2_eta"]], kin[:, col["j3_eta"]],
                                                 dphi]))
    np.testing.assert_allclose(squeezed[:, [col["j3_eta"], col["j3_phi"]]], expected[:, 1:],
                               atol=1e-12)
    # the third jet's rim about the second jet is the origin of its (squeezed) plane
    r_new = np.hypot(squeezed[:, col["j3_eta"]] - kin[:, col["j2_eta"]],
                     squeezed[:, col["j3_phi"]])
    assert r_new.min() < 0.5 * np.hypot(kin[:, col["j3_eta"]] - kin[:, col["j2_eta"]],
                                        dphi).min()
    two, two_events = _fitted(2, RecoilConesLogDequantPreprocessor)
    plain = RecoilConeLogDequantPreprocessor(2).fit(two_events)
    np.testing.assert_array_equal(two.forward(two_events), plain.forward(two_events))


def test_relative_azimuth_wraps_and_round_trips():
    step = RelativeAzimuth("rel", 3, [0, 1, 2])
    x = np.array([[3.0, -3.0, 0.5], [-3.1, 3.1, -3.1]])
    y = step.forward(x)
    np.testing.assert_allclose(y[:, 0], x[:, 0])
    np.testing.assert_allclose(y[0, 1:], [2 * math.pi - 6.0, -2.5], atol=1e-12)
    np.testing.assert_allclose(y[1, 1:], [6.2 - 2 * math.pi, 0.0], atol=1e-12)
    assert ((y[:, 1:] > -math.pi) & (y[:, 1:] <= math.pi)).all()
    np.testing.assert_allclose(step.inverse(y), x, atol=1e-12)
    assert (step.forward_log_det(x) == 0.0).all()
    back = RelativeAzimuth("back", 3, [0, 1, 2], back=True)
    np.testing.assert_allclose(back.forward(y), x, atol=1e-12)  # the inverse as a forward step
    back.load_params(step.params())
    assert not back.back
    with pytest.raises(ValueError, match="at least two"):
        RelativeAzimuth("rel", 3, [1])


def test_cones_both_variant_also_closes_the_third_jets_cone_about_the_leading_jet():
    """recoil-cones-both-log-dq: the third jet, squeezed about the second and taken back to the
    leading jet's frame, is squeezed about the leading jet with the second jet (one cone step
    over both); its features differ from recoil-cones-log-dq's in the third jet only."""
    both, events = _fitted(3, RecoilConesBothLogDequantPreprocessor)
    one = RecoilConesLogDequantPreprocessor(3).fit(events)
    names = both.feature_names
    col = {n: names.index(n) for n in names}
    steps = {step.name: step for step in both.chain.steps}
    assert steps["cone_squeeze"].columns == (col["j1_eta"], col["j2_eta"], col["j2_phi"],
                                             col["j3_eta"], col["j3_phi"])
    assert steps["j3_phi_about_j1"].back
    kin = both.kinematics(events)
    x = kin
    for step in both.chain.steps[:3]:  # about j2, then back to the leading jet's frame
        x = step.forward(x)
    r = np.hypot(x[:, col["j3_eta"]] - kin[:, col["j1_eta"]], x[:, col["j3_phi"]])
    assert (r > steps["cone_squeeze"].r_in).all()  # in the domain of the cone about j1
    differ = np.flatnonzero(np.any(both.chain.steps[-1].inverse(both.forward(events))
                                   != one.chain.steps[-1].inverse(one.forward(events)), axis=0))
    assert set(differ) <= {col["j2_eta"], col["j2_phi"], col["j3_eta"], col["j3_phi"]}


def test_tight_variant_fits_the_cones_closer_to_the_smallest_separation():
    """recoil-cones-both-log-dq-tight: every cone radius is 0.99 (not 0.95) of the smallest
    separation it was fitted on, the rest as recoil-cones-both-log-dq."""
    tight, events = _fitted(3, RecoilConesBothTightPreprocessor)
    loose = RecoilConesBothLogDequantPreprocessor(3).fit(events)
    for a, b in zip(tight.chain.steps, loose.chain.steps, strict=True):
        assert a.name == b.name
        if isinstance(a, ConeSqueeze):
            assert a.r_in_fraction == 0.99 and b.r_in_fraction == ConeSqueeze.R_IN_FRACTION
    by_name = {s.name: s for s in tight.chain.steps}
    assert by_name["cone_squeeze_j2"].r_in == pytest.approx(
        0.99 / ConeSqueeze.R_IN_FRACTION * {s.name: s for s in loose.chain.steps}[
            "cone_squeeze_j2"].r_in)
    with pytest.raises(ValueError, match="r_in_fraction"):
        ConeSqueeze("c", 3, [0, 1, 2], r_in_fraction=1.0)
