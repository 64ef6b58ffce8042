"""``hepgen validate GENERATED REFERENCE -o REPORT``: compare two event files and write a report."""

from __future__ import annotations

import argparse
import logging
import shlex
import textwrap

from hepgen.cli.common import positive_int, progress

log = logging.getLogger("hepgen")

DESCRIPTION = textwrap.dedent(
    """\
    Compare two event files (generated vs reference, or two references) observable by
    observable and with a classifier two-sample test, and write a report directory:

      index.html    self-contained report to open first: overall pass/warn/fail, a summary
                    table (per observable chi2/ndf per region, Wasserstein distance W1,
                    separation power; per jet multiplicity the classifier AUC +- bootstrap
                    error), the selection report of each input, skipped observables, the
                    thresholds, every figure, the command line and package versions
      metrics.json  the same numbers with stable keys, for scripts and CI
      plots/        PNG figures (PDF with --pdf): per observable, inclusive and per jet
                    multiplicity 1, 2, 3, with ratio and delta[%] panels (uncertainties from
                    the sum of squared event weights); m_mumu also zoomed on the Z window;
                    histograms of the classifier weight w = D/(1-D) for both samples; the
                    generated event weights (reweighted generators)

    Per-event weights (the 'weight' field of either file) are honoured everywhere. Files
    without jets (e.g. flat dimuon files) are fine: jet observables and the per-multiplicity
    classifier are listed as skipped, and the classifier runs on the muon observables.

    Bayesian generators: when GENERATED has an integer 'draw' branch (posterior-draw index
    0..K-1, written by 'hepgen generate --posterior-draws K') with K >= 2 draws, every
    histogram gets a posterior band: per bin the standard deviation (ddof=1) over the draws
    of the per-draw histograms, each normalised like the generated one (the central histogram
    stays the one of all events), shaded around the generated histogram and its ratio and
    labelled "posterior band (K draws)". metrics.json gives per histogram
    band{n_draws, coverage_band, coverage_total, median_rel_width} (null without draws):
    coverage_band is the fraction of bins with reference entries where |gen - ref| <= band,
    coverage_total where |gen - ref| <= sqrt(band^2 + stat_gen^2 + stat_ref^2) (about 0.68
    for a well-calibrated model with enough events per draw); index.html shows both per
    histogram and per observable. The band includes the statistical spread of one draw's
    events. With --max-events, read whole draws (K x events per draw) or some draws are cut.

    Reweighted generators: when GENERATED has non-constant weights (e.g. 'hepgen generate
    --reweight', w = D/(1-D) of a discriminator), the report adds a histogram of the
    generated event weights (log x, all events and per jet multiplicity, with the counts of
    weights outside the plotted range) and metrics.json generated_weights{mean, std, min,
    max, fraction_above_3, fraction_below_one_third, ess_fraction = (sum w)^2/(N sum w^2),
    ...}; null when the weights are absent or all equal.

    A histogram is flagged when its chi2 p-value is below 0.01; a classifier test when
    |AUC - 0.5| exceeds 3 bootstrap standard deviations plus 0.02. The overall verdict
    (PASS/WARN/FAIL) fails on a flagged classifier test, or when the histogram flags are more
    or stronger than chance allows for that many histograms (Bonferroni / binomial test at
    0.01); all thresholds are listed in the report. The report is written to a temporary
    directory and renamed into place when complete: a failure leaves no half report. The
    exit status is 0 whatever the verdict, unless --fail-on-flag is given.
    """
)


def _labels(text: str) -> tuple[str, str]:
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2 or not all(parts):
        raise argparse.ArgumentTypeError(
            f"expected two comma-separated labels, e.g. gen,ref; got {text!r}"
        )
    return parts[0], parts[1]


def _names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected comma-separated observable names")
    return names


def _observables(names: list[str] | None) -> list | None:
    """Catalogue entries for ``names`` (None: the whole catalogue)."""
    from hepgen.physics.errors import HepgenInputError
    from hepgen.physics.observables import CATALOGUE

    if names is None:
        return None
    unknown = [n for n in names if n not in CATALOGUE]
    if unknown:
        raise HepgenInputError(
            f"--observables: unknown {', '.join(unknown)}; known: {', '.join(CATALOGUE)}"
        )
    return [CATALOGUE[n] for n in names]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``validate`` subcommand."""
    p = subparsers.add_parser(
        "validate",
        help="compare two event files; write metrics.json, plots and index.html",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("generated", metavar="GENERATED", help="ROOT file with the events to test")
    p.add_argument("reference", metavar="REFERENCE", help="ROOT file with the reference events")
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="DIR",
        help="report directory (replaced if it holds an earlier report)",
    )
    p.add_argument(
        "--schema",
        default="nanoaod",
        metavar="NAME_OR_JSON",
        help="branch schema of both files: nanoaod (default), nanoaod-genweight, cms-dimuon, "
        "cms-dimuon-cartesian, or a JSON mapping file",
    )
    p.add_argument(
        "--schema-generated",
        metavar="NAME_OR_JSON",
        help="schema of GENERATED (overrides --schema)",
    )
    p.add_argument(
        "--schema-reference",
        metavar="NAME_OR_JSON",
        help="schema of REFERENCE (overrides --schema)",
    )
    p.add_argument(
        "--labels",
        type=_labels,
        default=("generated", "reference"),
        metavar="GEN,REF",
        help="names of the two samples in plots and tables (default: generated,reference)",
    )
    p.add_argument(
        "--max-events", type=positive_int, metavar="N", help="read at most N entries of each file"
    )
    p.add_argument(
        "--no-classifier", action="store_true", help="skip the classifier two-sample test"
    )
    p.add_argument(
        "--no-jets",
        action="store_true",
        help="ignore jets: no 1-3 jet selection, compare muon observables only",
    )
    p.add_argument(
        "--observables",
        type=_names,
        metavar="NAME,...",
        help="compare only these observables of the catalogue (default: all)",
    )
    p.add_argument("--pdf", action="store_true", help="also write PDF figures")
    p.add_argument(
        "--no-plots", action="store_true", help="no figures: metrics and tables only (fast)"
    )
    p.add_argument(
        "--seed", type=int, default=0, help="seed of the classifier split and bootstrap (default 0)"
    )
    p.add_argument(
        "--classifier-repeats",
        type=positive_int,
        default=1,
        metavar="K",
        help="train the classifier K times per multiplicity with other seeds (split, "
        "subsampling, training): the AUC is their mean and their spread is reported beside "
        "the bootstrap error, which does not contain the classifier's own run-to-run "
        "spread (default 1; K times the classifier's time)",
    )
    p.add_argument(
        "--fail-on-flag",
        action="store_true",
        help="exit with status 1 when the overall verdict is FAIL",
    )
    p.set_defaults(func=run)


def command_line(args: argparse.Namespace) -> str:
    """The canonical command line of this run (for the report)."""
    parts = ["hepgen", "validate", args.generated, args.reference, "-o", str(args.output)]
    schemas = _schemas(args)
    parts += ["--schema-generated", schemas[0], "--schema-reference", schemas[1]]
    parts += ["--labels", ",".join(args.labels), "--seed", str(args.seed)]
    if args.classifier_repeats > 1:
        parts += ["--classifier-repeats", str(args.classifier_repeats)]
    if args.max_events:
        parts += ["--max-events", str(args.max_events)]
    if args.observables:
        parts += ["--observables", ",".join(args.observables)]
    for flag in ("no_classifier", "no_jets", "pdf", "no_plots", "fail_on_flag"):
        if getattr(args, flag):
            parts.append("--" + flag.replace("_", "-"))
    return shlex.join(parts)


def _schemas(args: argparse.Namespace) -> tuple[str, str]:
    return args.schema_generated or args.schema, args.schema_reference or args.schema


def run(args: argparse.Namespace) -> int:
    """Read both files, validate, print the verdict; 0, or 1 with --fail-on-flag and flags."""
    import awkward as ak

    from hepgen.physics.io import read_events
    from hepgen.validation import ClassifierSettings, validate

    observables = _observables(args.observables)
    schemas = _schemas(args)
    inputs = []
    for path, schema, label in zip(
        (args.generated, args.reference), schemas, args.labels, strict=True
    ):
        events, report = read_events(
            path, schema, require_jets=not args.no_jets, max_events=args.max_events
        )
        if args.no_jets and "Jet" in ak.fields(events):
            events = events[[f for f in ak.fields(events) if f != "Jet"]]
        log.info("%s (%s): %s", label, path, report.summary())
        inputs.append((events, report))

    bar = progress(args, desc="validate", unit="step")

    def on_step(step: str, done: int, total: int) -> None:
        bar.total = total
        bar.set_postfix_str(step, refresh=False)
        bar.update(done - bar.n)

    try:
        result = validate(
            inputs[0][0],
            inputs[1][0],
            args.output,
            labels=args.labels,
            seed=args.seed,
            classifier=not args.no_classifier,
            progress=on_step,
            selection=(inputs[0][1], inputs[1][1]),
            sources=(args.generated, args.reference),
            command=command_line(args),
            formats=("png", "pdf") if args.pdf else ("png",),
            observables=observables,
            plots=not args.no_plots,
            classifier_settings=ClassifierSettings(repeats=args.classifier_repeats),
        )
    finally:
        bar.close()
    s = result.metrics["summary"]
    log.info(
        "%s: %d histograms (%d pass, %d warn, %d fail), mean chi2/ndf %s; classifier %s",
        result.status.upper(),
        s["n_histograms"],
        s["n_pass"],
        s["n_warn"],
        s["n_fail"],
        "n/a" if s["mean_chi2_ndf"] is None else f"{s['mean_chi2_ndf']:.2f}",
        ", ".join(f"{k}: {v}" for k, v in s["classifier"].items()) or "not run",
    )
    band = s.get("band")
    if band is not None:
        log.info(
            "posterior band (%d draws) covers the deviation in %.0f%% of bins (band only), "
            "%.0f%% (band + statistics)",
            band["n_draws"],
            100 * (band["coverage_band"] or 0.0),
            100 * (band["coverage_total"] or 0.0),
        )
    weights = result.metrics.get("generated_weights")
    if weights is not None:
        log.info(
            "generated weights: mean %.3g, std %.3g, ESS fraction %s",
            weights["mean"],
            weights["std"],
            "n/a" if weights["ess_fraction"] is None else f"{weights['ess_fraction']:.3f}",
        )
    if result.flagged:
        log.info("flagged: %s", ", ".join(result.flagged))
    for note in s["notes"]:
        log.warning("note: %s", note)
    log.info("report: %s", result.html_path)
    return 1 if args.fail_on_flag and not result.passed else 0
