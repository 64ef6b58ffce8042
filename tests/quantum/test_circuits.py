"""Conditioner circuits: configuration checks, hand-derived expectation values, gradients of the
quantum conditioner (backprop == parameter-shift == finite differences == adjoint), depolarising
noise on a mixed-state simulator and finite-shot estimates.

Everything runs on 2-3 qubits, 1-2 layers and a handful of events (seconds in all).
"""

from __future__ import annotations

import math

import pennylane as qml
import pytest
import torch

from hepgen.quantum.circuits import CircuitConfig, conditioner_circuit
from hepgen.quantum.conditioner import QuantumConditioner, quantum_factory
from hepgen.quantum.devices import Execution, make_qnode

pytestmark = pytest.mark.quantum

F64 = torch.float64
N_IN, N_OUT, BATCH = 3, 4, 3


def evaluate(config: CircuitConfig, execution: Execution, angles, weights) -> torch.Tensor:
    """The circuit's readout stacked to shape (B, n_outputs), in float64."""
    qnode = make_qnode(config, execution)
    values = qnode(torch.as_tensor(angles, dtype=F64), torch.as_tensor(weights, dtype=F64))
    return torch.stack([torch.as_tensor(v) for v in values], dim=-1).to(F64)


def build_conditioner(config: CircuitConfig, execution: Execution, seed: int = 0
                      ) -> QuantumConditioner:
    """A float64 QuantumConditioner whose head is not near zero (the init scales it by 0.02)."""
    torch.manual_seed(seed)
    default = torch.get_default_dtype()
    torch.set_default_dtype(F64)
    try:
        conditioner = QuantumConditioner(N_IN, N_OUT, config, execution)
        with torch.no_grad():
            conditioner.head.weight.normal_()
            conditioner.head.bias.normal_()
    finally:
        torch.set_default_dtype(default)
    return conditioner


def inputs(batch: int = BATCH, seed: int = 1) -> torch.Tensor:
    return torch.randn(batch, N_IN, dtype=F64, generator=torch.Generator().manual_seed(seed))


# --- CircuitConfig ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, match",
    [({"n_qubits": 1}, "n_qubits"), ({"n_qubits": 0}, "n_qubits"),
     ({"n_layers": 0}, "q_layers"), ({"readout": "x"}, "readout"),
     ({"readout": "ZZ"}, "readout"), ({"noise": -0.1}, "noise"), ({"noise": 1.0}, "noise"),
     ({"noise": 1.5}, "noise")],
)
def test_circuit_config_rejects_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CircuitConfig(**kwargs)


def test_circuit_config_accepts_edge_values():
    config = CircuitConfig(n_qubits=2, n_layers=1, readout="zz", noise=0.0)
    assert config.to_dict() == {"n_qubits": 2, "n_layers": 1, "readout": "zz", "noise": 0.0}
    assert CircuitConfig(noise=0.999).noise == 0.999


@pytest.mark.parametrize(
    "n_qubits, readout, pairs, n_outputs",
    [(2, "z", [(0, 1)], 2), (2, "zz", [(0, 1)], 3), (3, "z", [(0, 1), (1, 2), (2, 0)], 3),
     (3, "zz", [(0, 1), (1, 2), (2, 0)], 6), (4, "zz", [(0, 1), (1, 2), (2, 3), (3, 0)], 8)],
)
def test_readout_size_and_ring_pairs(n_qubits, readout, pairs, n_outputs):
    config = CircuitConfig(n_qubits=n_qubits, n_layers=2, readout=readout)
    assert config.pairs == pairs
    assert config.n_outputs == n_outputs
    assert config.weight_shape == (2, n_qubits, 3)


@pytest.mark.parametrize("n_qubits, n_layers", [(2, 1), (3, 2), (6, 3)])
def test_gate_parameter_count(n_qubits, n_layers):
    """One RY encoding angle plus three Rot angles per qubit and layer."""
    config = CircuitConfig(n_qubits=n_qubits, n_layers=n_layers)
    assert config.n_gate_parameters == n_layers * n_qubits * (1 + 3)
    tape = qml.tape.make_qscript(conditioner_circuit)(
        torch.zeros(n_layers, n_qubits), torch.ones(config.weight_shape), config)
    (expanded,), _ = qml.decompose(tape, gate_set={"RY", "Rot", "CNOT"})
    assert expanded.num_params == config.n_gate_parameters
    assert sum(op.name == "CNOT" for op in expanded.operations) == n_layers * n_qubits


# --- readout physics ----------------------------------------------------------------------------
@pytest.mark.parametrize("readout", ["z", "zz"])
def test_readout_lies_in_unit_interval(readout):
    config = CircuitConfig(n_qubits=3, n_layers=2, readout=readout)
    gen = torch.Generator().manual_seed(3)
    angles = torch.randn(16, 2, 3, generator=gen, dtype=F64) * 3
    weights = torch.rand(config.weight_shape, generator=gen, dtype=F64) * 2 * math.pi
    values = evaluate(config, Execution(), angles, weights)
    assert values.shape == (16, config.n_outputs)
    assert values.abs().max() <= 1.0 + 1e-12
    assert values.std() > 0.1  # not trivially constant


@pytest.mark.parametrize("a, b", [(0.3, 0.0), (0.7, -1.1), (2.5, 0.4)])
def test_two_qubit_readout_by_hand(a, b):
    """Zero Rot angles leave only StronglyEntanglingLayers' CNOT(0,1), CNOT(1,0): the basis state
    |q0 q1> goes to |q1, q0 xor q1>. After RY(a) x RY(b) on |00> (a product state with <Z0> =
    cos a, <Z1> = cos b), hence <Z0> = cos b, <Z1> = cos a cos b, <Z0 Z1> = cos a."""
    config = CircuitConfig(n_qubits=2, n_layers=1, readout="zz")
    values = evaluate(config, Execution(), [[[a, b]]], torch.zeros(config.weight_shape))
    expected = torch.tensor([[math.cos(b), math.cos(a) * math.cos(b), math.cos(a)]], dtype=F64)
    torch.testing.assert_close(values, expected, rtol=0, atol=1e-12)


def test_three_qubit_readout_by_hand():
    """CNOT ring 0->1, 1->2, 2->0 maps |q0 q1 q2> to |q1^q2, q0^q1, q0^q1^q2>, so with zero Rot
    angles <Z0> = cos b cos c, <Z1> = cos a cos b, <Z2> = cos a cos b cos c."""
    a, b, c = 0.4, -0.9, 1.3
    config = CircuitConfig(n_qubits=3, n_layers=1, readout="z")
    values = evaluate(config, Execution(), [[[a, b, c]]], torch.zeros(config.weight_shape))
    ca, cb, cc = math.cos(a), math.cos(b), math.cos(c)
    expected = torch.tensor([[cb * cc, ca * cb, ca * cb * cc]], dtype=F64)
    torch.testing.assert_close(values, expected, rtol=0, atol=1e-12)


def test_circuit_matches_an_explicit_gate_by_gate_circuit():
    """Two layers with general Rot angles and data re-uploading, against the same gates written
    out one by one."""
    config = CircuitConfig(n_qubits=3, n_layers=2, readout="zz")
    gen = torch.Generator().manual_seed(5)
    angles = torch.randn(4, 2, 3, generator=gen, dtype=F64)
    weights = torch.rand(config.weight_shape, generator=gen, dtype=F64) * 2 * math.pi
    device = qml.device("default.qubit", wires=3)

    @qml.qnode(device, interface="torch")
    def explicit(angles_event, w):
        for layer in range(2):
            for wire in range(3):
                qml.RY(angles_event[layer, wire], wires=wire)
            for wire in range(3):
                qml.Rot(w[layer, wire, 0], w[layer, wire, 1], w[layer, wire, 2], wires=wire)
            for wire in range(3):
                qml.CNOT(wires=[wire, (wire + 1) % 3])
        return ([qml.expval(qml.PauliZ(w_)) for w_ in range(3)]
                + [qml.expval(qml.PauliZ(i) @ qml.PauliZ((i + 1) % 3)) for i in range(3)])

    values = evaluate(config, Execution(), angles, weights)
    expected = torch.stack([torch.stack(list(explicit(angles[i], weights))) for i in range(4)])
    torch.testing.assert_close(values, expected.to(F64), rtol=0, atol=1e-12)


# --- gradients ----------------------------------------------------------------------------------
def scalar_of(output: torch.Tensor) -> torch.Tensor:
    """A non-linear scalar of the conditioner output that touches every output column."""
    coeff = torch.linspace(-1.0, 1.5, output.shape[-1], dtype=output.dtype)
    return (output * coeff).sum() + 0.3 * (output**2).sum()


def gradients(conditioner: QuantumConditioner, x: torch.Tensor) -> dict[str, torch.Tensor]:
    conditioner.zero_grad()
    scalar_of(conditioner(x)).backward()
    return {n: p.grad.detach().clone() for n, p in conditioner.named_parameters()}


@pytest.fixture(scope="module")
def gradient_setup():
    config = CircuitConfig(n_qubits=2, n_layers=2, readout="zz")
    reference = build_conditioner(config, Execution("default.qubit", "backprop"))
    x = inputs()
    return config, reference, x, gradients(reference, x)


def test_backprop_reaches_every_parameter(gradient_setup):
    _, reference, _, grads = gradient_setup
    assert set(grads) == {"encoder.weight", "encoder.bias", "weights", "head.weight", "head.bias"}
    for name, grad in grads.items():
        assert grad.dtype == F64, name
        assert grad.abs().max() > 1e-6, name


def test_parameter_shift_gradients_equal_backprop(gradient_setup):
    config, reference, x, grads = gradient_setup
    shifted = build_conditioner(config, Execution("default.qubit", "parameter-shift"))
    assert shifted.execution.diff_method == "parameter-shift"
    shifted.load_state_dict(reference.state_dict())
    torch.testing.assert_close(shifted(x), reference(x), rtol=0, atol=1e-12)
    other = gradients(shifted, x)
    for name in grads:
        torch.testing.assert_close(other[name], grads[name], rtol=0, atol=1e-8, msg=name)


def test_backprop_gradients_equal_finite_differences(gradient_setup):
    _, reference, x, grads = gradient_setup
    step = 1e-6
    for index in [(0, 0, 0), (0, 1, 2), (1, 0, 1), (1, 1, 0)]:
        with torch.no_grad():
            original = reference.weights[index].item()
            reference.weights[index] = original + step
            up = scalar_of(reference(x)).item()
            reference.weights[index] = original - step
            down = scalar_of(reference(x)).item()
            reference.weights[index] = original
        numeric = (up - down) / (2 * step)
        assert abs(numeric - grads["weights"][index].item()) < 1e-6, index
    assert grads["weights"].abs().max() > 1e-3


def test_adjoint_on_lightning_equals_backprop(gradient_setup):
    config, reference, x, grads = gradient_setup
    adjoint = build_conditioner(config, Execution("lightning.qubit"))
    assert (adjoint.execution.qdevice, adjoint.execution.diff_method) == ("lightning.qubit",
                                                                          "adjoint")
    adjoint.load_state_dict(reference.state_dict())
    output = adjoint(x)
    assert output.dtype == F64  # the conditioner keeps the input's dtype
    torch.testing.assert_close(output, reference(x), rtol=0, atol=1e-4)
    other = gradients(adjoint, x)
    for name in grads:
        torch.testing.assert_close(other[name], grads[name], rtol=1e-4, atol=1e-4, msg=name)


@pytest.mark.parametrize("execution, tol", [(Execution("default.qubit", "parameter-shift"), 1e-12),
                                            (Execution("lightning.qubit"), 1e-4)])
def test_no_grad_path_equals_the_gradient_path(gradient_setup, execution, tol):
    """Without gradients the batch runs broadcast (no split into single-event tapes): same
    values as with gradients, and as backprop."""
    config, reference, x, _ = gradient_setup
    conditioner = build_conditioner(config, execution)
    conditioner.load_state_dict(reference.state_dict())
    with_grad = conditioner(x).detach()
    with torch.no_grad():
        without = conditioner(x)
        exact = reference(x)
    assert without.shape == (BATCH, N_OUT) and without.dtype == F64
    torch.testing.assert_close(without, with_grad, rtol=0, atol=tol)
    torch.testing.assert_close(without, exact, rtol=0, atol=tol)


def test_quantum_factory_builds_conditioners():
    config = CircuitConfig(n_qubits=2, n_layers=1)
    factory = quantum_factory(config, Execution())
    conditioner = factory(5, 7)
    assert isinstance(conditioner, QuantumConditioner)
    assert conditioner.encoder.in_features == 5 and conditioner.head.out_features == 7
    assert conditioner.encoder.out_features == config.n_layers * config.n_qubits
    out = conditioner(torch.randn(4, 5))
    assert out.shape == (4, 7)
    assert "qubits=2" in repr(conditioner) and "default.qubit" in repr(conditioner)


# --- noise --------------------------------------------------------------------------------------
def _noise_case(noise: float, qdevice: str, readout: str = "zz") -> torch.Tensor:
    config = CircuitConfig(n_qubits=3, n_layers=2, readout=readout, noise=noise)
    gen = torch.Generator().manual_seed(11)
    angles = torch.randn(5, 2, 3, generator=gen, dtype=F64)
    weights = torch.rand(config.weight_shape, generator=gen, dtype=F64) * 2 * math.pi
    return evaluate(config, Execution(qdevice), angles, weights)


def test_mixed_state_device_without_noise_equals_statevector():
    exact = _noise_case(0.0, "default.qubit")
    mixed = _noise_case(0.0, "default.mixed")
    torch.testing.assert_close(mixed, exact, rtol=0, atol=1e-10)
    assert exact.abs().max() > 0.1


def test_full_depolarisation_erases_the_readout():
    """p = 3/4 maps every single-qubit state to I/2: all Z and ZZ expectations vanish."""
    values = _noise_case(0.75, "auto")
    assert values.abs().max() < 1e-8


def test_weak_noise_shrinks_but_changes_the_readout():
    exact = _noise_case(0.0, "default.qubit")
    noisy = _noise_case(0.1, "auto")
    assert (noisy - exact).abs().max() > 1e-2
    assert noisy.abs().max() <= 1.0


def test_noisy_conditioner_is_differentiable():
    config = CircuitConfig(n_qubits=2, n_layers=1, noise=0.1)
    conditioner = build_conditioner(config, Execution())
    assert conditioner.execution.qdevice == "default.mixed"
    grads = gradients(conditioner, inputs())
    assert all(torch.isfinite(g).all() for g in grads.values())
    assert grads["weights"].abs().max() > 1e-6


# --- finite shots -------------------------------------------------------------------------------
def test_finite_shots_estimate_the_exact_expectations():
    shots = 20_000
    config = CircuitConfig(n_qubits=2, n_layers=1, readout="zz")
    exact = build_conditioner(config, Execution())
    sampled = build_conditioner(config, Execution(shots=shots))
    assert sampled.execution.diff_method == "parameter-shift"
    sampled.load_state_dict(exact.state_dict())
    x = inputs(batch=2)
    reference = exact.expectations(x).detach()
    first = sampled.expectations(x).detach()
    second = sampled.expectations(x).detach()
    assert first.shape == reference.shape == (2, config.n_outputs)
    assert first.dtype == F64
    assert (first - reference).abs().max() < 5 / math.sqrt(shots)
    assert (second - reference).abs().max() < 5 / math.sqrt(shots)
    assert not torch.equal(first, second)  # a fresh estimate on every call


@pytest.mark.parametrize("grad", [True, False], ids=["grad", "no-grad"])
def test_finite_shots_single_event_keeps_the_batch_axis(grad):
    config = CircuitConfig(n_qubits=2, n_layers=1, readout="zz")
    sampled = build_conditioner(config, Execution(shots=100))
    x = inputs(batch=1)
    with torch.set_grad_enabled(grad):
        assert sampled.expectations(x).shape == (1, config.n_outputs)
        assert sampled(x).shape == (1, N_OUT)


def test_finite_shots_without_gradients_estimate_the_exact_expectations():
    shots = 20_000
    config = CircuitConfig(n_qubits=2, n_layers=1, readout="zz")
    exact = build_conditioner(config, Execution())
    sampled = build_conditioner(config, Execution(shots=shots))
    sampled.load_state_dict(exact.state_dict())
    x = inputs(batch=3)
    with torch.no_grad():
        reference = exact.expectations(x)
        estimate = sampled.expectations(x)
    assert estimate.shape == (3, config.n_outputs)
    assert (estimate - reference).abs().max() < 5 / math.sqrt(shots)
    assert (estimate - reference).abs().max() > 0
