"""Two-sample distances between weighted 1-D distributions: χ²/ndf, Wasserstein-1, separation.

- χ²: the two-sample test for weighted histograms (Gagunashvili, arXiv physics/0605123; ROOT's
  ``Chi2Test("WW")``): with W_k = Σ_i w_ki the totals, w_ki the bin sums and s²_ki the sums of
  squared weights of sample k,
  χ² = Σ_i (W_2 w_1i − W_1 w_2i)² / (W_2² s²_1i + W_1² s²_2i), ndf = (number of bins) − 1
  (shapes are compared; the normalisation is free). Sparse adjacent bins are merged first.
- Wasserstein-1 on the unbinned weighted values, in the observable's unit (the value of
  ``scipy.stats.wasserstein_distance`` with weights, computed in linear time from sorted inputs).
- separation power ½ Σ_i (p_i − q_i)² / (p_i + q_i) of unit-normalised histograms, in [0, 1].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.stats

from hepgen.validation.histograms import HistogramComparison


def merge_sparse_bins(
    sumw_a: np.ndarray,
    sumw2_a: np.ndarray,
    sumw_b: np.ndarray,
    sumw2_b: np.ndarray,
    min_count: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Merge adjacent bins (left to right) until each merged bin holds at least ``min_count``
    effective entries n_eff = (Σw)²/Σw² in both samples; a short remainder joins the last group.

    Args:
        sumw_a, sumw2_a, sumw_b, sumw2_b: bin sums (B,) of the two samples.

    Returns:
        the four merged arrays (B',), B' <= B. Bins empty in both samples are dropped.
    """
    keep = (sumw2_a > 0) | (sumw2_b > 0)
    arrays = [np.asarray(a, dtype=np.float64)[keep] for a in (sumw_a, sumw2_a, sumw_b, sumw2_b)]
    if min_count <= 0 or arrays[0].size == 0:
        return tuple(arrays)  # type: ignore[return-value]
    groups = np.zeros(arrays[0].size, dtype=np.int64)
    acc = np.zeros(4)
    group = 0
    for i in range(arrays[0].size):
        acc += [a[i] for a in arrays]
        groups[i] = group
        neff_a = acc[0] ** 2 / acc[1] if acc[1] > 0 else 0.0
        neff_b = acc[2] ** 2 / acc[3] if acc[3] > 0 else 0.0
        if neff_a >= min_count and neff_b >= min_count:
            group += 1
            acc[:] = 0.0
    if acc.any() and group > 0:  # remainder below min_count: merge into the previous group
        groups[groups == group] = group - 1
    n_groups = int(groups.max()) + 1
    return tuple(np.bincount(groups, weights=a, minlength=n_groups) for a in arrays)  # type: ignore[return-value]


@dataclass(frozen=True)
class Chi2Result:
    """χ², degrees of freedom and p-value (NaN when fewer than two bins remain)."""

    chi2: float
    ndf: int
    p_value: float

    @property
    def chi2_ndf(self) -> float:
        return self.chi2 / self.ndf if self.ndf > 0 else math.nan


def chi2_two_sample(
    sumw_a: np.ndarray,
    sumw2_a: np.ndarray,
    sumw_b: np.ndarray,
    sumw2_b: np.ndarray,
    *,
    min_count: float = 10.0,
) -> Chi2Result:
    """Weight-aware two-sample χ² test of histogram shapes (see module docstring).

    Args:
        sumw_*, sumw2_*: per-bin Σw and Σw² (B,) of samples a and b (include flow bins to test
            the tails too).
        min_count: minimum effective entries per sample per merged bin.
    """
    wa, sa, wb, sb = merge_sparse_bins(sumw_a, sumw2_a, sumw_b, sumw2_b, min_count)
    ndf = wa.size - 1
    total_a, total_b = wa.sum(), wb.sum()
    if ndf < 1 or total_a <= 0 or total_b <= 0:
        return Chi2Result(math.nan, max(ndf, 0), math.nan)
    denom = total_b**2 * sa + total_a**2 * sb
    chi2 = float(np.sum((total_b * wa - total_a * wb) ** 2 / denom))
    return Chi2Result(chi2, int(ndf), float(scipy.stats.chi2.sf(chi2, ndf)))


def separation_power(sumw_a: np.ndarray, sumw_b: np.ndarray) -> float:
    """½ Σ (p − q)²/(p + q) of the unit-normalised histograms (B,); 0 identical, 1 disjoint."""
    p = sumw_a / sumw_a.sum()
    q = sumw_b / sumw_b.sum()
    s = p + q
    ok = s > 0
    return float(0.5 * np.sum((p[ok] - q[ok]) ** 2 / s[ok]))


def wasserstein(
    values_a: np.ndarray,
    weights_a: np.ndarray,
    values_b: np.ndarray,
    weights_b: np.ndarray,
    *,
    presorted: bool = False,
) -> float:
    """Unbinned weighted W1 = ∫ |F_a(x) − F_b(x)| dx [unit of the values].

    Same value as ``scipy.stats.wasserstein_distance(a, b, weights_a, weights_b)``, computed
    from sorted inputs in linear time: the two sorted runs are merged (a stable sort of their
    concatenation, linear for two runs), and the running sum of the signed normalised weights
    (+w_a/W_a, −w_b/W_b) is F_a − F_b at each point. With negative weights the F's are not
    monotonic; the same integral is returned (scipy refuses those). NaN when a sample is empty
    or has a non-positive total weight.

    Args:
        values_a, weights_a, values_b, weights_b: (M_a,), (M_a,), (M_b,), (M_b,).
        presorted: both value arrays are already sorted ascending.
    """
    if values_a.size == 0 or values_b.size == 0:
        return math.nan
    total_a, total_b = float(weights_a.sum()), float(weights_b.sum())
    if total_a <= 0 or total_b <= 0:
        return math.nan
    if not presorted:
        oa, ob = np.argsort(values_a), np.argsort(values_b)
        values_a, weights_a, values_b, weights_b = (
            values_a[oa],
            weights_a[oa],
            values_b[ob],
            weights_b[ob],
        )
    merged = np.concatenate([values_a, values_b])
    order = np.argsort(merged, kind="stable")
    signed = np.concatenate([weights_a / total_a, -weights_b / total_b])[order]
    cdf_diff = np.cumsum(signed)[:-1]
    return float(np.sum(np.abs(cdf_diff) * np.diff(merged[order])))


def weighted_std(values: np.ndarray, weights: np.ndarray) -> float:
    """Weighted standard deviation of ``values`` (M,)."""
    total = weights.sum()
    if values.size == 0 or total <= 0:
        return math.nan
    mean = np.sum(weights * values) / total
    return float(np.sqrt(max(np.sum(weights * (values - mean) ** 2) / total, 0.0)))


@dataclass(frozen=True)
class HistogramMetrics:
    """All metrics of one histogram comparison (generated = a, reference = b)."""

    chi2: Chi2Result
    wasserstein: float
    wasserstein_norm: float
    separation: float
    n_gen: int
    n_ref: int
    sumw_gen: float
    sumw_ref: float

    def as_dict(self) -> dict[str, float | int | str | None]:
        """JSON-ready values (NaN -> None)."""

        def clean(x: float) -> float | None:
            return None if x is None or (isinstance(x, float) and math.isnan(x)) else x

        return {
            "chi2": clean(self.chi2.chi2),
            "ndf": self.chi2.ndf,
            "chi2_ndf": clean(self.chi2.chi2_ndf),
            "p_value": clean(self.chi2.p_value),
            "wasserstein": clean(self.wasserstein),
            "wasserstein_norm": clean(self.wasserstein_norm),
            "separation": clean(self.separation),
            "n_generated": self.n_gen,
            "n_reference": self.n_ref,
            "sumw_generated": self.sumw_gen,
            "sumw_reference": self.sumw_ref,
        }


def histogram_metrics(
    comparison: HistogramComparison,
    gen: tuple[np.ndarray, np.ndarray],
    ref: tuple[np.ndarray, np.ndarray],
    *,
    min_count: float,
) -> HistogramMetrics:
    """χ², W1 (unbinned, also divided by the reference's standard deviation) and separation.

    Args:
        comparison: the filled histograms.
        gen, ref: (values (M,), weights (M,)) that filled them, values sorted ascending.
        min_count: see :func:`chi2_two_sample`.
    """
    c = comparison
    chi2 = chi2_two_sample(c.sumw_gen, c.sumw2_gen, c.sumw_ref, c.sumw2_ref, min_count=min_count)
    w1 = wasserstein(gen[0], gen[1], ref[0], ref[1], presorted=True)
    std = weighted_std(*ref)
    return HistogramMetrics(
        chi2=chi2,
        wasserstein=w1,
        wasserstein_norm=w1 / std if std and std > 0 else math.nan,
        separation=separation_power(c.sumw_gen, c.sumw_ref),
        n_gen=int(gen[0].size),
        n_ref=int(ref[0].size),
        sumw_gen=float(gen[1].sum()),
        sumw_ref=float(ref[1].sum()),
    )
