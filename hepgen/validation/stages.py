"""The two stages of a validation run: per-histogram comparisons and classifier tests.

Each stage turns :class:`~hepgen.validation.samples.Sample` columns into JSON-ready entries for
metrics.json (with the status from :class:`~hepgen.validation.thresholds.Thresholds`) and writes
the figures. Skipped items are returned with a reason instead of raising.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hepgen.physics.observables import Observable
from hepgen.validation import plots
from hepgen.validation.band import MIN_DRAWS, band_coverage, posterior_band
from hepgen.validation.classifier import (
    MAX_TEST_PER_CLASS,
    MAX_TRAIN_PER_CLASS,
    N_BOOTSTRAP,
    N_THREADS,
    ClassifierResult,
    repeated_test,
)
from hepgen.validation.histograms import (
    bin_edges,
    compare,
    density_histogram,
    fill,
    weighted_quantile,
)
from hepgen.validation.metrics import histogram_metrics
from hepgen.validation.samples import Region, Sample
from hepgen.validation.thresholds import FAIL, Thresholds

#: Bin edges of the classifier-weight histograms (log-spaced, w in [0.01, 100]; the first and
#: last bins also hold the under/overflow).
WEIGHT_EDGES: np.ndarray = np.logspace(-2.0, 2.0, 101)
#: Quantiles of w reported in metrics.json.
WEIGHT_QUANTILES: tuple[float, ...] = (0.05, 0.16, 0.5, 0.84, 0.95)
#: Fraction of events outside the plotted range above which the figure says so.
OUTSIDE_NOTE: float = 0.005
#: w outside [1/WEIGHT_TAIL, WEIGHT_TAIL] counts as a tail event in metrics.json.
WEIGHT_TAIL: float = 2.0


def window_key(window: tuple[float, float]) -> str:
    """Stable key of a zoom window, e.g. ``"70-110"``."""
    return f"{window[0]:g}-{window[1]:g}"


@dataclass
class PlotOptions:
    """Where and how figures are written (``formats`` e.g. ("png",) or ("png", "pdf"))."""

    plot_dir: Path
    labels: tuple[str, str]
    formats: tuple[str, ...] = ("png",)
    plotter: plots.ComparisonPlotter = field(default_factory=plots.ComparisonPlotter)
    enabled: bool = True

    def paths(self, stem: str) -> list[Path]:
        return [self.plot_dir / f"{stem}.{fmt}" for fmt in self.formats]

    def relative(self, stem: str) -> str:
        return f"{self.plot_dir.name}/{stem}.png"


def _binning_info(obs: Observable, edges: np.ndarray, window: tuple[float, float] | None) -> dict:
    b = obs.binning
    if window is not None:
        source = f"window [{window[0]:g}, {window[1]:g}]"
    elif b.kind == "quantile":
        source = f"reference quantiles [{b.lo:g}, {b.hi:g}]"
    else:
        source = b.kind
    return {
        "source": source,
        "bins": int(edges.size - 1),
        "lo": float(edges[0]),
        "hi": float(edges[-1]),
    }


def _one_value(a: np.ndarray, b: np.ndarray) -> bool:
    """True when the two samples together hold at most one distinct value."""
    both = np.concatenate([a, b])
    return both.size == 0 or bool(both.min() == both.max())


def _metrics_text(entry: dict, unit: str) -> str:
    chi2, p = entry.get("chi2_ndf"), entry.get("p_value")
    lines = []
    if chi2 is not None and p is not None:
        p_text = "p < 1e-10" if p < 1e-10 else f"p = {p:.2g}"
        lines.append(f"$\\chi^2$/ndf = {chi2:.2f} ({p_text})")
    w1 = entry.get("wasserstein")
    if w1 is not None:
        lines.append(
            f"$W_1$ = {w1:.3g}{' ' + unit if unit else ''}, sep = {entry['separation']:.1e}"
        )
    out = entry["outside_range"]
    if max(out.values()) >= OUTSIDE_NOTE:
        lines.append(f"outside plot: {100 * out['generated']:.1f}% / {100 * out['reference']:.1f}%")
    band = entry.get("band")
    if band is not None and band["coverage_band"] is not None:
        lines.append(
            f"band covers {100 * band['coverage_band']:.0f}% of bins, "
            f"{100 * band['coverage_total']:.0f}% with stat."
        )
    return "\n".join(line for line in lines if line)


def histogram_entry(
    obs: Observable,
    region: Region,
    gen: Sample,
    ref: Sample,
    thresholds: Thresholds,
    options: PlotOptions,
    window: tuple[float, float] | None = None,
) -> tuple[dict | None, str | None]:
    """Compare one observable in one region (and zoom window): (entry, None) or (None, reason).

    When the generated sample has K >= 2 posterior draws, the entry's ``band`` holds the
    coverage of the posterior band (:mod:`hepgen.validation.band`) and the figure shows the
    band; otherwise ``band`` is None.
    """
    order = gen.sorted_order(obs.name, region, window)
    g = gen.values[obs.name][order], gen.weights[order]
    r = ref.sorted_column(obs.name, region, window)
    if g[0].size < 2 or r[0].size < 2:
        return None, "fewer than 2 events with the observable defined in a sample"
    if window is None and _one_value(g[0], r[0]):
        return None, "one constant value in this region"
    edges = bin_edges(obs.binning, r[0], r[1], window, presorted=True)
    if edges is None:
        return None, "reference values are degenerate (no bin range)"
    comp = compare(fill(edges, *g), fill(edges, *r), flow=window is None)
    metrics = histogram_metrics(comp, g, r, min_count=thresholds.chi2_min_bin_count)
    entry: dict = metrics.as_dict()
    entry["status"] = thresholds.chi2_status(metrics.chi2.p_value)
    entry["flag"] = entry["status"] == FAIL
    entry["binning"] = _binning_info(obs, edges, window)
    entry["outside_range"] = {"generated": comp.outside_gen, "reference": comp.outside_ref}
    band = None
    if gen.draws is not None and gen.n_draws >= MIN_DRAWS:
        band = posterior_band(comp, g[0], g[1], gen.draws[order], gen.draw_ids)
    entry["band"] = None if band is None else band_coverage(comp, band).as_dict()
    entry["plot"] = None
    if not options.enabled:
        return entry, None
    stem = f"{obs.name}_{region.key}" + (f"_{window_key(window)}" if window else "")
    title = region.title + (f", {window_key(window)} {obs.unit}".rstrip() if window else "")
    options.plotter.plot(
        comp,
        xlabel=obs.axis_label,
        unit=obs.unit,
        labels=options.labels,
        region_title=title,
        paths=options.paths(stem),
        legend_title=_metrics_text(entry, obs.unit),
        band=None if band is None else band.width,
        ratio_band=None if band is None else band.ratio_width(comp),
        band_label=None if band is None else f"posterior band ({band.n_draws} draws)",
    )
    entry["plot"] = options.relative(stem)
    return entry, None


@dataclass
class ClassifierSettings:
    """Options of the classifier stage (see
    :func:`~hepgen.validation.classifier.two_sample_test`)."""

    seed: int = 0
    max_train_per_class: int = MAX_TRAIN_PER_CLASS
    max_test_per_class: int = MAX_TEST_PER_CLASS
    n_bootstrap: int = N_BOOTSTRAP
    test_fraction: float = 0.5
    n_threads: int | None = N_THREADS
    #: classifier runs per region over other seeds (AUC = their mean, their spread reported)
    repeats: int = 1


def classifier_features(
    observables: Sequence[Observable], region: Region, gen: Sample, ref: Sample
) -> list[str]:
    """Observables defined for the region's multiplicity and not constant there."""
    names = []
    for obs in observables:
        if not region.accepts(obs):
            continue
        vals, _ = ref.column(obs.name, region)
        gvals, _ = gen.column(obs.name, region)
        if not _one_value(gvals, vals):
            names.append(obs.name)
    return names


def _matrix(sample: Sample, names: list[str], region: Region) -> tuple[np.ndarray, np.ndarray]:
    mask = sample.region_mask(region)
    x = np.stack(
        [np.where(sample.defined[n], sample.values[n], np.nan)[mask] for n in names], axis=1
    )
    return x, sample.weights[mask]


def _weight_summary(w: np.ndarray, weights: np.ndarray) -> dict:
    q = weighted_quantile(w, weights, np.asarray(WEIGHT_QUANTILES))
    total = weights.sum()
    tail = (w < 1.0 / WEIGHT_TAIL) | (w > WEIGHT_TAIL)
    return {
        "quantiles": {f"{p:g}": float(v) for p, v in zip(WEIGHT_QUANTILES, q, strict=True)},
        f"fraction_outside_{1 / WEIGHT_TAIL:g}_{WEIGHT_TAIL:g}": float(weights[tail].sum() / total)
        if total
        else None,
    }


def run_classifier(
    observables: Sequence[Observable],
    region: Region,
    gen: Sample,
    ref: Sample,
    settings: ClassifierSettings,
    seed_offset: int = 0,
) -> ClassifierResult | str:
    """Train and test the classifier in one region: the result, or the reason it was skipped.

    Reads the samples only (safe to run in a worker thread beside the histogram stage).
    """
    names = classifier_features(observables, region, gen, ref)
    if not names:
        return "no observable to train on"
    xg, wg = _matrix(gen, names, region)
    xr, wr = _matrix(ref, names, region)
    try:
        return repeated_test(
            settings.repeats,
            xg,
            wg,
            xr,
            wr,
            names,
            seed=settings.seed + seed_offset,
            test_fraction=settings.test_fraction,
            max_train_per_class=settings.max_train_per_class,
            max_test_per_class=settings.max_test_per_class,
            n_bootstrap=settings.n_bootstrap,
            n_threads=settings.n_threads,
        )
    except ValueError as err:
        if "fewer than" in str(err):
            return f"too few events ({len(xg)} generated, {len(xr)} reference)"
        raise


def classifier_entry(
    res: ClassifierResult, region: Region, thresholds: Thresholds, options: PlotOptions
) -> dict:
    """The metrics.json entry of one classifier test, with its weight-histogram figure."""
    status = thresholds.auc_status(res.auc, res.auc_err)
    sigma = (res.auc - 0.5) / res.auc_err if res.auc_err > 0 else math.nan
    entry = {
        "auc": res.auc,
        "auc_err": res.auc_err,
        "auc_deviation_sigma": None if math.isnan(sigma) else sigma,
        "auc_train": res.auc_train,
        "status": status,
        "flag": status == FAIL,
        "features": res.features,
        "n_train": {"generated": res.n_train[0], "reference": res.n_train[1]},
        "n_test": {"generated": res.n_test[0], "reference": res.n_test[1]},
        "n_bootstrap": res.n_bootstrap,
        "auc_repeats": list(res.auc_repeats),
        "auc_repeat_sd": None if math.isnan(res.auc_repeat_sd) else res.auc_repeat_sd,
        "n_iter": res.n_iter,
        "weights": {
            "generated": _weight_summary(res.w_gen, res.weights_gen),
            "reference": _weight_summary(res.w_ref, res.weights_ref),
        },
    }
    entry["plot"] = None
    if not options.enabled:
        return entry
    stem = f"classifier_weights_{region.key}"
    plots.plot_classifier_weights(
        density_histogram(res.w_gen, res.weights_gen, WEIGHT_EDGES, log_x=True),
        density_histogram(res.w_ref, res.weights_ref, WEIGHT_EDGES, log_x=True),
        labels=options.labels,
        region_title=region.title,
        paths=options.paths(stem),
        legend_title=f"AUC = {res.auc:.4f} $\\pm$ {res.auc_err:.4f}\n{len(res.features)} features",
    )
    entry["plot"] = options.relative(stem)
    return entry
