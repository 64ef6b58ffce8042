"""The property test that runs over every registered generator family (design.md, "Conventions").

Families come from :func:`hepgen.generators.base.available` at collection time, so a family
added later (through the ``hepgen.generators`` entry points) is picked up without editing this
file; coupling families (those built on :class:`~hepgen.generators.inn.INNModel`) run with both
``kind="affine"`` and ``kind="spline"``. Checked per family:

* shapes of ``sample`` / ``forward`` / ``inverse`` / ``log_prob`` (with and without condition);
* ``loss.backward()`` reaches every parameter (Bayesian log-variances through the KL term and
  the local reparameterisation);
* ``inverse(forward(x)) == x`` in float64 to 1e-6, with opposite log-determinants (``invertible``);
* the log-determinant equals ``slogdet`` of the autograd Jacobian in float64, per event;
* save -> load (``EventGenerator.save`` / ``EventGenerator.load``) gives identical samples for the
  same seed;
* sampled events respect the physics domain: jet pT >= 20 GeV, |eta| < 5, phi in (-pi, pi],
  masses >= 0, 1-3 jets, also for posterior draws of Bayesian families.

A new family whose default config is slow to build may add a tiny config to FAMILY_CONFIGS.
"""

from __future__ import annotations

import math
from typing import Any

import awkward as ak
import numpy as np
import pytest
import torch

from hepgen.generators.base import FeatureModel, available, get
from hepgen.generators.event import EventGenerator
from hepgen.generators.inn import INNModel
from hepgen.physics.constants import JET_ABS_ETA_MAX, JET_PT_MIN, MAX_JETS, MIN_JETS
from hepgen.physics.events import n_jets

#: Tiny architecture of the coupling families (fast: the whole file runs in seconds).
COUPLING_CONFIG: dict[str, Any] = {"n_blocks": 2, "hidden": 16, "n_layers": 2, "bins": 4}
#: Tiny configs of other families, by registry name (default: the family's own defaults).
FAMILY_CONFIGS: dict[str, dict[str, Any]] = {}
#: Extra options of coupling families on top of COUPLING_CONFIG (small circuits: fast).
COUPLING_EXTRA: dict[str, dict[str, Any]] = {
    "qinn": {"n_qubits": 3, "q_layers": 2, "readout": "zz"},
    "hybrid-qinn": {"n_qubits": 3, "q_layers": 2},
}
#: Feature dimension of the 1-jet model and a condition width for the conditional checks.
DIM = 9
COND_DIM = 3
BATCH = 7


def _is_coupling(family: str) -> bool:
    return issubclass(get(family), INNModel)


def _cases() -> list[Any]:
    cases = []
    for family in available():
        kinds = ("affine", "spline") if _is_coupling(family) else (None,)
        for kind in kinds:
            cases.append(pytest.param((family, kind), id=f"{family}-{kind}" if kind else family))
    return cases


CASES = _cases()


def config_of(family: str, kind: str | None) -> dict[str, Any]:
    if kind is None:
        return dict(FAMILY_CONFIGS.get(family, {}))
    return {**COUPLING_CONFIG, **COUPLING_EXTRA.get(family, {}), "kind": kind}


def cases_where(*attributes: str) -> list[Any]:
    """The cases whose family class has every one of ``attributes`` true (e.g. ``invertible``)."""
    return [c for c in CASES if all(getattr(get(c.values[0][0]), a) for a in attributes)]


def build(case: tuple[str, str | None], cond_dim: int = 0, seed: int = 0) -> FeatureModel:
    """A float64 feature model whose parameters are moved away from the near-identity start, so
    that every check sees a non-trivial map (couplings start at 2% of their init scale)."""
    family, kind = case
    torch.manual_seed(seed)
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # built in float64: fixed rotations exact in float64
    try:
        model = get(family)(DIM, cond_dim, config_of(family, kind)).double()
    finally:
        torch.set_default_dtype(default)
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "logvar" in name:  # Bayesian log-variances: wider posteriors, still small
                param.add_(2.0)
            else:
                param.add_(0.3 * torch.randn(param.shape, generator=gen, dtype=param.dtype))
    return model.eval()


def _inputs(cond_dim: int, seed: int = 3) -> tuple[torch.Tensor, torch.Tensor | None]:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(BATCH, DIM, generator=gen, dtype=torch.float64)
    c = torch.randn(BATCH, cond_dim, generator=gen, dtype=torch.float64) if cond_dim else None
    return x, c


def test_every_family_is_covered():
    """The registry lists the built-in families and each is collected here."""
    names = {c.values[0][0] for c in CASES}
    assert {"inn", "binn"} <= names
    assert names == set(available())
    assert {c.values[0][1] for c in CASES if c.values[0][0] == "inn"} == {"affine", "spline"}


# --- shapes -----------------------------------------------------------------------------------
@pytest.mark.parametrize("cond_dim", [0, COND_DIM])
@pytest.mark.parametrize("case", CASES)
def test_shapes(case, cond_dim):
    model = build(case, cond_dim)
    x, c = _inputs(cond_dim)
    cls = type(model)
    gen = torch.Generator().manual_seed(0)
    samples = model.sample(BATCH, c, gen)
    assert samples.shape == (BATCH, DIM)
    assert torch.isfinite(samples).all()
    if cls.has_log_prob:
        lp = model.log_prob(x, c)
        assert lp.shape == (BATCH,) and torch.isfinite(lp).all()
    if cls.invertible:
        z, ld = model(x, c)
        assert z.shape == (BATCH, DIM) and ld.shape == (BATCH,)
        back, ld_inv = model.inverse(z, c)
        assert back.shape == (BATCH, DIM) and ld_inv.shape == (BATCH,)


@pytest.mark.parametrize("case", cases_where("has_log_prob", "invertible"))
def test_log_prob_is_standard_normal_latent_plus_logdet(case):
    """For invertible families log p(x) = log N(z; 0, 1) + log|det dz/dx|."""
    model = build(case)
    x, _ = _inputs(0)
    z, ld = model(x)
    expected = -0.5 * (z**2).sum(-1) - 0.5 * DIM * math.log(2 * math.pi) + ld
    torch.testing.assert_close(model.log_prob(x), expected, rtol=1e-12, atol=1e-12)


# --- gradients --------------------------------------------------------------------------------
@pytest.mark.parametrize("cond_dim", [0, COND_DIM])
@pytest.mark.parametrize("case", cases_where("gradient_trained"))
def test_gradients_reach_every_parameter(case, cond_dim):
    model = build(case, cond_dim).train()
    model.n_train_hint(100)
    x, c = _inputs(cond_dim)
    torch.manual_seed(5)
    loss = model.loss(x, c)
    assert loss.shape == () and torch.isfinite(loss)
    loss.backward()
    params = dict(model.named_parameters())
    assert params, "a gradient-trained family needs parameters"
    missing = [n for n, p in params.items() if p.grad is None]
    zero = [n for n, p in params.items() if p.grad is not None and not p.grad.abs().sum() > 0]
    assert not missing, f"no gradient for {missing}"
    assert not zero, f"all-zero gradient for {zero}"
    nonfinite = [n for n, p in params.items() if not torch.isfinite(p.grad).all()]
    assert not nonfinite


@pytest.mark.parametrize("case", cases_where("gradient_trained"))
def test_weighted_loss_uses_the_weights(case):
    """Per-event weights change the loss; unit weights give the unweighted loss."""
    model = build(case)
    x, _ = _inputs(0)
    plain = model.loss(x, None)
    torch.testing.assert_close(model.loss(x, None, torch.ones(BATCH, dtype=x.dtype)), plain)
    w = torch.linspace(0.2, 1.8, BATCH, dtype=x.dtype)
    assert not torch.allclose(model.loss(x, None, w), plain)


# --- invertibility and log-det ----------------------------------------------------------------
@pytest.mark.parametrize("cond_dim", [0, COND_DIM])
@pytest.mark.parametrize("case", cases_where("invertible"))
def test_inverse_of_forward_is_identity(case, cond_dim):
    model = build(case, cond_dim)
    x, c = _inputs(cond_dim)
    x = 2.0 * x  # reach into the tails (splines are the identity beyond their bound)
    z, ld = model(x, c)
    assert not torch.allclose(z, x, atol=1e-3), "the map should not be the identity"
    back, ld_inv = model.inverse(z, c)
    torch.testing.assert_close(back, x, rtol=0, atol=1e-6)
    torch.testing.assert_close(ld + ld_inv, torch.zeros_like(ld), rtol=0, atol=1e-6)
    # and the other way round, from the latent side
    z2 = torch.randn(BATCH, DIM, dtype=torch.float64, generator=torch.Generator().manual_seed(9))
    x2, _ = model.inverse(z2, c)
    torch.testing.assert_close(model(x2, c)[0], z2, rtol=0, atol=1e-6)
    if hasattr(model, "posterior_draw"):  # Bayesian families: each posterior draw is exact too
        drawn = model.posterior_draw(3)
        z3, ld3 = drawn(x, c)
        assert (z3 - z).abs().max() > 1e-6, "a posterior draw should differ from the mean"
        back3, ld3_inv = drawn.inverse(z3, c)
        torch.testing.assert_close(back3, x, rtol=0, atol=1e-6)
        torch.testing.assert_close(ld3 + ld3_inv, torch.zeros_like(ld3), rtol=0, atol=1e-6)


@pytest.mark.parametrize("cond_dim", [0, COND_DIM])
@pytest.mark.parametrize("case", cases_where("invertible"))
def test_logdet_matches_autograd_jacobian(case, cond_dim):
    model = build(case, cond_dim)
    x, c = _inputs(cond_dim)
    with torch.no_grad():
        z, ld = model(x, c)
        _, ld_inv = model.inverse(z, c)
    for i in range(3):
        ci = c[i : i + 1] if c is not None else None
        jac = torch.autograd.functional.jacobian(lambda v, ci=ci: model(v[None], ci)[0][0], x[i])
        sign, logabsdet = torch.linalg.slogdet(jac)
        assert sign != 0
        assert abs(float(logabsdet) - float(ld[i])) < 1e-8, (float(logabsdet), float(ld[i]))
        jac_inv = torch.autograd.functional.jacobian(
            lambda v, ci=ci: model.inverse(v[None], ci)[0][0], z[i]
        )
        logabsdet_inv = float(torch.linalg.slogdet(jac_inv).logabsdet)
        assert abs(logabsdet_inv - float(ld_inv[i])) < 1e-8, (logabsdet_inv, float(ld_inv[i]))
    assert ld.abs().max() > 1e-2, "log-det should be non-trivial for a perturbed model"


# --- event level: save/load and physics domains -----------------------------------------------
def _fitted_generator(case, make_events, seed: int = 0, scale: float = 1.0) -> EventGenerator:
    """An EventGenerator with preprocessing fitted on toys (1-3 jets) and perturbed weights;
    ``scale`` > 1 widens the latent->feature map so that many draws leave the physics domain."""
    family, kind = case
    torch.manual_seed(seed)
    generator = EventGenerator(family, config_of(family, kind))
    generator.fit_preprocessing(make_events(300, seed=11))
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, param in generator.named_parameters():
            if "logvar" in name:
                param.add_(2.0)
            elif name.endswith("log_scale"):  # ActNorm (data side): x = (y - b) / exp(s)
                param.fill_(-math.log(scale))
            else:
                param.add_(0.1 * torch.randn(param.shape, generator=gen, dtype=param.dtype))
    return generator.eval()


def _arrays(events: ak.Array) -> dict[str, np.ndarray]:
    out = {}
    for coll in ("Muon", "Jet"):
        for field in ak.fields(events[coll]):
            out[f"{coll}.{field}"] = ak.to_numpy(ak.flatten(events[coll][field]))
        out[f"n{coll}"] = ak.to_numpy(ak.num(events[coll], axis=1))
    return out


def assert_same_events(a: ak.Array, b: ak.Array) -> None:
    left, right = _arrays(a), _arrays(b)
    assert left.keys() == right.keys()
    for key in left:
        np.testing.assert_array_equal(left[key], right[key], err_msg=key)


@pytest.mark.parametrize("case", CASES)
def test_save_load_gives_identical_samples(case, make_events, tmp_path):
    generator = _fitted_generator(case, make_events)
    generator.save(tmp_path / "model")
    loaded, extra = EventGenerator.load(tmp_path / "model")
    assert extra == {}
    assert loaded.family == case[0] and loaded.fractions == generator.fractions
    for key, value in generator.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    before, _ = generator.sample_events(300, seed=42)
    after, _ = loaded.sample_events(300, seed=42)
    assert_same_events(before, after)
    other, _ = loaded.sample_events(300, seed=43)
    assert not np.array_equal(_arrays(other)["Jet.pt"][:50], _arrays(after)["Jet.pt"][:50])
    if hasattr(loaded.model(1), "posterior_draw"):
        draw_a, _ = generator.sample_events(200, seed=1, draw_model=generator.posterior_models(2))
        draw_b, _ = loaded.sample_events(200, seed=1, draw_model=loaded.posterior_models(2))
        assert_same_events(draw_a, draw_b)


def assert_physics_domain(events: ak.Array) -> None:
    jets, muons = events.Jet, events.Muon
    counts = n_jets(events)
    assert counts.min() >= MIN_JETS and counts.max() <= MAX_JETS
    assert set(np.unique(counts)) == set(range(MIN_JETS, MAX_JETS + 1))
    jet_pt = ak.to_numpy(ak.flatten(jets.pt))
    assert jet_pt.min() >= JET_PT_MIN
    assert np.abs(ak.to_numpy(ak.flatten(jets.eta))).max() < JET_ABS_ETA_MAX
    for coll in (jets, muons):
        phi = ak.to_numpy(ak.flatten(coll.phi))
        assert (phi > -np.pi).all() and (phi <= np.pi).all()
        assert (ak.to_numpy(ak.flatten(coll.mass)) >= 0).all()
        for field in ("pt", "eta", "phi", "mass"):
            assert np.isfinite(ak.to_numpy(ak.flatten(coll[field]))).all()
    assert (ak.to_numpy(ak.num(muons, axis=1)) == 2).all()
    assert (ak.to_numpy(ak.sum(muons.charge, axis=1)) == 0).all()
    # objects come out pT-ordered
    assert ak.all(jets.pt[:, :-1] >= jets.pt[:, 1:])


@pytest.mark.parametrize("case", CASES)
def test_samples_respect_physics_domain(case, make_events):
    """A model wider than the data sends many draws out of the domain (jets below the pT cut,
    |eta| >= 5, negative masses); the events handed out must all be inside."""
    generator = _fitted_generator(case, make_events, scale=1.5)
    events, rejected = generator.sample_events(400, seed=7)
    assert len(events) == 400
    assert sum(rejected.values()) > 0, "the wide model should have produced rejected draws"
    assert_physics_domain(events)
    if hasattr(generator.model(1), "posterior_draw"):
        drawn, _ = generator.sample_events(200, seed=7, draw_model=generator.posterior_models(1))
        assert_physics_domain(drawn)
