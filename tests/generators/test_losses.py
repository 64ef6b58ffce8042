"""Training losses of the invertible families: LossConfig parsing, the (weighted) squared MMD, and
INNModel.loss with the MMD and NLL + MMD losses."""

from __future__ import annotations

import math

import pytest
import torch

from hepgen.generators.inn import INNModel
from hepgen.generators.losses import LossConfig, mmd2, weighted_nll

F64 = torch.float64
BANDWIDTHS = [0.25, 0.5, 1.0, 2.0]
TINY = {"n_blocks": 2, "kind": "affine", "hidden": 8, "n_layers": 2}
DIM = 3


def normal(n: int, dim: int, seed: int, mean: float = 0.0) -> torch.Tensor:
    return torch.randn(n, dim, dtype=F64, generator=torch.Generator().manual_seed(seed)) + mean


# --- LossConfig ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value, nll, mmd",
    [(None, 1.0, 0.0), ("nll", 1.0, 0.0), ("mmd", 0.0, 1.0), ("nll+mmd", 1.0, 1.0)],
)
def test_parse_shorthands(value, nll, mmd):
    config = LossConfig.parse(value)
    assert (config.nll, config.mmd) == (nll, mmd)
    assert config.mmd_space == "latent"
    assert config.mmd_bandwidths == BANDWIDTHS
    assert not config.needs_data_samples


def test_parse_dict():
    config = LossConfig.parse({"nll": 0.5, "mmd": 2, "mmd_space": "data",
                               "mmd_bandwidths": [1, 3]})
    assert (config.nll, config.mmd, config.mmd_space) == (0.5, 2, "data")
    assert config.mmd_bandwidths == [1.0, 3.0]
    assert all(isinstance(b, float) for b in config.mmd_bandwidths)
    assert config.needs_data_samples
    assert LossConfig.parse({"mmd": 1.0, "mmd_space": "both"}).needs_data_samples
    # a data-space weight of zero needs no samples
    assert not LossConfig.parse({"mmd": 0.0, "mmd_space": "data"}).needs_data_samples
    assert LossConfig.parse(config.to_dict()) == config


@pytest.mark.parametrize(
    "value, match",
    [("kl", "loss must be one of"), ("NLL", "loss must be one of"),
     ({"mmd_spaces": "data"}, r"unknown loss option\(s\) \['mmd_spaces'\]"),
     ({"nll": -1.0, "mmd": 1.0}, "loss weights"), ({"mmd": -0.5}, "loss weights"),
     ({"nll": 0.0, "mmd": 0.0}, "positive sum"), ({"mmd": 1.0, "mmd_space": "z"}, "mmd_space"),
     ({"mmd_bandwidths": [1.0, 0.0]}, "mmd_bandwidths"),
     ({"mmd_bandwidths": [-1.0]}, "mmd_bandwidths"), ({"mmd_bandwidths": []}, "mmd_bandwidths")],
)
def test_parse_errors(value, match):
    with pytest.raises(ValueError, match=match):
        LossConfig.parse(value)


def test_model_rejects_a_bad_loss():
    with pytest.raises(ValueError, match="mmd_space"):
        INNModel(DIM, 0, {**TINY, "loss": {"mmd": 1.0, "mmd_space": "x"}})
    with pytest.raises(ValueError, match="loss must be one of"):
        INNModel(DIM, 0, {**TINY, "loss": "elbo"})


# --- weighted NLL -------------------------------------------------------------------------------
def test_weighted_nll():
    log_prob = torch.tensor([-3.0, -6.0], dtype=F64)
    assert weighted_nll(log_prob, 3, None).item() == pytest.approx(1.5, abs=1e-15)
    weights = torch.tensor([0.5, 1.5], dtype=F64)
    assert weighted_nll(log_prob, 3, weights).item() == pytest.approx((0.5 + 3.0) / 2, abs=1e-15)


# --- MMD ----------------------------------------------------------------------------------------
def test_mmd_of_a_sample_with_itself_is_zero():
    x = normal(200, DIM, 0)
    assert mmd2(x, x, BANDWIDTHS).item() < 1e-12
    assert mmd2(x, x.clone(), BANDWIDTHS).item() >= 0.0


def test_mmd_of_two_points_by_hand():
    """One point each at distance d: MMD^2 = sum_h 2 (1 - exp(-d^2 / (2 h^2)))."""
    x = torch.tensor([[0.0, 0.0]], dtype=F64)
    y = torch.tensor([[0.6, 0.8]], dtype=F64)  # d = 1
    expected = sum(2.0 * (1.0 - math.exp(-1.0 / (2.0 * h * h))) for h in BANDWIDTHS)
    assert mmd2(x, y, BANDWIDTHS).item() == pytest.approx(expected, abs=1e-12)


def test_mmd_separates_shifted_distributions():
    x, same, shifted = normal(500, 3, 1), normal(500, 3, 2), normal(500, 3, 3, mean=1.0)
    null = mmd2(x, same, BANDWIDTHS).item()
    alternative = mmd2(x, shifted, BANDWIDTHS).item()
    assert alternative > 0.1
    assert alternative > 10 * null


def test_unweighted_mmd_is_symmetric():
    x, y = normal(120, 3, 4), normal(80, 3, 5, mean=0.3)
    torch.testing.assert_close(mmd2(x, y, BANDWIDTHS), mmd2(y, x, BANDWIDTHS), rtol=0,
                               atol=1e-14)


def test_mmd_weights():
    x, y = normal(100, 3, 6), normal(90, 3, 7, mean=0.5)
    plain = mmd2(x, y, BANDWIDTHS)
    unit = mmd2(x, y, BANDWIDTHS, x_weights=torch.ones(100, dtype=F64))
    torch.testing.assert_close(unit, plain, rtol=0, atol=1e-14)
    # weight 2 on the first half and 0 on the second (mean 1) == the first half alone
    weights = torch.cat([torch.full((50,), 2.0, dtype=F64), torch.zeros(50, dtype=F64)])
    halved = mmd2(x, y, BANDWIDTHS, x_weights=weights)
    assert abs(halved.item() - plain.item()) > 1e-4
    torch.testing.assert_close(halved, mmd2(x[:50], y, BANDWIDTHS), rtol=0, atol=1e-12)


def test_mmd_is_differentiable():
    x = normal(30, 2, 8).requires_grad_(True)
    mmd2(x, normal(30, 2, 9, mean=1.0), BANDWIDTHS).backward()
    assert x.grad is not None and x.grad.abs().max() > 1e-4


# --- INNModel.loss ------------------------------------------------------------------------------
def build(loss, seed: int = 0) -> INNModel:
    torch.manual_seed(seed)
    default = torch.get_default_dtype()
    torch.set_default_dtype(F64)
    try:
        model = INNModel(DIM, 0, {**TINY, "loss": loss})
    finally:
        torch.set_default_dtype(default)
    with torch.no_grad():  # move away from the near-identity start
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return model


def data(n: int = 40) -> torch.Tensor:
    return normal(n, DIM, 10, mean=0.5)


@pytest.mark.parametrize("loss", ["mmd", "nll+mmd", {"mmd": 1.0, "mmd_space": "data"},
                                  {"nll": 1.0, "mmd": 0.5, "mmd_space": "both"}])
def test_mmd_losses_are_finite_and_reach_every_parameter(loss):
    model = build(loss)
    value = model.loss(data(), None)
    assert value.dim() == 0 and torch.isfinite(value)
    value.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().max() > 0, name


@pytest.mark.parametrize("space", ["latent", "both"])
def test_nll_plus_mmd_is_the_sum_of_its_parts(space):
    models = {name: build(cfg) for name, cfg in [
        ("sum", {"nll": 1.0, "mmd": 1.0, "mmd_space": space}),
        ("nll", {"nll": 1.0, "mmd": 0.0}),
        ("mmd", {"nll": 0.0, "mmd": 1.0, "mmd_space": space})]}
    x = data()
    values = {}
    for name, model in models.items():
        torch.manual_seed(123)
        values[name] = model.loss(x, None).item()
    assert values["mmd"] > 1e-3
    assert values["sum"] == pytest.approx(values["nll"] + values["mmd"], abs=1e-10)
    # the NLL part is the mean negative log-density per dimension
    expected_nll = -models["nll"].log_prob(x).mean().item() / DIM
    assert values["nll"] == pytest.approx(expected_nll, abs=1e-12)


def test_weighted_mmd_loss_uses_the_weights():
    model = build("mmd")
    x = data()
    weights = torch.cat([torch.full((20,), 2.0, dtype=F64), torch.zeros(20, dtype=F64)])
    torch.manual_seed(5)
    weighted = model.loss(x, None, weights).item()
    torch.manual_seed(5)
    unit = model.loss(x, None, torch.ones(40, dtype=F64)).item()
    torch.manual_seed(5)
    plain = model.loss(x, None).item()
    assert unit == pytest.approx(plain, abs=1e-12)
    assert abs(weighted - plain) > 1e-5
