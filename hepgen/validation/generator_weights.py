"""Per-event weights of the generated sample: summary numbers and a log-x histogram.

Reweighted generators (e.g. ``hepgen generate --reweight``: w = D/(1 − D) of a discriminator
trained to tell generated from training events, Butter et al., arXiv:2110.13632) write a
``weight`` per event. The weights are honoured in every histogram; this module describes the
weights themselves, because broad weights cost statistics: the effective sample size fraction
(Σw)²/(N Σw²) is the fraction of unweighted events the sample is worth, and large or tiny
weights locate the phase-space regions the generator mismodels.

Everything here counts *events* (unweighted): fractions are numbers of events over N.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hepgen.validation import plots
from hepgen.validation.samples import Region, Sample
from hepgen.validation.stages import PlotOptions

#: Bin edges of the weight histogram (log-spaced over [0.01, 100], 80 bins); weights outside
#: are counted, not clipped into the outer bins.
PLOT_EDGES: np.ndarray = np.logspace(-2.0, 2.0, 81)
#: Weights above TAIL_FACTOR or below 1/TAIL_FACTOR count in ``fraction_above_3`` /
#: ``fraction_below_one_third`` (the key names assume the value 3).
TAIL_FACTOR: float = 3.0


def is_constant(weights: np.ndarray) -> bool:
    """True when all weights (N,) are equal (or there are none): nothing to describe."""
    return weights.size == 0 or bool(np.all(weights == weights[0]))


def weight_stats(weights: np.ndarray) -> dict[str, float | int | None]:
    """Summary numbers of weights (N,), N >= 1.

    Returns:
        ``n_events``; ``mean``, ``std`` (population, ddof = 0), ``min``, ``max``;
        ``fraction_above_3`` and ``fraction_below_one_third``: fractions of events with
        w > 3 and w < 1/3; ``fraction_nonpositive``: w <= 0; ``ess_fraction`` = (Σw)²/(N Σw²)
        (1 for equal weights; None when all weights are 0).
    """
    w = np.asarray(weights, dtype=np.float64)
    n = int(w.size)
    sum_w2 = float(np.sum(w**2))
    return {
        "n_events": n,
        "mean": float(w.mean()),
        "std": float(w.std()),
        "min": float(w.min()),
        "max": float(w.max()),
        "fraction_above_3": float(np.count_nonzero(w > TAIL_FACTOR) / n),
        "fraction_below_one_third": float(np.count_nonzero(w < 1.0 / TAIL_FACTOR) / n),
        "fraction_nonpositive": float(np.count_nonzero(w <= 0.0) / n),
        "ess_fraction": float(w.sum() ** 2 / (n * sum_w2)) if sum_w2 > 0 else None,
    }


@dataclass(frozen=True)
class WeightHistogram:
    """Events per unit log10(w) of one region, normalised to that region's N events.

    Attributes:
        label: legend text, e.g. ``"1 jet"``.
        edges: bin edges (B+1,), positive.
        density: (1/N) dN/dlog10(w) per bin (B,); its integral is the fraction of events inside
            the plotted range.
        n_events: N.
        n_below: events with 0 < w < edges[0].
        n_above: events with w >= edges[-1].
        n_nonpositive: events with w <= 0 (not on a log axis).
    """

    label: str
    edges: np.ndarray
    density: np.ndarray
    n_events: int
    n_below: int
    n_above: int
    n_nonpositive: int


def weight_histogram(
    weights: np.ndarray, label: str, edges: np.ndarray = PLOT_EDGES
) -> WeightHistogram:
    """The :class:`WeightHistogram` of weights (N,) over ``edges`` (B+1,), positive, ascending."""
    w = np.asarray(weights, dtype=np.float64)
    counts = np.histogram(w[(w >= edges[0]) & (w < edges[-1])], bins=edges)[0]
    n = int(w.size)
    density = counts / (n * np.diff(np.log10(edges))) if n else np.zeros(edges.size - 1)
    return WeightHistogram(
        label=label,
        edges=edges,
        density=density,
        n_events=n,
        n_below=int(np.count_nonzero((w > 0.0) & (w < edges[0]))),
        n_above=int(np.count_nonzero(w >= edges[-1])),
        n_nonpositive=int(np.count_nonzero(w <= 0.0)),
    )


def _region_label(region: Region) -> str:
    if region.n_jets is None:
        return "all events"
    return f"{region.n_jets} jet" + ("s" if region.n_jets != 1 else "")


def generated_weights_entry(
    sample: Sample, regions: Sequence[Region], options: PlotOptions
) -> dict | None:
    """The metrics.json ``generated_weights`` entry, and its figure, or None when the sample's
    weights are absent or all equal.

    Returns:
        ``weight_stats`` of all events, plus ``regions{key: weight_stats}`` per jet
        multiplicity, ``plot_range [lo, hi]``, ``outside_plot{below, above, nonpositive}``
        (event counts, all events) and ``plot`` (relative path or None).
    """
    if is_constant(sample.weights):
        return None
    entry: dict = weight_stats(sample.weights)
    hists = [weight_histogram(sample.weights, "all events")]
    entry["regions"] = {}
    for region in regions:
        if region.n_jets is None:
            continue
        w = sample.weights[sample.region_mask(region)]
        if w.size:
            entry["regions"][region.key] = weight_stats(w)
            hists.append(weight_histogram(w, _region_label(region)))
    entry["plot_range"] = [float(PLOT_EDGES[0]), float(PLOT_EDGES[-1])]
    entry["outside_plot"] = {
        "below": hists[0].n_below,
        "above": hists[0].n_above,
        "nonpositive": hists[0].n_nonpositive,
    }
    entry["plot"] = None
    if options.enabled:
        stem = "generated_weights"
        plots.plot_generator_weights(
            hists,
            label=options.labels[0],
            paths=options.paths(stem),
            legend_title=f"ESS fraction {entry['ess_fraction']:.3f}"
            if entry["ess_fraction"] is not None
            else None,
        )
        entry["plot"] = options.relative(stem)
    return entry
