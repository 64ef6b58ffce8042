"""Classifier two-sample test: weighted AUC, bootstrap, calibration of w = D/(1-D)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from hepgen.validation.classifier import bootstrap_auc, grouped_auc, two_sample_test
from hepgen.validation.thresholds import FAIL, Thresholds


def test_grouped_auc_matches_sklearn_with_weights_and_ties() -> None:
    rng = np.random.default_rng(3)
    scores = np.round(rng.uniform(size=500), 1)  # many ties
    labels = rng.uniform(size=500) < 0.4
    weights = rng.uniform(0.2, 2.0, 500)
    _, inverse = np.unique(scores, return_inverse=True)
    auc = grouped_auc(inverse, int(inverse.max()) + 1, labels, weights)
    assert auc == pytest.approx(roc_auc_score(labels, scores, sample_weight=weights))


def test_bootstrap_spread_matches_the_analytic_auc_error() -> None:
    rng = np.random.default_rng(4)
    n = 2000
    scores = np.concatenate([rng.normal(size=n), rng.normal(size=n)])
    labels = np.concatenate([np.zeros(n, bool), np.ones(n, bool)])
    boot = bootstrap_auc(scores, labels, np.ones(2 * n), 200, rng)
    # Hanley-McNeil for AUC = 0.5: sqrt((n1 + n2 + 1) / (12 n1 n2))
    expected = np.sqrt((2 * n + 1) / (12 * n * n))
    assert np.std(boot) == pytest.approx(expected, rel=0.2)


def _gauss(n: int, shift: float, seed: int, dim: int = 4) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, dim)) + shift


FEATURES = ["a", "b", "c", "d"]


def test_same_distribution_gives_auc_half_and_weights_near_one() -> None:
    res = two_sample_test(
        _gauss(8000, 0.0, 1), np.ones(8000), _gauss(8000, 0.0, 2), np.ones(8000), FEATURES
    )
    assert abs(res.auc - 0.5) < 3 * res.auc_err + 0.01
    assert 0.003 < res.auc_err < 0.02
    assert Thresholds().auc_status(res.auc, res.auc_err) != FAIL
    assert abs(np.median(res.w_gen) - 1.0) < 0.1 and abs(np.median(res.w_ref) - 1.0) < 0.1
    assert res.n_train == (4000, 4000) and res.n_test == (4000, 4000)


def test_shifted_distribution_is_flagged_and_w_points_to_the_reference() -> None:
    res = two_sample_test(
        _gauss(8000, 0.0, 1), np.ones(8000), _gauss(8000, 0.15, 2), np.ones(8000), FEATURES
    )
    assert res.auc > 0.55  # optimal: Phi(0.15 * 2 / sqrt(2)) = 0.584
    assert Thresholds().auc_status(res.auc, res.auc_err) == FAIL
    # reference events look more 'reference-like': larger w on average
    assert np.median(res.w_ref) > 1.0 > np.median(res.w_gen)


def test_event_weights_are_honoured() -> None:
    """A shifted sample reweighted to the reference is indistinguishable from it."""
    shift = 0.3
    x_gen = _gauss(10000, 0.0, 5, dim=1)
    x_ref = _gauss(10000, shift, 6, dim=1)
    w_gen = np.exp(shift * x_gen[:, 0] - shift**2 / 2)  # N(shift, 1)/N(0, 1)
    plain = two_sample_test(x_gen, np.ones(10000), x_ref, np.ones(10000), ["x"])
    weighted = two_sample_test(x_gen, w_gen, x_ref, np.ones(10000), ["x"])
    assert plain.auc > 0.56
    assert abs(weighted.auc - 0.5) < 3 * weighted.auc_err + 0.01


def test_caps_and_too_few_events() -> None:
    res = two_sample_test(
        _gauss(3000, 0, 1),
        np.ones(3000),
        _gauss(3000, 0, 2),
        np.ones(3000),
        FEATURES,
        max_train_per_class=500,
        max_test_per_class=400,
        n_bootstrap=10,
    )
    assert res.n_train == (500, 500) and res.n_test == (400, 400)
    with pytest.raises(ValueError, match="fewer than"):
        two_sample_test(_gauss(60, 0, 1), np.ones(60), _gauss(60, 0, 2), np.ones(60), FEATURES)


def test_identical_inputs_give_exactly_half() -> None:
    x = _gauss(2000, 0.0, 9)
    res = two_sample_test(x, np.ones(2000), x.copy(), np.ones(2000), FEATURES, n_bootstrap=10)
    assert res.auc == pytest.approx(0.5)


def test_repeated_test_averages_runs_over_other_seeds() -> None:
    from hepgen.validation.classifier import repeated_test

    args = (_gauss(3000, 0.0, 1), np.ones(3000), _gauss(3000, 0.1, 2), np.ones(3000), FEATURES)
    single = two_sample_test(*args, seed=7, n_bootstrap=10)
    once = repeated_test(1, *args, seed=7, n_bootstrap=10)
    assert once.auc == single.auc and once.auc_repeats == () and np.isnan(once.auc_repeat_sd)
    three = repeated_test(3, *args, seed=7, n_bootstrap=10)
    assert len(three.auc_repeats) == 3 and three.auc_repeats[0] == single.auc
    assert len(set(three.auc_repeats)) == 3  # other splits and trainings
    assert three.auc == pytest.approx(np.mean(three.auc_repeats))
    assert three.auc_repeat_sd == pytest.approx(np.std(three.auc_repeats, ddof=1))
    assert three.auc_err == single.auc_err  # the first run's bootstrap error
    with pytest.raises(ValueError, match="repeats must be >= 1"):
        repeated_test(0, *args)
