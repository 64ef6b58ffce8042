"""End-to-end sanity of ``validate`` on toy Z + jets events (design.md, "Validation").

- two independent samples of one distribution: AUC within 0.5 ± 0.03 per multiplicity and
  χ²/ndf near 1;
- a 5 % pT scale shift of every muon and jet is flagged;
- a sample reweighted to match another gives consistent χ²;
- dimuon-only inputs: jet observables and the per-multiplicity classifier are skipped.

Plots are off here (they are tested in test_report.py) to keep each test a few seconds.
"""

from __future__ import annotations

import numpy as np
import pytest

from hepgen.physics.events import with_weights
from hepgen.physics.observables import CATALOGUE
from hepgen.validation import validate
from hepgen.validation.toys import scale_pt, toy_events, toy_jet_pt_weights

#: A representative subset of the catalogue: muons, dimuon system, jets 1-3, an angle, n_jets.
NAMES = (
    "mu1_pt",
    "mu2_eta",
    "m_mumu",
    "pt_mumu",
    "y_mumu",
    "n_jets",
    "j1_pt",
    "j1_eta",
    "j2_pt",
    "dR_j1_j2",
    "j3_pt",
    "ht",
)
N_EVENTS = 40_000


@pytest.fixture(scope="module")
def observables() -> list:
    return [CATALOGUE[n] for n in NAMES]  # a renamed observable fails here, loudly


@pytest.fixture(scope="module")
def toys() -> tuple:
    return toy_events(N_EVENTS, seed=11), toy_events(N_EVENTS, seed=12)


def _chi2_ndf(metrics: dict) -> np.ndarray:
    return np.array(
        [
            e["chi2_ndf"]
            for o in metrics["observables"].values()
            for e in o["regions"].values()
            if e["chi2_ndf"] is not None
        ]
    )


def test_same_distribution_agrees(tmp_path, toys, observables) -> None:
    res = validate(*toys, tmp_path / "r", observables=observables, plots=False, seed=1)
    m = res.metrics
    assert set(m["classifier"]) == {"1j", "2j", "3j"}
    for key, entry in m["classifier"].items():
        assert abs(entry["auc"] - 0.5) < 0.03, key
        assert entry["auc_err"] > 0
        assert entry["status"] != "fail"
    chi2 = _chi2_ndf(m)
    assert 0.7 < chi2.mean() < 1.4
    assert m["summary"]["n_fail"] <= 2  # ~1 % of the histograms fail by chance
    assert res.passed and m["summary"]["histograms"]["status"] != "fail"
    assert (tmp_path / "r" / "metrics.json").is_file() and (tmp_path / "r" / "index.html").is_file()
    # regions: every observable inclusive, and per multiplicity where it exists
    assert set(m["observables"]["j2_pt"]["regions"]) == {"inclusive", "2j", "3j"}
    assert set(m["observables"]["m_mumu"]["windows"]["70-110"]) == {"inclusive", "1j", "2j", "3j"}
    assert "n_jets/1j" in m["skipped"]["histograms"]  # constant inside one multiplicity


def test_five_percent_pt_shift_is_flagged(tmp_path, toys, observables) -> None:
    shifted = scale_pt(toys[0], 1.05)
    res = validate(shifted, toys[1], tmp_path / "r", observables=observables, plots=False)
    m = res.metrics
    assert res.status == "fail" and not res.passed
    for key in (
        "m_mumu/inclusive",
        "mu1_pt/inclusive",
        "j1_pt/inclusive",
        "m_mumu/inclusive/70-110",
    ):
        assert key in res.flagged, key
    assert m["observables"]["m_mumu"]["regions"]["inclusive"]["wasserstein"] == pytest.approx(
        4.5, rel=0.2
    )
    for key in ("1j", "2j"):
        assert m["classifier"][key]["flag"], key
    # angles do not move
    assert m["observables"]["j1_eta"]["regions"]["inclusive"]["status"] != "fail"


def test_reweighted_sample_is_consistent(tmp_path, observables) -> None:
    target = toy_events(N_EVENTS, seed=21)  # jet pT slope 25 GeV
    other = toy_events(N_EVENTS, seed=22, jet_pt_slope=32.0)
    weighted = with_weights(other, toy_jet_pt_weights(other, from_slope=32.0, to_slope=25.0))
    plain = validate(
        other, target, tmp_path / "plain", observables=observables, plots=False, classifier=False
    )
    good = validate(
        weighted, target, tmp_path / "good", observables=observables, plots=False, classifier=False
    )
    bad_j1 = plain.metrics["observables"]["j1_pt"]["regions"]["inclusive"]
    good_j1 = good.metrics["observables"]["j1_pt"]["regions"]["inclusive"]
    assert bad_j1["flag"] and bad_j1["chi2_ndf"] > 5
    assert not good_j1["flag"] and good_j1["chi2_ndf"] < 1.6
    assert 0.7 < _chi2_ndf(good.metrics).mean() < 1.4
    assert good.metrics["inputs"]["generated"]["weighted"] is True
    assert good_j1["sumw_generated"] != good_j1["n_generated"]


def test_dimuon_inputs_skip_jet_observables_and_run_the_classifier_inclusively(
    tmp_path, observables
) -> None:
    a = toy_events(20_000, seed=31, jets=False)
    b = toy_events(20_000, seed=32, jets=False)
    res = validate(a, b, tmp_path / "r", observables=observables, plots=False)
    m = res.metrics
    for name in ("j1_pt", "j2_pt", "dR_j1_j2", "ht"):
        assert "needs jets" in m["skipped"]["observables"][name]
    assert "n_jets" in m["skipped"]["observables"]
    assert list(m["regions"]) == ["inclusive"]
    assert list(m["classifier"]) == ["inclusive"]
    assert abs(m["classifier"]["inclusive"]["auc"] - 0.5) < 0.03
    assert set(m["classifier"]["inclusive"]["features"]) <= {
        "mu1_pt",
        "mu2_eta",
        "m_mumu",
        "pt_mumu",
        "y_mumu",
    }
    assert "per-multiplicity" in m["skipped"]["classifier"]


def test_jets_in_only_one_input(tmp_path, observables) -> None:
    gen = toy_events(5_000, seed=41)
    ref = toy_events(5_000, seed=42, jets=False)
    res = validate(
        gen,
        ref,
        tmp_path / "r",
        labels=("gen", "ref"),
        observables=observables,
        plots=False,
        classifier=False,
    )
    assert res.metrics["skipped"]["observables"]["j1_pt"] == "needs jets: no Jet collection in ref"
    assert res.metrics["skipped"]["classifier"] == {"all": "disabled (--no-classifier)"}
