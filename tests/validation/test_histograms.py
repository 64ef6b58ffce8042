"""Binning, weighted filling and the display arrays (densities, ratio, δ) of a comparison."""

from __future__ import annotations

import numpy as np
import pytest

from hepgen.physics.observables import Binning
from hepgen.validation.histograms import (
    bin_edges,
    compare,
    density_histogram,
    fill,
    weighted_quantile,
)


def test_weighted_quantile_matches_repeated_values() -> None:
    v = np.array([1.0, 2.0, 3.0])
    w = np.array([1.0, 2.0, 1.0])
    assert weighted_quantile(v, w, np.array([0.5]))[0] == pytest.approx(2.0)
    assert weighted_quantile(v, w, np.array([0.0, 1.0])) == pytest.approx([1.0, 3.0])


def test_bin_edges_for_each_kind() -> None:
    x = np.linspace(0.0, 100.0, 1001)
    w = np.ones_like(x)
    np.testing.assert_allclose(bin_edges(Binning("fixed", 4, 0.0, 8.0), x, w), [0, 2, 4, 6, 8])
    np.testing.assert_allclose(bin_edges(Binning("integer", 3, 1, 3), x, w), [0.5, 1.5, 2.5, 3.5])
    q = bin_edges(Binning("quantile", 10, 0.0, 0.5), x, w)
    assert q[0] == pytest.approx(0.0) and q[-1] == pytest.approx(50.0, abs=0.1) and q.size == 11
    # a zoom window of a fixed binning keeps the bin width (1 GeV here)
    z = bin_edges(Binning("fixed", 100, 50.0, 150.0), x, w, window=(70.0, 110.0))
    assert z[0] == 70.0 and z[-1] == 110.0 and z.size == 41
    assert bin_edges(Binning("quantile", 10, 0.0, 1.0), np.full(5, 3.0), np.ones(5)) is None


def test_small_samples_get_fewer_bins() -> None:
    x = np.linspace(0.0, 1.0, 200)
    assert bin_edges(Binning("fixed", 50, 0.0, 1.0), x, np.ones(200)).size == 21  # 200 / 10 per bin
    assert bin_edges(Binning("quantile", 50, 0.0, 1.0), x[:30], np.ones(30)).size == 11  # floor
    # weights count through the effective number of entries: 100 events, n_eff ~ 12
    w = np.r_[np.full(10, 10.0), np.full(90, 0.1)]
    assert bin_edges(Binning("fixed", 50, 0.0, 1.0), x[:100], w).size == 11
    assert bin_edges(Binning("integer", 3, 1, 3), x[:5], np.ones(5)).size == 4


def test_fill_uses_weights_and_flow() -> None:
    h = fill(
        np.array([0.0, 1.0, 2.0]), np.array([-1.0, 0.5, 0.5, 1.5, 5.0]), np.array([1, 2, 3, 4, 5.0])
    )
    view = h.view(flow=True)
    np.testing.assert_allclose(view.value, [1, 5, 4, 5])
    np.testing.assert_allclose(view.variance, [1, 13, 16, 25])


def test_compare_densities_ratio_and_delta() -> None:
    edges = np.array([0.0, 1.0, 2.0])
    gen = fill(
        edges, np.array([0.5, 1.5, 1.5]), np.array([1.0, 1.0, 2.0])
    )  # bins: w (1, 3), w2 (1, 5)
    ref = fill(edges, np.array([0.5, 1.5]), np.array([2.0, 2.0]))  # bins: w (2, 2), w2 (4, 4)
    c = compare(gen, ref)
    np.testing.assert_allclose(c.density_gen, [0.25, 0.75])
    np.testing.assert_allclose(c.err_gen, [0.25, np.sqrt(5) / 4])
    np.testing.assert_allclose(c.density_ref, [0.5, 0.5])
    np.testing.assert_allclose(c.err_ref, [0.5, 0.5])
    np.testing.assert_allclose(c.ratio, [0.5, 1.5])
    np.testing.assert_allclose(c.ratio_err, [0.5, np.sqrt(5) / 2])
    np.testing.assert_allclose(c.ref_rel_err, [1.0, 1.0])
    np.testing.assert_allclose(c.delta, [-50.0, 50.0])
    expected = 100 * np.sqrt(np.array([1 / 16, 5 / 16]) + (np.array([0.5, 1.5]) * 0.5) ** 2) / 0.5
    np.testing.assert_allclose(c.delta_err, expected)
    assert c.sumw_gen.shape == (4,) and c.outside_gen == 0.0


def test_compare_normalises_over_flow_but_windows_do_not() -> None:
    edges = np.linspace(0.0, 1.0, 5)
    x = np.array([0.1, 0.3, 0.6, 0.9, 2.0])
    w = np.ones(5)
    full = compare(fill(edges, x, w), fill(edges, x, w), flow=True)
    assert np.sum(full.density_gen * np.diff(edges)) == pytest.approx(0.8)
    assert full.outside_gen == pytest.approx(0.2)
    zoom = compare(fill(edges, x, w), fill(edges, x, w), flow=False)
    assert np.sum(zoom.density_gen * np.diff(edges)) == pytest.approx(1.0)
    assert zoom.sumw_gen.shape == (4,)


def test_empty_reference_bins_give_nan_ratio() -> None:
    edges = np.array([0.0, 1.0, 2.0])
    c = compare(
        fill(edges, np.array([0.5, 1.5]), np.ones(2)), fill(edges, np.array([0.5]), np.ones(1))
    )
    assert np.isnan(c.ratio[1]) and np.isnan(c.delta[1])


def test_density_histogram_log_x_is_unit_area_in_log10() -> None:
    edges = np.logspace(-1, 1, 21)
    h = density_histogram(np.array([0.01, 0.5, 1.0, 2.0, 50.0]), np.ones(5), edges, log_x=True)
    assert np.sum(h.density * np.diff(np.log10(edges))) == pytest.approx(1.0)
    assert h.density[0] > 0 and h.density[-1] > 0  # clipped tails are kept
