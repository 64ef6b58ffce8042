"""Tests of the data-driven radial map inside the squeezed disk
(hepgen.physics.radial_profile.RadialProfile) and of ``recoil-cones-shared-flat``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hepgen.physics.cone_squeeze import ConeSqueeze
from hepgen.physics.io import read_events
from hepgen.physics.preprocessing import split_by_multiplicity
from hepgen.physics.radial_profile import RadialProfile
from hepgen.physics.recoil import RecoilConesSharedFlatPreprocessor

ROOT = Path(__file__).resolve().parents[2] / "data_samples"
R = 1.0


def _disk(r_out: float = R) -> ConeSqueeze:
    disk = ConeSqueeze("cone", 6, [0, 1, 2, 3, 4])
    disk.r_out = r_out
    return disk


def _ring_points(n: int, seed: int) -> np.ndarray:
    """(n, 6): eta_ref, two further jets with a ring of radius ~0.5 in the disk and a smooth
    density outside, an untouched column."""
    rng = np.random.default_rng(seed)
    x = np.empty((n, 6))
    x[:, 0] = rng.uniform(-2, 2, n)
    for c in (1, 3):
        r = np.where(rng.random(n) < 0.2, rng.normal(0.5, 0.08, n), rng.uniform(0.2, 3.0, n))
        a = rng.uniform(-np.pi, np.pi, n)
        x[:, c], x[:, c + 1] = x[:, 0] + np.abs(r) * np.cos(a), np.abs(r) * np.sin(a)
    x[:, 5] = rng.normal(size=n)
    return x


def _fitted(seed: int = 0, n: int = 20_000) -> RadialProfile:
    step = RadialProfile("flat", 6, [0, 1, 2, 3, 4], disk=_disk())
    step.fit(_ring_points(n, seed))
    return step


def _radii(x: np.ndarray, c: int) -> np.ndarray:
    return np.hypot(x[:, c] - x[:, 0], x[:, c + 1])


def test_round_trip_keeps_directions_and_the_outside():
    step = _fitted()
    x = _ring_points(5000, 1)
    y = step.forward(x)
    np.testing.assert_allclose(step.inverse(y), x, atol=1e-10)
    np.testing.assert_array_equal(y[:, [0, 5]], x[:, [0, 5]])
    for c in (1, 3):
        outside = _radii(x, c) >= R
        np.testing.assert_array_equal(y[outside, c : c + 2], x[outside, c : c + 2])
        assert (_radii(y, c)[~outside] < R).all()
        np.testing.assert_allclose(np.arctan2(y[~outside, c + 1], y[~outside, c] - y[~outside, 0]),
                                   np.arctan2(x[~outside, c + 1], x[~outside, c] - x[~outside, 0]),
                                   atol=1e-10)


def test_log_det_matches_finite_differences(fd_log_det):
    step = _fitted()
    x = _ring_points(40, 2)
    np.testing.assert_allclose(step.forward_log_det(x), fd_log_det(step, x, h=1e-7), atol=1e-5)


def test_the_ring_becomes_the_smooth_target():
    """Fitted on ringed data, held-out ringed data come out with the target's radial profile:
    the fraction inside radius s follows G(s^2) / G(R^2) (no ring left)."""
    step = _fitted(n=50_000)
    y = step.forward(_ring_points(50_000, 3))

    a = step.profiles[0]["a"]
    u = np.square(_radii(y, 1))
    inside = u < R**2
    for s in (0.3, 0.5, 0.7, 0.9):
        target = (s**2 * (1 + a) - a * s**4 / (2 * R**2)) / (1 + a / 2)
        assert np.mean(u[inside] < s**2) == pytest.approx(target, abs=0.02)
    x = _ring_points(50_000, 3)  # the ring before: ~half of the disk's events at 0.4-0.6
    r = _radii(x, 1)[inside]
    assert np.mean((r > 0.4) & (r < 0.6)) > 0.45


def test_state_round_trip_and_unfitted_error():
    step = _fitted()
    other = RadialProfile("flat", 6, [0, 1, 2, 3, 4], disk=_disk())
    with pytest.raises(RuntimeError, match="not fitted"):
        other.forward(_ring_points(3, 0))
    other.load_state_dict(step.state_dict())
    x = _ring_points(100, 4)
    np.testing.assert_array_equal(other.forward(x), step.forward(x))
    with pytest.raises(ValueError, match="columns"):
        RadialProfile("flat", 6, [0, 1], disk=_disk())


@pytest.mark.parametrize("n_jets", [2, 3])
def test_shipped_files_round_trip_in_the_flat_representation(n_jets):
    """Fitted on the training file, every test-file event maps, comes back, and the chain's
    log-determinant is finite."""
    train, _ = read_events(ROOT / "zjets_train.root")
    test, _ = read_events(ROOT / "zjets_test.root")
    pre = RecoilConesSharedFlatPreprocessor(n_jets)
    pre.fit(split_by_multiplicity(train)[n_jets])
    x = pre.kinematics(split_by_multiplicity(test)[n_jets])
    features, log_det = pre.chain.forward_and_log_det(x)
    np.testing.assert_allclose(pre.chain.inverse(features), x, atol=1e-8)
    assert np.isfinite(log_det).all()


def test_a_disk_without_training_events_is_the_identity():
    step = RadialProfile("flat", 6, [0, 1, 2, 3, 4], disk=_disk(0.1))
    x = _ring_points(2000, 5)
    x[:, 2] += np.where(_radii(x, 1) < 0.1, 0.5, 0.0)  # move every jet out of the disk
    x[:, 4] += np.where(_radii(x, 3) < 0.1, 0.5, 0.0)
    step.fit(x)
    probe = x.copy()
    probe[:5, 1], probe[:5, 2] = probe[:5, 0] + 0.03, 0.04  # inside now
    np.testing.assert_allclose(step.forward(probe), probe, atol=1e-12)
    np.testing.assert_allclose(step.forward_log_det(probe), 0.0, atol=1e-12)
