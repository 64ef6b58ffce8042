"""Toy Z(->mu mu) + jets events from numpy random numbers, for tests, benchmarks and demos.

The toys are *not* physics-accurate: they only need to look like Z + jets events (a Breit-Wigner
Z peak, boosted two-body decay, 1-3 exponentially falling jets recoiling against the Z) so that
the validation code has realistic shapes, correlations and jet multiplicities to chew on. Every
random number comes from one ``numpy.random.Generator``, so a seed fixes the sample.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

from hepgen.physics.constants import JET_PT_MIN, MUON_MASS, Z_MASS
from hepgen.physics.events import build_events, event_draws, event_weights, has_jets
from hepgen.physics.two_body import decay, from_rapidity

#: Z width used for the toy Breit-Wigner [GeV].
TOY_Z_WIDTH: float = 2.4952
#: Dimuon mass range the toy Breit-Wigner is truncated to [GeV].
TOY_MLL_RANGE: tuple[float, float] = (60.0, 120.0)
#: Jet multiplicity fractions for 1, 2, 3 jets.
TOY_NJET_FRACTIONS: tuple[float, float, float] = (0.70, 0.22, 0.08)
#: Default slope of the exponential jet-pT spectrum above the jet threshold [GeV].
TOY_JET_PT_SLOPE: float = 25.0
#: Width of the toy Z rapidity distribution.
TOY_Z_RAPIDITY_SIGMA: float = 1.8
#: |eta| limit of toy jets.
TOY_JET_ABS_ETA_MAX: float = 4.7


def _truncated_breit_wigner(rng: np.random.Generator, n: int) -> np.ndarray:
    """Masses (n,) [GeV] from a Cauchy(Z_MASS, Γ/2) truncated to TOY_MLL_RANGE (inverse CDF)."""
    gamma = TOY_Z_WIDTH / 2.0
    lo, hi = (np.arctan((m - Z_MASS) / gamma) for m in TOY_MLL_RANGE)
    return Z_MASS + gamma * np.tan(rng.uniform(lo, hi, n))


def _jet_pts(rng: np.random.Generator, n_jets: np.ndarray, slope: float) -> np.ndarray:
    """Flat jet pT array (sum(n_jets),) [GeV]: JET_PT_MIN + Exp(slope), independent per jet."""
    return JET_PT_MIN + rng.exponential(slope, int(n_jets.sum()))


def toy_events(
    n: int,
    *,
    seed: int | np.random.Generator = 0,
    jets: bool = True,
    jet_pt_slope: float = TOY_JET_PT_SLOPE,
) -> ak.Array:
    """Toy Z + 1..3 jets events (or dimuon-only events with ``jets=False``).

    Args:
        n: number of events N.
        seed: seed or generator.
        jets: add a ``Jet`` collection (1-3 jets, multiplicities TOY_NJET_FRACTIONS).
        jet_pt_slope: slope [GeV] of the exponential jet-pT spectrum above JET_PT_MIN.

    Returns:
        the event record (see :mod:`hepgen.physics.events`), length N, no ``weight`` field.
    """
    rng = np.random.default_rng(seed)
    if jets:
        nj = rng.choice(np.arange(1, 4), size=n, p=TOY_NJET_FRACTIONS)
        jet_pt = _jet_pts(rng, nj, jet_pt_slope)
        first = np.concatenate([[0], np.cumsum(nj)[:-1]])
        # The Z recoils against the jets: |pT(Z)| ~ pT of the first generated jet.
        z_pt = jet_pt[first] * rng.uniform(0.7, 1.2, n)
    else:
        nj = np.zeros(n, dtype=np.int64)
        z_pt = rng.exponential(8.0, n)
    z_phi = rng.uniform(-np.pi, np.pi, n)
    z_y = rng.normal(0.0, TOY_Z_RAPIDITY_SIGMA / 2.0, n)
    z_m = _truncated_breit_wigner(rng, n)
    z = from_rapidity(z_pt * np.cos(z_phi), z_pt * np.sin(z_phi), z_y, z_m)
    # Isotropic two-body decay in the Z rest frame, then boost to the lab.
    cos_t = rng.uniform(-1.0, 1.0, n)
    phi_s = rng.uniform(-np.pi, np.pi, n)
    muons = decay(z, cos_t, phi_s, MUON_MASS)  # (positive, negative): charges below
    counts2 = np.full(n, 2)
    muon = {
        "pt": ak.unflatten(np.stack([m.pt for m in muons], axis=1).ravel(), counts2),
        "eta": ak.unflatten(np.stack([m.eta for m in muons], axis=1).ravel(), counts2),
        "phi": ak.unflatten(np.stack([m.phi for m in muons], axis=1).ravel(), counts2),
        "charge": ak.unflatten(np.tile(np.array([1, -1], dtype=np.int32), n), counts2),
    }
    jet = None
    if jets:
        is_first = np.zeros(jet_pt.size, dtype=bool)
        is_first[first] = True
        recoil_phi = np.repeat(z_phi + np.pi, nj) + rng.normal(0.0, 0.4, jet_pt.size)
        jet_phi = np.where(is_first, recoil_phi, rng.uniform(-np.pi, np.pi, jet_pt.size))
        jet_phi = (jet_phi + np.pi) % (2.0 * np.pi) - np.pi
        jet_eta = np.clip(
            rng.normal(0.0, 1.8, jet_pt.size), -TOY_JET_ABS_ETA_MAX, TOY_JET_ABS_ETA_MAX
        )
        jet = {
            "pt": ak.unflatten(jet_pt, nj),
            "eta": ak.unflatten(jet_eta, nj),
            "phi": ak.unflatten(jet_phi, nj),
            "mass": ak.unflatten(jet_pt * rng.uniform(0.05, 0.2, jet_pt.size), nj),
        }
    return build_events(muon, jet)


def toy_jet_pt_weights(events: ak.Array, from_slope: float, to_slope: float) -> np.ndarray:
    """Weights (N,) that reweight toys made with ``jet_pt_slope=from_slope`` to ``to_slope``.

    The exact density ratio of the toy's independent exponential jet spectra:
    w = Π_jets (from/to) · exp(-(pT - JET_PT_MIN)·(1/to - 1/from)). Muon-only toys get w = 1.
    """
    if not has_jets(events):
        return np.ones(len(events))
    x = events.Jet.pt - JET_PT_MIN
    log_w = np.log(from_slope / to_slope) - x * (1.0 / to_slope - 1.0 / from_slope)
    return np.exp(ak.to_numpy(ak.sum(log_w, axis=1)))


def scale_pt(events: ak.Array, factor: float) -> ak.Array:
    """A copy of ``events`` with every muon and jet pT multiplied by ``factor`` (weights and
    posterior-draw indices kept)."""
    muon = {f: events.Muon[f] for f in ("pt", "eta", "phi", "charge", "mass")}
    muon["pt"] = muon["pt"] * factor
    jet = None
    if has_jets(events):
        jet = {f: events.Jet[f] for f in ("pt", "eta", "phi", "mass")}
        jet["pt"] = jet["pt"] * factor
    weight = event_weights(events) if "weight" in ak.fields(events) else None
    return build_events(muon, jet, weight, event_draws(events))
