"""Tests of the cone-closing radial map (hepgen.physics.cone_squeeze.ConeSqueeze) and of the
``recoil-cone`` representation built on it (hepgen.physics.recoil.RecoilConePreprocessor)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hepgen.physics.cone_squeeze import ConeSqueeze
from hepgen.physics.io import read_events
from hepgen.physics.preprocessing import split_by_multiplicity
from hepgen.physics.recoil import RecoilConePreprocessor, RecoilJetAxisPreprocessor

TRAIN = Path(__file__).resolve().parents[2] / "data_samples" / "zjets_train.root"


def _step(r_in: float = 0.3, r_out: float = 1.5, profile: str = "quadratic") -> ConeSqueeze:
    """A squeeze on columns (eta_ref, eta_2, phi_2, eta_3, phi_3) of a 6-column array."""
    step = ConeSqueeze("cone", 6, [0, 1, 2, 3, 4], r_out=r_out, profile=profile)
    if profile in ConeSqueeze.R_OUT_OVER_R_IN:
        r_out = ConeSqueeze.R_OUT_OVER_R_IN[profile] * r_in
    step.load_params({"r_out": r_out, "r_in": r_in, "profile": profile})
    return step


PROFILES = pytest.mark.parametrize("profile", ConeSqueeze.PROFILES)


def _points(n: int, seed: int, r_in: float = 0.3) -> np.ndarray:
    """(n, 6) rows: eta_ref, two further jets at separations in (r_in, 3), an untouched column."""
    rng = np.random.default_rng(seed)
    x = np.empty((n, 6))
    x[:, 0] = rng.uniform(-3, 3, n)
    for c in (1, 3):
        r, a = rng.uniform(r_in * 1.001, 3.0, n), rng.uniform(-np.pi, np.pi, n)
        x[:, c], x[:, c + 1] = x[:, 0] + r * np.cos(a), r * np.sin(a)
    x[:, 5] = rng.normal(size=n)
    return x


@PROFILES
def test_round_trip_and_untouched_columns(profile):
    step = _step(profile=profile)
    x = _points(5000, 1)
    y = step.forward(x)
    np.testing.assert_allclose(step.inverse(y), x, atol=1e-12)
    np.testing.assert_array_equal(y[:, [0, 5]], x[:, [0, 5]])
    for c in (1, 3):  # each further jet
        r, r_new = (np.hypot(a[:, c] - a[:, 0], a[:, c + 1]) for a in (x, y))
        outside = r >= step.r_out
        np.testing.assert_array_equal(y[outside, c : c + 2], x[outside, c : c + 2])
        assert (r_new[~outside] < step.r_out).all()
        inside = ~outside  # the angle about the reference jet is kept
        np.testing.assert_allclose(np.arctan2(y[inside, c + 1], y[inside, c] - y[inside, 0]),
                                   np.arctan2(x[inside, c + 1], x[inside, c] - x[inside, 0]),
                                   atol=1e-12)


@PROFILES
def test_cone_edge_goes_to_the_origin_and_the_disk_edge_stays(profile):
    step = _step(profile=profile)
    x = np.array([[0.5, 0.5 + 0.3 * (1 + 1e-12), 0.0, 0.5 + step.r_out, 0.0, 0.0]])
    y = step.forward(x)
    # 3e-13 outside the rim: r' ~ 3e-13 (quadratic, log), ~ sqrt(3e-13 r_in) = 6e-7 (sqrt)
    assert abs(y[0, 1] - 0.5) < (1e-6 if profile == "sqrt" else 1e-9)
    assert y[0, 3] == pytest.approx(0.5 + step.r_out, abs=1e-12)
    # any point of the disk, the origin included, comes back outside the cone
    z = np.zeros((3, 6))
    z[:, 1] = [0.0, 0.01, -1.2]
    back = step.inverse(z)
    assert (np.hypot(back[:, 1] - back[:, 0], back[:, 2]) >= 0.3 - 1e-12).all()


@PROFILES
def test_log_det_matches_finite_differences_and_is_continuous_at_r_out(profile, fd_log_det):
    step = _step(profile=profile)
    x = _points(30, 2)
    np.testing.assert_allclose(step.forward_log_det(x), fd_log_det(step, x), atol=1e-6)
    r_out = step.r_out
    edge = np.array([[0.0, r_out - 1e-9, 0.0, 3.0, 0.0, 0.0],
                     [0.0, r_out + 1e-9, 0.0, 3.0, 0.0, 0.0]])
    below, above = step.forward_log_det(edge)
    assert above == 0.0 and below == pytest.approx(0.0, abs=1e-7)


def test_relative_layout_is_the_same_map():
    """With eta already relative to the reference jet (relative=True, columns deta_k, phi_k) the
    step moves the same points, with the same log-det."""
    absolute, x = _step(), _points(2000, 5)
    relative = ConeSqueeze("cone", 6, [1, 2, 3, 4], relative=True)
    relative.load_params({**absolute.params(), "relative": True})
    rel = x.copy()
    rel[:, [1, 3]] -= x[:, :1]
    y_abs, y_rel = absolute.forward(x), relative.forward(rel)
    np.testing.assert_allclose(y_rel[:, [1, 3]], y_abs[:, [1, 3]] - x[:, :1], atol=1e-12)
    np.testing.assert_allclose(y_rel[:, [0, 2, 4, 5]], y_abs[:, [0, 2, 4, 5]], atol=1e-12)
    np.testing.assert_allclose(relative.forward_log_det(rel), absolute.forward_log_det(x))
    np.testing.assert_allclose(relative.inverse(y_rel), rel, atol=1e-12)
    with pytest.raises(ValueError, match="deta_k"):
        ConeSqueeze("cone", 6, [1, 2, 3], relative=True)


def test_domain_fit_and_state():
    step = ConeSqueeze("cone", 6, [0, 1, 2, 3, 4])
    with pytest.raises(RuntimeError, match="not fitted"):
        step.forward(_points(3, 3))
    x = _points(2000, 3, r_in=0.4)
    step.fit(x)
    r = np.hypot(x[:, [1, 3]] - x[:, :1], x[:, [2, 4]])
    assert step.r_in == pytest.approx(ConeSqueeze.R_IN_FRACTION * r.min())
    inside = x[:1].copy()
    inside[0, 1], inside[0, 2] = inside[0, 0] + 0.1, 0.0
    with pytest.raises(ValueError, match=r"outside the domain jet separations Delta R > r_in"):
        step.forward(inside)
    again = ConeSqueeze("cone", 6, [0, 1, 2, 3, 4])
    again.load_state_dict(step.state_dict())
    np.testing.assert_array_equal(again.forward(x), step.forward(x))
    with pytest.raises(ValueError, match="columns"):
        ConeSqueeze("cone", 6, [0, 1])
    with pytest.raises(ValueError, match="r_out"):
        ConeSqueeze("cone", 6, [0, 1, 2], r_out=4.0)
    with pytest.raises(ValueError, match="profile"):
        ConeSqueeze("cone", 6, [0, 1, 2], profile="cubic")
    log = ConeSqueeze("cone", 6, [0, 1, 2, 3, 4], profile="log")
    log.fit(x)
    assert log.r_out == pytest.approx(np.e * log.r_in)
    sqrt = ConeSqueeze("cone", 6, [0, 1, 2, 3, 4], profile="sqrt")
    sqrt.fit(x)
    assert sqrt.r_out == pytest.approx(2.0 * sqrt.r_in)


def test_sqrt_profile_keeps_a_finite_density_at_the_rim():
    """Points just outside the cone: the log profile's Jacobian goes to 0 at the rim (a spike
    of the feature-plane density at the origin), the sqrt profile's stays at 2 r_in / r."""
    r = 0.3 * (1.0 + np.array([1e-2, 1e-4, 1e-6]))
    x = np.zeros((3, 6))
    x[:, 1], x[:, 3] = r, 3.0  # the third jet far outside the disk (log-det 0)
    sqrt, log = _step(profile="sqrt"), _step(profile="log")
    np.testing.assert_allclose(np.exp(sqrt.forward_log_det(x)), 2 * 0.3 / r, rtol=1e-12)
    assert (np.diff(log.forward_log_det(x)) < -2.0).all()  # falls without bound


def test_shipped_data_the_cone_is_closed():
    """On the shipped training file no 2-jet event has its second jet within 0.37 of the
    leading one; after the squeeze the plane about the leading jet is filled down to 0."""
    events = split_by_multiplicity(read_events(TRAIN)[0])[2]
    cone, axis = RecoilConePreprocessor(2).fit(events), RecoilJetAxisPreprocessor(2).fit(events)
    names = cone.feature_names
    k_cone, k_axis = cone.chain.steps[0].forward(cone.kinematics(events)), axis.kinematics(events)
    def separation(k: np.ndarray) -> np.ndarray:
        return np.hypot(k[:, names.index("j2_eta")] - k[:, names.index("j1_eta")],
                        k[:, names.index("j2_phi")])
    before, after = separation(k_axis), separation(k_cone)
    assert before.min() > 0.37
    assert (after < 0.1).sum() > 10
    # everything but the second jet's eta and phi is the recoil-jetaxis kinematics
    same = [i for i, n in enumerate(names) if n not in ("j2_eta", "j2_phi")]
    np.testing.assert_array_equal(k_cone[:, same], k_axis[:, same])


def test_at_most_caps_the_radius_by_an_earlier_squeeze():
    """``at_most``: the radius is the smaller of its own fit and the earlier squeeze's."""
    near, far = _points(2000, 3, r_in=0.4), _points(2000, 4, r_in=0.8)
    first = ConeSqueeze("first", 6, [0, 1, 2, 3, 4], profile="log")
    first.fit(near)  # separations from 0.4
    capped = ConeSqueeze("capped", 6, [0, 1, 2, 3, 4], profile="log", at_most=first)
    free = ConeSqueeze("free", 6, [0, 1, 2, 3, 4], profile="log")
    capped.fit(far), free.fit(far)  # separations from 0.8
    assert free.r_in > first.r_in  # its own fit alone would be larger ...
    assert capped.r_in == first.r_in  # ... the cap takes the earlier radius
    assert capped.r_out == pytest.approx(np.e * first.r_in)
    roomy = ConeSqueeze("roomy", 6, [0, 1, 2], at_most=_step(r_in=1.0))
    roomy.fit(near)  # a cap above its own fit changes nothing
    assert roomy.r_in == pytest.approx(ConeSqueeze.R_IN_FRACTION * np.hypot(
        near[:, 1] - near[:, 0], near[:, 2]).min())


def test_shared_radius_keeps_the_test_files_three_jet_events_in_the_domain():
    """Regression (shipped files): fitted on the training file's core 3-jet events, the cone
    about the leading jet of recoil-cones-both-log-dq (radius fitted on the third jets after
    their squeeze about the second jet) excludes a 3-jet event of the test file;
    recoil-cones-both-log-dq-shared caps it at the radius about the second jet and maps all."""
    from hepgen.physics.dressing import DRESSING_RADIUS, dress
    from hepgen.physics.recoil import (
        RecoilConesBothLogDequantPreprocessor,
        RecoilConesSharedPreprocessor,
    )

    def core3(path: Path):
        return split_by_multiplicity(dress(read_events(path)[0], DRESSING_RADIUS)[0])[3]
    train, test = core3(TRAIN), core3(TRAIN.with_name("zjets_test.root"))
    both = RecoilConesBothLogDequantPreprocessor(3).fit(train)
    shared = RecoilConesSharedPreprocessor(3).fit(train)
    radius = {p: {s.name: s.r_in for s in p.chain.steps if isinstance(s, ConeSqueeze)}
              for p in (both, shared)}
    assert radius[both]["cone_squeeze"] > radius[both]["cone_squeeze_j2"]
    assert radius[shared]["cone_squeeze"] == radius[shared]["cone_squeeze_j2"]
    with pytest.raises(ValueError, match="outside the domain"):
        both.forward(test)
    y, log_det = shared.forward_and_log_det(test)
    assert np.isfinite(y).all() and np.isfinite(log_det).all() and len(y) == len(test)
