"""Choosing and building the PennyLane device that executes the conditioner circuits.

Any installed PennyLane device can be named (``--qdevice``); ``auto`` picks from measurements on
the 2-core CI machine (benchmarks/RESULTS.md, "QINN training throughput per device"):
``default.qubit`` with backpropagation and parameter broadcasting trained 55x, 61x, 34x, 11x
and 3x more events per second than ``lightning.qubit`` with the adjoint method at 4, 6, 8, 10
and 12 qubits (lightning runs one circuit per event), so ``auto`` uses it up to
:data:`AUTO_BACKPROP_MAX_QUBITS` (the largest size measured; the gap closes with size).
Finite shots need a hardware-compatible gradient (parameter-shift); noise needs a
mixed-state simulator.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pennylane as qml

from hepgen.quantum.circuits import CircuitConfig, conditioner_circuit

DIFF_METHODS = ("auto", "backprop", "adjoint", "parameter-shift", "finite-diff")
#: Up to this many qubits ``auto`` simulates with default.qubit + backprop (measured faster);
#: beyond, lightning.qubit + adjoint (no 2^n x batch autograd graph to hold).
AUTO_BACKPROP_MAX_QUBITS = 12
#: Devices that simulate density matrices (can apply noise channels).
MIXED_STATE_DEVICES = ("default.mixed", "default.qutrit.mixed")
#: Devices whose backprop path runs on torch tensors.
BACKPROP_DEVICES = ("default.qubit", "default.mixed")


@dataclass(frozen=True)
class Execution:
    """Where and how circuits run: a device name, a differentiation method, shots."""

    qdevice: str = "auto"
    diff_method: str = "auto"
    shots: int | None = None

    def __post_init__(self) -> None:
        if self.diff_method not in DIFF_METHODS:
            raise ValueError(f"diff_method must be one of {DIFF_METHODS}, got "
                             f"{self.diff_method!r}")
        if self.shots is not None and int(self.shots) < 1:
            raise ValueError(f"shots must be a positive integer or null, got {self.shots}")

    def resolve(self, circuit: CircuitConfig) -> Execution:
        """The concrete device and method for ``circuit`` (``auto`` replaced, checked)."""
        device = self.qdevice
        if device == "auto":
            if circuit.noise > 0:
                device = "default.mixed"
            elif circuit.n_qubits <= AUTO_BACKPROP_MAX_QUBITS or self.shots is not None:
                device = "default.qubit"
            else:
                device = "lightning.qubit"
        if device not in qml.plugin_devices:
            raise ValueError(f"qdevice {device!r} is not an installed PennyLane device; "
                             f"installed: {', '.join(sorted(qml.plugin_devices))}")
        method = self.diff_method
        if method == "auto":
            if self.shots is not None:
                method = "parameter-shift"
            elif device in BACKPROP_DEVICES:
                method = "backprop"
            elif device.startswith("lightning."):
                method = "adjoint"
            else:
                method = "parameter-shift"
        if self.shots is not None and method in ("backprop", "adjoint"):
            raise ValueError(f"diff_method {method!r} needs exact expectation values; with "
                             f"shots={self.shots} use parameter-shift (or finite-diff)")
        if circuit.noise > 0 and device not in MIXED_STATE_DEVICES:
            raise ValueError(f"noise={circuit.noise} needs a mixed-state device "
                             f"({', '.join(MIXED_STATE_DEVICES)}), got qdevice {device!r}")
        return Execution(device, method, None if self.shots is None else int(self.shots))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def make_qnode(circuit: CircuitConfig, execution: Execution) -> Any:
    """A torch-interface QNode ``(angles, weights) -> tuple of expectation values`` on the
    resolved device (see :func:`conditioner_circuit` for the argument shapes)."""
    ex = execution.resolve(circuit)
    device = qml.device(ex.qdevice, wires=circuit.n_qubits)

    def quantum_function(angles, weights):
        return conditioner_circuit(angles, weights, circuit)

    return qml.QNode(quantum_function, device, interface="torch", diff_method=ex.diff_method,
                     shots=ex.shots)


def for_gradients(qnode: Any, execution: Execution) -> Any:
    """The QNode to call when gradients are needed.

    Backprop differentiates a broadcast batch in one pass. Parameter-shift and finite-diff cannot
    differentiate broadcast (trainable) angles, and adjoint / hardware run one circuit per event
    anyway: there the batch is split into single-event tapes (``qml.transforms.broadcast_expand``).
    Without gradients every method runs the broadcast batch directly.
    """
    if execution.diff_method == "backprop":
        return qnode
    return qml.transforms.broadcast_expand(qnode)
