"""Parametrised circuits used as coupling conditioners (arXiv 2302.12906 for the QINN idea).

One circuit = ``n_layers`` times: angle encoding ``RY(a_{l,i})`` of the (classically mapped)
inputs on every qubit — the data are re-uploaded in every layer (Pérez-Salinas et al.,
arXiv 1907.02085) — then an entangling variational layer (``qml.StronglyEntanglingLayers``:
a general rotation on each qubit and a ring of CNOTs), then optional depolarising noise.
Readout: ``<Z_i>`` on every qubit (``readout="z"``) and, with ``readout="zz"``, also
``<Z_i Z_{i+1}>`` on the ring.

Everything returned lies in [-1, 1]; the small classical linear heads around the circuit live in
:mod:`hepgen.quantum.conditioner`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pennylane as qml
from torch import Tensor

READOUTS = ("z", "zz")


@dataclass(frozen=True)
class CircuitConfig:
    """Shape of the conditioner circuit.

    Attributes:
        n_qubits: wires of the circuit (2 or more).
        n_layers: encoding + variational layers (data re-uploaded in each).
        readout: ``"z"`` (n_qubits outputs) or ``"zz"`` (plus nearest-neighbour ZZ on the ring).
        noise: depolarising probability applied to every qubit after each layer (0: none;
            needs a mixed-state device such as ``default.mixed``).
    """

    n_qubits: int = 6
    n_layers: int = 3
    readout: str = "z"
    noise: float = 0.0

    def __post_init__(self) -> None:
        if int(self.n_qubits) < 2:
            raise ValueError(f"n_qubits must be >= 2, got {self.n_qubits}")
        if int(self.n_layers) < 1:
            raise ValueError(f"q_layers must be >= 1, got {self.n_layers}")
        if self.readout not in READOUTS:
            raise ValueError(f"readout must be one of {READOUTS}, got {self.readout!r}")
        if not 0.0 <= float(self.noise) < 1.0:
            raise ValueError(f"noise must be a probability in [0, 1), got {self.noise}")

    @property
    def pairs(self) -> list[tuple[int, int]]:
        """Nearest-neighbour pairs of the ZZ readout (a ring; one pair for two qubits)."""
        n = self.n_qubits
        return [(i, (i + 1) % n) for i in range(n if n > 2 else 1)]

    @property
    def n_outputs(self) -> int:
        return self.n_qubits + (len(self.pairs) if self.readout == "zz" else 0)

    @property
    def weight_shape(self) -> tuple[int, int, int]:
        """Shape of the variational angles: (n_layers, n_qubits, 3) Euler angles."""
        return (self.n_layers, self.n_qubits, 3)

    @property
    def n_gate_parameters(self) -> int:
        """Gate angles per circuit (encoding + variational): the parameter-shift cost is
        ``2 * n_gate_parameters`` extra executions per circuit."""
        return self.n_layers * self.n_qubits * 4

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def conditioner_circuit(angles: Tensor, weights: Tensor, config: CircuitConfig) -> list[Any]:
    """The quantum function: ``angles (..., n_layers, n_qubits)``, ``weights`` of
    :attr:`CircuitConfig.weight_shape`; returns the list of expectation-value measurements.

    Leading dimensions of ``angles`` are broadcast by PennyLane (one circuit per event).
    """
    wires = range(config.n_qubits)
    for layer in range(config.n_layers):
        for wire in wires:
            qml.RY(angles[..., layer, wire], wires=wire)
        qml.StronglyEntanglingLayers(weights[layer : layer + 1], wires=wires)
        if config.noise > 0:
            for wire in wires:
                qml.DepolarizingChannel(config.noise, wires=wire)
    measurements = [qml.expval(qml.PauliZ(w)) for w in wires]
    if config.readout == "zz":
        measurements += [qml.expval(qml.PauliZ(a) @ qml.PauliZ(b)) for a, b in config.pairs]
    return measurements
