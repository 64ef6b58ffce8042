"""`hepgen train` with the quantum families and the options added for them (--jets, --loss,
--qdevice, --diff-method, --shots, --noise, --qubits, --q-layers): a tiny QINN trained on the
shipped Z + jets sample and sampled with `hepgen generate`, and the input errors (exit code 2,
one line naming the option, nothing written)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
import uproot

from hepgen.cli import main

pytestmark = pytest.mark.quantum

#: The shipped training sample (tracked in the repository).
TRAIN_DATA = Path(__file__).resolve().parents[2] / "data_samples" / "zjets_train.root"
TINY_QINN = ["--model", "qinn", "--jets", "1", "--qubits", "3", "--q-layers", "1",
             "--epochs", "1", "--max-events", "600"]


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("hepgen: error:"), err
    assert len(err.splitlines()) == 1, err
    return err


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, str]:
    """A 1-jet QINN (3 qubits, 1 layer) trained for one epoch; (run dir, captured stdout)."""
    assert TRAIN_DATA.is_file(), TRAIN_DATA
    out = tmp_path_factory.mktemp("qinn") / "run"
    buffer = io.StringIO()  # capsys is per test: capture the module fixture's stdout directly
    with contextlib.redirect_stdout(buffer):
        code = main(["train", *TINY_QINN, "--data", str(TRAIN_DATA), "--out", str(out)])
    assert code == 0
    return out, buffer.getvalue()


def test_train_qinn_writes_a_one_jet_generator(trained):
    out, stdout = trained
    assert "circuit executions per epoch" in stdout
    assert "1j:" in stdout and "default.qubit" in stdout and "backprop" in stdout
    meta = json.loads((out / "generator.json").read_text())
    assert meta["family"] == "qinn"
    assert meta["multiplicities"] == [1]
    assert meta["model_config"]["n_qubits"] == 3
    assert meta["model_config"]["q_layers"] == 1
    assert (out / "weights.pt").is_file()


def test_generate_from_the_qinn(trained, tmp_path):
    out, _ = trained
    generated = tmp_path / "gen.root"
    assert main(["-q", "generate", "--model", str(out), "-n", "300", "-o", str(generated)]) == 0
    with uproot.open(generated) as f:
        arrays = f["Events"].arrays(["nJet", "Jet_pt"], library="np")
    assert len(arrays["nJet"]) == 300
    assert np.all(arrays["nJet"] == 1)
    pts = np.concatenate(arrays["Jet_pt"])
    assert len(pts) == 300 and np.all(np.isfinite(pts)) and np.all(pts >= 20.0)


@pytest.mark.parametrize(
    "options, names",
    [(["--model", "inn", "--qdevice", "default.qubit"], ["--qdevice", "qinn", "'inn'"]),
     (["--model", "inn", "--qubits", "3"], ["--qubits", "qinn"]),
     (["--model", "qinn", "--qdevice", "nope.qubit"], ["nope.qubit", "default.qubit"]),
     (["--jets", "4"], ["jets", "[4]"]),
     (["--model", "qinn", "--shots", "10", "--diff-method", "backprop"],
      ["backprop", "shots=10", "parameter-shift"]),
     (["--model", "qinn", "--noise", "0.1", "--qdevice", "default.qubit"],
      ["noise", "default.mixed"])],
    ids=["qdevice-on-inn", "qubits-on-inn", "unknown-qdevice", "jets-4", "shots-backprop",
         "noise-statevector"],
)
def test_bad_quantum_options(options, names, tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", *options, "--epochs", "1", "--max-events", "600", "--data",
                 str(TRAIN_DATA), "--out", str(out)])
    assert code == 2
    err = one_line_error(capsys)
    for name in names:
        assert name in err, (name, err)
    assert not out.exists() or not any(out.iterdir())


def _jet_pt(path: Path) -> np.ndarray:
    with uproot.open(path) as f:
        return np.concatenate(f["Events"]["Jet_pt"].array(library="np"))


def test_generate_with_shots_overrides_the_trained_execution(trained, tmp_path):
    """--shots N samples with shot noise (differs from exact, same seed); --shots exact and no
    option give identical events; the saved model is untouched."""
    out, _ = trained
    paths = {}
    for tag, extra in (("plain", []), ("exact", ["--shots", "exact"]),
                       ("shots", ["--shots", "50"]), ("device", ["--qdevice", "default.mixed"])):
        paths[tag] = tmp_path / f"{tag}.root"
        args = ["-q", "generate", "--model", str(out), "-n", "200", "--seed", "3", *extra,
                "-o", str(paths[tag])]
        assert main(args) == 0
    np.testing.assert_array_equal(_jet_pt(paths["plain"]), _jet_pt(paths["exact"]))
    np.testing.assert_allclose(_jet_pt(paths["device"]), _jet_pt(paths["plain"]), rtol=1e-4)
    assert not np.allclose(_jet_pt(paths["shots"]), _jet_pt(paths["plain"]), rtol=1e-4)
    assert json.loads((out / "generator.json").read_text())["model_config"].get("shots") is None


def test_generate_quantum_options_on_a_classical_model_fail(tmp_path, capsys):
    default = Path(__file__).resolve().parents[2] / "data_samples" / "default_generator"
    target = tmp_path / "x.root"
    assert main(["generate", "--model", str(default), "-n", "10", "--shots", "100",
                 "-o", str(target)]) == 2
    assert "shots" in one_line_error(capsys)
    assert not target.exists()
