"""The report directory: metrics.json keys, figures, self-contained index.html, atomic writes."""

from __future__ import annotations

import json

import matplotlib.pyplot as plt
import numpy as np
import pytest

from hepgen.physics.errors import HepgenInputError
from hepgen.physics.events import SelectionReport, with_weights
from hepgen.physics.observables import CATALOGUE
from hepgen.validation import Thresholds, validate
from hepgen.validation.report import SCHEMA
from hepgen.validation.toys import toy_events

NAMES = ("m_mumu", "n_jets", "j2_eta")

TOP_KEYS = {
    "schema",
    "created_utc",
    "command",
    "versions",
    "labels",
    "inputs",
    "thresholds",
    "threshold_descriptions",
    "regions",
    "observables",
    "classifier",
    "generated_weights",
    "skipped",
    "summary",
}
HIST_KEYS = {
    "chi2",
    "ndf",
    "chi2_ndf",
    "p_value",
    "wasserstein",
    "wasserstein_norm",
    "separation",
    "n_generated",
    "n_reference",
    "sumw_generated",
    "sumw_reference",
    "status",
    "flag",
    "binning",
    "outside_range",
    "band",
    "plot",
}
CLASSIFIER_KEYS = {
    "auc",
    "auc_err",
    "auc_deviation_sigma",
    "auc_train",
    "status",
    "flag",
    "features",
    "n_train",
    "n_test",
    "n_bootstrap",
    "auc_repeats",
    "auc_repeat_sd",
    "n_iter",
    "weights",
    "plot",
}


@pytest.fixture(scope="module")
def observables() -> list:
    return [CATALOGUE[n] for n in NAMES]  # a renamed observable fails here, loudly


@pytest.fixture(scope="module")
def report(tmp_path_factory, observables):
    out = tmp_path_factory.mktemp("report") / "report"
    gen = toy_events(4000, seed=1)
    gen = with_weights(gen, np.random.default_rng(0).uniform(0.5, 1.5, len(gen)))
    sel = SelectionReport(n_read=4100, n_kept=4000, skipped={"fewer than two muons": 100})
    result = validate(
        gen,
        toy_events(4000, seed=2),
        out,
        labels=("gen", "ref"),
        observables=observables,
        selection=(sel, None),
        sources=("gen.root", "ref.root"),
        command="hepgen validate x y",
        formats=("png", "pdf"),
        thresholds=Thresholds(auc_tolerance_fail=0.05),
    )
    return result, out


def test_metrics_json_has_stable_keys(report) -> None:
    result, out = report
    m = json.loads((out / "metrics.json").read_text())
    assert set(m) == TOP_KEYS and m["schema"] == SCHEMA
    assert m == result.metrics
    assert set(m["observables"]["m_mumu"]) == {
        "label",
        "unit",
        "min_jets",
        "status",
        "regions",
        "windows",
        "band",
    }
    assert set(m["observables"]["m_mumu"]["regions"]["inclusive"]) == HIST_KEYS
    assert m["observables"]["m_mumu"]["regions"]["inclusive"]["band"] is None  # no draws
    assert m["observables"]["m_mumu"]["band"] is None and m["summary"]["band"] is None
    assert m["inputs"]["generated"]["posterior_draws"] is None
    assert m["generated_weights"]["plot"] == "plots/generated_weights.png"  # U(0.5, 1.5)
    assert m["generated_weights"]["fraction_above_3"] == 0.0
    assert set(m["observables"]["m_mumu"]["windows"]["70-110"]["inclusive"]) == HIST_KEYS
    assert set(m["classifier"]["1j"]) == CLASSIFIER_KEYS
    assert set(m["skipped"]) == {"observables", "histograms", "classifier"}
    assert m["thresholds"]["auc_tolerance_fail"] == 0.05
    assert m["inputs"]["generated"]["selection"]["skipped"] == {"fewer than two muons": 100}
    assert m["inputs"]["generated"]["weighted"] and not m["inputs"]["reference"]["weighted"]
    assert m["labels"] == {"generated": "gen", "reference": "ref"}
    assert m["versions"]["hepgen"]


def test_every_figure_exists_in_png_and_pdf(report) -> None:
    _, out = report
    m = json.loads((out / "metrics.json").read_text())
    plots = [e["plot"] for o in m["observables"].values() for e in o["regions"].values()]
    plots += [
        e["plot"]
        for o in m["observables"].values()
        for w in o["windows"].values()
        for e in w.values()
    ]
    plots += [e["plot"] for e in m["classifier"].values()]
    assert len(plots) == len(set(plots)) > 10
    for rel in plots:
        assert (out / rel).is_file() and (out / rel).with_suffix(".pdf").is_file()
    assert (out / "plots" / "m_mumu_inclusive_70-110.png").is_file()
    assert plt.get_fignums() == []  # every figure closed


def test_index_html_is_self_contained(report) -> None:
    _, out = report
    page = (out / "index.html").read_text()
    n_png = len(list((out / "plots").glob("*.png")))
    assert page.count("data:image/png;base64,") == n_png
    assert "<script" not in page and "http://" not in page and "https://" not in page
    for text in (
        "hepgen validation: gen vs ref",
        "fewer than two muons: 100",
        "auc_tolerance_fail",
        "hepgen validate x y",
        "Classifier two-sample test",
        'id="obs-m_mumu"',
    ):
        assert text in page, text
    assert page.index("Observables") < page.index("Inputs") < page.index("Distributions")


def test_failure_leaves_no_half_report(tmp_path, observables) -> None:
    out = tmp_path / "report"
    bad = with_weights(toy_events(500, seed=3), np.full(500, np.nan))
    with pytest.raises(HepgenInputError, match="not finite"):
        validate(bad, toy_events(500, seed=4), out, observables=observables, plots=False)
    assert list(tmp_path.iterdir()) == []


def test_earlier_report_is_replaced_and_other_directories_refused(tmp_path, observables) -> None:
    out = tmp_path / "report"
    a, b = toy_events(2000, seed=5), toy_events(2000, seed=6)
    validate(a, b, out, observables=observables, plots=False, classifier=False)
    (out / "stale.txt").write_text("old")
    validate(a, b, out, observables=observables, plots=False, classifier=False)
    assert not (out / "stale.txt").exists() and (out / "metrics.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep")
    with pytest.raises(HepgenInputError, match="not a hepgen report"):
        validate(a, b, other, observables=observables, plots=False, classifier=False)
    assert (other / "notes.txt").read_text() == "keep"


def test_identical_samples_are_noted_and_progress_reaches_the_end(tmp_path, observables) -> None:
    events = toy_events(4000, seed=7)
    calls: list[tuple[str, int, int]] = []
    res = validate(
        events, events, tmp_path / "r", observables=observables, plots=False,
        progress=lambda step, done, total: calls.append((step, done, total)),
    )  # fmt: skip
    s = res.metrics["summary"]
    assert s["mean_chi2_ndf"] == 0.0 and "may share events" in s["notes"][0]
    assert all(e["auc"] == pytest.approx(0.5) for e in res.metrics["classifier"].values())
    assert calls[0][1] == 0 and calls[-1] == ("done", calls[-1][2], calls[-1][2])
    assert [c[1] for c in calls] == list(range(len(calls)))
    assert "may share events" in (tmp_path / "r" / "index.html").read_text()
