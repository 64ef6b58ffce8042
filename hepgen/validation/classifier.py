"""Classifier two-sample test: can a classifier tell generated from reference events?

A gradient-boosted tree classifier (``sklearn.ensemble.HistGradientBoostingClassifier``) is
trained on half of each sample (label 0 = generated, 1 = reference) with sample weights = event
weights scaled so both classes carry equal total weight (class balance). On the held-out half:

- the weighted ROC AUC (0.5 = indistinguishable), with a Poisson-bootstrap error (each test
  event's weight multiplied by a Poisson(1) count; ``n_bootstrap`` replicas);
- per event w = D/(1 − D), D = P(reference | x): with balanced classes w estimates
  p_ref(x)/p_gen(x), the weight that morphs generated into reference events. A narrow peak at 1
  is good; tails locate mismodelled phase-space regions (Das, Favaro, Heimel, Krause, Plehn,
  Shih, arXiv 2305.16774; Butter et al., arXiv 2110.13632).

Training uses at most ``max_train_per_class`` events per class and the test at most
``max_test_per_class`` (uniform random subsamples), so 1 M vs 1 M events stays fast.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

#: Default caps on events per class (uniform subsample) for training and for the test split.
MAX_TRAIN_PER_CLASS: int = 200_000
MAX_TEST_PER_CLASS: int = 200_000
#: Default number of bootstrap replicas for the AUC error.
N_BOOTSTRAP: int = 100
#: Fewest events per class in each split for the test to run.
MIN_EVENTS_PER_CLASS: int = 50
#: Default OpenMP threads of the classifier. One: on shared machines, OpenMP threads that spin
#: while waiting for a busy core made training 10-20x *slower* than a single thread.
N_THREADS: int | None = 1
#: D is clipped to [D_CLIP, 1 - D_CLIP] before w = D/(1 - D), so w stays finite.
D_CLIP: float = 1e-6


def grouped_auc(
    inverse: np.ndarray, n_groups: int, labels: np.ndarray, weights: np.ndarray
) -> float:
    """Weighted AUC = P(s_pos > s_neg) + ½ P(s_pos = s_neg) from pre-sorted score groups.

    Args:
        inverse: index (M,) of each event's score among the sorted unique scores
            (``np.unique(scores, return_inverse=True)[1]``).
        n_groups: number of unique scores.
        labels: (M,) bool, True = positive class.
        weights: (M,) event weights.
    """
    pos = np.bincount(inverse[labels], weights=weights[labels], minlength=n_groups)
    neg = np.bincount(inverse[~labels], weights=weights[~labels], minlength=n_groups)
    total_pos, total_neg = pos.sum(), neg.sum()
    if total_pos <= 0 or total_neg <= 0:
        return math.nan
    above = total_pos - np.cumsum(pos)  # positive weight with a strictly higher score
    return float(np.sum(neg * (above + 0.5 * pos)) / (total_pos * total_neg))


def bootstrap_auc(
    scores: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray,
    n_bootstrap: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """AUCs (n_bootstrap,) of Poisson-bootstrap replicas of a scored test set (M,)."""
    _, inverse = np.unique(scores, return_inverse=True)
    n_groups = int(inverse.max()) + 1 if inverse.size else 0
    out = np.empty(n_bootstrap)
    for b in range(n_bootstrap):
        counts = rng.poisson(1.0, scores.size)
        out[b] = grouped_auc(inverse, n_groups, labels, weights * counts)
    return out


@dataclass
class ClassifierResult:
    """Outcome of one classifier test (arrays over the test split).

    Attributes:
        features: observable names used as inputs.
        auc, auc_err: weighted test AUC and its bootstrap standard deviation.
        auc_train: AUC on the training split (overtraining indicator).
        n_train, n_test: events per class (generated, reference).
        w_gen, w_ref: D/(1 − D) of the test events (M_gen,), (M_ref,).
        weights_gen, weights_ref: their event weights.
        n_iter: boosting iterations used (after early stopping).
        n_bootstrap: bootstrap replicas behind ``auc_err``.
        auc_repeats: with repeats (:func:`repeated_test`), the AUC of each run over other
            seeds (split, subsampling, training); ``auc`` is then their mean. Empty: one run.
    """

    features: list[str]
    auc: float
    auc_err: float
    auc_train: float
    n_train: tuple[int, int]
    n_test: tuple[int, int]
    w_gen: np.ndarray
    w_ref: np.ndarray
    weights_gen: np.ndarray
    weights_ref: np.ndarray
    n_iter: int
    n_bootstrap: int
    auc_repeats: tuple[float, ...] = ()

    @property
    def auc_repeat_sd(self) -> float:
        """Sample standard deviation of the repeated AUCs (NaN with fewer than 2): the
        classifier's own run-to-run spread, which the bootstrap error does not contain."""
        return float(np.std(self.auc_repeats, ddof=1)) if len(self.auc_repeats) > 1 else math.nan


def _split(
    n: int, rng: np.random.Generator, test_fraction: float, max_train: int, max_test: int
) -> tuple[np.ndarray, np.ndarray]:
    perm = rng.permutation(n)
    n_test = int(round(n * test_fraction))
    return perm[n_test:][:max_train], perm[:n_test][:max_test]


def _balanced(weights: np.ndarray, target: float) -> np.ndarray:
    total = weights.sum()
    if total <= 0:
        raise ValueError("classifier: a class has non-positive total weight")
    return weights * (target / total)


def two_sample_test(
    x_gen: np.ndarray,
    w_gen: np.ndarray,
    x_ref: np.ndarray,
    w_ref: np.ndarray,
    features: list[str],
    *,
    seed: int = 0,
    test_fraction: float = 0.5,
    max_train_per_class: int = MAX_TRAIN_PER_CLASS,
    max_test_per_class: int = MAX_TEST_PER_CLASS,
    n_bootstrap: int = N_BOOTSTRAP,
    n_threads: int | None = N_THREADS,
) -> ClassifierResult:
    """Train on a split of both samples and evaluate on the held-out rest.

    Args:
        x_gen, x_ref: features (N_gen, F), (N_ref, F); NaN = undefined (handled natively).
        w_gen, w_ref: event weights (N_gen,), (N_ref,).
        features: names of the F columns.
        seed: fixes split, subsampling, training and bootstrap.
        n_threads: OpenMP threads for training and prediction (None: all cores).

    Raises:
        ValueError: too few events per class, or non-finite discriminator output.
    """
    rng = np.random.default_rng(seed)
    # Both classes are split with the same permutation seed: for samples of equal size event i
    # lands in the same split in both. Harmless for independent samples; for a file compared
    # with itself (or overlapping samples) it keeps a training event from reappearing in the
    # other class's test split, which would push the AUC below 0.5.
    split_seed = int(rng.integers(2**63 - 1))
    tr_g, te_g = _split(
        len(x_gen),
        np.random.default_rng(split_seed),
        test_fraction,
        max_train_per_class,
        max_test_per_class,
    )
    tr_r, te_r = _split(
        len(x_ref),
        np.random.default_rng(split_seed),
        test_fraction,
        max_train_per_class,
        max_test_per_class,
    )
    if min(tr_g.size, te_g.size, tr_r.size, te_r.size) < MIN_EVENTS_PER_CLASS:
        raise ValueError(
            f"classifier: fewer than {MIN_EVENTS_PER_CLASS} events per class in a split"
        )
    x_train = np.concatenate([x_gen[tr_g], x_ref[tr_r]])
    y_train = np.concatenate([np.zeros(tr_g.size, bool), np.ones(tr_r.size, bool)])
    half = 0.5 * (tr_g.size + tr_r.size)
    sw_train = np.concatenate([_balanced(w_gen[tr_g], half), _balanced(w_ref[tr_r], half)])
    model = HistGradientBoostingClassifier(
        max_iter=200,
        learning_rate=0.1,
        max_leaf_nodes=31,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=10,
        random_state=int(rng.integers(2**31 - 1)),
    )
    x_test = np.concatenate([x_gen[te_g], x_ref[te_r]])
    y_test = np.concatenate([np.zeros(te_g.size, bool), np.ones(te_r.size, bool)])
    sw_test = np.concatenate([w_gen[te_g], w_ref[te_r]])
    with threadpool_limits(n_threads, user_api="openmp"):
        model.fit(x_train, y_train, sample_weight=sw_train)
        d = model.predict_proba(x_test)[:, 1]
        d_train = model.predict_proba(x_train)[:, 1]

    bad = int(np.sum(~np.isfinite(d)))
    if bad:
        raise ValueError(f"classifier: {bad} non-finite discriminator outputs")
    auc = float(roc_auc_score(y_test, d, sample_weight=sw_test))
    auc_train = float(roc_auc_score(y_train, d_train, sample_weight=sw_train))
    boot = bootstrap_auc(d, y_test, sw_test, n_bootstrap, rng)
    d = np.clip(d, D_CLIP, 1.0 - D_CLIP)
    w = d / (1.0 - d)
    return ClassifierResult(
        features=list(features),
        auc=auc,
        auc_err=float(np.nanstd(boot, ddof=1)) if n_bootstrap > 1 else math.nan,
        auc_train=auc_train,
        n_train=(int(tr_g.size), int(tr_r.size)),
        n_test=(int(te_g.size), int(te_r.size)),
        w_gen=w[: te_g.size],
        w_ref=w[te_g.size :],
        weights_gen=w_gen[te_g],
        weights_ref=w_ref[te_r],
        n_iter=int(model.n_iter_),
        n_bootstrap=n_bootstrap,
    )


def repeat_seed(seed: int, repeat: int) -> int:
    """Seed of repeat ``repeat`` (0: ``seed`` itself, so one run is the unrepeated test)."""
    if repeat == 0:
        return seed
    return int(np.random.SeedSequence([seed % 2**63, repeat]).generate_state(1)[0])


def repeated_test(repeats: int, *args, seed: int = 0, **kwargs) -> ClassifierResult:
    """:func:`two_sample_test` run ``repeats`` times with other seeds (each its own split,
    subsampling and training): the result of the first run with ``auc`` replaced by the mean
    of all runs and ``auc_repeats`` holding each. The AUC of one run moves with its seed by
    more than its bootstrap error (a 2-jet AUC of 0.511 / 0.519 / 0.518 for seeds 0 / 1 / 2 on
    one file, bootstrap error 0.003; benchmarks/RESULTS.md, "Half-precision storage"); the
    spread over repeats measures that. ``auc_err`` stays the first run's bootstrap error."""
    if repeats < 1:
        raise ValueError(f"classifier repeats must be >= 1, got {repeats}")
    runs = [two_sample_test(*args, seed=repeat_seed(seed, r), **kwargs) for r in range(repeats)]
    if repeats == 1:
        return runs[0]
    aucs = tuple(r.auc for r in runs)
    return dataclasses.replace(runs[0], auc=float(np.mean(aucs)), auc_repeats=aucs)
