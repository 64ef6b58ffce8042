"""Tests of the event <-> feature map (hepgen.physics.preprocessing, arXiv 2110.13632)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import awkward as ak
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from hepgen.physics.constants import JET_PT_LOG_OFFSET, JET_PT_MIN, MUON_MASS, PHI_ARTANH_EPS
from hepgen.physics.errors import HepgenInputError
from hepgen.physics.events import build_events
from hepgen.physics.feature_steps import (
    LogTransform,
    PhiArtanhTransform,
    ShiftedLogTransform,
    Standardise,
)
from hepgen.physics.preprocessing import (
    EventPreprocessor,
    feature_dim,
    feature_names,
    split_by_multiplicity,
)

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
RTOL, ATOL = 1e-6, 1e-12  # relative, with an absolute floor for values near 0 (eta, phi, mass)


def _jagged(a: np.ndarray) -> ak.Array:
    return ak.from_regular(ak.Array(np.asarray(a)), axis=1)


def events_from_arrays(mu: dict[str, np.ndarray], jet: dict[str, np.ndarray] | None) -> ak.Array:
    """Record from regular arrays: mu pt/eta/phi/charge (N, 2), jet pt/eta/phi/mass (N, n)."""
    jets = None if jet is None else {k: _jagged(v) for k, v in jet.items()}
    return build_events({k: _jagged(v) for k, v in mu.items()}, jets)


def random_events(rng: np.random.Generator, n_events: int, n_jets: int,
                  positive_fraction: float = 0.5) -> ak.Array:
    """A Z+jets-like sample: pT-ordered muons and jets (jets above JET_PT_MIN)."""
    mu_pt = np.sort(rng.uniform(5.0, 120.0, (n_events, 2)), axis=1)[:, ::-1]
    q = np.where(rng.random(n_events) < positive_fraction, 1, -1)
    mu = {"pt": mu_pt, "eta": rng.normal(0, 2, (n_events, 2)),
          "phi": rng.uniform(-np.pi, np.pi, (n_events, 2)), "charge": np.column_stack([q, -q])}
    jet = {"pt": np.sort(JET_PT_MIN + rng.exponential(30.0, (n_events, n_jets)), axis=1)[:, ::-1],
           "eta": rng.uniform(-5, 5, (n_events, n_jets)),
           "phi": rng.uniform(-np.pi, np.pi, (n_events, n_jets)),
           "mass": rng.exponential(5.0, (n_events, n_jets))}
    return events_from_arrays(mu, jet)


_FITTED: dict[int, tuple[EventPreprocessor, ak.Array]] = {}


def fitted(n_jets: int) -> tuple[EventPreprocessor, ak.Array]:
    """A preprocessor fitted on 500 random events (cached per multiplicity) and its train set."""
    if n_jets not in _FITTED:
        train = random_events(np.random.default_rng(n_jets), 500, n_jets, 0.7)
        _FITTED[n_jets] = (EventPreprocessor(n_jets).fit(train), train)
    return _FITTED[n_jets]


# -- hypothesis strategies: valid events with the edge cases of the map ---------------------

_phi = st.one_of(st.sampled_from([math.pi, -math.pi, 0.0]),
                 st.floats(-math.pi, math.pi, allow_subnormal=False))
_gap = st.floats(1e-3, 500.0)  # pT gaps keep objects strictly ordered through a round trip


@st.composite
def event_arrays(draw: st.DrawFn, n_jets: int) -> tuple[dict, dict]:
    n = draw(st.integers(1, 4))
    mu, jet = {k: [] for k in ("pt", "eta", "phi", "charge")}, {k: [] for k in
                                                                  ("pt", "eta", "phi", "mass")}
    for _ in range(n):
        mu2 = draw(st.floats(1e-2, 1e3))
        mu["pt"].append([mu2 + draw(_gap), mu2])
        mu["eta"].append([draw(st.floats(-8, 8)) for _ in range(2)])
        mu["phi"].append([draw(_phi) for _ in range(2)])
        q = draw(st.sampled_from([-1, 1]))
        mu["charge"].append([q, -q])
        last = JET_PT_MIN + draw(st.one_of(st.just(0.0), st.floats(0.0, 1e3)))  # at the cut
        pts = [last]
        for _ in range(n_jets - 1):
            pts.insert(0, pts[0] + draw(_gap))
        jet["pt"].append(pts)
        jet["eta"].append([draw(st.floats(-5, 5)) for _ in range(n_jets)])
        jet["phi"].append([draw(_phi) for _ in range(n_jets)])
        jet["mass"].append([draw(st.one_of(st.just(0.0), st.floats(0.0, 200.0)))
                            for _ in range(n_jets)])
    return {k: np.array(v) for k, v in mu.items()}, {k: np.array(v) for k, v in jet.items()}


def assert_same_events(a: ak.Array, b: ak.Array) -> None:
    for coll, fields in (("Muon", ("pt", "eta", "mass")), ("Jet", ("pt", "eta", "mass"))):
        for f in fields:
            x, y = (ak.to_numpy(ak.flatten(e[coll][f])) for e in (a, b))
            np.testing.assert_allclose(y, x, rtol=RTOL, atol=ATOL, err_msg=f"{coll}.{f}")
        x, y = (ak.to_numpy(ak.flatten(e[coll].phi)) for e in (a, b))
        assert ((y > -math.pi) & (y <= math.pi)).all()
        angular = np.abs(np.angle(np.exp(1j * (y - x))))  # phi = -pi comes back as +pi
        assert angular.max(initial=0.0) <= ATOL, f"{coll}.phi"
    assert a.Muon.charge.tolist() == b.Muon.charge.tolist()


# -- layout ---------------------------------------------------------------------------------


def test_dimensions_and_names():
    assert [feature_dim(n) for n in (1, 2, 3)] == [9, 13, 17]
    assert feature_names(1) == ("mu1_pt", "mu1_eta", "mu2_pt", "mu2_eta", "mu2_phi",
                                "j1_pt", "j1_eta", "j1_phi", "j1_mass")
    with pytest.raises(ValueError, match="n_jets"):
        EventPreprocessor(4)


# -- round trips ----------------------------------------------------------------------------


@pytest.mark.parametrize("n_jets", [1, 2, 3])
@SETTINGS
@given(data=st.data())
def test_round_trip_on_random_valid_events(n_jets, data):
    pre, _ = fitted(n_jets)
    mu, jet = data.draw(event_arrays(n_jets))
    events = events_from_arrays(mu, jet)
    before = events.to_list()
    x = pre.forward(events)
    assert x.shape == (len(events), feature_dim(n_jets)) and np.isfinite(x).all()
    x_before = x.copy()
    phi, charge = pre.global_frame(events)
    back = pre.inverse(x, phi_rotation=phi, charge_sign=charge)
    assert events.to_list() == before  # inputs untouched
    np.testing.assert_array_equal(x, x_before)
    assert_same_events(events, back)
    np.testing.assert_allclose(ak.to_numpy(ak.flatten(back.Muon.mass)), MUON_MASS)


def test_edge_values_round_trip_exactly_enough():
    pre, _ = fitted(1)
    pi = math.pi
    mu = {"pt": np.array([[50.0, 40.0]] * 4), "eta": np.zeros((4, 2)),
          "phi": np.array([[0.0, pi], [0.0, -pi], [pi, -pi], [-pi, 0.0]]),
          "charge": np.array([[1, -1]] * 4)}
    jet = {"pt": np.array([[JET_PT_MIN], [JET_PT_MIN], [JET_PT_MIN + 1e-9], [1e4]]),
           "eta": np.zeros((4, 1)), "phi": np.array([[pi], [-pi], [0.0], [pi]]),
           "mass": np.array([[0.0], [0.0], [1e-8], [300.0]])}
    events = events_from_arrays(mu, jet)
    x = pre.forward(events)
    assert np.isfinite(x).all()
    back = pre.inverse(x, phi_rotation=pre.global_frame(events)[0], charge_sign=np.ones(4, int))
    assert_same_events(events, back)
    assert ak.to_numpy(back.Jet.pt[:2, 0]).tolist() == pytest.approx([JET_PT_MIN] * 2, rel=1e-15)


@pytest.mark.parametrize(
    "step",
    [LogTransform("log", 3, [0, 2]),
     ShiftedLogTransform("slog", 3, [1], shift=JET_PT_MIN, offset=JET_PT_LOG_OFFSET),
     PhiArtanhTransform("phi", 3, [0, 1, 2], eps=PHI_ARTANH_EPS)],
    ids=lambda s: s.kind,
)
@SETTINGS
@given(data=st.data())
def test_step_round_trip_and_no_in_place_change(step, data):
    if step.kind == "phi_artanh":
        elements = st.one_of(st.sampled_from([math.pi, -math.pi]), st.floats(-math.pi, math.pi))
    elif step.kind == "log":
        elements = st.floats(1e-300, 1e300)
    else:
        elements = st.floats(JET_PT_MIN, 1e6)
    x = data.draw(arrays(np.float64, st.tuples(st.integers(0, 5), st.just(3)), elements=elements))
    x_before = x.copy()
    y = step.forward(x)
    np.testing.assert_array_equal(x, x_before)
    y_before = y.copy()
    back = step.inverse(y)
    np.testing.assert_array_equal(y, y_before)
    np.testing.assert_allclose(back, x, rtol=1e-12, atol=1e-12)


# -- standardisation, state -----------------------------------------------------------------


@pytest.mark.parametrize("n_jets", [1, 2, 3])
def test_standardised_training_features(n_jets):
    pre, train = fitted(n_jets)
    x = pre.forward(train)
    np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=1e-10)
    np.testing.assert_allclose(x.std(axis=0), 1.0, rtol=1e-10)
    assert pre.positive_fraction == pytest.approx(0.7, abs=0.06)


def test_save_load_json_gives_identical_output(tmp_path):
    pre, train = fitted(2)
    path = tmp_path / "pre.json"
    pre.save(path)
    state = json.loads(path.read_text())  # plain JSON
    assert state["n_jets"] == 2 and len(state["steps"]) == 5
    loaded = EventPreprocessor.load(path)
    np.testing.assert_array_equal(loaded.forward(train), pre.forward(train))
    assert loaded.positive_fraction == pre.positive_fraction
    assert loaded.state_dict() == pre.state_dict()
    again = EventPreprocessor.from_state_dict(json.loads(json.dumps(pre.state_dict())))
    x = pre.forward(train)
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    assert again.inverse(x, rng=rng_a).to_list() == pre.inverse(x, rng=rng_b).to_list()
    assert [p.name for p in tmp_path.iterdir()] == ["pre.json"]  # no temporary left behind


def test_state_of_another_format_is_refused():
    with pytest.raises(ValueError, match="not a"):
        EventPreprocessor.from_state_dict({"format": "pickle", "version": 1})
    state = fitted(1)[0].state_dict()
    state["steps"][0]["columns"] = [1]
    with pytest.raises(ValueError, match="does not match"):
        EventPreprocessor.from_state_dict(state)


# -- sampling the dropped degrees of freedom ------------------------------------------------


def test_inverse_draws_phi_and_charge_from_the_training_fraction():
    pre, train = fitted(3)
    x = np.random.default_rng(0).standard_normal((4000, 17))
    events = pre.inverse(x, rng=np.random.default_rng(1))
    assert len(events) == 4000
    assert ak.all(ak.num(events.Muon, axis=1) == 2) and ak.all(ak.num(events.Jet, axis=1) == 3)
    charge = ak.to_numpy(events.Muon.charge)
    assert (charge.sum(axis=1) == 0).all()
    # the leading muon may change when generated pTs come out of order; count the slot charge
    lead_positive = np.mean(charge[:, 0] > 0)
    assert 0.35 < lead_positive < 0.85
    phi = ak.to_numpy(ak.flatten(events.Jet.phi))
    assert ((phi > -math.pi) & (phi <= math.pi)).all()
    assert abs(np.mean(np.cos(phi))) < 0.05 and abs(np.mean(np.sin(phi))) < 0.05
    pt = ak.to_numpy(events.Jet.pt)
    assert (np.diff(pt, axis=1) <= 0).all()  # pT-ordered record
    repeat = pre.inverse(x, rng=np.random.default_rng(1))
    assert repeat.to_list() == events.to_list()


def test_inverse_charge_fraction_with_fixed_frame():
    pre, _ = fitted(1)
    x = np.zeros((20000, 9))  # identical events: only the drawn charge differs
    events = pre.inverse(x, rng=np.random.default_rng(2), phi_rotation=np.zeros(20000))
    assert np.mean(ak.to_numpy(events.Muon.charge[:, 0]) > 0) == pytest.approx(
        pre.positive_fraction, abs=0.02)
    assert ak.to_numpy(events.Muon.phi[:, 0]).tolist() == [0.0] * 20000


# -- errors ---------------------------------------------------------------------------------


def test_wrong_shapes_give_clear_errors():
    pre, train = fitted(2)
    with pytest.raises(ValueError, match=r"shape \(N, 13\)"):
        pre.inverse(np.zeros((3, 9)), rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"shape \(N, 13\)"):
        pre.inverse(np.zeros(13), rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"shape \(N, 3\)"):
        LogTransform("log", 3, [0]).forward(np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"phi_rotation and charge_sign need shape \(2,\)"):
        pre.inverse(np.zeros((2, 13)), phi_rotation=np.zeros(3), charge_sign=np.ones(2, int))
    with pytest.raises(ValueError, match="-1 or \\+1"):
        pre.inverse(np.zeros((2, 13)), phi_rotation=np.zeros(2), charge_sign=np.zeros(2, int))
    with pytest.raises(ValueError, match="rng"):
        pre.inverse(np.zeros((2, 13)))
    with pytest.raises(ValueError, match="non-finite"):
        pre.inverse(np.full((2, 13), np.nan), rng=np.random.default_rng(0))


def test_wrong_multiplicity_and_records_are_refused():
    pre, _ = fitted(2)
    with pytest.raises(ValueError, match="exactly 2 jet"):
        pre.forward(random_events(np.random.default_rng(0), 5, 3))
    with pytest.raises(HepgenInputError, match="no Jet collection"):
        pre.forward(events_from_arrays(
            {"pt": np.array([[50.0, 40.0]]), "eta": np.zeros((1, 2)), "phi": np.zeros((1, 2)),
             "charge": np.array([[1, -1]])}, None))


def test_domain_violations_fail_loudly():
    with pytest.raises(ValueError, match="outside the domain"):
        ShiftedLogTransform("jet_log_pt", 1, [0], shift=20.0, offset=0.01).forward(
            np.array([[19.99]]))
    with pytest.raises(ValueError, match="outside the domain"):
        PhiArtanhTransform("phi", 1, [0], eps=1e-6).forward(np.array([[3.2]]))
    with pytest.raises(ValueError, match="outside the domain"):
        LogTransform("log", 1, [0]).forward(np.array([[0.0]]))
    with pytest.raises(RuntimeError, match="not fitted"):
        EventPreprocessor(1).forward(random_events(np.random.default_rng(0), 3, 1))
    with pytest.raises(ValueError, match="spread"):
        Standardise("s", 2).fit(np.ones((5, 2)))


def test_fit_requires_jets_above_the_cut_and_opposite_charges():
    events = random_events(np.random.default_rng(0), 20, 1)
    with pytest.raises(HepgenInputError, match="jet_pt_min"):
        EventPreprocessor(1, jet_pt_min=30.0).fit(events)
    same_sign = events_from_arrays(
        {"pt": np.array([[50.0, 40.0], [60.0, 30.0]]), "eta": np.zeros((2, 2)),
         "phi": np.zeros((2, 2)), "charge": np.array([[1, 1], [1, -1]])},
        {"pt": np.array([[30.0], [40.0]]), "eta": np.zeros((2, 1)), "phi": np.ones((2, 1)),
         "mass": np.ones((2, 1))})
    with pytest.raises(HepgenInputError, match="same-sign"):
        EventPreprocessor(1).fit(same_sign)


# -- multiplicity split, layering -----------------------------------------------------------


def test_split_by_multiplicity():
    parts = [random_events(np.random.default_rng(n), 3 + n, n) for n in (1, 2, 3)]
    mixed = ak.concatenate([parts[2], parts[0], parts[1]])
    split = split_by_multiplicity(mixed)
    assert list(split) == [1, 2, 3]
    for n, part in zip((1, 2, 3), parts, strict=True):
        assert split[n].to_list() == part.to_list()
    dimuon = events_from_arrays(
        {"pt": np.array([[50.0, 40.0]]), "eta": np.zeros((1, 2)), "phi": np.zeros((1, 2)),
         "charge": np.array([[1, -1]])}, None)
    assert list(split_by_multiplicity(dimuon)) == [0]


def test_physics_layer_does_not_import_torch():
    code = ("import sys, hepgen.physics.preprocessing, hepgen.physics.observables; "
            "sys.exit('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
