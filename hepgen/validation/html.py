"""index.html: the self-contained report a person opens first (figures embedded as base64 PNG).

Order: overall verdict; summary tables (per jet multiplicity the classifier AUC ± bootstrap
error, with the classifier-weight figures; per observable χ²/ndf in every region with W1 and
separation, and the posterior-band coverage for Bayesian generators); the inputs with their
selection reports; the generated events' weights (reweighted generators); skipped items; the
thresholds; one section per observable with its metrics and figures; the command line and
package versions. No
scripts, no external resources: the file can be mailed or attached to a ticket as it is.
"""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Sequence
from pathlib import Path

from hepgen.physics.io.atomic import atomic_write_text
from hepgen.validation.report import histogram_entries

_CSS = """
body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:1.5em auto;
max-width:1500px;color:#222;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}
h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0;font-size:.92em}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}
td.l,th.l{text-align:left}
.pass{background:#d4edda}.warn{background:#fff3cd}.fail{background:#f8d7da}
.skipped{background:#eee;color:#777}
.badge{display:inline-block;padding:.15em .6em;border-radius:.3em;font-weight:bold}
.grid{display:flex;flex-wrap:wrap;gap:8px}.grid figure{margin:0;width:360px}
.grid img{width:360px;border:1px solid #ddd}.grid figcaption{font-size:.8em;text-align:center}
code{background:#f5f5f5;padding:1px 4px}.small{font-size:.85em;color:#555}
"""

_NOTES = {
    "observables": "χ²/ndf: two-sample, weight-aware test of the shapes (sparse bins merged); "
    "hover a cell for the p-value. W₁: 1-D Wasserstein distance (unit of the observable). "
    "Separation: ½Σ(p−q)²/(p+q) of the unit-normalised histograms.",
    "classifier": "Gradient-boosted trees trained to tell the samples apart on half of the events; "
    "AUC on the other half (0.5 = indistinguishable), error from a Poisson bootstrap. Classifier "
    "weights w = D/(1−D): a narrow peak at 1 is good; tails locate mismodelled regions.",
    "distributions": "Main panel: unit-normalised distributions, reference as points with √Σw² "
    "errors. Ratio panel: generated/reference, grey band = reference uncertainty. δ panel: "
    "100·(gen−ref)/ref with the combined uncertainty.",
    "band": "Posterior band (Bayesian generators): per bin the standard deviation over the "
    "posterior draws of the per-draw histograms, each normalised like the generated one; shaded "
    "around the generated histogram and its ratio. Coverage: fraction of bins with reference "
    "entries where |gen−ref| ≤ band (band only) and ≤ √(band² + σ²stat,gen + σ²stat,ref) "
    "(band ⊕ statistics; ≈ 68 % for a well-calibrated model with enough events per draw). The "
    "band includes the statistical spread of one draw's events.",
    "weights": "Per-event weights of the generated sample (e.g. w = D/(1−D) of a reweighting "
    "discriminator), counted in events: fractions are numbers of events over N. ESS fraction = "
    "(Σw)²/(N Σw²): the fraction of unweighted events the sample is worth.",
}


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.0f}%"


def _band_text(band: dict | None) -> str:
    """``62% / 71%`` (band only / band ⊕ statistics), or ``–``."""
    if band is None:
        return "–"
    return f"{_pct(band['coverage_band'])} / {_pct(band['coverage_total'])}"


def _band_line(m: dict, band: dict | None) -> str:
    """The one-sentence coverage summary of an observable (empty without a band)."""
    if band is None:
        return ""
    return (
        f"<p>Posterior band ({band['n_draws']} draws) of {_e(m['labels']['generated'])} covers "
        f"the deviation from {_e(m['labels']['reference'])} in {_pct(band['coverage_band'])} of "
        f"bins (band only), {_pct(band['coverage_total'])} (band ⊕ statistics); "
        f"{band['n_bins']} bins in {band['n_histograms']} histograms.</p>"
    )


def _has_band(m: dict) -> bool:
    return any(o.get("band") is not None for o in m["observables"].values())


def _e(x: object) -> str:
    return html.escape(str(x))


def _fmt(x: float | None, spec: str = ".3g") -> str:
    return "–" if x is None else format(x, spec)


def _td(text: object, cls: str = "", title: str = "", span: int = 1) -> str:
    """A table cell; ``text`` is escaped unless it is already markup (``_Markup``)."""
    content = text if isinstance(text, _Markup) else _e(text)
    attrs = (f' class="{cls}"' if cls else "") + (f' title="{_e(title)}"' if title else "")
    attrs += f' colspan="{span}"' if span > 1 else ""
    return f"<td{attrs}>{content}</td>"


class _Markup(str):
    """A string that is already HTML."""


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    """A table with header texts; the first ``left`` columns are left-aligned."""
    head = "".join(
        f'<th class="l">{_e(h)}</th>' if i < left else f"<th>{_e(h)}</th>"
        for i, h in enumerate(header)
    )
    body = "".join("<tr>" + "".join(cells) + "</tr>" for cells in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _img(out_dir: Path, rel: str | None, caption: str) -> str:
    if rel is None:
        return ""
    data = base64.b64encode((out_dir / rel).read_bytes()).decode("ascii")
    img = f'<img alt="{_e(caption)}" src="data:image/png;base64,{data}">'
    return f'<figure><a href="{_e(rel)}">{img}</a><figcaption>{_e(caption)}</figcaption></figure>'


def _badge(status: str) -> str:
    return f'<span class="badge {status}">{status.upper()}</span>'


def _summary_table(m: dict) -> str:
    regions = list(m["regions"])
    with_band = _has_band(m)
    rows = []
    for name, obs in m["observables"].items():
        cells = [
            _td(_Markup(f'<a href="#obs-{_e(name)}">{_e(name)}</a>'), "l"),
            _td(obs["status"], obs["status"]),
        ]
        for r in regions:
            e = obs["regions"].get(r)
            if e is None:
                cells.append(_td("–", "skipped"))
            else:
                tip = f"p = {_fmt(e['p_value'])}, ndf = {e['ndf']}"
                cells.append(_td(_fmt(e["chi2_ndf"], ".2f"), e["status"], tip))
        inc = obs["regions"].get("inclusive", {})
        unit = f" {obs['unit']}" if obs["unit"] else ""
        cells += [_td(_fmt(inc.get("wasserstein")) + unit), _td(_fmt(inc.get("separation"), ".2e"))]
        if with_band:
            cells.append(_td(_band_text(obs.get("band"))))
        rows.append(cells)
    for name, reason in m["skipped"]["observables"].items():
        rows.append(
            [
                _td(name, "l skipped"),
                _td("skipped", "skipped"),
                _td(reason, "l skipped", span=len(regions) + 2 + int(with_band)),
            ]
        )
    header = [
        "observable",
        "status",
        *(f"χ²/ndf {r}" for r in regions),
        "W₁ inclusive",
        "separation inclusive",
    ]
    if with_band:
        header.append("band coverage (band / ⊕ stat)")
    return _table(header, rows)


def _auc_cell(e: dict) -> str:
    """'AUC ± bootstrap err', with repeats also the spread over the classifier's seeds."""
    text = f"{_fmt(e['auc'], '.4f')} ± {_fmt(e['auc_err'], '.4f')}"
    repeats = e.get("auc_repeats") or []
    if len(repeats) > 1:
        text += f" (mean of {len(repeats)}; seed sd {_fmt(e['auc_repeat_sd'], '.4f')})"
    return text


def _classifier_table(m: dict) -> str:
    rows = []
    for region, e in m["classifier"].items():
        rows.append(
            [
                _td(region, "l"),
                _td(_auc_cell(e), e["status"]),
                _td(_fmt(e["auc_deviation_sigma"], ".1f")),
                _td(_fmt(e["auc_train"], ".4f")),
                _td(f"{e['n_train']['generated']} / {e['n_train']['reference']}"),
                _td(f"{e['n_test']['generated']} / {e['n_test']['reference']}"),
                _td(", ".join(e["features"]), "l small"),
            ]
        )
    for region, reason in m["skipped"]["classifier"].items():
        rows.append([_td(region, "l skipped"), _td(f"skipped: {reason}", "l skipped", span=6)])
    header = [
        "region",
        "AUC ± bootstrap err",
        "(AUC−0.5)/err",
        "train AUC",
        "train events gen / ref",
        "test events gen / ref",
        "features",
    ]
    return _table(header, rows)


def _inputs_table(m: dict) -> str:
    rows = []
    for role in ("generated", "reference"):
        i = m["inputs"][role]
        sel = i["selection"]["summary"] if i.get("selection") else "not read from a file"
        frac = i.get("jet_multiplicity_fractions")
        frac_text = ", ".join(f"{k}: {v:.3f}" for k, v in frac.items()) if frac else "no jets"
        rows.append(
            [
                _td(role, "l"),
                _td(m["labels"][role], "l"),
                _td(i.get("source") or "–", "l"),
                _td(i["n_events"]),
                _td(_fmt(i["sum_weights"], ".6g")),
                _td("yes" if i["weighted"] else "no"),
                _td(frac_text, "l"),
                _td(sel, "l"),
            ]
        )
    header = [
        "role",
        "label",
        "file",
        "events",
        "Σ weights",
        "weighted",
        "jet multiplicity",
        "selection",
    ]
    return _table(header, rows, left=3)


def _skipped_list(m: dict) -> str:
    items = [
        f"<li>{kind} <code>{_e(k)}</code>: {_e(v)}</li>"
        for kind, group in (
            ("observable", "observables"),
            ("histogram", "histograms"),
            ("classifier", "classifier"),
        )
        for k, v in m["skipped"][group].items()
    ]
    return f"<ul>{''.join(items)}</ul>" if items else "<p>Nothing skipped.</p>"


def _thresholds_table(m: dict) -> str:
    rows = [
        [
            _td(_Markup(f"<code>{_e(k)}</code>"), "l"),
            _td(v),
            _td(m["threshold_descriptions"].get(k, ""), "l"),
        ]
        for k, v in m["thresholds"].items()
    ]
    return _table(["threshold", "value", "meaning"], rows)


def _observable_section(m: dict, out_dir: Path, name: str, obs: dict) -> str:
    entries = [(r, None, e) for r, e in obs["regions"].items()]
    entries += [(r, w, e) for w, by_r in obs["windows"].items() for r, e in by_r.items()]
    with_band = any(e.get("band") is not None for _, _, e in entries)
    rows, figs = [], []
    for region, window, e in entries:
        where = region + (f", {window} {obs['unit']}" if window else "")
        cells = [
            _td(where, "l"),
            _td(f"{_fmt(e['chi2'], '.1f')} / {e['ndf']}", e["status"]),
            _td(_fmt(e["chi2_ndf"], ".2f")),
            _td(_fmt(e["p_value"], ".3g")),
            _td(f"{_fmt(e['wasserstein'])} ({_fmt(e['wasserstein_norm'], '.2g')} σ)"),
            _td(_fmt(e["separation"], ".2e")),
            _td(f"{e['n_generated']} / {e['n_reference']}"),
        ]
        if with_band:
            b = e.get("band")
            cells += [
                _td(_band_text(b)),
                _td("–" if b is None else _pct(b["median_rel_width"])),
            ]
        cells.append(_td(f"{e['binning']['source']}, {e['binning']['bins']} bins", "l small"))
        rows.append(cells)
        figs.append(_img(out_dir, e["plot"], f"{name}: {where}"))
    unit = f" [{obs['unit']}]" if obs["unit"] else ""
    header = [
        "region",
        "χ² / ndf",
        "χ²/ndf",
        "p-value",
        f"W₁{unit} (/σ_ref)",
        "separation",
        "events gen / ref",
        *(["band coverage (band / ⊕ stat)", "median band / gen"] if with_band else []),
        "binning",
    ]
    return (
        f'<h3 id="obs-{_e(name)}">{_e(name)} {_badge(obs["status"])}</h3>'
        f"{_band_line(m, obs.get('band'))}"
        f'{_table(header, rows)}<div class="grid">{"".join(figs)}</div>'
    )


def _weights_section(m: dict, out_dir: Path) -> str:
    """The generated sample's weight summary and figure (empty when weights are constant)."""
    g = m.get("generated_weights")
    if g is None:
        return ""
    stats = {"all": g, **g["regions"]}
    rows = [
        [
            _td(key, "l"),
            _td(s["n_events"]),
            _td(f"{_fmt(s['mean'], '.4g')} ± {_fmt(s['std'], '.3g')}"),
            _td(f"{_fmt(s['min'], '.3g')} … {_fmt(s['max'], '.3g')}"),
            _td(_fmt(s["fraction_above_3"], ".2%")),
            _td(_fmt(s["fraction_below_one_third"], ".2%")),
            _td(_fmt(s["ess_fraction"], ".3f")),
        ]
        for key, s in stats.items()
    ]
    header = ["events", "N", "mean ± std", "min … max", "w > 3", "w < 1/3", "ESS fraction"]
    out = g["outside_plot"]
    lo, hi = g["plot_range"]
    return (
        "<h2>Generated event weights</h2>"
        f"<p class='small'>{_NOTES['weights']} Outside the plotted range [{lo:g}, {hi:g}]: "
        f"{out['below']} below, {out['above']} above, {out['nonpositive']} with w ≤ 0.</p>"
        f"{_table(header, rows)}<div class='grid'>{_img(out_dir, g['plot'], 'event weights')}"
        "</div>"
    )


def _verdict(m: dict) -> str:
    s = m["summary"]
    flagged = ", ".join(f"<code>{_e(f)}</code>" for f in s["flagged"]) or "none"
    h = s["histograms"]
    clf = ", ".join(f"{k}: {_badge(v)}" for k, v in s["classifier"].items()) or "not run"
    return (
        f"<p>Overall: {_badge(s['status'])} — histograms {_badge(h['status'])}, "
        f"classifier {clf}.</p>"
        f"<p>{s['n_histograms']} histograms: {s['n_pass']} pass, {s['n_warn']} warn, "
        f"{s['n_fail']} fail; {h['expected_fails']:.1f} fails expected by chance at p &lt; "
        f"{m['thresholds']['chi2_p_fail']} (binomial probability of ≥ {h['n_fail']}: "
        f"{_fmt(h['binomial_p'], '.2g')}; smallest p-value × N: {_fmt(h['bonferroni_p'], '.2g')}). "
        f"Mean χ²/ndf = {_fmt(s['mean_chi2_ndf'], '.2f')}. Flagged: {flagged}.</p>"
        + _band_line(m, s.get("band"))
        + "".join(f"<p class='warn'>Note: {_e(n)}.</p>" for n in s["notes"])
        + f"<p class='small'>Created {_e(m['created_utc'])}.</p>"
    )


def render(metrics: dict, out_dir: Path) -> str:
    """The HTML page for ``metrics`` (figures read from ``out_dir``)."""
    m = metrics
    title = f"hepgen validation: {m['labels']['generated']} vs {m['labels']['reference']}"
    clf_figs = "".join(
        _img(out_dir, e["plot"], f"classifier weights, {r}") for r, e in m["classifier"].items()
    )
    versions = [[_td(k, "l"), _td(v, "l")] for k, v in m["versions"].items()]
    n_hist = len(histogram_entries(m))
    parts = [
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{_e(title)}</title>"
        f"<style>{_CSS}</style></head><body><h1>{_e(title)}</h1>",
        _verdict(m),
        "<h2>Summary</h2><h3>Classifier two-sample test</h3>",
        f"<p class='small'>{_NOTES['classifier']}</p>",
        _classifier_table(m),
        f'<div class="grid">{clf_figs}</div>',
        f"<h3>Observables ({n_hist} histograms)</h3><p class='small'>{_NOTES['observables']}</p>",
        _summary_table(m),
        "<h2>Inputs</h2>",
        _inputs_table(m),
        _weights_section(m, out_dir),
        "<h2>Skipped</h2>",
        _skipped_list(m),
        "<h2>Thresholds</h2>",
        _thresholds_table(m),
        f"<h2>Distributions</h2><p class='small'>{_NOTES['distributions']}</p>",
        f"<p class='small'>{_NOTES['band']}</p>" if _has_band(m) else "",
        *(_observable_section(m, out_dir, n, o) for n, o in m["observables"].items()),
        "<h2>Provenance</h2>",
        f"<p>Command: <code>{_e(m.get('command') or '(Python API)')}</code></p>",
        _table(["package", "version"], versions, left=2),
        "</body></html>",
    ]
    return "\n".join(parts)


def write_html(metrics: dict, out_dir: Path, path: str | os.PathLike[str]) -> None:
    """Write index.html (to ``<path>.tmp`` first, then renamed)."""
    atomic_write_text(path, render(metrics, out_dir))
