"""Shared pytest fixtures: seeded random numbers, toy event records, real ROOT test files.

- ``rng``: a seeded ``numpy.random.Generator`` (same numbers in every run).
- ``make_events(n, seed=0, *, with_jets=True, with_weights=False)``: a random *valid* hepgen
  event record (see :mod:`hepgen.physics.events`): two opposite-charge muons and 1–3 jets with
  pT > JET_PT_MIN, all pT-ordered. The kinematics are uniform/exponential toys, not physics (no Z
  peak); use ``hepgen.validation.toys`` where a physics-like sample is needed.
- ``shared_data_path(name)``: the path of a scikit-hep-testdata file (e.g.
  ``"uproot-Zmumu.root"``) taken from ``<repo>/../shared/data`` through
  ``skhep_testdata.data_path(name, cache_dir=...)``, or a skip with the reason. Set
  ``HEPGEN_TESTDATA_DOWNLOAD=1`` to let scikit-hep-testdata download files that are not there.
- ``fd_log_det(step, x, h)``: log |det| of a feature step's Jacobian (hepgen.physics
  feature steps: ``forward`` of an (N, D) array) at each row of ``x``, by central differences.
- hypothesis: the ``ci`` profile (default) is derandomised, so a property test fails or passes
  the same way in every run and a failure found by CI reproduces; set
  ``HEPGEN_HYPOTHESIS_PROFILE=explore`` to search with fresh random examples locally.
- autouse: torch, where loaded, runs on one CPU thread during each test. Tiny networks on a shared
  2-core machine run orders of magnitude slower with several threads (OpenMP threads wait for
  each other), and bit-identity checks need one fixed thread count. Restored after each test.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import awkward as ak
import numpy as np
import pytest

from hepgen.physics.constants import JET_ABS_ETA_MAX, JET_PT_MIN, MAX_JETS, MIN_JETS
from hepgen.physics.events import build_events

try:
    from hypothesis import settings
except ImportError:  # without the test extra there is nothing to configure
    settings = None
if settings is not None:
    settings.register_profile("ci", derandomize=True, print_blob=True)
    settings.register_profile("explore", print_blob=True)
    settings.load_profile(os.environ.get("HEPGEN_HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _one_torch_thread():
    torch = sys.modules.get("torch")  # physics-only tests never import torch
    if torch is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


#: Seed of the ``rng`` fixture.
TEST_SEED: int = 20240611
#: Real ROOT test files beside the repository (CI: a fresh clone with shared/ next to it).
SHARED_DATA_DIR: Path = Path(__file__).resolve().parents[1].parent / "shared" / "data"
#: Environment variable allowing scikit-hep-testdata to download missing files.
DOWNLOAD_ENV: str = "HEPGEN_TESTDATA_DOWNLOAD"

#: Toy kinematics: muon pT = TOY_MUON_PT_MIN + Exp(TOY_MUON_PT_SCALE) [GeV],
#: |eta| < TOY_MUON_ABS_ETA_MAX; jet pT = JET_PT_MIN + Exp(TOY_JET_PT_SCALE) [GeV];
#: jet mass = pT * U(TOY_JET_MASS_FRACTION).
TOY_MUON_PT_MIN: float = 5.0
TOY_MUON_PT_SCALE: float = 30.0
TOY_MUON_ABS_ETA_MAX: float = 2.4
TOY_JET_PT_SCALE: float = 40.0
TOY_JET_MASS_FRACTION: tuple[float, float] = (0.05, 0.2)
#: Toy weights are drawn from U(TOY_WEIGHT_RANGE).
TOY_WEIGHT_RANGE: tuple[float, float] = (0.5, 1.5)
N_MUONS: int = 2


def _objects(
    rng: np.random.Generator, counts: np.ndarray, pt_min: float, pt_scale: float, abs_eta_max: float
) -> dict[str, ak.Array]:
    """Random pt [GeV], eta, phi [rad] for ``counts`` (N,) objects per event, jagged (N, var)."""
    total = int(counts.sum())
    flat = {
        "pt": pt_min + rng.exponential(pt_scale, total),
        "eta": rng.uniform(-abs_eta_max, abs_eta_max, total),
        "phi": rng.uniform(-np.pi, np.pi, total),
    }
    return {name: ak.unflatten(values, counts) for name, values in flat.items()}


def toy_events(
    n: int, seed: int = 0, *, with_jets: bool = True, with_weights: bool = False
) -> ak.Array:
    """A random valid event record of ``n`` events (see the module docstring)."""
    rng = np.random.default_rng(seed)
    n_mu = np.full(n, N_MUONS)
    muon = _objects(rng, n_mu, TOY_MUON_PT_MIN, TOY_MUON_PT_SCALE, TOY_MUON_ABS_ETA_MAX)
    sign = rng.choice(np.array([-1, 1]), n)
    muon["charge"] = ak.unflatten(np.stack([sign, -sign], axis=1).ravel(), n_mu)
    jet = None
    if with_jets:
        n_jet = rng.integers(MIN_JETS, MAX_JETS + 1, n)
        jet = _objects(rng, n_jet, JET_PT_MIN, TOY_JET_PT_SCALE, JET_ABS_ETA_MAX)
        fraction = rng.uniform(*TOY_JET_MASS_FRACTION, int(n_jet.sum()))
        jet["mass"] = jet["pt"] * ak.unflatten(fraction, n_jet)
    weight = rng.uniform(*TOY_WEIGHT_RANGE, n) if with_weights else None
    return build_events(muon, jet, weight)


@pytest.fixture
def rng() -> np.random.Generator:
    """A numpy Generator seeded with :data:`TEST_SEED`."""
    return np.random.default_rng(TEST_SEED)


@pytest.fixture
def make_events() -> Callable[..., ak.Array]:
    """``make_events(n, seed=0, *, with_jets=True, with_weights=False)`` -> toy event record."""
    return toy_events


@pytest.fixture
def shared_data_path() -> Callable[[str], Path]:
    """``shared_data_path(name)`` -> path of a scikit-hep-testdata file, or skip the test."""

    def locate(name: str) -> Path:
        skhep_testdata = pytest.importorskip(
            "skhep_testdata", reason="scikit-hep-testdata is not installed (pip install '.[test]')"
        )
        allow_download = os.environ.get(DOWNLOAD_ENV) == "1"
        if not (SHARED_DATA_DIR / name).is_file() and not allow_download:
            pytest.skip(
                f"test file {name} not found in {SHARED_DATA_DIR} (copy it there, or set "
                f"{DOWNLOAD_ENV}=1 to let scikit-hep-testdata download it)"
            )
        cache_dir = str(SHARED_DATA_DIR) if SHARED_DATA_DIR.is_dir() else None
        try:
            return Path(skhep_testdata.data_path(name, cache_dir=cache_dir))
        except Exception as err:  # network errors, unknown names
            pytest.skip(f"test file {name} unavailable: {err}")

    return locate


def _fd_log_det(step, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """log |det d step.forward / d x| (N,) by central differences in every column."""
    out = np.empty(len(x))
    for i in range(len(x)):
        dim = x.shape[1]
        jac = np.empty((dim, dim))
        for j in range(dim):
            up, down = x[i : i + 1].copy(), x[i : i + 1].copy()
            up[0, j] += h
            down[0, j] -= h
            jac[:, j] = (step.forward(up) - step.forward(down))[0] / (2 * h)
        out[i] = np.linalg.slogdet(jac)[1]
    return out


@pytest.fixture
def fd_log_det() -> Callable[..., np.ndarray]:
    return _fd_log_det
