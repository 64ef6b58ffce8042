"""Summary and histogram of the generated sample's event weights (reweighted generators)."""

from __future__ import annotations

import json

import matplotlib.pyplot as plt
import numpy as np
import pytest

from hepgen.physics.events import with_weights
from hepgen.physics.observables import CATALOGUE
from hepgen.validation import validate
from hepgen.validation.generator_weights import (
    PLOT_EDGES,
    is_constant,
    weight_histogram,
    weight_stats,
)
from hepgen.validation.plots import plot_generator_weights
from hepgen.validation.toys import toy_events

STAT_KEYS = {
    "n_events",
    "mean",
    "std",
    "min",
    "max",
    "fraction_above_3",
    "fraction_below_one_third",
    "fraction_nonpositive",
    "ess_fraction",
}


def test_weight_stats_on_known_weights() -> None:
    w = np.array([0.1, 0.5, 1.0, 1.0, 2.0, 4.0])
    stats = weight_stats(w)
    assert set(stats) == STAT_KEYS
    assert stats["n_events"] == 6
    assert stats["mean"] == pytest.approx(8.6 / 6)
    # population std: sqrt(mean(w²) − mean²), Σw² = 22.26
    assert stats["std"] == pytest.approx(np.sqrt(22.26 / 6 - (8.6 / 6) ** 2))
    assert (stats["min"], stats["max"]) == (0.1, 4.0)
    assert stats["fraction_above_3"] == pytest.approx(1 / 6)  # 4.0
    assert stats["fraction_below_one_third"] == pytest.approx(1 / 6)  # 0.1
    assert stats["fraction_nonpositive"] == 0.0
    assert stats["ess_fraction"] == pytest.approx(8.6**2 / (6 * 22.26))  # 0.5538
    assert weight_stats(np.ones(5))["ess_fraction"] == 1.0
    # one event of N carrying all the weight is worth one event
    assert weight_stats(np.array([0.0, 0.0, 0.0, 7.0]))["ess_fraction"] == pytest.approx(0.25)
    assert weight_stats(np.zeros(3))["ess_fraction"] is None


def test_constant_weights_are_nothing_to_describe() -> None:
    assert is_constant(np.ones(4)) and is_constant(np.full(4, 0.5)) and is_constant(np.zeros(0))
    assert not is_constant(np.array([1.0, 1.0, 2.0]))


def test_weight_histogram_counts_what_it_cannot_draw() -> None:
    w = np.array([1e-3, 0.0, -1.0, 0.5, 1.0, 1.0, 200.0, 100.0])
    h = weight_histogram(w, "all events")
    assert (h.n_below, h.n_above, h.n_nonpositive, h.n_events) == (1, 2, 2, 8)
    # the area is the fraction of events inside the plotted range: 0.5, 1, 1
    area = float(np.sum(h.density * np.diff(np.log10(h.edges))))
    assert area == pytest.approx(3 / 8)
    assert h.edges is PLOT_EDGES and h.density.shape == (PLOT_EDGES.size - 1,)


def test_generator_weight_plot(tmp_path) -> None:
    rng = np.random.default_rng(3)
    hists = [
        weight_histogram(np.exp(rng.normal(0.0, s, 1000)), f"{i} jets")
        for i, s in enumerate((0.3, 0.5, 2.5))
    ]
    assert hists[2].n_below + hists[2].n_above > 0
    plot_generator_weights(hists, label="gen", paths=[tmp_path / "w.png"], legend_title="ESS")
    assert (tmp_path / "w.png").stat().st_size > 5000 and plt.get_fignums() == []


@pytest.fixture(scope="module")
def observables() -> list:
    return [CATALOGUE[n] for n in ("m_mumu", "n_jets")]


def test_report_describes_non_constant_generated_weights(tmp_path, observables) -> None:
    gen = toy_events(3000, seed=71)
    w = np.exp(np.random.default_rng(1).normal(0.0, 0.6, len(gen)))
    w[:3] = [1e-4, 500.0, 0.0]
    res = validate(with_weights(gen, w), toy_events(3000, seed=72), tmp_path / "r",
                   observables=observables, classifier=False)  # fmt: skip
    g = res.metrics["generated_weights"]
    assert set(g) == STAT_KEYS | {"regions", "plot_range", "outside_plot", "plot"}
    assert g["mean"] == pytest.approx(w.mean()) and g["max"] == 500.0 and g["min"] == 0.0
    assert g["ess_fraction"] == pytest.approx(w.sum() ** 2 / (w.size * np.sum(w**2)))
    assert g["outside_plot"] == {"below": 1, "above": 1, "nonpositive": 1}
    assert set(g["regions"]) == {"1j", "2j", "3j"}
    assert sum(r["n_events"] for r in g["regions"].values()) == 3000
    out = tmp_path / "r"
    assert g["plot"] == "plots/generated_weights.png" and (out / g["plot"]).is_file()
    assert json.loads((out / "metrics.json").read_text())["generated_weights"] == g
    page = (out / "index.html").read_text()
    assert "Generated event weights" in page and "ESS fraction" in page
    assert "1 below, 1 above, 1 with w ≤ 0" in page


@pytest.mark.parametrize("weights", [None, 0.5], ids=["absent", "all-equal"])
def test_generated_weights_are_null_when_absent_or_all_equal(tmp_path, observables, weights):
    gen = toy_events(1000, seed=73)
    if weights is not None:
        gen = with_weights(gen, np.full(len(gen), weights))
    res = validate(gen, toy_events(1000, seed=74), tmp_path / "r", observables=observables,
                   classifier=False, plots=False)  # fmt: skip
    assert res.metrics["generated_weights"] is None
    assert "Generated event weights" not in (tmp_path / "r" / "index.html").read_text()
