"""metrics.json: the machine-readable record of a validation run, and its summary.

Stable key structure (``schema`` = :data:`SCHEMA`; regions are ``"inclusive"``, ``"1j"``,
``"2j"``, ``"3j"``; windows are keyed ``"<lo>-<hi>"`` in the observable's unit)::

    schema, created_utc, command, versions{package: version}
    labels{generated, reference}
    inputs{generated|reference: {source,
           selection{n_read, n_kept, skipped{reason: n}, summary} | null,
           n_events, sum_weights, weighted, has_jets, jet_multiplicity_fractions{"1j": f, ...},
           posterior_draws{n_draws, min_events_per_draw, max_events_per_draw} | null}}
    thresholds{name: value}, threshold_descriptions{name: text}
    regions{key: title}
    observables{name: {label, unit, min_jets, status, band: POOLED | null,
                       regions{region: HIST}, windows{window: {region: HIST}}}}
        HIST = {chi2, ndf, chi2_ndf, p_value, wasserstein, wasserstein_norm, separation,
                n_generated, n_reference, sumw_generated, sumw_reference,
                status, flag, binning{source, bins, lo, hi}, outside_range{generated, reference},
                band: BAND | null, plot}
        BAND = {n_draws, n_bins, n_covered_band, n_covered_total, coverage_band,
                coverage_total, median_rel_width}     (posterior band, hepgen.validation.band)
        POOLED = {n_draws, n_histograms, n_bins, coverage_band, coverage_total}
                 (bins of the observable's region histograms counted together, windows not)
    classifier{region: {auc, auc_err, auc_deviation_sigma, auc_train, status, flag, features[],
                        n_train{generated, reference}, n_test{...}, n_bootstrap,
                        auc_repeats[] (--classifier-repeats: each run's AUC, auc = their
                        mean), auc_repeat_sd (null for one run), n_iter,
                        weights{generated|reference: {quantiles{q: w}, fraction_outside_0.5_2}},
                        plot}}
    generated_weights{n_events, mean, std, min, max, fraction_above_3,
                      fraction_below_one_third, fraction_nonpositive, ess_fraction,
                      regions{"1j": {same numbers}, ...}, plot_range[lo, hi],
                      outside_plot{below, above, nonpositive}, plot} | null
        (null when the generated weights are absent or all equal;
         hepgen.validation.generator_weights)
    skipped{observables{name: reason}, histograms{"name/region[/window]": reason},
            classifier{region|"all"|"per-multiplicity": reason}}
    summary{status, n_histograms, n_pass, n_warn, n_fail, expected_false_fails,
            histograms{status, n_tests, n_fail, expected_fails, binomial_p, min_p_value,
                       bonferroni_p},
            mean_chi2_ndf, median_chi2_ndf, classifier{region: status}, flagged[], notes[],
            band: POOLED | null (over every observable's region histograms)}

Missing numbers (e.g. χ² with fewer than two bins) are ``null``. Statuses: pass / warn / fail.
``summary.status`` allows for the number of histograms (see :func:`histogram_verdict`);
``flag`` marks every single item beyond its own threshold.
"""

from __future__ import annotations

import json
import math
import os
import platform
from importlib import metadata
from typing import Any

import numpy as np
import scipy.stats

from hepgen.physics.io.atomic import atomic_write_text
from hepgen.validation import band
from hepgen.validation.thresholds import FAIL, PASS, WARN, Thresholds, worst

#: Identifier and version of the metrics.json layout.
SCHEMA = "hepgen-validation/1"

#: Mean χ²/ndf below which the summary notes that the samples may not be independent, when at
#: least MIN_HISTOGRAMS_FOR_NOTES histograms were compared.
LOW_MEAN_CHI2_NDF: float = 0.5
MIN_HISTOGRAMS_FOR_NOTES: int = 5
#: The summary notes unequal posterior draws when the smallest holds fewer events than this
#: fraction of the largest (a few events lost to the selection are normal).
MIN_DRAW_BALANCE: float = 0.9

#: Packages whose versions go into the report.
VERSION_PACKAGES: tuple[str, ...] = (
    "hepgen",
    "numpy",
    "scipy",
    "awkward",
    "vector",
    "uproot",
    "hist",
    "scikit-learn",
    "matplotlib",
    "mplhep",
)


def versions() -> dict[str, str]:
    """Python, platform and package versions."""
    out = {"python": platform.python_version(), "platform": platform.platform()}
    for name in VERSION_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def to_jsonable(obj: Any) -> Any:
    """Recursively convert numpy scalars/arrays and tuples to JSON types; NaN/inf -> None."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    return obj


def histogram_entries(metrics: dict) -> dict[str, dict]:
    """All histogram entries keyed ``name/region`` or ``name/region/window``."""
    out = {}
    for name, obs in metrics["observables"].items():
        for region, entry in obs["regions"].items():
            out[f"{name}/{region}"] = entry
        for window, by_region in obs["windows"].items():
            for region, entry in by_region.items():
                out[f"{name}/{region}/{window}"] = entry
    return out


def histogram_verdict(p_values: list[float], thresholds: Thresholds) -> dict:
    """Overall verdict of N histogram tests, allowing for the number of tests.

    With N histograms some fail by chance (about N·chi2_p_fail). The histograms as a whole fail
    when the smallest p-value is below global_p_fail/N (Bonferroni) or when the number of
    failing histograms is improbable for N independent tests (binomial tail probability below
    global_p_fail); they warn when any single histogram fails or warns. Histograms of one
    sample are correlated, so the binomial count is approximate.
    """
    n = len(p_values)
    n_fail = sum(p < thresholds.chi2_p_fail for p in p_values)
    min_p = min(p_values) if p_values else None
    binom_p = float(scipy.stats.binom.sf(n_fail - 1, n, thresholds.chi2_p_fail)) if n else 1.0
    bonferroni = min(1.0, min_p * n) if min_p is not None else 1.0
    if bonferroni < thresholds.global_p_fail or binom_p < thresholds.global_p_fail:
        status = FAIL
    elif any(p < thresholds.chi2_p_warn for p in p_values):
        status = WARN
    else:
        status = PASS
    return {
        "status": status,
        "n_tests": n,
        "n_fail": n_fail,
        "expected_fails": n * thresholds.chi2_p_fail,
        "binomial_p": binom_p,
        "min_p_value": min_p,
        "bonferroni_p": bonferroni,
    }


def summarise(metrics: dict, thresholds: Thresholds) -> dict:
    """The ``summary`` block: overall status, counts per status, χ²/ndf statistics, flags.

    The overall status is the worst of the histogram verdict (:func:`histogram_verdict`) and
    the classifier tests; ``flagged`` lists every single failing item.
    """
    hists = histogram_entries(metrics)
    statuses = [e["status"] for e in hists.values()]
    chi2_ndf = np.array([e["chi2_ndf"] for e in hists.values() if e.get("chi2_ndf") is not None])
    p_values = [e["p_value"] for e in hists.values() if e.get("p_value") is not None]
    verdict = histogram_verdict(p_values, thresholds)
    clf = {k: e["status"] for k, e in metrics["classifier"].items()}
    flagged = [k for k, e in hists.items() if e["flag"]]
    flagged += [f"classifier/{k}" for k, e in metrics["classifier"].items() if e["flag"]]
    mean = float(chi2_ndf.mean()) if chi2_ndf.size else None
    pooled_band = band.pooled(
        e["band"] for o in metrics["observables"].values() for e in o["regions"].values()
    )
    notes = []
    if mean is not None and chi2_ndf.size >= MIN_HISTOGRAMS_FOR_NOTES and mean < LOW_MEAN_CHI2_NDF:
        notes.append(
            f"mean chi2/ndf = {mean:.2f} is well below 1: the samples may share events (not "
            "independent, e.g. duplicated entries or a generator reproducing its training "
            "events), or the event weights' uncertainties are overestimated"
        )
    draws = metrics["inputs"]["generated"].get("posterior_draws")
    if (
        draws is not None
        and draws["min_events_per_draw"] < MIN_DRAW_BALANCE * draws["max_events_per_draw"]
    ):
        notes.append(
            f"the {draws['n_draws']} posterior draws of the generated sample hold "
            f"{draws['min_events_per_draw']} to {draws['max_events_per_draw']} events after "
            "selection: the band mixes draws of different statistics (was the file cut by "
            "--max-events?)"
        )
    return {
        "status": worst([verdict["status"], *clf.values()]),
        "n_histograms": len(hists),
        "n_pass": statuses.count(PASS),
        "n_warn": statuses.count(WARN),
        "n_fail": statuses.count(FAIL),
        "expected_false_fails": len(hists) * thresholds.chi2_p_fail,
        "histograms": verdict,
        "mean_chi2_ndf": mean,
        "median_chi2_ndf": float(np.median(chi2_ndf)) if chi2_ndf.size else None,
        "classifier": clf,
        "flagged": flagged,
        "notes": notes,
        "band": pooled_band,
    }


def write_metrics(metrics: dict, path: str | os.PathLike[str]) -> None:
    """Write metrics.json (indented, NaN-free, written to ``<path>.tmp`` then renamed)."""
    atomic_write_text(path, json.dumps(to_jsonable(metrics), indent=2, allow_nan=False) + "\n")
