"""Tests of the dimuon two-body kinematics (hepgen.physics.two_body)."""

from __future__ import annotations

import numpy as np
import vector

from hepgen.physics.constants import MUON_MASS
from hepgen.physics.two_body import decay, from_rapidity, rest_frame_direction


def _pairs(rng: np.random.Generator, n: int):
    pt, phi = rng.exponential(40.0, n), rng.uniform(-np.pi, np.pi, n)
    return from_rapidity(pt * np.cos(phi), pt * np.sin(phi), rng.normal(0, 2, n),
                         rng.uniform(5.0, 150.0, n))


def test_from_rapidity_has_the_requested_rapidity_mass_and_pt():
    rng = np.random.default_rng(0)
    px, py, y, m = rng.normal(0, 30, 50), rng.normal(0, 30, 50), rng.normal(0, 2, 50), \
        rng.uniform(1, 200, 50)
    p = from_rapidity(px, py, y, m)
    np.testing.assert_allclose(p.rapidity, y, atol=1e-12)
    np.testing.assert_allclose(p.mass, m, rtol=1e-10)
    np.testing.assert_allclose(p.px, px, rtol=0, atol=0)


def test_decay_conserves_momentum_gives_daughter_masses_and_inverts():
    rng = np.random.default_rng(1)
    pair = _pairs(rng, 200)
    cos_theta, phi = rng.uniform(-1, 1, 200), rng.uniform(-np.pi, np.pi, 200)
    first, second = decay(pair, cos_theta, phi, MUON_MASS)
    total = first + second
    for c in ("px", "py", "pz", "E"):
        np.testing.assert_allclose(getattr(total, c), getattr(pair, c), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(first.mass, MUON_MASS, rtol=1e-5)
    np.testing.assert_allclose(second.mass, MUON_MASS, rtol=1e-5)
    back_cos, back_phi = rest_frame_direction(first, pair)
    np.testing.assert_allclose(back_cos, cos_theta, atol=1e-10)
    np.testing.assert_allclose(np.angle(np.exp(1j * (back_phi - phi))), 0.0, atol=1e-10)
    # the second daughter flies the opposite way in the rest frame
    other_cos, _ = rest_frame_direction(second, pair)
    np.testing.assert_allclose(other_cos, -cos_theta, atol=1e-10)


def test_pair_below_threshold_gives_daughters_at_rest_in_the_pair_frame():
    pair = from_rapidity(np.array([10.0]), np.array([0.0]), np.array([0.3]),
                         np.array([0.5 * MUON_MASS]))
    first, second = decay(pair, np.array([0.2]), np.array([1.0]), MUON_MASS)
    assert np.isfinite([first.px, first.pz, second.E]).all()
    np.testing.assert_allclose(first.px, second.px)


def test_directions_about_a_reference_axis_invert_and_handle_the_beam_axis():
    from hepgen.physics.two_body import (
        axis_frame,
        decay,
        from_rapidity,
        lab_axes_direction,
        rest_frame_direction,
        rest_frame_direction_about,
    )

    rng = np.random.default_rng(5)
    n = 500
    pair = from_rapidity(rng.normal(0, 30, n), rng.normal(0, 30, n), rng.normal(0, 1.5, n),
                         rng.uniform(20, 120, n))
    reference = from_rapidity(rng.normal(0, 40, n), rng.normal(0, 40, n), rng.normal(0, 2, n),
                              rng.uniform(0, 10, n))
    cos, phi = rng.uniform(-1, 1, n), rng.uniform(-np.pi, np.pi, n)
    lab_cos, lab_phi = lab_axes_direction(cos, phi, pair, reference)
    first, _ = decay(pair, lab_cos, lab_phi, 0.105)
    back_cos, back_phi = rest_frame_direction_about(first, pair, reference)
    np.testing.assert_allclose(back_cos, cos, atol=1e-9)
    np.testing.assert_allclose(np.cos(back_phi - phi), 1.0, atol=1e-9)
    np.testing.assert_allclose(rest_frame_direction(first, pair)[0], lab_cos, atol=1e-9)
    frames = axis_frame(reference, pair)
    np.testing.assert_allclose(frames @ frames.transpose(0, 2, 1), np.broadcast_to(np.eye(3),
                               (n, 3, 3)), atol=1e-12)
    beam = from_rapidity(np.zeros(1), np.zeros(1), np.zeros(1), np.ones(1))  # pair at rest
    along_z = vector.array({"px": [0.0], "py": [0.0], "pz": [5.0], "E": [5.0]})
    assert np.isfinite(axis_frame(along_z, beam)).all()
