"""A parametrised quantum circuit as the conditioner of a coupling block.

``inputs (B, n_in)`` -> linear encoder -> angles ``(B, n_layers, n_qubits)`` -> circuit
(re-uploading, entangling layers) -> expectation values ``(B, n_readout)`` in [-1, 1] -> linear
head -> coupling parameters ``(B, n_out)``.

The two linear maps are the "small classical linear heads" of a QINN: the encoder lets every
layer see its own linear combination of the inputs, the head maps a handful of expectation
values onto the many parameters of a coupling transform. Written as a plain ``nn.Module``
around a QNode instead of ``qml.qnn.TorchLayer`` so that the output keeps the input's dtype
(lightning devices return float32) and a finite-shot, unbroadcast result of one event keeps its
batch axis.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from hepgen.flows.conditioners import LAST_LAYER_INIT_SCALE, ConditionerFactory
from hepgen.quantum.circuits import CircuitConfig
from hepgen.quantum.devices import Execution, for_gradients, make_qnode


class QuantumConditioner(nn.Module):
    """Quantum conditioner: shapes (B, n_in) -> (B, n_out).

    Args:
        n_in: conditioning inputs (the passive half of the coupling, plus any condition).
        n_out: parameters of the coupling transform.
        circuit: circuit shape.
        execution: device, differentiation method and shots.
    """

    def __init__(self, n_in: int, n_out: int, circuit: CircuitConfig, execution: Execution
                 ) -> None:
        super().__init__()
        self.circuit, self.execution = circuit, execution.resolve(circuit)
        self.encoder = nn.Linear(n_in, circuit.n_layers * circuit.n_qubits)
        self.weights = nn.Parameter(torch.rand(circuit.weight_shape) * 2.0 * math.pi)
        self.head = nn.Linear(circuit.n_outputs, n_out)
        with torch.no_grad():  # start every coupling near the identity, as the MLP does
            self.head.weight.mul_(LAST_LAYER_INIT_SCALE)
            self.head.bias.mul_(LAST_LAYER_INIT_SCALE)
        self.qnode = make_qnode(circuit, self.execution)
        self.qnode_grad = for_gradients(self.qnode, self.execution)

    def expectations(self, inputs: Tensor) -> Tensor:
        """The circuit's readout for ``inputs (B, n_in)``: shape (B, n_readout), in [-1, 1]."""
        batch = inputs.shape[0]
        angles = self.encoder(inputs).view(batch, self.circuit.n_layers, self.circuit.n_qubits)
        qnode = self.qnode_grad if torch.is_grad_enabled() else self.qnode
        values = torch.stack(list(qnode(angles, self.weights)), dim=-1)
        return values.reshape(batch, self.circuit.n_outputs).to(inputs.dtype)

    def forward(self, inputs: Tensor) -> Tensor:
        return self.head(self.expectations(inputs))

    def extra_repr(self) -> str:
        ex = self.execution
        return (f"qubits={self.circuit.n_qubits}, layers={self.circuit.n_layers}, "
                f"readout={self.circuit.readout}, device={ex.qdevice}, "
                f"diff_method={ex.diff_method}, shots={ex.shots}")


def quantum_factory(circuit: CircuitConfig, execution: Execution) -> ConditionerFactory:
    """``(n_in, n_out) -> QuantumConditioner`` with a fixed circuit and execution."""

    def build(n_in: int, n_out: int) -> QuantumConditioner:
        return QuantumConditioner(n_in, n_out, circuit, execution)

    return build
