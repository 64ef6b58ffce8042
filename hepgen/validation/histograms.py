"""Binning and weighted histograms of one observable for the two samples, with everything a plot
needs (unit-normalised densities, errors, ratio, δ[%]) computed here, not in the plotting code.

Uncertainties are statistical, from the sum of squared weights per bin, σ_i = sqrt(Σ w²), which
is correct for weighted events (Poisson counts are the special case w = 1). Densities are
normalised to unit area; the normalisation's own uncertainty is neglected (shape comparison).
"""

from __future__ import annotations

from dataclasses import dataclass

import hist
import numpy as np

from hepgen.physics.observables import Binning

#: Fewest bins of a non-integer histogram, and the mean number of effective reference entries
#: per bin below which small samples get fewer bins.
MIN_BINS: int = 10
MIN_MEAN_BIN_COUNT: float = 10.0
#: Quantiles used when an observable's binning kind is unknown or degenerate.
FALLBACK_QUANTILES: tuple[float, float] = (0.001, 0.999)


def weighted_quantile(
    values: np.ndarray, weights: np.ndarray, q: np.ndarray, *, presorted: bool = False
) -> np.ndarray:
    """Quantiles ``q`` (in [0, 1]) of ``values`` (M,) with ``weights`` (M,); negative weights
    count as zero here (quantiles only choose bin edges). ``presorted``: values ascending."""
    if presorted:
        v, w = values, np.clip(weights, 0.0, None)
    else:
        order = np.argsort(values, kind="stable")
        v, w = values[order], np.clip(weights[order], 0.0, None)
    cdf = np.cumsum(w)
    if cdf.size == 0 or cdf[-1] <= 0:
        return np.quantile(values, q) if values.size else np.full(np.shape(q), np.nan)
    cdf = (cdf - 0.5 * w) / cdf[-1]
    return np.interp(q, cdf, v)


def _n_bins(binning: Binning, window: tuple[float, float] | None, n_ref_eff: float | None) -> int:
    """Number of bins: the binning's own, kept at the same width inside a zoom window of a fixed
    binning, and capped so that the reference has on average MIN_MEAN_BIN_COUNT effective
    entries per bin (never below MIN_BINS)."""
    bins = binning.bins
    if window is not None and binning.kind == "fixed" and binning.hi > binning.lo:
        bins = max(1, round(bins * (window[1] - window[0]) / (binning.hi - binning.lo)))
    if n_ref_eff is not None:
        bins = min(bins, max(MIN_BINS, int(n_ref_eff // MIN_MEAN_BIN_COUNT)))
    return bins


def bin_edges(
    binning: Binning,
    ref_values: np.ndarray,
    ref_weights: np.ndarray,
    window: tuple[float, float] | None = None,
    *,
    presorted: bool = False,
) -> np.ndarray | None:
    """Bin edges (B+1,) for one histogram, or None when the reference is degenerate.

    ``window`` (a physics zoom range, e.g. the Z window) overrides the range; otherwise
    ``fixed`` uses [lo, hi], ``integer`` unit bins centred on lo..hi, and ``quantile`` regular
    bins between the lo/hi weighted quantiles of the reference values. Except for integer
    binnings, small reference samples get fewer bins (see :func:`_n_bins`). ``presorted``:
    the reference values are sorted ascending (saves a sort).
    """
    if binning.kind == "integer" and window is None:
        return np.arange(binning.lo, binning.hi + 2) - 0.5
    if ref_values.size == 0:
        return None
    total, total2 = float(np.sum(ref_weights)), float(np.sum(ref_weights**2))
    n_eff = total**2 / total2 if total2 > 0 else float(ref_values.size)
    bins = _n_bins(binning, window, n_eff)
    if window is not None:
        return np.linspace(window[0], window[1], bins + 1)
    if binning.kind == "fixed":
        return np.linspace(binning.lo, binning.hi, bins + 1)
    q = (binning.lo, binning.hi) if binning.kind == "quantile" else FALLBACK_QUANTILES
    lo, hi = weighted_quantile(ref_values, ref_weights, np.asarray(q), presorted=presorted)
    if not hi > lo:
        lo, hi = float(ref_values.min()), float(ref_values.max())
        if not hi > lo:
            return None
    return np.linspace(lo, hi, bins + 1)


def fill(edges: np.ndarray, values: np.ndarray, weights: np.ndarray) -> hist.Hist:
    """A ``hist.Hist`` with Weight storage (sum w, sum w²) and under/overflow, filled."""
    h = hist.Hist(
        hist.axis.Variable(edges, underflow=True, overflow=True), storage=hist.storage.Weight()
    )
    h.fill(values, weight=weights)
    return h


def _sums(h: hist.Hist, flow: bool) -> tuple[np.ndarray, np.ndarray]:
    view = h.view(flow=flow)
    return np.asarray(view.value, dtype=np.float64), np.asarray(view.variance, dtype=np.float64)


@dataclass(frozen=True)
class HistogramComparison:
    """Generated vs reference histograms of one observable in one region (and window).

    ``sumw_*``/``sumw2_*`` are the raw bin contents, shape (B+2,) with under/overflow first/last
    when ``flow`` else (B,): these feed the metrics. The display arrays have shape (B,):
    densities normalised to unit area over the bins the metrics use [1/unit], their errors,
    ratio = gen/ref, its error from the generated sample only (the reference's relative error
    is ``ref_rel_err``, drawn as a band around 1), and δ = 100·(gen − ref)/ref [%] with the
    combined error. Bins with an empty reference have NaN ratios.
    """

    edges: np.ndarray
    flow: bool
    sumw_gen: np.ndarray
    sumw2_gen: np.ndarray
    sumw_ref: np.ndarray
    sumw2_ref: np.ndarray
    density_gen: np.ndarray
    err_gen: np.ndarray
    density_ref: np.ndarray
    err_ref: np.ndarray
    ratio: np.ndarray
    ratio_err: np.ndarray
    ref_rel_err: np.ndarray
    delta: np.ndarray
    delta_err: np.ndarray
    outside_gen: float
    outside_ref: float

    @property
    def centers(self) -> np.ndarray:
        return 0.5 * (self.edges[1:] + self.edges[:-1])


def compare(gen: hist.Hist, ref: hist.Hist, *, flow: bool = True) -> HistogramComparison:
    """Build the comparison of two filled histograms with identical axes.

    Args:
        flow: include under/overflow in the normalisation and the metrics (full range); False
            for zoom windows, which compare shapes inside the window only.
    """
    edges = np.asarray(ref.axes[0].edges, dtype=np.float64)
    width = np.diff(edges)
    sw_g, sw2_g = _sums(gen, flow)
    sw_r, sw2_r = _sums(ref, flow)
    inner = slice(1, -1) if flow else slice(None)
    tot_g, tot_r = sw_g.sum(), sw_r.sum()
    norm_g = 1.0 / (tot_g * width) if tot_g else np.zeros_like(width)
    norm_r = 1.0 / (tot_r * width) if tot_r else np.zeros_like(width)
    dg, eg = sw_g[inner] * norm_g, np.sqrt(sw2_g[inner]) * norm_g
    dr, er = sw_r[inner] * norm_r, np.sqrt(sw2_r[inner]) * norm_r
    with np.errstate(divide="ignore", invalid="ignore"):
        safe = np.where(dr > 0, dr, np.nan)
        ratio = dg / safe
        ratio_err = eg / safe
        ref_rel_err = er / safe
        delta = 100.0 * (dg - dr) / safe
        delta_err = 100.0 * np.sqrt(eg**2 + (ratio * er) ** 2) / safe

    def outside(sw: np.ndarray, tot: float) -> float:
        return float((sw[0] + sw[-1]) / tot) if flow and tot else 0.0

    return HistogramComparison(
        edges=edges,
        flow=flow,
        sumw_gen=sw_g,
        sumw2_gen=sw2_g,
        sumw_ref=sw_r,
        sumw2_ref=sw2_r,
        density_gen=dg,
        err_gen=eg,
        density_ref=dr,
        err_ref=er,
        ratio=ratio,
        ratio_err=ratio_err,
        ref_rel_err=ref_rel_err,
        delta=delta,
        delta_err=delta_err,
        outside_gen=outside(sw_g, tot_g),
        outside_ref=outside(sw_r, tot_r),
    )


@dataclass(frozen=True)
class DensityHistogram:
    """A unit-normalised histogram (B,) of one sample with errors, for weight distributions."""

    edges: np.ndarray
    density: np.ndarray
    err: np.ndarray


def density_histogram(
    values: np.ndarray, weights: np.ndarray, edges: np.ndarray, *, log_x: bool = False
) -> DensityHistogram:
    """Unit-area density of ``values`` (M,) with ``weights`` (M,); values outside the edges are
    put in the first/last bin (so tails stay visible). With ``log_x`` the density is per unit
    log10(x) (edges must be positive), i.e. 1/N dN/dlog10(x)."""
    clipped = np.clip(values, edges[0], np.nextafter(edges[-1], -np.inf))
    h = fill(edges, clipped, weights)
    sw, sw2 = _sums(h, flow=False)
    total = sw.sum()
    widths = np.diff(np.log10(edges)) if log_x else np.diff(edges)
    norm = 1.0 / (total * widths) if total else np.zeros(edges.size - 1)
    return DensityHistogram(edges, sw * norm, np.sqrt(sw2) * norm)
