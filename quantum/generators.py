"""Quantum invertible networks: coupling INNs whose conditioners are parametrised circuits.

* ``qinn`` — every coupling block is conditioned by a circuit (with small linear heads);
* ``hybrid-qinn`` — classical MLP and quantum conditioners mixed block by block.

Both are exactly invertible with an exact log-determinant *by construction*: the coupling
transform is invertible in its active half whatever its parameters are, and the parameters
depend only on the passive half, which the inverse sees unchanged. The circuit may be any
function of its inputs, noisy simulators included (but not finite shots: see below).

Why not the construction of Rousselot & Spannowsky (arXiv 2302.12906) itself: there the data are
encoded into a state, a trained unitary acts on it and measured expectation values are the
latent; the way back needs a *learned* inverse state preparation, so invertibility holds only as
well as that extra network was trained, and the density comes from a Jacobian of an
approximately invertible map. Neither property can be checked to machine precision, which the
generator interface requires (inverse(forward(x)) == x, log-det == slogdet of the Jacobian);
the coupling construction keeps the paper's ingredients (angle encoding, entangling variational
layers, Pauli-Z readout, PennyLane, NLL / MMD losses) and makes them exact. design.md records
the decision.

Finite shots (``shots``): each call estimates the expectation values afresh, so forward and
inverse see different conditioner outputs; samples are then draws of a slightly perturbed
model and ``log_prob`` is a noisy estimate (benchmarks/RESULTS.md quantifies the effect).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hepgen.flows.conditioners import mlp_factory
from hepgen.generators.base import register
from hepgen.generators.inn import INNModel
from hepgen.quantum.circuits import CircuitConfig
from hepgen.quantum.conditioner import QuantumConditioner, quantum_factory
from hepgen.quantum.devices import Execution

#: Config keys of the quantum families besides those of ``inn``.
QUANTUM_KEYS = frozenset({"n_qubits", "q_layers", "readout", "noise", "qdevice", "diff_method",
                          "shots"})
#: Defaults that differ from ``inn``'s: affine couplings (two parameters per dimension keep the
#: linear head small) and six blocks (about 2k parameters for the 9-dim Z + 1 jet features).
QINN_DEFAULTS: dict[str, Any] = {"kind": "affine", "n_blocks": 6}


def circuit_config(config: Mapping[str, Any]) -> CircuitConfig:
    return CircuitConfig(
        n_qubits=int(config.get("n_qubits", CircuitConfig.n_qubits)),
        n_layers=int(config.get("q_layers", CircuitConfig.n_layers)),
        readout=str(config.get("readout", CircuitConfig.readout)),
        noise=float(config.get("noise", CircuitConfig.noise)),
    )


def execution_config(config: Mapping[str, Any]) -> Execution:
    shots = config.get("shots")
    return Execution(
        qdevice=str(config.get("qdevice", "auto")),
        diff_method=str(config.get("diff_method", "auto")),
        shots=None if shots is None else int(shots),
    )


@register
class QINNModel(INNModel):
    """Quantum INN: coupling blocks conditioned by parametrised circuits (arXiv 2302.12906).

    Config: the ``inn`` options (default ``kind="affine"``, ``n_blocks=6``) plus ``n_qubits``
    (6), ``q_layers`` (3), ``readout`` (``z`` | ``zz``), ``noise`` (0), ``qdevice`` (``auto`` or
    any PennyLane device), ``diff_method`` (``auto``, ``backprop``, ``adjoint``,
    ``parameter-shift``, ``finite-diff``), ``shots`` (null: exact), ``loss``.
    """

    name = "qinn"
    extra_config_keys = INNModel.extra_config_keys | QUANTUM_KEYS

    def __init__(self, dim: int, cond_dim: int, config: Mapping[str, Any]) -> None:
        super().__init__(dim, cond_dim, {**QINN_DEFAULTS, **config})

    def quantum_blocks(self) -> list[int]:
        """Indices of the coupling blocks with a quantum conditioner."""
        return list(range(self.inn_config.n_blocks))

    def _conditioner(self):
        circuit = circuit_config(self.config)
        execution = execution_config(self.config).resolve(circuit)  # fails here, named
        quantum = quantum_factory(circuit, execution)
        cfg = self.inn_config
        classical = mlp_factory(cfg.hidden, cfg.n_layers, cfg.activation)
        blocks = set(self.quantum_blocks())
        return [quantum if i in blocks else classical for i in range(cfg.n_blocks)]

    def quantum_conditioners(self) -> list[QuantumConditioner]:
        return [m for m in self.modules() if isinstance(m, QuantumConditioner)]

    def parameter_counts(self) -> dict[str, int]:
        """Trainable parameters: circuit angles, classical heads of the circuits, the rest."""
        circuit = sum(q.weights.numel() for q in self.quantum_conditioners())
        heads = sum(p.numel() for q in self.quantum_conditioners()
                    for n, p in q.named_parameters() if n != "weights")
        total = sum(p.numel() for p in self.parameters())
        return {"circuit": circuit, "quantum_heads": heads, "classical": total - circuit - heads,
                "total": total}

    def execution_budget(self, n_train: int, n_val: int) -> dict[str, Any]:
        """Circuit executions (and shots) of one epoch: every quantum block runs one circuit per
        event and pass; parameter-shift gradients add ``2 * n_gate_parameters`` executions per
        circuit; a data-space MMD adds an inverse pass. Simulator gradients (backprop,
        adjoint) are not counted as executions (they exist on simulators only)."""
        conditioners = self.quantum_conditioners()
        if not conditioners:
            return {"circuits_per_event": 0, "executions_per_epoch": 0}
        q = conditioners[0]
        passes = 2 if self.loss_config.needs_data_samples else 1
        per_event = len(conditioners) * passes
        grad_factor = 1
        if q.execution.diff_method in ("parameter-shift", "finite-diff"):
            shifts = 2 if q.execution.diff_method == "parameter-shift" else 1
            grad_factor += shifts * q.circuit.n_gate_parameters
        train = n_train * per_event * grad_factor
        val = n_val * per_event
        budget: dict[str, Any] = {
            "device": q.execution.qdevice, "diff_method": q.execution.diff_method,
            "shots": q.execution.shots, "quantum_blocks": len(conditioners),
            "circuits_per_event": per_event, "executions_per_epoch": train + val,
            "train_executions": train, "validation_executions": val,
        }
        if q.execution.shots is not None:
            budget["shots_per_epoch"] = (train + val) * q.execution.shots
        return budget


@register
class HybridQINNModel(QINNModel):
    """Hybrid QINN: quantum and classical-MLP conditioners alternate.

    Extra config ``quantum_blocks``: indices of the quantum blocks (default: the odd blocks,
    i.e. every other block, starting with a classical one).
    """

    name = "hybrid-qinn"
    extra_config_keys = QINNModel.extra_config_keys | {"quantum_blocks"}

    def quantum_blocks(self) -> list[int]:
        n_blocks = self.inn_config.n_blocks
        blocks = self.config.get("quantum_blocks")
        if blocks is None:
            return list(range(1, n_blocks, 2))
        blocks = [int(b) for b in blocks]
        if any(not 0 <= b < n_blocks for b in blocks):
            raise ValueError(f"quantum_blocks must be block indices in [0, {n_blocks}), got "
                             f"{blocks}")
        return blocks
