"""Pass/warn/fail criteria."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hepgen.validation.thresholds import FAIL, PASS, SKIPPED, WARN, Thresholds, worst


def test_chi2_status() -> None:
    t = Thresholds()
    assert t.chi2_status(0.5) == PASS
    assert t.chi2_status(0.03) == WARN
    assert t.chi2_status(0.001) == FAIL
    assert t.chi2_status(math.nan) == PASS and t.chi2_status(None) == PASS


def test_auc_status_uses_error_and_tolerance() -> None:
    t = Thresholds(auc_n_sigma=3.0, auc_tolerance_fail=0.02, auc_tolerance_warn=0.005)
    assert t.auc_status(0.51, 0.005) == PASS  # 0.01 - 0.015 < 0
    assert t.auc_status(0.53, 0.005) == WARN  # 0.03 - 0.015 = 0.015
    assert t.auc_status(0.56, 0.005) == FAIL  # 0.06 - 0.015 = 0.045
    assert t.auc_status(0.44, 0.005) == FAIL  # below 0.5 counts too


def test_descriptions_cover_every_threshold_and_validation() -> None:
    assert set(Thresholds.descriptions()) == set(Thresholds().as_dict())
    with pytest.raises(ValueError):
        Thresholds(chi2_p_fail=0.1, chi2_p_warn=0.05)
    with pytest.raises(ValueError):
        Thresholds(auc_tolerance_warn=0.1, auc_tolerance_fail=0.05)


def test_worst() -> None:
    assert worst([PASS, WARN, PASS]) == WARN
    assert worst([PASS, FAIL, WARN]) == FAIL
    assert worst([]) == SKIPPED


def test_histogram_verdict_allows_for_the_number_of_tests() -> None:
    from hepgen.validation.report import histogram_verdict

    t = Thresholds()
    uniform = list(np.linspace(0.02, 1.0, 99))
    # one chance failure out of 100: warn, not fail
    v = histogram_verdict([*uniform, 0.005], t)
    assert v["status"] == WARN and v["n_fail"] == 1
    assert v["binomial_p"] == pytest.approx(1 - 0.99**100)
    assert v["bonferroni_p"] == pytest.approx(0.5)
    # one very small p-value: fail (Bonferroni)
    assert histogram_verdict([*uniform, 1e-6], t)["status"] == FAIL
    # ten moderate failures out of 100: improbable count, fail (binomial)
    v = histogram_verdict([*uniform[:90], *[0.005] * 10], t)
    assert v["status"] == FAIL and v["binomial_p"] < 1e-6
    assert histogram_verdict(list(np.linspace(0.2, 1.0, 50)), t)["status"] == PASS
    with pytest.raises(ValueError):
        Thresholds(global_p_fail=0.0)
