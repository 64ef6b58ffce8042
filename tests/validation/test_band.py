"""The posterior band of Bayesian generators (hepgen.validation.band) on examples with known
answers, and its place in metrics.json, index.html and the figures."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
import scipy.stats

from hepgen.physics.observables import CATALOGUE
from hepgen.validation import validate
from hepgen.validation.band import (
    band_coverage,
    band_width,
    coverage,
    draw_densities,
    draw_sums,
    pooled,
    posterior_band,
)
from hepgen.validation.histograms import compare, fill
from hepgen.validation.plots import ComparisonPlotter
from hepgen.validation.report import histogram_entries
from hepgen.validation.toys import toy_events

NAMES = ("m_mumu", "j1_pt", "n_jets")


def _comparison(edges, gen_values, gen_weights, ref_values, ref_weights=None, *, flow=True):
    ref_weights = np.ones(ref_values.size) if ref_weights is None else ref_weights
    return compare(
        fill(edges, gen_values, gen_weights), fill(edges, ref_values, ref_weights), flow=flow
    )


def _with_draws(parts: list[ak.Array]) -> ak.Array:
    """Concatenate event records, part k getting ``draw = k``."""
    return ak.concatenate(
        [ak.with_field(p, np.full(len(p), k, np.int32), "draw") for k, p in enumerate(parts)]
    )


# ---------------------------------------------------------------------------------------------
# pure functions
# ---------------------------------------------------------------------------------------------


def test_draw_sums_partition_the_generated_histogram(rng) -> None:
    edges = np.array([0.0, 0.25, 0.5, 1.0])
    values = np.concatenate([rng.uniform(-0.2, 1.2, 997), edges])  # values on every edge too
    weights = rng.uniform(0.5, 1.5, values.size)
    draws = rng.integers(0, 4, values.size) * 3  # draw ids need not be 0..K-1
    sums = draw_sums(edges, values, weights, draws, np.array([0, 3, 6, 9]))
    assert sums.shape == (4, edges.size + 1)
    whole = fill(edges, values, weights).view(flow=True).value
    np.testing.assert_allclose(sums.sum(axis=0), whole, rtol=1e-12)
    in_draw_3 = draws == 3
    np.testing.assert_allclose(
        sums[1], fill(edges, values[in_draw_3], weights[in_draw_3]).view(flow=True).value
    )


def test_draw_densities_are_normalised_like_the_generated_histogram(rng) -> None:
    edges = np.linspace(0.0, 1.0, 6)
    values = rng.uniform(-0.1, 1.1, 400)
    weights = np.ones(values.size)
    draws = np.zeros(values.size, dtype=np.int64)
    for flow in (True, False):
        comp = _comparison(edges, values, weights, values, flow=flow)
        dens = draw_densities(draw_sums(edges, values, weights, draws, np.array([0])), edges,
                              flow=flow)  # fmt: skip
        np.testing.assert_allclose(dens[0], comp.density_gen, rtol=1e-12)
    empty = draw_densities(np.zeros((1, edges.size + 1)), edges, flow=True)
    assert np.isnan(empty).all()


def test_identical_draws_give_an_exactly_zero_band(rng) -> None:
    edges = np.linspace(0.0, 1.0, 21)
    a = rng.uniform(0.0, 1.2, 2000)
    b = rng.uniform(0.0, 1.2, 2000)
    two_copies = np.concatenate([a, a])
    ones = np.ones(two_copies.size)
    draws = np.repeat([0, 1], a.size)
    found = []
    for ref in (a, b):
        comp = _comparison(edges, two_copies, ones, ref)
        band = posterior_band(comp, two_copies, ones, draws, np.array([0, 1]))
        assert band is not None and band.n_draws == 2
        assert np.all(band.width == 0.0)
        cov = band_coverage(comp, band)
        # with band 0 the band covers exactly the bins where gen == ref; two copies of N
        # events against N events give gen == ref exactly where the bin counts are equal
        counts_gen = np.histogram(a, edges)[0]
        counts_ref = np.histogram(ref, edges)[0]
        has_ref = counts_ref > 0
        assert cov.n_bins == has_ref.sum() == 20
        assert cov.coverage_band == pytest.approx(np.mean((counts_gen == counts_ref)[has_ref]))
        assert cov.median_rel_width == 0.0
        found.append(cov.coverage_band)
    # reference = one copy: every bin equal; an independent reference: only a few bins
    assert found[0] == 1.0 and found[1] < 0.3


def test_band_of_draws_with_known_shape_distortions() -> None:
    """Draw k reweights events at the bin centres by 1 + a_k (x − 0.5): with the same counts in
    every bin the totals stay N, so the band is (n/(N·width)) |c_i − 0.5| std(a, ddof=1)."""
    edges = np.linspace(0.0, 1.0, 11)
    centres = 0.5 * (edges[1:] + edges[:-1])
    n_per_bin = 100
    x = np.repeat(centres, n_per_bin)
    slopes = np.array([-0.4, -0.1, 0.2, 0.5])
    values = np.tile(x, slopes.size)
    weights = np.concatenate([1.0 + a * (x - 0.5) for a in slopes])
    draws = np.repeat(np.arange(slopes.size), x.size)
    comp = _comparison(edges, values, weights, x)
    band = posterior_band(comp, values, weights, draws, np.arange(slopes.size))
    assert band is not None and band.n_draws == 4
    expected = np.abs(centres - 0.5) * np.std(slopes, ddof=1)  # n/(N·width) = 1 here
    np.testing.assert_allclose(band.width, expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(comp.density_ref, 1.0)
    np.testing.assert_allclose(band.ratio_width(comp), expected, rtol=1e-9, atol=1e-12)
    # gen (mean slope 0.05) deviates from ref by 0.05 |c − 0.5| < band: every bin covered
    cov = band_coverage(comp, band)
    assert cov.n_covered_band == cov.n_bins == 10


def test_coverage_counts_bins_on_hand_made_arrays() -> None:
    gen = np.array([10.0, 20.0, 30.0, 40.0, 50.0])
    ref = np.array([10.0, 25.0, 30.0, 0.0, 41.0])
    err_gen = np.array([1.0, 3.0, 1.0, 1.0, 1.0])
    err_ref = np.array([1.0, 4.0, 1.0, 1.0, 1.0])
    has_ref = ref > 0  # bin 3 has no reference entries: not counted
    cov = coverage(gen, err_gen, ref, err_ref, np.zeros(5), has_ref, 2)
    assert (cov.n_bins, cov.n_covered_band, cov.n_covered_total) == (4, 2, 3)  # 5 ≤ √(9+16)
    assert cov.coverage_band == 0.5 and cov.coverage_total == 0.75
    cov = coverage(gen, err_gen, ref, err_ref, np.array([0.0, 0.0, 0.0, 0.0, 9.0]), has_ref, 2)
    assert (cov.coverage_band, cov.coverage_total) == (0.75, 1.0)
    assert cov.median_rel_width == 0.0
    assert cov.as_dict()["coverage_band"] == 0.75
    none = coverage(gen, err_gen, ref, err_ref, np.zeros(5), np.zeros(5, bool), 2).as_dict()
    assert none["coverage_band"] is None and none["n_bins"] == 0


def test_calibrated_band_covers_as_a_student_t_predicts(rng) -> None:
    """Reference and each of K draws scatter around the truth with the same spread s (no
    statistical noise): |gen − ref|/band follows √(1 + 1/K)·|t_{K−1}|, so the band covers
    P(|t_{K−1}| ≤ 1/√(1 + 1/K)) of the bins (0.66 for K = 20, → 0.68 for large K)."""
    n_bins, k, s = 20_000, 20, 0.05
    draws = 1.0 + s * rng.standard_normal((k, n_bins))
    ref = 1.0 + s * rng.standard_normal(n_bins)
    width, used = band_width(draws)
    assert used == k
    zeros = np.zeros(n_bins)
    cov = coverage(draws.mean(axis=0), zeros, ref, zeros, width, np.ones(n_bins, bool), k)
    expected = 2.0 * scipy.stats.t.cdf(1.0 / np.sqrt(1.0 + 1.0 / k), k - 1) - 1.0
    assert expected == pytest.approx(0.66, abs=0.01)
    assert cov.coverage_band == pytest.approx(expected, abs=0.015)  # binomial σ = 0.0034
    assert cov.coverage_total == cov.coverage_band
    assert cov.median_rel_width == pytest.approx(s, rel=0.05)


def test_band_needs_two_draws_with_events(rng) -> None:
    edges = np.linspace(0.0, 1.0, 5)
    values = rng.uniform(0.0, 1.0, 100)
    comp = _comparison(edges, values, np.ones(100), values)
    one = np.zeros(100, dtype=np.int64)
    assert posterior_band(comp, values, np.ones(100), one, np.array([0])) is None
    # draw 1 has no events in this histogram: only one usable draw
    assert posterior_band(comp, values, np.ones(100), one, np.array([0, 1])) is None
    width, used = band_width(np.array([[1.0, 2.0], [np.nan, np.nan], [3.0, 2.0]]))
    assert used == 2 and width.tolist() == [pytest.approx(np.sqrt(2.0)), 0.0]


def test_pooled_counts_bins_together() -> None:
    a = {"n_draws": 5, "n_bins": 10, "n_covered_band": 6, "n_covered_total": 8}
    b = {"n_draws": 4, "n_bins": 30, "n_covered_band": 12, "n_covered_total": 21}
    assert pooled([a, None, b]) == {
        "n_draws": 5,
        "n_histograms": 2,
        "n_bins": 40,
        "coverage_band": 0.45,
        "coverage_total": 0.725,
    }
    assert pooled([None, None]) is None


# ---------------------------------------------------------------------------------------------
# validate: metrics, HTML, figures
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def observables() -> list:
    return [CATALOGUE[n] for n in NAMES]  # a renamed observable fails here, loudly



def test_report_has_the_band_with_draws_and_null_without(tmp_path, observables, monkeypatch):
    labels_seen: list[object] = []
    original = ComparisonPlotter.plot

    def spy(self, comp, **kwargs):
        labels_seen.append(kwargs.get("band_label"))
        if kwargs.get("band") is not None:
            assert kwargs["band"].shape == kwargs["ratio_band"].shape == comp.density_gen.shape
        return original(self, comp, **kwargs)

    monkeypatch.setattr(ComparisonPlotter, "plot", spy)
    k = 3
    gen = _with_draws([toy_events(2000, seed=50 + i) for i in range(k)])
    ref = toy_events(6000, seed=60)
    res = validate(gen, ref, tmp_path / "band", observables=observables, classifier=False)
    m = res.metrics
    entries = histogram_entries(m)
    assert len(entries) > 10 and "m_mumu/2j/70-110" in entries
    for key, e in entries.items():
        band = e["band"]
        assert band is not None, key
        assert band["n_draws"] == k and band["n_bins"] > 0, key
        assert 0.0 <= band["coverage_band"] <= band["coverage_total"] <= 1.0, key
        assert band["median_rel_width"] > 0.0, key
    # independent draws of the reference's distribution: the band is about one draw's
    # statistical error, √K times the combined sample's, and covers most deviations
    assert 0.6 < m["summary"]["band"]["coverage_total"] <= 1.0
    assert m["summary"]["band"]["n_histograms"] == sum(
        len(o["regions"]) for o in m["observables"].values()
    )
    assert m["observables"]["m_mumu"]["band"]["n_histograms"] == 4
    assert m["inputs"]["generated"]["posterior_draws"] == {
        "n_draws": 3,
        "min_events_per_draw": 2000,
        "max_events_per_draw": 2000,
    }
    assert m["inputs"]["reference"]["posterior_draws"] is None
    assert labels_seen and set(labels_seen) == {"posterior band (3 draws)"}
    page = (tmp_path / "band" / "index.html").read_text()
    assert "band coverage (band / ⊕ stat)" in page
    assert page.count("Posterior band (3 draws) of generated covers the deviation") == 1 + len(
        m["observables"]
    )

    plain = validate(
        toy_events(3000, seed=51), ref, tmp_path / "plain", observables=observables,
        classifier=False, plots=False,
    )  # fmt: skip
    assert all(e["band"] is None for e in histogram_entries(plain.metrics).values())
    assert all(o["band"] is None for o in plain.metrics["observables"].values())
    assert plain.metrics["summary"]["band"] is None
    page = (tmp_path / "plain" / "index.html").read_text()
    assert "band coverage" not in page and "Posterior band" not in page


def test_one_draw_gives_no_band_and_unequal_draws_are_noted(tmp_path, observables) -> None:
    one = _with_draws([toy_events(3000, seed=52)])
    ref = toy_events(3000, seed=53)
    res = validate(one, ref, tmp_path / "one", observables=observables, plots=False,
                   classifier=False)  # fmt: skip
    assert all(e["band"] is None for e in histogram_entries(res.metrics).values())
    assert res.metrics["inputs"]["generated"]["posterior_draws"]["n_draws"] == 1
    cut = _with_draws([toy_events(3000, seed=54), toy_events(1000, seed=55)])
    res = validate(cut, ref, tmp_path / "cut", observables=observables, plots=False,
                   classifier=False)  # fmt: skip
    assert any(
        "posterior draws" in n and "1000 to 3000" in n for n in res.metrics["summary"]["notes"]
    )
    assert res.metrics["summary"]["band"]["n_draws"] == 2


def test_draw_field_that_is_not_an_index_is_an_input_error(tmp_path, observables) -> None:
    from hepgen.physics.errors import HepgenInputError

    gen = toy_events(500, seed=56)
    gen = ak.with_field(gen, np.linspace(0.0, 1.0, len(gen)), "draw")
    with pytest.raises(HepgenInputError, match="generated: 'draw' has dtype float64"):
        validate(gen, toy_events(500, seed=57), tmp_path / "r", observables=observables,
                 plots=False)  # fmt: skip
    assert not (tmp_path / "r").exists()
