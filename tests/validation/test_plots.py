"""Figures render from the comparison arrays (including awkward edge cases) and are closed."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

from hepgen.validation.histograms import compare, density_histogram, fill
from hepgen.validation.plots import ComparisonPlotter, plot_classifier_weights, plot_comparison

LABELS = ("gen", "ref")


def _comparison(edges: np.ndarray, gen: np.ndarray, ref: np.ndarray):
    return compare(fill(edges, gen, np.ones(gen.size)), fill(edges, ref, np.ones(ref.size)))


def test_plot_comparison_writes_png_and_pdf(tmp_path) -> None:
    rng = np.random.default_rng(0)
    comp = _comparison(
        np.linspace(0, 200, 41), rng.exponential(30, 5000), rng.exponential(31, 5000)
    )
    paths = [tmp_path / "a.png", tmp_path / "a.pdf"]
    plot_comparison(
        comp,
        xlabel=r"$p_T$ [GeV]",
        unit="GeV",
        labels=LABELS,
        region_title="1 jet",
        paths=paths,
        legend_title="chi2",
    )
    with Image.open(paths[0]) as image:
        assert image.size[0] > 500 and image.size[1] > 500
    assert paths[1].read_bytes().startswith(b"%PDF")
    assert plt.get_fignums() == []


def test_reused_figure_handles_empty_bins_integers_and_scale_changes(tmp_path) -> None:
    rng = np.random.default_rng(1)
    cases = [
        _comparison(
            np.linspace(0, 10, 11), rng.uniform(0, 5, 100), rng.uniform(0, 5, 100)
        ),  # empty ref bins
        _comparison(
            np.arange(0.5, 4.5),
            rng.integers(1, 4, 300).astype(float),
            rng.integers(1, 4, 300).astype(float),
        ),
        _comparison(
            np.linspace(0, 500, 51), rng.exponential(20, 20000), rng.exponential(20, 20000)
        ),  # log y
    ]
    with ComparisonPlotter() as plotter:
        for i, comp in enumerate(cases):
            plotter.plot(
                comp,
                xlabel="x",
                unit="",
                labels=LABELS,
                region_title="r",
                paths=[tmp_path / f"{i}.png"],
            )
        assert len(plt.get_fignums()) == 1
    assert plt.get_fignums() == []
    assert all((tmp_path / f"{i}.png").stat().st_size > 5000 for i in range(3))


def test_posterior_band_is_drawn_on_main_and_ratio_panels(tmp_path) -> None:
    rng = np.random.default_rng(4)
    edges = np.linspace(0, 10, 11)
    comp = _comparison(edges, rng.uniform(0, 5, 300), rng.uniform(0, 8, 300))  # empty ref bins
    band = 0.1 * comp.density_gen
    ratio_band = band / np.where(comp.density_ref > 0, comp.density_ref, np.nan)
    with ComparisonPlotter() as plotter:
        for i, kwargs in enumerate(
            [{}, {"band": band, "ratio_band": ratio_band, "band_label": "posterior band (4 draws)"}]
        ):
            plotter.plot(comp, xlabel="x", unit="", labels=LABELS, region_title="r",
                         paths=[tmp_path / f"{i}.png"], **kwargs)  # fmt: skip
            fig = plt.gcf()
            main, ratio = fig.axes[0], fig.axes[1]
            legend = [t.get_text() for t in main.get_legend().get_texts()]
            filled = [p for p in ratio.patches if p.get_fill()]
            if i == 0:
                assert "posterior band (4 draws)" not in legend and len(filled) == 1
            else:
                assert legend[0] == "posterior band (4 draws)" and len(filled) == 2
    assert plt.get_fignums() == []
    with Image.open(tmp_path / "0.png") as a, Image.open(tmp_path / "1.png") as b:
        assert np.any(np.asarray(a.convert("RGB")) != np.asarray(b.convert("RGB")))


def test_classifier_weight_plot(tmp_path) -> None:
    rng = np.random.default_rng(2)
    edges = np.logspace(-1, 1, 41)
    h = [
        density_histogram(np.exp(rng.normal(0, s, 1000)), np.ones(1000), edges, log_x=True)
        for s in (0.1, 0.2)
    ]
    plot_classifier_weights(
        h[0],
        h[1],
        labels=LABELS,
        region_title="1 jet",
        paths=[tmp_path / "w.png"],
        legend_title="AUC = 0.5",
    )
    assert (tmp_path / "w.png").is_file() and plt.get_fignums() == []
