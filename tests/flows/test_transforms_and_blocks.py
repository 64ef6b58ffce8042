"""Element-wise bijections, coupling blocks, rotations, ActNorm and the coupling INN (float64)."""

from __future__ import annotations

import math

import pytest
import torch

from hepgen.flows.blocks import ActNorm, CouplingBlock, FixedRotation
from hepgen.flows.conditioners import LAST_LAYER_INIT_SCALE, MLP, mlp_factory
from hepgen.flows.inn import CouplingINN, INNConfig
from hepgen.flows.transforms import (
    AffineTransform,
    SplineTransform,
    make_transform,
    soft_clamp,
)

F64 = torch.float64


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_soft_clamp_is_bounded_odd_and_has_slope_two_over_pi_at_zero():
    """(2 alpha / pi) atan(s / alpha), the FrEIA/arXiv 2110.13632 form."""
    s = torch.tensor([-1e6, -3.0, 0.0, 1e-4, 3.0, 1e6], dtype=F64)
    out = soft_clamp(s, 2.0)
    assert (out.abs() < 2.0).all()
    assert out[2] == 0.0 and out[3] == pytest.approx(2e-4 / math.pi, rel=1e-6)
    assert out[1] == -out[4] and out[4] == pytest.approx(4 / math.pi * math.atan(1.5))
    assert out[-1] == pytest.approx(2.0, rel=1e-5) and out[0] == pytest.approx(-2.0, rel=1e-5)


def test_affine_transform_values_and_inverse():
    t = AffineTransform(clamp=2.0)
    x = torch.tensor([[1.0, -2.0]], dtype=F64)
    params = torch.tensor([[[0.5, 1.0], [-0.25, 0.0]]], dtype=F64)  # (B, D, 2): raw s, shift
    y, ld = t.forward(x, params)
    s = soft_clamp(params[..., 0], 2.0)
    torch.testing.assert_close(y, x * torch.exp(s) + params[..., 1])
    torch.testing.assert_close(ld, s.sum(-1))
    back, ld_inv = t.inverse(y, params)
    torch.testing.assert_close(back, x, rtol=0, atol=1e-14)
    torch.testing.assert_close(ld_inv, -ld)


@pytest.mark.parametrize("kind", ["affine", "spline"])
def test_elementwise_logdet_is_the_derivative(kind):
    t = make_transform(kind, bins=5, bound=3.0)
    n = 40
    x = torch.linspace(-4.5, 4.5, n, dtype=F64)[:, None]  # inside and outside the spline bound
    params = torch.randn(n, 1, t.n_params, dtype=F64, generator=_gen(1))
    y, ld = t.forward(x, params)
    dy = torch.autograd.functional.jacobian(lambda v: t.forward(v[:, None], params)[0][:, 0],
                                            x[:, 0])
    torch.testing.assert_close(ld, torch.log(torch.diagonal(dy)), rtol=0, atol=1e-10)
    back, ld_inv = t.inverse(y, params)
    torch.testing.assert_close(back, x, rtol=0, atol=1e-10)
    torch.testing.assert_close(ld_inv, -ld, rtol=0, atol=1e-10)


def test_spline_is_identity_outside_its_bound_and_monotonic_inside():
    t = SplineTransform(bins=6, bound=2.0)
    params = torch.randn(1, 1, t.n_params, dtype=F64, generator=_gen(2)).expand(200, 1, -1)
    x = torch.linspace(-4.0, 4.0, 200, dtype=F64)[:, None]
    y, ld = t.forward(x, params)
    outside = x.abs()[:, 0] > 2.0
    torch.testing.assert_close(y[outside], x[outside], rtol=0, atol=1e-12)
    torch.testing.assert_close(ld[outside], torch.zeros_like(ld[outside]), rtol=0, atol=1e-12)
    assert (y[1:, 0] > y[:-1, 0]).all()
    inside = ~outside
    assert (y[inside] - x[inside]).abs().max() > 1e-2  # a non-trivial spline in between
    assert t.n_params == 3 * 6 - 1


def test_make_transform_rejects_unknown_kind():
    with pytest.raises(ValueError, match="affine"):
        make_transform("cubic")


def test_fixed_rotation_is_orthogonal_seeded_and_volume_preserving():
    default = torch.get_default_dtype()
    torch.set_default_dtype(F64)
    try:
        rot, same, other = FixedRotation(7, seed=3), FixedRotation(7, seed=3), FixedRotation(7, 4)
    finally:
        torch.set_default_dtype(default)
    m = rot.matrix
    torch.testing.assert_close(m @ m.T, torch.eye(7, dtype=F64), rtol=0, atol=1e-12)
    assert torch.equal(m, same.matrix) and not torch.allclose(m, other.matrix)
    x = torch.randn(5, 7, dtype=F64, generator=_gen(0))
    y, ld = rot(x)
    assert torch.equal(ld, torch.zeros(5, dtype=F64))
    torch.testing.assert_close(rot.inverse(y)[0], x, rtol=0, atol=1e-12)
    assert "matrix" in rot.state_dict()  # saved with the model


def test_actnorm_logdet_and_inverse():
    norm = ActNorm(4).double()
    with torch.no_grad():
        norm.log_scale.copy_(torch.tensor([0.1, -0.2, 0.3, 0.0]))
        norm.shift.copy_(torch.tensor([1.0, 2.0, -1.0, 0.5]))
    x = torch.randn(3, 4, dtype=F64, generator=_gen(0))
    y, ld = norm(x)
    torch.testing.assert_close(ld, torch.full((3,), 0.2, dtype=F64))
    back, ld_inv = norm.inverse(y)
    torch.testing.assert_close(back, x, rtol=0, atol=1e-14)
    torch.testing.assert_close(ld_inv, -ld)


@pytest.mark.parametrize("kind", ["affine", "spline"])
def test_coupling_block_keeps_the_first_half_and_conditions_on_c(kind):
    torch.manual_seed(0)
    block = CouplingBlock(5, 2, make_transform(kind, bins=4), mlp_factory(16, 2)).double()
    with torch.no_grad():
        for p in block.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=_gen(7), dtype=F64))
    x = torch.randn(6, 5, dtype=F64, generator=_gen(1))
    c = torch.randn(6, 2, dtype=F64, generator=_gen(2))
    y, _ = block(x, c)
    assert torch.equal(y[:, :2], x[:, :2])
    assert (y[:, 2:] - x[:, 2:]).abs().max() > 1e-3
    y_other_c, _ = block(x, c + 1.0)
    assert (y_other_c[:, 2:] - y[:, 2:]).abs().max() > 1e-4, "the condition must matter"
    torch.testing.assert_close(block.inverse(y, c)[0], x, rtol=0, atol=1e-10)


def test_coupling_block_needs_two_dimensions():
    with pytest.raises(ValueError, match="dim >= 2"):
        CouplingBlock(1, 0, make_transform("affine"), mlp_factory(8, 1))


def test_mlp_last_layer_starts_small():
    torch.manual_seed(0)
    small = MLP(6, 10, hidden=32, n_layers=2)
    torch.manual_seed(0)
    reference = torch.nn.Linear(32, 10)  # what the default init would give for that shape
    last = small.net[-1]
    assert last.weight.abs().max() <= LAST_LAYER_INIT_SCALE / math.sqrt(32) + 1e-9
    assert reference.weight.abs().max() > 5 * last.weight.abs().max()
    with pytest.raises(ValueError, match="activation"):
        MLP(2, 2, activation="tanh-ish")


def test_inn_density_integrates_to_one():
    """exp(log_prob) of a perturbed 2-d spline INN integrates to 1 on a grid."""
    default = torch.get_default_dtype()
    torch.set_default_dtype(F64)
    try:
        torch.manual_seed(0)
        flow = CouplingINN(2, 0, INNConfig(n_blocks=3, kind="spline", hidden=16, bins=4))
    finally:
        torch.set_default_dtype(default)
    with torch.no_grad():
        for p in flow.parameters():
            p.add_(0.5 * torch.randn(p.shape, generator=_gen(3), dtype=F64))
        grid = torch.linspace(-9.0, 9.0, 361, dtype=F64)
        xx, yy = torch.meshgrid(grid, grid, indexing="ij")
        pts = torch.stack([xx.ravel(), yy.ravel()], dim=-1)
        density = flow.log_prob(pts).exp()
    cell = float(grid[1] - grid[0]) ** 2
    assert float(density.sum()) * cell == pytest.approx(1.0, abs=2e-3)


def test_inn_sample_is_seeded_by_the_generator():
    torch.manual_seed(0)
    flow = CouplingINN(4, 0, INNConfig(n_blocks=2, kind="affine", hidden=8))
    a = flow.sample(10, generator=_gen(5))
    b = flow.sample(10, generator=_gen(5))
    c = flow.sample(10, generator=_gen(6))
    assert a.shape == (10, 4)
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize(("dtype", "tol"), [(torch.float64, 1e-10), (torch.float32, 2e-3)])
def test_hand_written_spline_inverse_matches_zuko(dtype, tol):
    from zuko.transforms import MonotonicRQSTransform

    from hepgen.flows.transforms import rqs_inverse

    gen = torch.Generator().manual_seed(3)
    bins, bound = 7, 4.0
    y = torch.randn(3000, 5, generator=gen, dtype=dtype) * 3  # many points in the linear tails
    y[:5], y[5:10] = bound, -bound
    params = torch.randn(3000, 5, 3 * bins - 1, generator=gen, dtype=dtype) * 2
    ref = MonotonicRQSTransform(
        params[..., :bins], params[..., bins : 2 * bins], params[..., 2 * bins :], bound=bound
    ).inv(y)
    got = rqs_inverse(y, params, bins, bound)
    assert got.shape == y.shape
    assert (got - ref).abs().max().item() < tol
    outside = y.abs() > bound
    assert outside.any() and torch.equal(got[outside], y[outside])
