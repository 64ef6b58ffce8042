"""Execution.resolve: the automatic device / differentiation-method choice and the errors for
combinations that cannot work (each naming the offending option)."""

from __future__ import annotations

import pennylane as qml
import pytest

from hepgen.quantum.circuits import CircuitConfig
from hepgen.quantum.devices import AUTO_BACKPROP_MAX_QUBITS, Execution, for_gradients, make_qnode

pytestmark = pytest.mark.quantum

def pipeline(qnode) -> str:
    """The QNode's transform pipeline as text (``compile_pipeline`` from PennyLane 0.45 on)."""
    found = getattr(qnode, "compile_pipeline", None)
    return str(found if found is not None else qnode.transform_program)


SMALL = CircuitConfig(n_qubits=3, n_layers=1)
NOISY = CircuitConfig(n_qubits=3, n_layers=1, noise=0.1)


def resolved(execution: Execution, circuit: CircuitConfig = SMALL) -> tuple:
    ex = execution.resolve(circuit)
    return ex.qdevice, ex.diff_method, ex.shots


def test_auto_is_default_qubit_with_backprop_for_small_circuits():
    assert resolved(Execution()) == ("default.qubit", "backprop", None)
    limit = CircuitConfig(n_qubits=AUTO_BACKPROP_MAX_QUBITS, n_layers=1)
    assert resolved(Execution(), limit) == ("default.qubit", "backprop", None)


def test_auto_beyond_the_backprop_limit_is_lightning_adjoint():
    large = CircuitConfig(n_qubits=AUTO_BACKPROP_MAX_QUBITS + 1, n_layers=1)
    assert resolved(Execution(), large) == ("lightning.qubit", "adjoint", None)


def test_auto_with_shots_is_parameter_shift():
    assert resolved(Execution(shots=100)) == ("default.qubit", "parameter-shift", 100)
    large = CircuitConfig(n_qubits=AUTO_BACKPROP_MAX_QUBITS + 1, n_layers=1)
    assert resolved(Execution(shots=100), large) == ("default.qubit", "parameter-shift", 100)


def test_auto_with_noise_is_default_mixed_with_backprop():
    assert resolved(Execution(), NOISY) == ("default.mixed", "backprop", None)
    assert resolved(Execution(shots=50), NOISY) == ("default.mixed", "parameter-shift", 50)


def test_lightning_resolves_to_adjoint():
    assert resolved(Execution("lightning.qubit")) == ("lightning.qubit", "adjoint", None)
    assert resolved(Execution("lightning.qubit", shots=10)) == ("lightning.qubit",
                                                                "parameter-shift", 10)


def test_explicit_choices_are_kept():
    assert resolved(Execution("default.qubit", "parameter-shift")) == ("default.qubit",
                                                                       "parameter-shift", None)
    assert resolved(Execution("default.qubit", "finite-diff", 7)) == ("default.qubit",
                                                                      "finite-diff", 7)
    assert resolved(Execution("default.mixed", "backprop")) == ("default.mixed", "backprop", None)


def test_resolve_is_idempotent_and_serialisable():
    ex = Execution(shots=30).resolve(SMALL)
    assert ex.resolve(SMALL) == ex
    assert ex.to_dict() == {"qdevice": "default.qubit", "diff_method": "parameter-shift",
                            "shots": 30}


def test_unknown_device_lists_the_installed_ones():
    with pytest.raises(ValueError, match="qdevice 'nope.qubit'") as info:
        Execution("nope.qubit").resolve(SMALL)
    message = str(info.value)
    assert "installed" in message
    for name in ("default.qubit", "default.mixed", "lightning.qubit"):
        assert name in message
    assert all(name in message for name in qml.plugin_devices)


@pytest.mark.parametrize("method", ["backprop", "adjoint"])
def test_shots_need_a_shot_compatible_diff_method(method):
    device = "lightning.qubit" if method == "adjoint" else "default.qubit"
    with pytest.raises(ValueError, match=f"diff_method '{method}'.*shots=10") as info:
        Execution(device, method, shots=10).resolve(SMALL)
    assert "parameter-shift" in str(info.value)


@pytest.mark.parametrize("device", ["default.qubit", "lightning.qubit"])
def test_noise_needs_a_mixed_state_device(device):
    with pytest.raises(ValueError, match=f"noise=0.1.*default.mixed.*qdevice '{device}'"):
        Execution(device).resolve(NOISY)


@pytest.mark.parametrize("method", ["", "Backprop", "spsa", "best"])
def test_invalid_diff_method(method):
    with pytest.raises(ValueError, match="diff_method"):
        Execution(diff_method=method)


@pytest.mark.parametrize("shots", [0, -5])
def test_non_positive_shots(shots):
    with pytest.raises(ValueError, match="shots"):
        Execution(shots=shots)


def test_batch_is_split_into_single_tapes_only_for_non_backprop_gradients():
    """make_qnode runs a broadcast batch as is; for_gradients keeps it for backprop (one pass
    through the simulator) and wraps other methods in broadcast_expand (one tape per event)."""
    backprop_ex = Execution().resolve(SMALL)
    backprop = make_qnode(SMALL, backprop_ex)
    assert backprop.diff_method == "backprop"
    assert "broadcast_expand" not in pipeline(backprop)
    assert for_gradients(backprop, backprop_ex) is backprop
    for method in ("parameter-shift", "finite-diff"):
        ex = Execution(diff_method=method).resolve(SMALL)
        qnode = make_qnode(SMALL, ex)
        assert qnode.diff_method == method
        assert "broadcast_expand" not in pipeline(qnode)
        assert "broadcast_expand" in pipeline(for_gradients(qnode, ex))
    with pytest.raises(ValueError, match="qdevice"):
        make_qnode(SMALL, Execution("nope.qubit"))
