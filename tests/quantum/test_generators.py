"""The quantum generator families ``qinn`` and ``hybrid-qinn``: registration through the entry
point (without the core importing PennyLane), which blocks are quantum, parameter counts, the
execution budget printed before training, and a tiny training run that lowers the NLL."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
from typing import Any

import pytest
import torch

from hepgen.flows.blocks import CouplingBlock
from hepgen.flows.conditioners import MLP
from hepgen.generators.base import available, get
from hepgen.generators.inn import INNModel
from hepgen.quantum.circuits import CircuitConfig
from hepgen.quantum.conditioner import QuantumConditioner
from hepgen.quantum.generators import HybridQINNModel, QINNModel

pytestmark = pytest.mark.quantum

F64 = torch.float64
DIM = 4
#: Tiny circuits: 2 qubits, 1 layer (8 gate angles per circuit).
TINY: dict[str, Any] = {"n_blocks": 2, "n_qubits": 2, "q_layers": 1, "hidden": 8}
N_GATES = CircuitConfig(n_qubits=2, n_layers=1).n_gate_parameters


def build(family: str, seed: int = 0, dim: int = DIM, **config: Any) -> QINNModel:
    torch.manual_seed(seed)
    default = torch.get_default_dtype()
    torch.set_default_dtype(F64)
    try:
        return get(family)(dim, 0, {**TINY, **config})
    finally:
        torch.set_default_dtype(default)


def coupling_blocks(model: INNModel) -> list[CouplingBlock]:
    return [m for m in model.flow.layers if isinstance(m, CouplingBlock)]


# --- registration -------------------------------------------------------------------------------
def test_quantum_families_are_registered():
    names = available()
    assert "qinn" in names and "hybrid-qinn" in names
    assert "inn" in names
    assert get("qinn") is QINNModel
    assert get("hybrid-qinn") is HybridQINNModel
    assert issubclass(QINNModel, INNModel) and issubclass(HybridQINNModel, QINNModel)


def test_core_does_not_import_pennylane():
    code = textwrap.dedent("""
        import sys
        import hepgen
        import hepgen.generators.base as base
        import hepgen.generators.event
        import hepgen.generators.inn
        import hepgen.cli
        hepgen.cli.build_parser()
        names = base.available()
        assert "qinn" in names and "hybrid-qinn" in names, names
        loaded = sorted(m for m in sys.modules
                        if m.split(".")[0] == "pennylane" or m.startswith("hepgen.quantum"))
        print("LOADED", loaded)
        assert not loaded, loaded
    """)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "LOADED []" in result.stdout


# --- which blocks are quantum -------------------------------------------------------------------
def test_every_qinn_block_is_quantum():
    model = build("qinn", n_blocks=3)
    blocks = coupling_blocks(model)
    assert len(blocks) == 3 and model.quantum_blocks() == [0, 1, 2]
    assert all(isinstance(b.conditioner, QuantumConditioner) for b in blocks)
    assert len(model.quantum_conditioners()) == 3
    q = model.quantum_conditioners()[0]
    assert (q.circuit.n_qubits, q.circuit.n_layers) == (2, 1)
    assert q.execution.qdevice == "default.qubit" and q.execution.diff_method == "backprop"


def test_qinn_defaults_are_affine_with_six_blocks():
    model = QINNModel(DIM, 0, {"n_qubits": 2, "q_layers": 1})
    assert model.inn_config.kind == "affine" and model.inn_config.n_blocks == 6
    assert len(model.quantum_conditioners()) == 6


def test_hybrid_default_alternates_classical_and_quantum():
    model = build("hybrid-qinn", n_blocks=4)
    assert model.quantum_blocks() == [1, 3]
    kinds = [type(b.conditioner) for b in coupling_blocks(model)]
    assert kinds == [MLP, QuantumConditioner, MLP, QuantumConditioner]


def test_hybrid_quantum_blocks_option():
    model = build("hybrid-qinn", n_blocks=4, quantum_blocks=[0, 2, 3])
    kinds = [isinstance(b.conditioner, QuantumConditioner) for b in coupling_blocks(model)]
    assert kinds == [True, False, True, True]
    none = build("hybrid-qinn", n_blocks=2, quantum_blocks=[])
    assert none.quantum_conditioners() == []
    assert none.execution_budget(10, 2) == {"circuits_per_event": 0, "executions_per_epoch": 0}


@pytest.mark.parametrize("blocks", [[4], [-1], [0, 7]])
def test_hybrid_rejects_invalid_block_indices(blocks):
    with pytest.raises(ValueError, match="quantum_blocks"):
        build("hybrid-qinn", n_blocks=4, quantum_blocks=blocks)


def test_qinn_rejects_hybrid_and_unknown_options():
    with pytest.raises(ValueError, match="quantum_blocks"):
        build("qinn", quantum_blocks=[0])
    with pytest.raises(ValueError, match="n_qbits"):
        build("qinn", n_qbits=3)


def test_bad_execution_fails_at_construction():
    with pytest.raises(ValueError, match="noise"):
        build("qinn", noise=0.1, qdevice="default.qubit")
    with pytest.raises(ValueError, match="shots"):
        build("qinn", shots=10, diff_method="backprop")


@pytest.mark.parametrize("family, n_blocks", [("qinn", 2), ("hybrid-qinn", 4)])
def test_parameter_counts_sum_to_the_parameters(family, n_blocks):
    model = build(family, n_blocks=n_blocks)
    counts = model.parameter_counts()
    total = sum(p.numel() for p in model.parameters())
    assert counts["total"] == total
    assert counts["circuit"] + counts["quantum_heads"] + counts["classical"] == total
    n_quantum = len(model.quantum_conditioners())
    assert counts["circuit"] == n_quantum * math.prod(CircuitConfig(2, 1).weight_shape)
    # encoder (n_a -> 1 layer x 2 qubits) and head (2 readouts -> n_b x 2 affine parameters)
    n_a, n_b = DIM // 2, DIM - DIM // 2
    per_heads = (n_a * 2 + 2) + (2 * n_b * 2 + n_b * 2)
    assert counts["quantum_heads"] == n_quantum * per_heads
    assert counts["classical"] > 0  # ActNorm (and the MLPs of the hybrid)


# --- execution budget ---------------------------------------------------------------------------
N_TRAIN, N_VAL = 1000, 250


def test_budget_with_backprop_counts_forward_circuits_only():
    model = build("qinn", n_blocks=3)
    budget = model.execution_budget(N_TRAIN, N_VAL)
    assert budget["executions_per_epoch"] == (N_TRAIN + N_VAL) * 3
    assert budget["train_executions"] == N_TRAIN * 3
    assert budget["validation_executions"] == N_VAL * 3
    assert budget["circuits_per_event"] == 3 and budget["quantum_blocks"] == 3
    assert (budget["device"], budget["diff_method"], budget["shots"]) == ("default.qubit",
                                                                          "backprop", None)
    assert "shots_per_epoch" not in budget


def test_budget_of_the_hybrid_counts_its_quantum_blocks():
    budget = build("hybrid-qinn", n_blocks=4).execution_budget(N_TRAIN, N_VAL)
    assert budget["quantum_blocks"] == 2
    assert budget["executions_per_epoch"] == (N_TRAIN + N_VAL) * 2


def test_budget_with_parameter_shift():
    model = build("qinn", n_blocks=2, diff_method="parameter-shift")
    budget = model.execution_budget(N_TRAIN, N_VAL)
    assert N_GATES == 8
    assert budget["train_executions"] == N_TRAIN * 2 * (1 + 2 * N_GATES)
    assert budget["validation_executions"] == N_VAL * 2
    assert budget["executions_per_epoch"] == N_TRAIN * 2 * (1 + 2 * N_GATES) + N_VAL * 2


def test_budget_with_finite_diff():
    budget = build("qinn", n_blocks=2, diff_method="finite-diff").execution_budget(N_TRAIN, 0)
    assert budget["executions_per_epoch"] == N_TRAIN * 2 * (1 + N_GATES)


@pytest.mark.parametrize("space, passes", [("latent", 1), ("data", 2), ("both", 2)])
def test_budget_with_a_data_space_mmd_doubles_the_passes(space, passes):
    model = build("qinn", n_blocks=2, loss={"nll": 1.0, "mmd": 1.0, "mmd_space": space})
    budget = model.execution_budget(N_TRAIN, N_VAL)
    assert budget["circuits_per_event"] == 2 * passes
    assert budget["executions_per_epoch"] == (N_TRAIN + N_VAL) * 2 * passes


def test_budget_with_shots():
    model = build("qinn", n_blocks=2, shots=500)
    budget = model.execution_budget(N_TRAIN, N_VAL)
    assert budget["diff_method"] == "parameter-shift" and budget["shots"] == 500
    executions = N_TRAIN * 2 * (1 + 2 * N_GATES) + N_VAL * 2
    assert budget["executions_per_epoch"] == executions
    assert budget["shots_per_epoch"] == executions * 500


def test_classical_inn_has_no_budget():
    model = get("inn")(DIM, 0, {"n_blocks": 2, "hidden": 8})
    assert model.execution_budget(N_TRAIN, N_VAL) is None


# --- training -----------------------------------------------------------------------------------
def test_tiny_qinn_lowers_its_nll():
    """30 Adam steps on a shifted Gaussian (mean 1.5 in two of the four dimensions): the NLL of
    the last steps is clearly below that of the first, and the circuit angles were trained."""
    model = build("qinn", seed=3, n_blocks=2)
    gen = torch.Generator().manual_seed(0)
    shift = torch.tensor([1.5, 1.5, 0.0, 0.0], dtype=F64)
    data = torch.randn(64, DIM, generator=gen, dtype=F64) * 0.7 + shift
    before = [q.weights.detach().clone() for q in model.quantum_conditioners()]
    optimiser = torch.optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(30):
        optimiser.zero_grad()
        loss = model.loss(data, None)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert all(math.isfinite(v) for v in losses)
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert first - last > 0.25, (first, last)
    after = [q.weights.detach() for q in model.quantum_conditioners()]
    assert all((a - b).abs().max() > 1e-3 for a, b in zip(after, before, strict=True))
    # the trained model is still an exact bijection
    z, logdet = model(data)
    x, inv_logdet = model.inverse(z)
    torch.testing.assert_close(x, data, rtol=0, atol=1e-10)
    torch.testing.assert_close(inv_logdet, -logdet, rtol=0, atol=1e-10)
