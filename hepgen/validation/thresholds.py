"""Pass / warn / fail thresholds of the validation, as named, documented parameters.

A histogram *fails* (is flagged) when its two-sample χ² p-value is below ``chi2_p_fail``; a
classifier test fails when ``|AUC - 0.5| > auc_n_sigma · σ_AUC + auc_tolerance_fail`` with σ_AUC
the bootstrap error. The overall verdict allows for the number of histograms
(``global_p_fail``; :func:`hepgen.validation.report.histogram_verdict`). The thresholds are
written into metrics.json and the HTML report, so a report always says which criteria produced
its colours.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

#: Status strings, from best to worst.
PASS, WARN, FAIL, SKIPPED = "pass", "warn", "fail", "skipped"
_ORDER = {PASS: 0, WARN: 1, FAIL: 2}


@dataclass(frozen=True)
class Thresholds:
    """Criteria for the pass/warn/fail colours and the flags.

    Attributes:
        chi2_p_fail: flag a histogram when the p-value of χ² with its ndf is below this.
        chi2_p_warn: warn when the p-value is below this (but not below ``chi2_p_fail``).
        chi2_min_bin_count: adjacent bins are merged for χ² until each merged bin holds at least
            this many effective entries (sumw²/sumw2) in *both* samples (χ² asymptotics).
        auc_n_sigma: number of bootstrap standard deviations of the AUC allowed beyond 0.5.
        auc_tolerance_fail: flag when |AUC - 0.5| > auc_n_sigma·σ + this.
        auc_tolerance_warn: warn when |AUC - 0.5| > auc_n_sigma·σ + this.
        global_p_fail: the histograms as a whole fail when the smallest p-value times the
            number of histograms (Bonferroni), or the binomial probability of at least as many
            failing histograms, is below this (some of N tests fail by chance).
    """

    chi2_p_fail: float = 0.01
    chi2_p_warn: float = 0.05
    chi2_min_bin_count: float = 10.0
    auc_n_sigma: float = 3.0
    auc_tolerance_fail: float = 0.02
    auc_tolerance_warn: float = 0.005
    global_p_fail: float = 0.01

    def __post_init__(self) -> None:
        if not 0.0 < self.chi2_p_fail <= self.chi2_p_warn < 1.0:
            raise ValueError("thresholds: need 0 < chi2_p_fail <= chi2_p_warn < 1")
        if not 0.0 <= self.auc_tolerance_warn <= self.auc_tolerance_fail:
            raise ValueError("thresholds: need 0 <= auc_tolerance_warn <= auc_tolerance_fail")
        if not 0.0 < self.global_p_fail < 1.0:
            raise ValueError("thresholds: need 0 < global_p_fail < 1")
        if self.auc_n_sigma < 0 or self.chi2_min_bin_count < 0:
            raise ValueError("thresholds: auc_n_sigma and chi2_min_bin_count must be >= 0")

    def as_dict(self) -> dict[str, float]:
        """Plain dict for metrics.json."""
        return asdict(self)

    @staticmethod
    def descriptions() -> dict[str, str]:
        """One line per threshold, for the report."""
        doc = {
            "chi2_p_fail": "histogram flagged (fail) when the chi2 p-value is below this",
            "chi2_p_warn": "histogram marked warn when the chi2 p-value is below this",
            "chi2_min_bin_count": "bins merged for chi2 until each has this many effective "
            "entries in both samples",
            "auc_n_sigma": "bootstrap standard deviations of the AUC allowed beyond 0.5",
            "auc_tolerance_fail": "classifier flagged (fail) when |AUC-0.5| > n_sigma*err + this",
            "auc_tolerance_warn": "classifier marked warn when |AUC-0.5| > n_sigma*err + this",
            "global_p_fail": "overall histogram verdict fails when min p-value x N (Bonferroni) or "
            "the binomial probability of the number of failing histograms is below this",
        }
        assert set(doc) == {f.name for f in fields(Thresholds)}
        return doc

    def chi2_status(self, p_value: float | None) -> str:
        """Status of one histogram from its χ² p-value (None/NaN: too few bins -> pass)."""
        if p_value is None or math.isnan(p_value):
            return PASS
        if p_value < self.chi2_p_fail:
            return FAIL
        return WARN if p_value < self.chi2_p_warn else PASS

    def auc_status(self, auc: float, auc_err: float) -> str:
        """Status of one classifier test from its AUC and bootstrap error."""
        deviation = abs(auc - 0.5) - self.auc_n_sigma * auc_err
        if deviation > self.auc_tolerance_fail:
            return FAIL
        return WARN if deviation > self.auc_tolerance_warn else PASS


def worst(statuses: list[str]) -> str:
    """The worst of several statuses (skipped ones ignored; none -> ``skipped``)."""
    ranked = [s for s in statuses if s in _ORDER]
    return max(ranked, key=_ORDER.__getitem__) if ranked else SKIPPED
