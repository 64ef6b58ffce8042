"""Posterior band of Bayesian generators: the spread of each histogram over posterior draws.

A Bayesian generator (Bayesian INN, Bellagente et al., arXiv:2104.04543; Butter et al.,
arXiv:2110.13632) samples K blocks of events, block k from draw k of the network weights; each
event carries its draw index (the record's ``draw`` field). For one histogram with B bins:

- per draw k, the histogram of that draw's events, normalised exactly like the generated
  histogram of :func:`~hepgen.validation.histograms.compare` (unit area over the bins the
  metrics use, under/overflow included for full-range histograms, divided by the bin width):
  densities (K, B);
- the band (B,) = standard deviation over the draws (ddof = 1) of those densities. The central
  generated histogram stays the one of all events. On the ratio panel the band is band / ref.

The band measures the spread of the generator's output over its posterior; it also holds the
statistical fluctuation of one draw's events (≈ √K · σ_stat of the combined sample), so it
measures the model uncertainty only when every draw has many events.

Coverage, over the bins whose reference has entries (Σw² > 0), with d = |gen − ref| of the
normalised densities and σ_stat the statistical errors √Σw² of the normalised histograms:

- ``coverage_band``: fraction of bins with d ≤ band;
- ``coverage_total``: fraction of bins with d ≤ √(band² + σ_stat,gen² + σ_stat,ref²).

If the band were the standard deviation of a Gaussian error of the generated histogram,
coverage_total would be ≈ 0.68 (one sigma) for a well-calibrated model with enough statistics;
clearly less means the band underestimates the deviation, clearly more that it overestimates it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import hist
import numpy as np

from hepgen.validation.histograms import HistogramComparison

#: Fewest posterior draws that give a band (a standard deviation needs two).
MIN_DRAWS: int = 2


def draw_sums(
    edges: np.ndarray,
    values: np.ndarray,
    weights: np.ndarray,
    draws: np.ndarray,
    draw_ids: np.ndarray,
) -> np.ndarray:
    """Per-draw sums of weights with under/overflow, binned exactly as
    :func:`~hepgen.validation.histograms.fill` bins (boost-histogram axis: [lo, hi) bins).

    Args:
        edges: bin edges (B+1,).
        values, weights, draws: per event (M,); ``draws`` holds posterior-draw indices.
        draw_ids: the draws to histogram (K,), e.g. every draw of the whole sample (a draw
            without events here gives a row of zeros).

    Returns:
        Σw per draw and bin, shape (K, B+2): underflow first, overflow last.
    """
    axis = hist.axis.Variable(edges, underflow=True, overflow=True)
    n_cols = edges.size + 1
    col = np.asarray(axis.index(values), dtype=np.int64) + 1
    row = np.searchsorted(draw_ids, draws)
    known = (row < draw_ids.size) & (draw_ids[np.minimum(row, draw_ids.size - 1)] == draws)
    flat = row[known] * n_cols + col[known]
    sums = np.bincount(flat, weights=weights[known], minlength=draw_ids.size * n_cols)
    return sums.reshape(draw_ids.size, n_cols)


def draw_densities(sumw: np.ndarray, edges: np.ndarray, *, flow: bool) -> np.ndarray:
    """Per-draw densities (K, B) normalised like the generated histogram of
    :func:`~hepgen.validation.histograms.compare`: ``sumw[k, bin] / (total_k · width)`` with
    total_k over all bins including under/overflow when ``flow`` (full range), else over the
    B bins (zoom windows). A draw with a non-positive total gives a row of NaN.

    Args:
        sumw: per-draw Σw (K, B+2) from :func:`draw_sums`.
        edges: bin edges (B+1,).
        flow: whether under/overflow count in the normalisation.
    """
    inner = sumw[:, 1:-1]
    totals = sumw.sum(axis=1) if flow else inner.sum(axis=1)
    width = np.diff(edges)
    with np.errstate(divide="ignore", invalid="ignore"):
        dens = inner / (totals[:, None] * width[None, :])
    dens[totals <= 0] = np.nan
    return dens


def band_width(densities: np.ndarray) -> tuple[np.ndarray, int]:
    """Standard deviation over draws (ddof = 1) of the densities (K, B) -> (B,), and the number
    of draws used (rows without NaN). Fewer than :data:`MIN_DRAWS` usable draws: NaN (B,).
    Bins where every draw has the same density get exactly 0 (not a rounding residue)."""
    valid = densities[np.all(np.isfinite(densities), axis=1)]
    if valid.shape[0] < MIN_DRAWS:
        return np.full(densities.shape[1], np.nan), int(valid.shape[0])
    width = np.std(valid, axis=0, ddof=1)
    width[np.ptp(valid, axis=0) == 0] = 0.0
    return width, int(valid.shape[0])


@dataclass(frozen=True)
class PosteriorBand:
    """The band of one histogram.

    Attributes:
        n_draws: K, the draws with events in this histogram.
        densities: per-draw normalised densities (K, B) [1/unit].
        width: band = std over draws, (B,) [1/unit], on the scale of ``density_gen``.
    """

    n_draws: int
    densities: np.ndarray
    width: np.ndarray

    def ratio_width(self, comp: HistogramComparison) -> np.ndarray:
        """The band on the ratio panel, band / reference density (B,); NaN where the reference
        density is not positive (as the ratio)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.width / np.where(comp.density_ref > 0, comp.density_ref, np.nan)


def posterior_band(
    comp: HistogramComparison,
    values: np.ndarray,
    weights: np.ndarray,
    draws: np.ndarray,
    draw_ids: np.ndarray,
) -> PosteriorBand | None:
    """The band of the histogram ``comp`` from the generated events that filled it.

    Args:
        comp: the comparison (its edges and ``flow`` fix binning and normalisation).
        values, weights, draws: the generated events of this histogram (M,).
        draw_ids: every draw index of the generated sample (K,), ascending.

    Returns:
        the band, or None when fewer than :data:`MIN_DRAWS` draws have events here.
    """
    if draw_ids.size < MIN_DRAWS:
        return None
    sums = draw_sums(comp.edges, values, weights, draws, draw_ids)
    dens = draw_densities(sums, comp.edges, flow=comp.flow)
    width, used = band_width(dens)
    if used < MIN_DRAWS:
        return None
    return PosteriorBand(used, dens[np.all(np.isfinite(dens), axis=1)], width)


@dataclass(frozen=True)
class BandCoverage:
    """How often the band covers the deviation generated − reference (module docstring).

    Attributes:
        n_draws: K.
        n_bins: bins with reference entries (the denominator).
        n_covered_band: bins with |gen − ref| ≤ band.
        n_covered_total: bins with |gen − ref| ≤ √(band² + σ_gen² + σ_ref²).
        median_rel_width: median over those bins (with gen > 0) of band / gen, or NaN.
    """

    n_draws: int
    n_bins: int
    n_covered_band: int
    n_covered_total: int
    median_rel_width: float

    @property
    def coverage_band(self) -> float:
        return self.n_covered_band / self.n_bins if self.n_bins else float("nan")

    @property
    def coverage_total(self) -> float:
        return self.n_covered_total / self.n_bins if self.n_bins else float("nan")

    def as_dict(self) -> dict[str, float | int | None]:
        """The metrics.json ``band`` entry (NaN -> None)."""

        def clean(x: float) -> float | None:
            return None if np.isnan(x) else float(x)

        return {
            "n_draws": self.n_draws,
            "n_bins": self.n_bins,
            "n_covered_band": self.n_covered_band,
            "n_covered_total": self.n_covered_total,
            "coverage_band": clean(self.coverage_band),
            "coverage_total": clean(self.coverage_total),
            "median_rel_width": clean(self.median_rel_width),
        }


def coverage(
    density_gen: np.ndarray,
    err_gen: np.ndarray,
    density_ref: np.ndarray,
    err_ref: np.ndarray,
    band: np.ndarray,
    has_ref: np.ndarray,
    n_draws: int,
) -> BandCoverage:
    """Coverage of the deviation by the band, from display arrays (all (B,)).

    Args:
        density_gen, err_gen, density_ref, err_ref: normalised densities and their statistical
            errors (as in :class:`~hepgen.validation.histograms.HistogramComparison`).
        band: the band (B,) on the density scale.
        has_ref: bins where the reference has entries (B,), bool; only these count.
        n_draws: K, reported as is.
    """
    use = has_ref & np.isfinite(band)
    dev = np.abs(density_gen - density_ref)[use]
    b = band[use]
    total = np.sqrt(b**2 + err_gen[use] ** 2 + err_ref[use] ** 2)
    gen = density_gen[use]
    rel = b[gen > 0] / gen[gen > 0]
    return BandCoverage(
        n_draws=n_draws,
        n_bins=int(use.sum()),
        n_covered_band=int(np.count_nonzero(dev <= b)),
        n_covered_total=int(np.count_nonzero(dev <= total)),
        median_rel_width=float(np.median(rel)) if rel.size else float("nan"),
    )


def band_coverage(comp: HistogramComparison, band: PosteriorBand) -> BandCoverage:
    """:func:`coverage` of a comparison: bins with reference entries are those with Σw² > 0."""
    inner = slice(1, -1) if comp.flow else slice(None)
    has_ref = comp.sumw2_ref[inner] > 0
    return coverage(
        comp.density_gen,
        comp.err_gen,
        comp.density_ref,
        comp.err_ref,
        band.width,
        has_ref,
        band.n_draws,
    )


def pooled(entries: Iterable[dict | None]) -> dict[str, float | int | None] | None:
    """Coverage pooled over several histograms' ``band`` entries (bins counted together):
    ``{n_draws, n_histograms, n_bins, coverage_band, coverage_total}``; None when no entry has
    a band. ``n_draws`` is the largest K among them."""
    bands = [e for e in entries if e is not None]
    if not bands:
        return None
    n_bins = sum(int(e["n_bins"]) for e in bands)
    covered_band = sum(int(e["n_covered_band"]) for e in bands)
    covered_total = sum(int(e["n_covered_total"]) for e in bands)
    return {
        "n_draws": max(int(e["n_draws"]) for e in bands),
        "n_histograms": len(bands),
        "n_bins": n_bins,
        "coverage_band": covered_band / n_bins if n_bins else None,
        "coverage_total": covered_total / n_bins if n_bins else None,
    }
