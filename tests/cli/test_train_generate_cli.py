"""`hepgen train` and `hepgen generate`: bad input, posterior draws, DiscFlow reweighting, safe
model loading, resume of a killed run, and a tiny train -> generate -> validate chain."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import uproot

from hepgen.cli import main
from hepgen.physics.io import write_events
from hepgen.validation.toys import toy_events

TINY_MODEL = {"n_blocks": 2, "kind": "affine", "hidden": 16, "n_layers": 2}
TINY_TRAIN = {"epochs": 2, "batch_size": 128, "lr": 2e-3}
TINY_DISCFLOW = {"alpha": 1.0, "start_epoch": 1, "ramp_epochs": 1, "n_generated": 200,
                 "disc_hidden": 16, "disc_layers": 2, "disc_batch_size": 128}
#: Subprocesses run torch on one thread, like the in-process runs (see _one_torch_thread).
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    """Tiny networks on a loaded 2-core machine are much faster on one torch thread, and the
    bit-identity check compares with a one-thread subprocess."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def write_config(path: Path, model: str, **extra) -> Path:
    path.write_text(json.dumps({"model": model, "model_config": TINY_MODEL,
                                "train": TINY_TRAIN, **extra}))
    return path


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("train_generate")
    write_events(d / "train.root", toy_events(1500, seed=1))
    write_config(d / "inn.json", "inn")
    write_config(d / "binn.json", "binn")
    write_config(d / "discflow.json", "discflow", base="inn", discflow=TINY_DISCFLOW)
    return d


def train(workdir: Path, name: str, *extra: str, tag: str = "") -> Path:
    out = workdir / f"run_{name}{tag}"
    code = main(["-q", "train", "--config", str(workdir / f"{name}.json"), "--data",
                 str(workdir / "train.root"), "--out", str(out), *extra])
    assert code == 0
    return out


@pytest.fixture(scope="module")
def inn_model(workdir) -> Path:
    return train(workdir, "inn")


@pytest.fixture(scope="module")
def binn_model(workdir) -> Path:
    return train(workdir, "binn")


def read(path: Path) -> dict[str, np.ndarray]:
    with uproot.open(path) as f:
        return f["Events"].arrays(library="np")


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("hepgen: error:"), err
    assert len(err.splitlines()) == 1, err
    return err


# --- hepgen train: bad input ---------------------------------------------------------------------
def test_missing_config_file(workdir, tmp_path, capsys):
    missing = tmp_path / "nope.json"
    code = main(["train", "--config", str(missing), "--data", str(workdir / "train.root"),
                 "--out", str(tmp_path / "run")])
    assert code == 2
    assert str(missing) in one_line_error(capsys)
    assert not (tmp_path / "run").exists()


def test_invalid_json_config(workdir, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"model": "inn",')
    code = main(["train", "--config", str(bad), "--data", str(workdir / "train.root"),
                 "--out", str(tmp_path / "run")])
    assert code == 2
    err = one_line_error(capsys)
    assert str(bad) in err and "JSON" in err


@pytest.mark.parametrize(
    "content, key",
    [({"model": "inn", "n_epochs": 3}, "n_epochs"),
     ({"model": "inn", "train": {"epoch": 3}}, "epoch"),
     ({"model": "discflow", "discflow": {"alpha_max": 1}}, "alpha_max"),
     ({"model": "inn", "model_config": {"n_block": 3}}, "n_block")],
    ids=["top-level", "train", "discflow", "model_config"],
)
def test_unknown_config_key(workdir, tmp_path, capsys, content, key):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps(content))
    code = main(["train", "--config", str(cfg), "--data", str(workdir / "train.root"),
                 "--out", str(tmp_path / "run")])
    assert code == 2
    assert key in one_line_error(capsys)


def test_out_directory_not_empty_without_resume(workdir, tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "something").write_text("x")
    code = main(["train", "--config", str(workdir / "inn.json"), "--data",
                 str(workdir / "train.root"), "--out", str(out)])
    assert code == 2
    err = one_line_error(capsys)
    assert str(out) in err and "--resume" in err
    assert sorted(p.name for p in out.iterdir()) == ["something"]


def test_resume_needs_a_run_directory(workdir, tmp_path, capsys):
    code = main(["train", "--config", str(workdir / "inn.json"), "--data",
                 str(workdir / "train.root"), "--out", str(tmp_path / "none"), "--resume"])
    assert code == 2
    assert "--resume" in one_line_error(capsys)


# --- hepgen generate -----------------------------------------------------------------------------
def test_generate_writes_n_events_in_domain(inn_model, tmp_path, capsys):
    out = tmp_path / "gen.root"
    assert main(["-q", "generate", "--model", str(inn_model), "-n", "300", "-o", str(out),
                 "--batch-size", "128"]) == 0
    assert "wrote 300 events" in capsys.readouterr().out
    arrays = read(out)
    assert len(arrays["nJet"]) == 300
    assert "weight" not in arrays and "draw" not in arrays
    assert set(np.unique(arrays["nJet"])) <= {1, 2, 3}
    assert np.concatenate(arrays["Jet_pt"]).min() >= 20.0
    assert not list(tmp_path.glob("*.tmp*"))
    again = tmp_path / "again.root"
    assert main(["-q", "generate", "--model", str(inn_model), "-n", "300", "-o", str(again),
                 "--batch-size", "128"]) == 0
    np.testing.assert_array_equal(np.concatenate(read(again)["Jet_pt"]),
                                  np.concatenate(arrays["Jet_pt"]))


def test_posterior_draws_on_a_non_bayesian_model(inn_model, tmp_path, capsys):
    out = tmp_path / "gen.root"
    code = main(["generate", "--model", str(inn_model), "-n", "10", "-o", str(out),
                 "--posterior-draws", "3"])
    assert code == 2
    err = one_line_error(capsys)
    assert "Bayesian" in err and "'inn'" in err
    assert not out.exists() and not list(tmp_path.iterdir())


def test_posterior_draws_of_a_binn(binn_model, tmp_path):
    out = tmp_path / "gen.root"
    assert main(["-q", "generate", "--model", str(binn_model), "-n", "120", "-o", str(out),
                 "--posterior-draws", "3", "--batch-size", "50"]) == 0
    arrays = read(out)
    assert len(arrays["draw"]) == 360
    assert np.issubdtype(arrays["draw"].dtype, np.integer)
    values, counts = np.unique(arrays["draw"], return_counts=True)
    assert values.tolist() == [0, 1, 2] and counts.tolist() == [120, 120, 120]
    np.testing.assert_array_equal(arrays["draw"], np.repeat([0, 1, 2], 120))
    # the draws are different networks: their samples differ
    pt = [np.concatenate(arrays["Jet_pt"][arrays["draw"] == k])[:30] for k in range(3)]
    assert not np.array_equal(pt[0], pt[1]) and not np.array_equal(pt[1], pt[2])


def test_reweight_needs_a_discflow_model(inn_model, tmp_path, capsys):
    code = main(["generate", "--model", str(inn_model), "-n", "10", "-o",
                 str(tmp_path / "g.root"), "--reweight"])
    assert code == 2
    assert "discflow" in one_line_error(capsys)


def test_discflow_train_and_generate_reweight(workdir, tmp_path):
    model = train(workdir, "discflow")
    extra = torch.load(model / "weights.pt", weights_only=True)
    assert any(k.startswith("extra.disc1.") for k in extra)
    out = tmp_path / "gen.root"
    assert main(["-q", "generate", "--model", str(model), "-n", "400", "-o", str(out),
                 "--reweight"]) == 0
    arrays = read(out)
    w = arrays["weight"]
    assert w.dtype == np.float32 and len(w) == 400
    assert np.isfinite(w).all() and (w > 0).all()
    assert w.std() > 0, "per-event discriminator weights, not a constant"


def test_reweight_keeps_multiplicity_fractions(workdir, tmp_path):
    from hepgen.generators.event import EventGenerator
    from hepgen.training.discflow import load_discriminators, weight_norms

    model = workdir / "run_discflow"  # shared with the test above when it ran first
    if not (model / "generator.json").exists():
        model = train(workdir, "discflow")
    generator, extra = EventGenerator.load(model)
    discs = load_discriminators(generator.meta, extra)
    norms = weight_norms(generator, discs)
    assert set(norms) == {1, 2, 3} and all(v > 0 for v in norms.values())
    out = tmp_path / "gen.root"
    assert main(["-q", "generate", "--model", str(model), "-n", "3000", "-o", str(out),
                 "--reweight", "--seed", "4"]) == 0
    arrays = read(out)
    for n in (1, 2, 3):
        w = arrays["weight"][arrays["nJet"] == n]
        # mean 1 up to the statistics of this sample and of the calibration sample
        assert abs(w.mean() - 1) < 5 * w.std() / np.sqrt(len(w)) + 0.05, (n, w.mean())


class _Exploit:
    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def test_generate_refuses_a_model_file_that_would_run_code(inn_model, tmp_path, capsys):
    model = tmp_path / "evil_model"
    shutil.copytree(inn_model, model)
    marker = tmp_path / "pwned"
    torch.save({"model.models.1.flow.layers.0.shift": _Exploit(f"touch {marker}")},
               model / "weights.pt")
    out = tmp_path / "gen.root"
    code = main(["generate", "--model", str(model), "-n", "10", "-o", str(out)])
    assert code == 2
    err = one_line_error(capsys)
    assert str(model / "weights.pt") in err
    assert not marker.exists(), "loading the model executed code"
    assert not out.exists() and not list(tmp_path.glob("gen.root*"))


# --- resume of a killed run ----------------------------------------------------------------------
def _train_command(data: Path, config: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "hepgen", "-q", "train", "--config", str(config), "--data",
            str(data), "--out", str(out), "--seed", "7", *extra]


@pytest.mark.slow  # ~10 s: two subprocess trainings (each imports torch); the fast in-process
# equivalent is tests/training/test_run.py::test_resume_after_interruption_equals_uninterrupted
def test_killed_run_resumes_to_the_same_weights(make_events, tmp_path):
    """Start two identical BINN trainings in subprocesses; SIGKILL one as soon as its first
    checkpoint exists; `--resume` it: weights.pt equals the uninterrupted run's, bit for bit
    (the resume runs in this process, on one torch thread like the subprocesses)."""
    data = tmp_path / "train.root"
    write_events(data, make_events(1200, seed=3))
    config = tmp_path / "cfg.json"
    config.write_text(json.dumps({"model": "binn", "model_config": TINY_MODEL,
                                  "train": {"epochs": 3, "batch_size": 64, "lr": 2e-3}}))
    full, cut = tmp_path / "full", tmp_path / "cut"
    reference = subprocess.Popen(_train_command(data, config, full), env=ENV,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    victim = subprocess.Popen(_train_command(data, config, cut), env=ENV,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not (cut / "j1" / "checkpoint.pt").exists():
            assert victim.poll() is None, "the run ended before its first checkpoint"
            assert time.monotonic() < deadline
            time.sleep(0.005)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        _, err = reference.communicate(timeout=120)
    finally:
        for proc in (victim, reference):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert victim.returncode == -signal.SIGKILL
    assert not (cut / "weights.pt").exists(), "the run finished before it was killed"
    assert not (cut / "j3").exists(), "the kill came too late to test a resume"
    assert reference.returncode == 0, err
    assert main(_train_command(data, config, cut, "--resume")[3:]) == 0
    a = torch.load(full / "weights.pt", weights_only=True)
    b = torch.load(cut / "weights.pt", weights_only=True)
    assert a.keys() == b.keys()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, different


def test_same_seed_twice_gives_identical_weights_through_the_cli(workdir, tmp_path):
    runs = []
    for name in ("a", "b"):
        out = tmp_path / name
        assert main(["-q", "train", "--config", str(workdir / "inn.json"), "--data",
                     str(workdir / "train.root"), "--out", str(out), "--seed", "4"]) == 0
        runs.append(torch.load(out / "weights.pt", weights_only=True))
    assert runs[0].keys() == runs[1].keys()
    assert all(torch.equal(runs[0][k], runs[1][k]) for k in runs[0])


# --- the whole chain -----------------------------------------------------------------------------
def test_train_generate_validate_end_to_end(tmp_path):
    reference = tmp_path / "reference.root"
    write_events(reference, toy_events(3000, seed=11))
    train_file = tmp_path / "train.root"
    write_events(train_file, toy_events(3000, seed=12))
    config = write_config(tmp_path / "inn.json", "inn")
    model, generated, report = tmp_path / "model", tmp_path / "gen.root", tmp_path / "report"
    assert main(["-q", "train", "--config", str(config), "--data", str(train_file),
                 "--out", str(model), "--epochs", "3"]) == 0
    assert main(["-q", "generate", "--model", str(model), "-n", "3000", "-o",
                 str(generated)]) == 0
    assert main(["-q", "validate", str(generated), str(reference), "-o", str(report),
                 "--no-plots", "--observables", "m_mumu,mu1_pt,j1_pt,j1_eta,n_jets"]) == 0
    metrics = json.loads((report / "metrics.json").read_text())
    assert set(metrics["classifier"]) == {"1j", "2j", "3j"}
    for name in ("1j", "2j", "3j"):
        auc = metrics["classifier"][name]["auc"]
        assert 0.0 <= auc <= 1.0 and np.isfinite(auc)
    assert metrics["inputs"]["generated"]["selection"]["n_read"] == 3000
    # a 3-epoch tiny model reproduces the jet multiplicities of its training file
    gen_counts = np.bincount(read(generated)["nJet"], minlength=4)[1:] / 3000
    ref_counts = np.bincount(read(reference)["nJet"], minlength=4)[1:] / 3000
    assert np.abs(gen_counts - ref_counts).max() < 0.05


def test_representation_option_trains_the_recoil_map_and_generates(workdir, tmp_path):
    out = train(workdir, "inn", "--representation", "recoil", "--multiplicity", "chain",
                tag="_recoil")
    config = json.loads((out / "generator.json").read_text())
    assert config["representation"] == "recoil"
    assert config["preprocessing"]["1"]["feature_names"][3:5] == ["balance_pt", "balance_phi"]
    target = tmp_path / "gen.root"
    assert main(["-q", "generate", "--model", str(out), "-n", "500", "-o", str(target)]) == 0
    arrays = read(target)
    assert len(arrays["nJet"]) == 500
    charges = arrays["Muon_charge"]
    assert all(sorted(c.tolist()) == [-1, 1] for c in charges)
    assert min(min(pt) for pt in arrays["Jet_pt"]) >= 20.0


def test_generate_compression_option(inn_model, tmp_path, capsys):
    out = tmp_path / "z.root"
    assert main(["-q", "generate", "--model", str(inn_model), "-n", "200", "-o", str(out),
                 "--compression", "zlib:1"]) == 0
    with uproot.open(out) as f:
        assert isinstance(f.file.compression, uproot.ZLIB)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main(["-q", "generate", "--model", str(inn_model), "-n", "200", "-o",
              str(tmp_path / "bad.root"), "--compression", "brotli"])
    assert exit_info.value.code == 2
    assert "--compression" in capsys.readouterr().err
    assert not (tmp_path / "bad.root").exists()


def test_fit_reweighter_then_generate_reweight(workdir, tmp_path, capsys):
    model = train(workdir, "inn", "--multiplicity", "chain", "--representation", "recoil",
                  tag="_reweighter")
    assert main(["-q", "generate", "--model", str(model), "-n", "50", "-o",
                 str(tmp_path / "no.root"), "--reweight"]) == 2
    assert "fit-reweighter" in one_line_error(capsys)
    assert main(["-q", "fit-reweighter", "--model", str(model), "--data",
                 str(workdir / "train.root"), "--epochs", "2"]) == 0
    out = tmp_path / "w.root"
    assert main(["-q", "generate", "--model", str(model), "-n", "600", "-o", str(out),
                 "--reweight"]) == 0
    arrays = read(out)
    assert np.isfinite(arrays["weight"]).all() and (arrays["weight"] > 0).all()
    for n in (1, 2, 3):  # normalised to mean 1 per multiplicity on a calibration sample
        assert 0.5 < arrays["weight"][arrays["nJet"] == n].mean() < 2.0
    # the normalisations fit-reweighter stored are those generate computes without them
    meta_file = model / "generator.json"
    meta = json.loads(meta_file.read_text())
    assert set(meta["meta"]["discflow"]["weight_norms"]) == {"1", "2", "3"}
    focus = meta["meta"]["discflow"]["focus"]  # the focused second stage, by default
    assert set(focus["observables"]) == {"1", "2", "3"}
    assert max(h["epoch"] for h in focus["history"]["2"]) < 2  # --epochs bounds it too
    del meta["meta"]["discflow"]["weight_norms"]
    meta_file.write_text(json.dumps(meta))
    again = tmp_path / "w_computed.root"
    assert main(["-q", "generate", "--model", str(model), "-n", "600", "-o", str(again),
                 "--reweight"]) == 0
    np.testing.assert_array_equal(read(again)["weight"], arrays["weight"])
    assert main(["-q", "fit-reweighter", "--model", str(model), "--data",
                 str(workdir / "train.root"), "--epochs", "1", "--no-focus"]) == 0
    assert "focus" not in json.loads(meta_file.read_text())["meta"]["discflow"]


def test_fit_reweighter_defaults_are_the_library_defaults():
    """The command's defaults are ReweighterConfig's (kept apart so `hepgen --help` does not
    import torch)."""
    from hepgen.cli import fit_reweighter as cli
    from hepgen.training.reweighter import ReweighterConfig

    assert cli.DEFAULT_MEMBERS == ReweighterConfig.members
    assert cli.DEFAULT_GENERATED_PER_EVENT == ReweighterConfig.generated_per_truth
    assert cli.DEFAULT_EPOCHS == ReweighterConfig.epochs
    assert cli.DEFAULT_FOCUS_EPOCHS == ReweighterConfig.focus_epochs
    assert ReweighterConfig.focus  # and --no-focus turns it off


def test_fit_reweighter_bad_input(workdir, tmp_path, capsys):
    assert main(["-q", "fit-reweighter", "--model", str(tmp_path / "nope"), "--data",
                 str(workdir / "train.root")]) == 2
    assert "generator.json" in one_line_error(capsys)


def test_epochs_option_overrides_every_stage(workdir):
    """--epochs wins over stage_train epochs (a quick run stays quick); other stage options stay."""
    import json as _json

    config = workdir / "staged.json"
    write_config(config, "inn", multiplicity="chain",
                 stage_train={"3": {"epochs": 50, "lr": 5e-4}})
    out = workdir / "run_staged"
    assert main(["-q", "train", "--config", str(config), "--data", str(workdir / "train.root"),
                 "--out", str(out), "--epochs", "1"]) == 0
    run = _json.loads((out / "run.json").read_text())
    assert [len(run["history"][f"chain{k}"]) for k in (1, 2, 3)] == [1, 1, 1]
    assert run["meta"]["run_config"]["stage_train"] == {"3": {"lr": 5e-4}}


def test_ensemble_config_trains_members_and_generates(workdir, tmp_path):
    """An 'ensemble' config through the command line: member directories, exact reload, the
    generated events in the physics domain; adding members to a finished run with --resume."""
    write_config(workdir / "ens.json", "inn", multiplicity="chain", ensemble={"2": 2})
    run = train(workdir, "ens")
    assert (run / "chain2_m1" / "done.pt").exists() and not (run / "chain1_m1").exists()
    out = tmp_path / "ens.root"
    assert main(["-q", "generate", "--model", str(run), "-n", "400", "-o", str(out)]) == 0
    arrays = read(out)
    assert len(arrays["nJet"]) == 400 and np.concatenate(arrays["Jet_pt"]).min() >= 20.0
    write_config(workdir / "ens.json", "inn", multiplicity="chain", ensemble={"2": 2, "3": 2})
    assert main(["-q", "train", "--config", str(workdir / "ens.json"), "--data",
                 str(workdir / "train.root"), "--out", str(run), "--resume"]) == 0
    assert (run / "chain3_m1" / "done.pt").exists()
    generator = json.loads((run / "generator.json").read_text())
    assert generator["ensemble"] == {"2": 2, "3": 2}


def test_fsr_config_trains_generates_and_takes_the_epochs_override(workdir, tmp_path, capsys):
    """Photon-jet splitting through the command line on (part of) the shipped training file:
    --epochs reaches the splitter's networks too; the generated file is in the physics
    domain. On toy events without jets along a muon the config is refused with exit 2."""
    import json as _json

    shipped = Path(__file__).resolve().parents[2] / "data_samples" / "zjets_train.root"
    config = write_config(tmp_path / "fsr.json", "inn", multiplicity="chain",
                          representation="recoil", fsr={"radius": 0.2})
    out = tmp_path / "run_fsr"
    assert main(["-q", "train", "--config", str(config), "--data", str(shipped),
                 "--max-events", "15000", "--out", str(out), "--epochs", "1"]) == 0
    history = _json.loads((out / "run.json").read_text())["history"]
    assert len(history["fsr_decision"]) == 1 and len(history["fsr_kinematics"]) == 1
    generated = tmp_path / "fsr.root"
    assert main(["-q", "generate", "--model", str(out), "-n", "500", "-o", str(generated)]) == 0
    arrays = read(generated)
    assert len(arrays["nJet"]) == 500 and np.concatenate(arrays["Jet_pt"]).min() >= 20.0
    refused = tmp_path / "run_fsr_toy"
    assert main(["-q", "train", "--config", str(config), "--data", str(workdir / "train.root"),
                 "--out", str(refused)]) == 2
    assert "fsr: only" in one_line_error(capsys)
    assert not (refused / "generator.json").exists()


def test_unknown_representation_is_named_and_nothing_is_written(tmp_path, capsys):
    from hepgen.cli import main

    out = tmp_path / "run"
    assert main(["train", "--out", str(out), "--representation", "recoil-typo"]) == 2
    err = capsys.readouterr().err
    assert "--representation 'recoil-typo'" in err and "recoil-cones-shared-deta" in err
    assert not out.exists()


def test_compact_stores_parameters_as_float16_and_reloads_them_exactly(workdir, tmp_path, capsys):
    from hepgen.generators.compact import round_parameters_
    from hepgen.generators.event import EventGenerator, load_tensors

    model = train(workdir, "inn", "--multiplicity", "chain", "--representation", "recoil",
                  tag="_compact")
    assert main(["-q", "fit-reweighter", "--model", str(model), "--data",
                 str(workdir / "train.root"), "--epochs", "1"]) == 0
    out = tmp_path / "half"
    assert main(["-q", "compact", "--model", str(model), "-o", str(out)]) == 0
    assert "float16" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["generator.json", "run.json", "weights.pt"]
    full, half = load_tensors(model / "weights.pt"), load_tensors(out / "weights.pt")
    assert full.keys() == half.keys()
    original, _ = EventGenerator.load(model)
    params = {f"model.{k}" for k, _ in original.named_parameters()}
    for key, value in half.items():
        learned = key in params or (key.startswith("extra.") and key.endswith((".weight", ".bias")))
        assert value.dtype == (torch.float16 if learned else full[key].dtype), key
        if not learned:  # buffers (rotations, standardisations, masks) untouched
            assert torch.equal(value, full[key]), key
    assert (out / "weights.pt").stat().st_size < 0.75 * (model / "weights.pt").stat().st_size
    # loading gives exactly the rounded networks: the same samples as rounding in memory
    compacted, extra = EventGenerator.load(out)
    round_parameters_(original)
    a, _ = original.sample_events(300, seed=4)
    b, _ = compacted.sample_events(300, seed=4)
    assert a.to_list() == b.to_list()
    meta = json.loads((out / "generator.json").read_text())["meta"]
    assert meta["storage"]["parameters"] == "float16"
    assert set(meta["discflow"]["weight_norms"]) == {"1", "2", "3"}
    weighted = tmp_path / "half.root"
    assert main(["-q", "generate", "--model", str(out), "-n", "400", "-o", str(weighted),
                 "--reweight"]) == 0
    assert np.isfinite(read(weighted)["weight"]).all()


def test_compact_bad_output(workdir, inn_model, tmp_path, capsys):
    assert main(["-q", "compact", "--model", str(inn_model), "-o", str(inn_model)]) == 2
    assert "must differ from --model" in one_line_error(capsys)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("x")
    assert main(["-q", "compact", "--model", str(inn_model), "-o", str(busy)]) == 2
    assert "not an empty directory" in one_line_error(capsys)
    assert sorted(p.name for p in busy.iterdir()) == ["keep.txt"]
    assert main(["-q", "compact", "--model", str(tmp_path / "nope"), "-o",
                 str(tmp_path / "new")]) == 2
    assert "not found" in one_line_error(capsys) and not (tmp_path / "new").exists()
