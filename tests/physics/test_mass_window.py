"""The dimuon mass in the chart of the generation window (hepgen.physics.mass_window)."""

from __future__ import annotations

import numpy as np
import pytest

from hepgen.physics.mass_window import MassWindowTransform


def _masses(rng: np.random.Generator, n: int = 20_000, step: float = 0.3) -> np.ndarray:
    """Masses (n, 1) in (0, 150) GeV whose density steps down by ``step`` below 50 GeV."""
    above = rng.uniform(50.0, 150.0, n)
    below = rng.uniform(0.5, 50.0, int(step * n * 49.5 / 100.0))
    return np.concatenate([above, below])[:, None]


def test_fit_finds_the_density_step_at_the_lower_edge():
    step = MassWindowTransform("m", 1, [0])
    step.fit(_masses(np.random.default_rng(1), n=100_000))
    # counts within 2 GeV either side of 50 GeV: 600 and 2000, r = 0.3 +- 0.014
    assert step.ratio == pytest.approx(0.3, abs=0.05)
    again = MassWindowTransform("m", 1, [0])
    again.load_state_dict(step.state_dict())
    assert again.params() == step.params()


def test_round_trip_log_derivative_and_the_whole_line_maps_into_the_window():
    step = MassWindowTransform("m", 1, [0])
    m = _masses(np.random.default_rng(2))
    step.fit(m)
    u = step.forward(m)
    np.testing.assert_allclose(step.inverse(u), m, rtol=1e-12)
    x = np.array([[0.7], [12.0], [49.99], [50.01], [91.2], [149.9]])
    h = 1e-6 * x
    numeric = (step.forward(x + h) - step.forward(x - h))[:, 0] / (2 * h[:, 0])
    np.testing.assert_allclose(step.forward_log_det(x), np.log(numeric), atol=1e-6)
    # the density in u has no step at 50 GeV: equal counts per unit u on both sides
    u50 = step.forward(np.array([[50.0]]))[0, 0]
    left = np.count_nonzero((u > u50 - 0.05) & (u <= u50))
    right = np.count_nonzero((u > u50) & (u <= u50 + 0.05))
    assert left == pytest.approx(right, rel=0.15)
    back = step.inverse(np.linspace(-30.0, 30.0, 61)[:, None])[:, 0]
    assert (back > 0).all() and (back <= 150.0).all() and (np.diff(back) >= 0).all()


def test_the_upper_edge_widens_when_training_masses_reach_it_and_bounds_the_domain():
    step = MassWindowTransform("m", 1, [0])
    step.fit(np.array([[91.0], [60.0], [49.0]]))
    assert step.m_max == 150.0  # the generation window's edge
    with pytest.raises(ValueError, match=r"outside the domain \(0, 150\) GeV"):
        step.forward(np.array([[150.0]]))
    step.fit(np.array([[91.0], [200.0]]))  # dressed muons: a few masses above the window
    assert step.m_max == pytest.approx(250.0)
    np.testing.assert_allclose(step.inverse(step.forward(np.array([[200.0]]))), [[200.0]])
    with pytest.raises(ValueError, match="finite and > 0"):
        step.fit(np.array([[91.0], [0.0]]))


def test_a_chain_marks_the_rows_outside_a_steps_domain_judged_after_the_steps_before():
    """FeatureChain.in_domain: a log step then the window; the window sees exp-mapped masses."""
    from hepgen.physics.feature_steps import FeatureChain, FeatureStep

    class Exp(FeatureStep):
        kind = "exp_test"

        def _forward(self, block: np.ndarray) -> np.ndarray:
            return np.exp(block)

    chain = FeatureChain([Exp("exp", 2, [0]), MassWindowTransform("mll", 2, [0])])
    x = np.array([[np.log(91.0), 0.0], [np.log(160.0), 0.0], [np.nan, 0.0],
                  [np.log(50.5), np.inf], [np.log(149.0), 1.0]])
    assert chain.in_domain(x).tolist() == [True, False, False, True, True]
    chain.forward(x[chain.in_domain(x)])  # the rows it keeps map without raising
    with pytest.raises(ValueError, match="mll.forward: 1 value"):
        chain.forward(x[:2])
