"""Variational Bayesian layers and the BINN: KL term, explicit posterior draws, NLL + KL/N."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from hepgen.flows.bayesian import (
    LOGVAR_INIT,
    LOGVAR_MAX,
    LOGVAR_MIN,
    BayesianLinear,
    draw_weights,
    total_kl,
)
from hepgen.generators.inn import BayesianINNModel, INNModel
from hepgen.generators.losses import weighted_nll

pytestmark = pytest.mark.filterwarnings("ignore:Converting a tensor with requires_grad")

F64 = torch.float64
TINY = {"n_blocks": 2, "kind": "spline", "hidden": 16, "n_layers": 2, "bins": 4}


def _layer(prior_precision: float = 2.0) -> BayesianLinear:
    torch.manual_seed(0)
    layer = BayesianLinear(3, 2, prior_precision).double()
    with torch.no_grad():
        layer.weight_mu.copy_(torch.tensor([[0.1, -0.2, 0.3], [0.0, 0.5, -1.0]]))
        layer.weight_logvar.copy_(torch.tensor([[-1.0, -2.0, 0.0], [-3.0, -20.0, 15.0]]))
    return layer


def test_initial_log_variance():
    layer = BayesianLinear(4, 3)
    assert torch.equal(layer.weight_logvar, torch.full((3, 4), LOGVAR_INIT))


def test_kl_matches_the_closed_form():
    """KL(N(mu, s^2) || N(0, 1/p)) = 0.5 (p (mu^2 + s^2) - 1 - log s^2 - log p), per weight,
    with log s^2 clamped to [LOGVAR_MIN, LOGVAR_MAX]."""
    layer = _layer(2.0)
    p = 2.0
    total = 0.0
    for mu, logvar in zip(layer.weight_mu.flatten().tolist(),
                          layer.weight_logvar.flatten().tolist(), strict=True):
        lv = min(max(logvar, LOGVAR_MIN), LOGVAR_MAX)
        total += 0.5 * (p * (mu**2 + math.exp(lv)) - 1.0 - lv - math.log(p))
    assert float(layer.kl().detach()) == pytest.approx(total, rel=1e-12)
    module = nn.Sequential(layer, nn.ReLU(), _layer(2.0))
    assert float(total_kl(module).detach()) == pytest.approx(2 * total, rel=1e-12)
    assert float(total_kl(nn.Linear(2, 2))) == 0.0


def test_kl_is_zero_at_the_prior():
    layer = BayesianLinear(3, 2, prior_precision=4.0).double()
    with torch.no_grad():
        layer.weight_mu.zero_()
        layer.weight_logvar.fill_(-math.log(4.0))
    assert abs(float(layer.kl())) < 1e-12


def test_eval_mode_uses_the_means_and_training_mode_samples():
    layer = _layer()
    x = torch.randn(64, 3, dtype=F64, generator=torch.Generator().manual_seed(1))
    layer.eval()
    mean = nn.functional.linear(x, layer.weight_mu, layer.bias)
    assert torch.equal(layer(x), mean)
    layer.train()
    torch.manual_seed(3)
    out = torch.stack([layer(x) for _ in range(400)])
    assert not torch.equal(out[0], out[1])
    # local reparameterisation: per-output variance sum_j x_j^2 sigma_j^2
    var = nn.functional.linear(x**2, layer.weight_logvar.clamp(LOGVAR_MIN, LOGVAR_MAX).exp())
    torch.testing.assert_close(out.mean(0), mean, rtol=0, atol=float(5 * (var / 400).sqrt().max()))
    ratio = out.var(0) / var
    assert 0.8 < float(ratio.mean()) < 1.2


def test_draw_weights_deterministic_per_seed_and_leaves_the_original_alone():
    module = nn.Sequential(_layer(), nn.ReLU(), _layer())
    before = {k: v.clone() for k, v in module.state_dict().items()}
    a, b, c = draw_weights(module, 5), draw_weights(module, 5), draw_weights(module, 6)
    assert not any(isinstance(m, BayesianLinear) for m in a.modules())
    assert isinstance(a[0], nn.Linear) and not a.training
    for key, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[key])
    assert not torch.equal(a[0].weight, c[0].weight)
    torch.testing.assert_close(a[0].bias, module[0].bias)
    for key, value in module.state_dict().items():
        assert torch.equal(value, before[key])
    assert isinstance(module[0], BayesianLinear)
    # a draw with (clamped) log-variance -20 -> sigma ~ exp(-5.5): the mean up to ~4e-3
    assert abs(float(a[0].weight[1, 1] - module[0].weight_mu[1, 1])) < 0.02


def test_draw_spread_follows_the_posterior_width():
    layer = _layer()
    draws = torch.stack([layer.draw(torch.Generator().manual_seed(s)).weight for s in range(500)])
    sigma = (0.5 * layer.weight_logvar.clamp(LOGVAR_MIN, LOGVAR_MAX)).exp()
    ratio = draws.std(0) / sigma
    assert ((ratio > 0.85) & (ratio < 1.15)).all(), ratio
    torch.testing.assert_close(draws.mean(0), layer.weight_mu, rtol=0, atol=float(
        5 * sigma.max() / math.sqrt(500)))


def _binn() -> BayesianINNModel:
    torch.manual_seed(0)
    model = BayesianINNModel(9, 0, {**TINY, "prior_precision": 0.5})
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "logvar" in name:
                param.fill_(-4.0)
    return model


def test_binn_loss_is_nll_plus_kl_over_n_train_and_dim():
    model = _binn().eval()
    model.n_train_hint(1234)
    x = torch.randn(32, 9, generator=torch.Generator().manual_seed(0))
    loss = model.loss(x, None)
    nll = weighted_nll(model.log_prob(x), 9, None)
    kl = total_kl(model.flow)
    assert float(kl) > 0
    assert float(loss - nll) == pytest.approx(float(kl) / (1234 * 9), rel=1e-5)
    # the prior precision from the config reaches every Bayesian layer
    layers = [m for m in model.modules() if isinstance(m, BayesianLinear)]
    assert layers and all(m.prior_precision == 0.5 for m in layers)
    # weights act on the NLL, not on the KL
    w = torch.linspace(0.5, 1.5, 32)
    assert float(model.loss(x, None, w) - weighted_nll(model.log_prob(x), 9, w)) == \
        pytest.approx(float(kl) / (1234 * 9), rel=1e-5)


def test_binn_n_train_hint_scales_the_kl():
    model = _binn().eval()
    x = torch.randn(16, 9, generator=torch.Generator().manual_seed(0))
    model.n_train_hint(10)
    small = float(model.loss(x, None))
    model.n_train_hint(10_000)
    large = float(model.loss(x, None))
    kl = float(total_kl(model.flow)) / 9
    assert small - large == pytest.approx(kl / 10 - kl / 10_000, rel=1e-4)


def test_binn_posterior_draw_deterministic_within_and_different_across_draws():
    model = _binn()
    x = torch.randn(20, 9, generator=torch.Generator().manual_seed(1))
    first = model.posterior_draw(11)
    assert isinstance(first, INNModel) and not isinstance(first, BayesianINNModel)
    assert not any(isinstance(m, BayesianLinear) for m in first.modules())
    lp = first.log_prob(x)
    for _ in range(2):  # repeated calls, also in training mode: no hidden randomness
        torch.testing.assert_close(first.log_prob(x), lp, rtol=0, atol=0)
        first.train()
    torch.testing.assert_close(model.posterior_draw(11).log_prob(x), lp, rtol=0, atol=0)
    others = [model.posterior_draw(s).log_prob(x) for s in (12, 13)]
    for other in others:
        assert (other - lp).abs().max() > 1e-3
    assert (others[0] - others[1]).abs().max() > 1e-3
    # draws scatter around the mean network
    mean_lp = model.eval().log_prob(x)
    assert not torch.allclose(lp, mean_lp)
    # the drawn model is an exact INN
    z, ld = first(x)
    back, ld_inv = first.inverse(z)
    torch.testing.assert_close(back, x, rtol=0, atol=1e-4)


def test_binn_in_training_mode_is_stochastic_and_in_eval_mode_deterministic():
    model = _binn()
    x = torch.randn(20, 9, generator=torch.Generator().manual_seed(1))
    model.train()
    assert not torch.equal(model.log_prob(x), model.log_prob(x))
    model.eval()
    assert torch.equal(model.log_prob(x), model.log_prob(x))


def test_binn_rejects_unknown_options():
    with pytest.raises(ValueError, match="unknown option"):
        BayesianINNModel(9, 0, {**TINY, "prior_width": 1.0})
