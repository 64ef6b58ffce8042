"""Two-body kinematics of the dimuon system: pair four-vector, rest-frame decay angles, inverse.

The recoil representation (:mod:`hepgen.physics.recoil`) describes the muon pair by the pair's
rapidity and mass and by the direction of the negative muon in the pair rest frame, reached by
a pure boost from the lab (axes parallel to the lab axes, z along the beam). The boosts are
scikit-hep ``vector``'s (``boostCM_of_p4`` / ``boost_p4``); this module only adds the
rest-frame momentum of two equal-mass daughters and the (pT, phi, y, m) -> (px, py, pz, E) map.
Units: GeV, rad.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import vector

FloatArray = npt.NDArray[np.float64]


def four_vector(px: FloatArray, py: FloatArray, pz: FloatArray, energy: FloatArray
                ) -> vector.MomentumNumpy4D:
    """A numpy-backed ``vector`` array of shape (N,) from Cartesian components [GeV]."""
    return vector.array({"px": px, "py": py, "pz": pz, "E": energy})


def from_rapidity(px: FloatArray, py: FloatArray, rapidity: FloatArray, mass: FloatArray
                  ) -> vector.MomentumNumpy4D:
    """Four-vector from transverse components, rapidity y and mass m (all (N,)):
    m_T = sqrt(m^2 + pT^2), E = m_T cosh y, pz = m_T sinh y."""
    mt = np.sqrt(mass**2 + px**2 + py**2)
    return four_vector(px, py, mt * np.sinh(rapidity), mt * np.cosh(rapidity))


def _unit_vector(cos_theta: FloatArray, phi: FloatArray) -> FloatArray:
    """Unit vectors (N, 3) at polar cosine ``cos_theta`` (clipped to [-1, 1]) and azimuth
    ``phi`` [rad]."""
    cos_theta = np.clip(cos_theta, -1.0, 1.0)
    sin_theta = np.sqrt(1.0 - cos_theta**2)
    return np.stack([sin_theta * np.cos(phi), sin_theta * np.sin(phi), cos_theta], axis=-1)


def _direction(p: vector.MomentumNumpy4D) -> FloatArray:
    """Unit 3-vectors (N, 3) along the momenta of ``p``."""
    v = np.stack([np.asarray(p.px), np.asarray(p.py), np.asarray(p.pz)], axis=-1)
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _angles(unit: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(cos theta, phi) of unit vectors (N, 3)."""
    return np.clip(unit[:, 2], -1.0, 1.0), np.arctan2(unit[:, 1], unit[:, 0])


def rest_frame_direction(daughter: vector.MomentumNumpy4D, pair: vector.MomentumNumpy4D
                         ) -> tuple[FloatArray, FloatArray]:
    """(cos theta*, phi*) of ``daughter`` in the rest frame of ``pair`` (pure boost from the lab;
    theta* from the beam axis, phi* in (-pi, pi] about it)."""
    rest = daughter.boostCM_of_p4(pair)
    return np.asarray(rest.costheta, dtype=np.float64), np.asarray(rest.phi, dtype=np.float64)


def decay(pair: vector.MomentumNumpy4D, cos_theta: FloatArray, phi: FloatArray,
          daughter_mass: float) -> tuple[vector.MomentumNumpy4D, vector.MomentumNumpy4D]:
    """The two daughters (lab frame) of ``pair`` (N,) decaying with the first daughter along
    (cos theta*, phi*) in the pair rest frame, both of mass ``daughter_mass`` [GeV].

    |p*| = sqrt(m^2 / 4 - m_d^2), clipped at 0 for a pair lighter than 2 m_d (then both
    daughters move with the pair). Inverse of :func:`rest_frame_direction` for the first
    daughter, to float64 rounding."""
    mass = np.asarray(pair.mass, dtype=np.float64)
    p_star = np.sqrt(np.clip(0.25 * mass**2 - daughter_mass**2, 0.0, None))
    px, py, pz = (p_star[:, None] * _unit_vector(cos_theta, phi)).T
    energy = np.sqrt(p_star**2 + daughter_mass**2)
    first = four_vector(px, py, pz, energy).boost_p4(pair)
    second = four_vector(-px, -py, -pz, energy).boost_p4(pair)
    return first, second


def axis_frame(reference: vector.MomentumNumpy4D, pair: vector.MomentumNumpy4D) -> FloatArray:
    """Orthonormal axes (N, 3, 3) [x', y', z'] in the pair rest frame (pure boost from the lab):
    z' along ``reference`` boosted into that frame, x' along the beam axis made orthogonal to
    z', y' = z' x x'. Massless momenta collinear in the lab stay collinear in every frame, so a
    daughter along ``reference`` in the lab has cos theta' = 1 here."""
    z = _direction(reference.boostCM_of_p4(pair))
    beam = np.zeros_like(z)
    beam[:, 2] = 1.0
    along_beam = np.abs(z[:, 2]) > 1.0 - 1e-12  # measure zero; any orthogonal axis will do
    beam[along_beam] = [1.0, 0.0, 0.0]
    x = beam - np.sum(beam * z, axis=-1, keepdims=True) * z
    x /= np.linalg.norm(x, axis=-1, keepdims=True)
    return np.stack([x, np.cross(z, x), z], axis=1)


def rest_frame_direction_about(daughter: vector.MomentumNumpy4D, pair: vector.MomentumNumpy4D,
                               reference: vector.MomentumNumpy4D) -> tuple[FloatArray, FloatArray]:
    """(cos theta', phi') of ``daughter`` in the rest frame of ``pair`` about the axes of
    :func:`axis_frame` (z' along ``reference``)."""
    d = _direction(daughter.boostCM_of_p4(pair))
    return _angles(np.einsum("nij,nj->ni", axis_frame(reference, pair), d))


def lab_axes_direction(cos_theta: FloatArray, phi: FloatArray, pair: vector.MomentumNumpy4D,
                       reference: vector.MomentumNumpy4D) -> tuple[FloatArray, FloatArray]:
    """Inverse of :func:`rest_frame_direction_about` up to the boost: the same rest-frame
    direction as (cos theta*, phi*) about the lab-parallel axes, for :func:`decay`."""
    local = _unit_vector(cos_theta, phi)  # transpose of the frame: local -> lab-parallel axes
    return _angles(np.einsum("nji,nj->ni", axis_frame(reference, pair), local))
