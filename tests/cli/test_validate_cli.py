"""`hepgen validate`: help, options, exit codes, weighted files, real CMS data split in halves."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

from hepgen.cli import main
from hepgen.physics.events import with_weights
from hepgen.physics.io import write_events
from hepgen.validation.toys import scale_pt, toy_events

#: Few observables keep the CLI runs short (the full catalogue is the benchmark's job).
FEW = "m_mumu,mu1_pt,j1_pt,n_jets"


def test_help_explains_the_report(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["validate", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for text in (
        "index.html",
        "metrics.json",
        "plots/",
        "chi2/ndf",
        "AUC",
        "delta[%]",
        "--fail-on-flag",
        "skipped",
        "temporary",
        "'draw' branch",
        "posterior band (K draws)",
        "coverage_band",
        "coverage_total",
        "generated_weights",
        "ess_fraction",
    ):
        assert text in out, text


def test_bad_labels_are_a_usage_error(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["validate", "a.root", "b.root", "-o", str(tmp_path / "r"), "--labels", "only-one"])
    assert info.value.code == 2
    assert "two comma-separated labels" in capsys.readouterr().err


def test_missing_file_is_one_line_and_leaves_nothing(tmp_path, capsys) -> None:
    out = tmp_path / "r"
    code = main(
        ["validate", str(tmp_path / "nope.root"), str(tmp_path / "nope.root"), "-o", str(out)]
    )
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("hepgen: error:") and len(err.splitlines()) == 1
    assert not out.exists()


@pytest.fixture(scope="module")
def toy_files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("toys")
    gen = toy_events(8000, seed=1)
    files = {
        "gen": d / "gen.root",
        "ref": d / "ref.root",
        "weighted": d / "weighted.root",
        "shifted": d / "shifted.root",
    }
    write_events(files["gen"], gen)
    write_events(files["ref"], toy_events(8000, seed=2))
    write_events(
        files["weighted"], with_weights(gen, np.random.default_rng(3).uniform(0.5, 1.5, len(gen)))
    )
    write_events(files["shifted"], scale_pt(gen, 1.05))
    return files


def test_weighted_file_through_the_cli(tmp_path, toy_files, capsys) -> None:
    out = tmp_path / "report"
    code = main(
        [
            "-q",
            "validate",
            str(toy_files["weighted"]),
            str(toy_files["ref"]),
            "-o",
            str(out),
            "--labels",
            "gen,ref",
            "--observables",
            FEW,
            "--no-plots",
        ]
    )
    assert code == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["inputs"]["generated"]["weighted"] and not m["inputs"]["reference"]["weighted"]
    assert m["inputs"]["generated"]["selection"]["n_read"] == 8000
    assert m["command"].startswith("hepgen validate") and "--observables" in m["command"]
    assert set(m["classifier"]) == {"1j", "2j", "3j"}
    assert (out / "index.html").is_file() and not (out / "plots").exists()


def test_bayesian_reweighted_file_gets_band_and_weight_histogram(tmp_path, toy_files, caplog):
    """A generated file as ``hepgen generate --posterior-draws 4 --reweight`` writes it: four
    blocks of events with ``draw`` = 0..3 and discriminator-like weights."""
    caplog.set_level(logging.INFO, logger="hepgen")
    n_draws, per_draw = 4, 1500
    blocks = [
        ak.with_field(toy_events(per_draw, seed=80 + k), np.full(per_draw, k, np.int32), "draw")
        for k in range(n_draws)
    ]
    rng = np.random.default_rng(5)
    blocks = [with_weights(b, np.exp(rng.normal(0.0, 0.4, per_draw))) for b in blocks]
    path = tmp_path / "binn.root"
    write_events(path, blocks)
    assert uproot.open(path)["Events"].typenames()["draw"] == "int32_t"
    out = tmp_path / "report"
    code = main(
        ["validate", str(path), str(toy_files["ref"]), "-o", str(out), "--labels", "BINN,truth",
         "--observables", "m_mumu,j1_pt", "--no-classifier"]
    )  # fmt: skip
    assert code == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["inputs"]["generated"]["posterior_draws"] == {
        "n_draws": 4,
        "min_events_per_draw": per_draw,
        "max_events_per_draw": per_draw,
    }
    bands = [e["band"] for o in m["observables"].values() for e in o["regions"].values()]
    assert len(bands) == 8 and all(b["n_draws"] == 4 for b in bands)
    assert all(0.0 <= b["coverage_band"] <= b["coverage_total"] <= 1.0 for b in bands)
    assert m["observables"]["m_mumu"]["windows"]["70-110"]["2j"]["band"]["n_draws"] == 4
    assert m["summary"]["band"]["n_histograms"] == 8
    g = m["generated_weights"]
    assert g["n_events"] == n_draws * per_draw and 0.7 < g["ess_fraction"] < 0.9  # e^{-σ²}
    assert (out / g["plot"]).is_file() and (out / "plots" / "j1_pt_2j.png").is_file()
    page = (out / "index.html").read_text()
    assert "Posterior band (4 draws) of BINN covers the deviation from truth in" in page
    assert "Generated event weights" in page
    assert "posterior band (4 draws) covers the deviation" in caplog.text
    assert "generated weights: mean" in caplog.text

    # the reference has no draws and unit weights: swapped, nothing of this appears
    swapped = tmp_path / "swapped"
    code = main(
        ["-q", "validate", str(toy_files["ref"]), str(path), "-o", str(swapped),
         "--observables", "m_mumu", "--no-classifier", "--no-plots"]
    )  # fmt: skip
    assert code == 0
    m = json.loads((swapped / "metrics.json").read_text())
    assert m["generated_weights"] is None and m["summary"]["band"] is None
    assert m["inputs"]["reference"]["posterior_draws"]["n_draws"] == 4


def test_fail_on_flag_sets_the_exit_status(tmp_path, toy_files) -> None:
    args = [
        "-q",
        "validate",
        str(toy_files["shifted"]),
        str(toy_files["ref"]),
        "--observables",
        FEW,
        "--no-plots",
        "--no-classifier",
    ]
    assert main([*args, "-o", str(tmp_path / "a")]) == 0
    assert main([*args, "-o", str(tmp_path / "b"), "--fail-on-flag"]) == 1
    m = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert "m_mumu/inclusive" in m["summary"]["flagged"]
    assert m["skipped"]["classifier"] == {"all": "disabled (--no-classifier)"}


def test_unknown_observable_is_an_input_error(tmp_path, toy_files, capsys) -> None:
    code = main(
        [
            "validate",
            str(toy_files["gen"]),
            str(toy_files["ref"]),
            "-o",
            str(tmp_path / "r"),
            "--observables",
            "m_mumu,not_an_observable",
        ]
    )
    assert code == 2
    assert "not_an_observable" in capsys.readouterr().err


#: Branches of the flat CMS dimuon file that the ``cms-dimuon`` schema reads, plus identifiers.
CMS_BRANCHES = ("Run", "Event", "pt1", "eta1", "phi1", "Q1", "pt2", "eta2", "phi2", "Q2", "M")


def _write_flat(path: Path, arrays: dict[str, np.ndarray], mask: np.ndarray) -> None:
    with uproot.recreate(path) as f:
        f.mktree("events", {k: arrays[k].dtype for k in CMS_BRANCHES})
        f["events"].extend({k: arrays[k][mask] for k in CMS_BRANCHES})


@pytest.fixture
def cms_halves(tmp_path_factory, shared_data_path) -> tuple[Path, Path]:
    """The CMS 2010 dimuon file split by physics event into two independent halves.

    The file stores each collision up to four times (muon reconstruction types GT, TT, GT, GG,
    same Run/Event): an entry-wise split would put copies of one collision in both halves. Keep
    the first entry of each (Run, Event) and alternate whole collisions between the halves.
    """
    source = shared_data_path("uproot-Zmumu.root")
    arrays = uproot.open(source)["events"].arrays(list(CMS_BRANCHES), library="np")
    key = arrays["Run"].astype(np.int64) * 10**10 + arrays["Event"].astype(np.int64)
    _, first = np.unique(key, return_index=True)
    first = np.sort(first)
    d = tmp_path_factory.mktemp("cms")
    halves = (d / "even.root", d / "odd.root")
    for i, path in enumerate(halves):
        mask = np.zeros(key.size, dtype=bool)
        mask[first[i::2]] = True
        _write_flat(path, arrays, mask)
    return halves


def test_cms_file_halves_agree(tmp_path, cms_halves) -> None:
    out = tmp_path / "report"
    code = main(
        [
            "-q",
            "validate",
            str(cms_halves[0]),
            str(cms_halves[1]),
            "-o",
            str(out),
            "--schema",
            "cms-dimuon",
            "--labels",
            "even,odd",
        ]
    )
    assert code == 0
    m = json.loads((out / "metrics.json").read_text())
    assert (out / "index.html").is_file()
    for name in ("j1_pt", "j2_pt", "dR_j1_j2"):
        assert "needs jets" in m["skipped"]["observables"][name]
    assert "per-multiplicity" in m["skipped"]["classifier"]
    assert list(m["classifier"]) == ["inclusive"]
    assert not m["classifier"]["inclusive"]["flag"]
    assert (
        abs(m["classifier"]["inclusive"]["auc"] - 0.5)
        < 3 * m["classifier"]["inclusive"]["auc_err"] + 0.02
    )
    chi2 = [o["regions"]["inclusive"]["chi2_ndf"] for o in m["observables"].values()]
    assert 0.4 < np.mean(chi2) < 1.6
    assert m["summary"]["n_fail"] <= 1
    assert "m_mumu" in m["observables"] and "70-110" in m["observables"]["m_mumu"]["windows"]
    assert m["inputs"]["generated"]["selection"]["summary"].startswith("read ")
    page = (out / "index.html").read_text()
    assert "needs jets" in page and "data:image/png;base64," in page


def test_no_jets_and_per_file_schemas(tmp_path, toy_files, cms_halves) -> None:
    out = tmp_path / "r"
    code = main(
        ["-q", "validate", str(toy_files["gen"]), str(cms_halves[0]), "-o", str(out),
         "--schema-generated", "nanoaod", "--schema-reference", "cms-dimuon", "--labels", "toy,cms",
         "--observables", FEW, "--no-plots", "--no-classifier"]
    )  # fmt: skip
    assert code == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["skipped"]["observables"]["j1_pt"] == "needs jets: no Jet collection in cms"
    assert m["inputs"]["generated"]["has_jets"] and not m["inputs"]["reference"]["has_jets"]
    assert "--schema-reference cms-dimuon" in m["command"]

    code = main(
        ["-q", "validate", str(toy_files["gen"]), str(toy_files["ref"]), "-o", str(out),
         "--no-jets", "--observables", FEW, "--no-plots"]
    )  # fmt: skip
    assert code == 0
    m = json.loads((out / "metrics.json").read_text())
    assert not m["inputs"]["generated"]["has_jets"]
    assert list(m["classifier"]) == ["inclusive"] and "j1_pt" in m["skipped"]["observables"]


def test_classifier_repeats_option(tmp_path, toy_files) -> None:
    out = tmp_path / "report"
    code = main(["-q", "validate", str(toy_files["gen"]), str(toy_files["ref"]), "-o", str(out),
                 "--observables", FEW, "--no-plots", "--classifier-repeats", "2"])
    assert code == 0
    m = json.loads((out / "metrics.json").read_text())
    assert "--classifier-repeats 2" in m["command"]
    for entry in m["classifier"].values():
        assert len(entry["auc_repeats"]) == 2 and entry["auc_repeat_sd"] is not None
        assert entry["auc"] == pytest.approx(np.mean(entry["auc_repeats"]))
    assert "mean of 2; seed sd" in (out / "index.html").read_text()
