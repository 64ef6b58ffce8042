"""``validate``: compare two event records and write a report directory.

The report directory holds ``metrics.json`` (machine-readable, stable keys), ``plots/`` (one PNG
per observable, region and zoom window, plus classifier-weight histograms; PDF on request) and a
self-contained ``index.html``. It is written to a temporary sibling directory and renamed into
place when complete, so a failed run never leaves a half report.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import awkward as ak
import numpy as np

from hepgen.physics.errors import HepgenInputError
from hepgen.physics.events import SelectionReport, has_jets
from hepgen.physics.observables import CATALOGUE, Observable
from hepgen.validation import band, html, report
from hepgen.validation.generator_weights import generated_weights_entry
from hepgen.validation.plots import ComparisonPlotter
from hepgen.validation.samples import (
    Region,
    Sample,
    evaluate_sample,
    inclusive_region,
    multiplicity_regions,
)
from hepgen.validation.stages import (
    ClassifierSettings,
    PlotOptions,
    classifier_entry,
    histogram_entry,
    run_classifier,
    window_key,
)
from hepgen.validation.thresholds import FAIL, Thresholds, worst

#: Progress callback: (description of the step just started, steps done, total steps).
ProgressCallback = Callable[[str, int, int], None]


@dataclass
class ValidationResult:
    """Outcome of :func:`validate`.

    Attributes:
        out_dir: the report directory.
        metrics: the content of metrics.json.
        status: overall ``"pass"``, ``"warn"`` or ``"fail"``: the worst of the classifier tests
            and the histogram verdict, which allows for the number of histograms (see
            :func:`hepgen.validation.report.histogram_verdict`).
        flagged: keys of every single failing item, e.g. ``["m_mumu/inclusive",
            "classifier/2j"]`` (with many histograms a few fail by chance).
    """

    out_dir: Path
    metrics: dict
    status: str
    flagged: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True unless the overall verdict is ``"fail"`` (single flags may be chance)."""
        return self.status != FAIL

    @property
    def metrics_path(self) -> Path:
        return self.out_dir / "metrics.json"

    @property
    def html_path(self) -> Path:
        return self.out_dir / "index.html"


@contextlib.contextmanager
def atomic_directory(out_dir: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary sibling of ``out_dir`` to write into; rename it to ``out_dir`` on
    success (replacing an earlier report), delete it on failure.

    Raises:
        HepgenInputError: ``out_dir`` is a file, or a non-empty directory without metrics.json
            (never replace something that is not a hepgen report).
    """
    out = Path(out_dir).absolute()
    if out.exists() and not out.is_dir():
        raise HepgenInputError(f"{out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not (out / "metrics.json").exists():
        raise HepgenInputError(
            f"{out}: non-empty directory that is not a hepgen report; choose another -o"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        yield tmp
        tmp.chmod(0o755)
        if out.exists():
            old = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:8]}")
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _selection_dict(rep: SelectionReport | None) -> dict | None:
    if rep is None:
        return None
    return {
        "n_read": rep.n_read,
        "n_kept": rep.n_kept,
        "skipped": dict(rep.skipped),
        "summary": rep.summary(),
    }


def _split_observables(
    gen: ak.Array, ref: ak.Array, observables: Sequence[Observable], labels: tuple[str, str]
) -> tuple[list[Observable], dict[str, str]]:
    used, skipped = [], {}
    for obs in observables:
        missing = [lab for ev, lab in ((gen, labels[0]), (ref, labels[1])) if not obs.available(ev)]
        if missing:
            skipped[obs.name] = f"needs jets: no Jet collection in {' and '.join(missing)}"
        else:
            used.append(obs)
    return used, skipped


def validate(
    generated_events: ak.Array,
    reference_events: ak.Array,
    out_dir: str | os.PathLike[str],
    *,
    labels: tuple[str, str] = ("generated", "reference"),
    seed: int = 0,
    classifier: bool = True,
    progress: ProgressCallback | None = None,
    thresholds: Thresholds | None = None,
    observables: Sequence[Observable] | None = None,
    selection: tuple[SelectionReport | None, SelectionReport | None] = (None, None),
    sources: tuple[str | None, str | None] = (None, None),
    command: str | None = None,
    formats: Sequence[str] = ("png",),
    classifier_settings: ClassifierSettings | None = None,
    plots: bool = True,
) -> ValidationResult:
    """Compare generated with reference events and write the report to ``out_dir``.

    Args:
        generated_events, reference_events: event records (see :mod:`hepgen.physics.events`);
            a ``weight`` field is honoured everywhere (histograms, W1, classifier). A ``draw``
            field of the generated record with K >= 2 distinct posterior draws adds the
            posterior band to every histogram (:mod:`hepgen.validation.band`); non-constant
            generated weights add the ``generated_weights`` summary and figure.
        out_dir: report directory (created; an earlier report there is replaced).
        labels: display names of (generated, reference).
        seed: seed of the classifier's split, subsampling, training and bootstrap.
        classifier: run the classifier two-sample test (per jet multiplicity when both records
            have jets, else inclusively on the muon observables).
        progress: called as ``progress(step, done, total)`` before each step.
        thresholds: pass/warn/fail criteria (default :class:`Thresholds`).
        observables: observables to compare (default: the whole catalogue).
        selection: the readers' selection reports of both inputs, for the report.
        sources: input file names, for the report.
        command: the command line, for the report.
        formats: figure formats, e.g. ("png", "pdf"); PNG is always written (the HTML embeds it).
        classifier_settings: caps, bootstrap replicas, test fraction, threads, repeats.
        plots: draw the figures (False: metrics and HTML tables only, much faster).

    Returns:
        the :class:`ValidationResult` (metrics, overall status, flagged items).
    """
    thresholds = thresholds or Thresholds()
    settings = classifier_settings or ClassifierSettings()
    settings = dataclasses.replace(settings, seed=seed)
    labels = (str(labels[0]), str(labels[1]))
    fmts = tuple(dict.fromkeys(["png", *formats]))
    catalogue = list(CATALOGUE.values()) if observables is None else list(observables)
    used, skipped_obs = _split_observables(generated_events, reference_events, catalogue, labels)
    if not used:
        raise HepgenInputError("validate: no observable can be evaluated on both inputs")
    gen = evaluate_sample(generated_events, used, labels[0])
    ref = evaluate_sample(reference_events, used, labels[1])
    for obs in list(used):
        both = np.concatenate([s.values[obs.name][s.defined[obs.name]] for s in (gen, ref)])
        if both.size == 0 or both.min() == both.max():
            skipped_obs[obs.name] = "one constant value in both inputs (nothing to compare)"
            used.remove(obs)
    both_jets = has_jets(generated_events) and has_jets(reference_events)
    regions: list[Region] = [inclusive_region(both_jets)] + (
        multiplicity_regions() if both_jets else []
    )

    jobs: list[tuple[Observable, Region, tuple[float, float] | None]] = []
    for obs in used:
        for region in regions:
            if region.accepts(obs):
                jobs.append((obs, region, None))
                jobs.extend((obs, region, w) for w in obs.windows)
    clf_regions = [r for r in regions if r.n_jets is not None] if both_jets else regions[:1]
    total = len(jobs) + (len(clf_regions) if classifier else 0) + 1
    step = 0

    def tick(text: str) -> None:
        nonlocal step
        if progress is not None:
            progress(text, step, total)
        step += 1

    skipped: dict[str, dict[str, str]] = {
        "observables": skipped_obs,
        "histograms": {},
        "classifier": {},
    }
    obs_entries: dict[str, dict] = {
        o.name: {
            "label": o.label,
            "unit": o.unit,
            "min_jets": o.min_jets,
            "regions": {},
            "windows": {},
        }
        for o in used
    }
    clf_jobs = clf_regions if classifier else []
    if not classifier:
        skipped["classifier"]["all"] = "disabled (--no-classifier)"
    elif not both_jets:
        skipped["classifier"]["per-multiplicity"] = (
            "no Jet collection in both inputs: classifier run inclusively on muon observables"
        )
    # The classifier trains in a worker thread while the histograms are filled and drawn here
    # (sklearn and numpy release the GIL; matplotlib stays in this thread).
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hepgen-classifier")
    try:
        futures = [
            pool.submit(run_classifier, used, r, gen, ref, settings, i)
            for i, r in enumerate(clf_jobs)
        ]
        with atomic_directory(out_dir) as tmp, ComparisonPlotter() as plotter:
            options = PlotOptions(tmp / "plots", labels, fmts, plotter, enabled=plots)
            if plots:
                options.plot_dir.mkdir()
            for obs, region, window in jobs:
                key = f"{obs.name}/{region.key}" + (f"/{window_key(window)}" if window else "")
                tick(f"histogram {key}")
                entry, reason = histogram_entry(obs, region, gen, ref, thresholds, options, window)
                if entry is None:
                    skipped["histograms"][key] = str(reason)
                elif window is None:
                    obs_entries[obs.name]["regions"][region.key] = entry
                else:
                    obs_entries[obs.name]["windows"].setdefault(window_key(window), {})[
                        region.key
                    ] = entry
            gen_weights = generated_weights_entry(gen, regions, options)
            clf_entries: dict[str, dict] = {}
            for region, future in zip(clf_jobs, futures, strict=True):
                tick(f"classifier {region.key}")
                res = future.result()
                if isinstance(res, str):
                    skipped["classifier"][region.key] = res
                else:
                    clf_entries[region.key] = classifier_entry(res, region, thresholds, options)
            metrics = _assemble(
                obs_entries,
                clf_entries,
                skipped,
                regions,
                labels,
                (gen, ref),
                selection,
                sources,
                command,
                thresholds,
                gen_weights,
            )
            tick("report")
            report.write_metrics(metrics, tmp / "metrics.json")
            html.write_html(metrics, tmp, tmp / "index.html")
            if progress is not None:
                progress("done", total, total)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    out = Path(out_dir).absolute()
    summary = metrics["summary"]
    return ValidationResult(
        out, report.to_jsonable(metrics), summary["status"], list(summary["flagged"])
    )


def _assemble(
    obs_entries: dict[str, dict],
    clf_entries: dict[str, dict],
    skipped: dict[str, dict[str, str]],
    regions: list[Region],
    labels: tuple[str, str],
    samples: tuple[Sample, Sample],
    selection: tuple[SelectionReport | None, SelectionReport | None],
    sources: tuple[str | None, str | None],
    command: str | None,
    thresholds: Thresholds,
    generated_weights: dict | None = None,
) -> dict:
    """The metrics.json content (see :mod:`hepgen.validation.report` for the key structure)."""
    for e in obs_entries.values():
        e["status"] = worst(
            [x["status"] for x in e["regions"].values()]
            + [x["status"] for w in e["windows"].values() for x in w.values()]
        )
        # pooled over the regions only: zoom windows re-bin the same events
        e["band"] = band.pooled(x["band"] for x in e["regions"].values())
    inputs = {
        role: {"source": src, "selection": _selection_dict(sel), **sample.summary()}
        for role, src, sel, sample in zip(
            ("generated", "reference"), sources, selection, samples, strict=True
        )
    }
    metrics = {
        "schema": report.SCHEMA,
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": command,
        "versions": report.versions(),
        "labels": {"generated": labels[0], "reference": labels[1]},
        "inputs": inputs,
        "thresholds": thresholds.as_dict(),
        "threshold_descriptions": Thresholds.descriptions(),
        "regions": {r.key: r.title for r in regions},
        "observables": obs_entries,
        "classifier": clf_entries,
        "generated_weights": generated_weights,
        "skipped": skipped,
    }
    metrics["summary"] = report.summarise(metrics, thresholds)
    return metrics
