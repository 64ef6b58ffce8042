"""χ², Wasserstein and separation power on hand-computed values and pseudo-experiments."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

from hepgen.validation.metrics import (
    chi2_two_sample,
    merge_sparse_bins,
    separation_power,
    wasserstein,
    weighted_std,
)


def test_chi2_unit_weights_hand_value() -> None:
    a = np.array([10.0, 20.0, 30.0])
    b = np.array([20.0, 20.0, 20.0])
    res = chi2_two_sample(a, a, b, b, min_count=0)
    # equal totals: chi2 = sum (a-b)^2/(a+b) = 100/30 + 0 + 100/50
    assert res.chi2 == pytest.approx(100 / 30 + 100 / 50)
    assert res.ndf == 2
    assert res.p_value == pytest.approx(scipy.stats.chi2.sf(100 / 30 + 2.0, 2))
    assert res.chi2_ndf == pytest.approx(res.chi2 / 2)


def test_chi2_unequal_totals_hand_value() -> None:
    a = np.array([10.0, 30.0])  # total 40
    b = np.array([10.0, 10.0])  # total 20
    res = chi2_two_sample(a, a, b, b, min_count=0)
    expected = (20 * 10 - 40 * 10) ** 2 / (20**2 * 10 + 40**2 * 10) + (20 * 30 - 40 * 10) ** 2 / (
        20**2 * 30 + 40**2 * 10
    )
    assert res.chi2 == pytest.approx(expected)
    assert res.ndf == 1


def test_chi2_is_invariant_under_global_weight_scale() -> None:
    rng = np.random.default_rng(1)
    w_a, w2_a = rng.uniform(5, 50, 20), rng.uniform(5, 50, 20)
    w_b = rng.uniform(5, 50, 20)
    plain = chi2_two_sample(w_a, w2_a, w_b, w_b, min_count=0)
    scaled = chi2_two_sample(3.0 * w_a, 9.0 * w2_a, w_b, w_b, min_count=0)
    assert scaled.chi2 == pytest.approx(plain.chi2)


def test_chi2_identical_histograms_is_zero_and_too_few_bins_is_nan() -> None:
    a = np.array([5.0, 7.0, 9.0])
    assert chi2_two_sample(a, a, a, a, min_count=0).chi2 == 0.0
    single = chi2_two_sample(np.array([5.0]), np.array([5.0]), np.array([4.0]), np.array([4.0]))
    assert math.isnan(single.chi2) and single.ndf == 0 and math.isnan(single.chi2_ndf)


def test_merge_sparse_bins_hand_case() -> None:
    a = np.array([2.0, 3.0, 10.0, 0.0, 1.0, 12.0, 1.0])
    b = np.array([4.0, 8.0, 10.0, 0.0, 9.0, 12.0, 2.0])
    wa, sa, wb, sb = merge_sparse_bins(a, a, b, b, min_count=5)
    # empty bin dropped; [2+3] ok (5, 12); [10] ok; [1, 12] ok; last [1] short -> joins previous
    np.testing.assert_allclose(wa, [5.0, 10.0, 14.0])
    np.testing.assert_allclose(wb, [12.0, 10.0, 23.0])
    np.testing.assert_allclose(sa, wa)
    assert wa.sum() == a.sum() and wb.sum() == b.sum()


def test_merge_uses_effective_counts_of_weighted_bins() -> None:
    # one bin with sum w = 10 from 4 events of weight 2.5: n_eff = 100/25 = 4 < 5 -> merge
    sumw = np.array([10.0, 10.0])
    sumw2 = np.array([25.0, 25.0])
    wa, *_ = merge_sparse_bins(sumw, sumw2, sumw, sumw, min_count=5)
    np.testing.assert_allclose(wa, [20.0])


def test_chi2_calibration_for_weighted_pseudo_experiments() -> None:
    """Weighted samples of one distribution: mean chi2/ndf ~ 1, p-values ~ uniform."""
    rng = np.random.default_rng(7)
    edges = np.linspace(-3, 3, 31)
    chi2_ndf, p_values = [], []
    for _ in range(200):
        xs, ws = [], []
        for n in (4000, 6000):
            x = rng.normal(size=n)
            w = rng.uniform(0.5, 1.5, n)
            xs.append(x)
            ws.append(w)
        h = [np.histogram(x, edges, weights=w)[0] for x, w in zip(xs, ws, strict=True)]
        h2 = [np.histogram(x, edges, weights=w**2)[0] for x, w in zip(xs, ws, strict=True)]
        res = chi2_two_sample(h[0], h2[0], h[1], h2[1], min_count=10)
        chi2_ndf.append(res.chi2_ndf)
        p_values.append(res.p_value)
    assert 0.9 < np.mean(chi2_ndf) < 1.12
    assert 0.0 <= np.mean(np.array(p_values) < 0.05) < 0.1


def test_separation_power_hand_values() -> None:
    assert separation_power(np.array([1.0, 2.0]), np.array([2.0, 4.0])) == pytest.approx(0.0)
    assert separation_power(np.array([1.0, 0.0]), np.array([0.0, 3.0])) == pytest.approx(1.0)
    # p = (0.5, 0.5), q = (1, 0): 0.5 * (0.25/1.5 + 0.25/0.5)
    assert separation_power(np.array([1.0, 1.0]), np.array([4.0, 0.0])) == pytest.approx(1 / 3)


def test_wasserstein_shift_and_weights() -> None:
    x = np.array([0.0, 1.0, 2.0])
    assert wasserstein(x, np.ones(3), x + 0.5, np.ones(3)) == pytest.approx(0.5)
    # weight 2 on a value == the value repeated
    w = np.array([2.0, 1.0, 1.0])
    rep = np.array([0.0, 0.0, 1.0, 2.0])
    assert wasserstein(x, w, x + 1, w) == pytest.approx(1.0)
    assert wasserstein(x, w, rep, np.ones(4)) == pytest.approx(0.0)
    assert math.isnan(wasserstein(x, -np.ones(3), x, np.ones(3)))
    assert math.isnan(wasserstein(x[:0], x[:0], x, np.ones(3)))


@pytest.mark.parametrize("ties", [False, True])
def test_wasserstein_matches_scipy(ties: bool) -> None:
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=3000), rng.normal(0.2, 1.3, size=2000)
    if ties:
        a, b = np.round(a, 1), np.round(b, 1)
    wa, wb = rng.uniform(0.1, 2.0, a.size), rng.uniform(0.1, 2.0, b.size)
    expected = scipy.stats.wasserstein_distance(a, b, wa, wb)
    assert wasserstein(a, wa, b, wb) == pytest.approx(expected, rel=1e-9)
    oa, ob = np.argsort(a), np.argsort(b)
    assert wasserstein(a[oa], wa[oa], b[ob], wb[ob], presorted=True) == pytest.approx(
        expected, rel=1e-9
    )


def test_weighted_std() -> None:
    assert weighted_std(np.array([0.0, 2.0]), np.array([1.0, 1.0])) == pytest.approx(1.0)
    assert weighted_std(np.array([0.0, 3.0]), np.array([2.0, 1.0])) == pytest.approx(np.sqrt(2.0))
