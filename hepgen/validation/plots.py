"""Figures of the validation report (matplotlib ``Agg`` backend, mplhep CMS-like style).

Plotting computes no physics: it draws the arrays of
:class:`~hepgen.validation.histograms.HistogramComparison` and
:class:`~hepgen.validation.histograms.DensityHistogram` and prints metrics it is given. The
experiment label is a plain "hepgen" (these are not CMS results). Every figure is closed after
saving.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import mplhep as hep  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import AutoLocator, AutoMinorLocator, MultipleLocator, NullLocator  # noqa: E402
from PIL import Image  # noqa: E402

from hepgen.validation.histograms import DensityHistogram, HistogramComparison  # noqa: E402

if TYPE_CHECKING:
    from hepgen.validation.generator_weights import WeightHistogram

#: Colour of the generated sample (Petroff 6-colour cycle, CMS recommendation).
GEN_COLOR = "#5790fc"
#: Colour of the reference sample (black points) and its uncertainty band.
REF_COLOR = "black"
BAND_COLOR = "#b9b9b9"
#: Opacity of the generated sample's posterior band (Bayesian generators).
POSTERIOR_ALPHA = 0.35
#: Switch the main panel to a log scale above this max/min ratio of positive densities.
LOG_DYNAMIC_RANGE = 100.0
#: Log-scale headroom above the highest bin for the legend, as a power of the data's span.
LOG_HEADROOM = 0.55
#: Linear-scale headroom factor above the highest bin.
LINEAR_HEADROOM = 1.45
#: Saved figure resolution [dots per inch].
DPI = 80
#: Colours of the palette PNGs.
PNG_COLOURS = 64
#: Figure size [inches] of a three-panel comparison.
FIGSIZE = (10.0, 11.0)


def _style() -> object:
    return plt.style.context(hep.style.CMS)


def _shade(ax, centre: np.ndarray, half_width: np.ndarray, edges: np.ndarray,
           label: str | None = None) -> None:
    """Posterior band ``centre ± half_width`` (B,) as a filled step band on ``ax``."""
    ax.stairs(centre + half_width, edges, baseline=centre - half_width, fill=True,
              color=GEN_COLOR, alpha=POSTERIOR_ALPHA, lw=0, label=label)


def _label(ax: plt.Axes, region_title: str) -> None:
    """Experiment-style label above the axes: bold "hepgen", italic "validation" (left) and the
    region (right). Placed with ``annotate`` relative to the first text, so no extra draw pass
    is needed (mplhep's ``exp_label`` draws the whole figure once more to measure text)."""
    head = ax.text(
        0.0,
        1.012,
        "hepgen",
        transform=ax.transAxes,
        ha="left",
        va="bottom",
        fontsize=22,
        fontweight="bold",
    )
    ax.annotate(
        "validation",
        xy=(1.0, 0.0),
        xycoords=head,
        xytext=(6.0, 0.0),
        textcoords="offset points",
        ha="left",
        va="bottom",
        fontsize=20,
        fontstyle="italic",
    )
    ax.text(1.0, 1.012, region_title, transform=ax.transAxes, ha="right", va="bottom", fontsize=18)


def _save(fig: plt.Figure, paths: Sequence[Path]) -> None:
    """Write the figure: PNG as a 64-colour palette image (about 3x smaller, same look; the HTML
    report embeds them), other formats through ``savefig``."""
    for path in paths:
        if path.suffix.lower() == ".png":
            fig.set_dpi(DPI)
            fig.canvas.draw()
            rgba = np.asarray(fig.canvas.buffer_rgba())
            image = Image.fromarray(rgba[..., :3]).quantize(
                PNG_COLOURS, method=Image.Quantize.FASTOCTREE
            )
            image.save(path, format="PNG", optimize=True)
        else:
            fig.savefig(path, dpi=DPI)


def _ratio_limits(
    values: np.ndarray, errors: np.ndarray, centre: float, floor: float, cap: float
) -> tuple[float, float]:
    """Symmetric y-range around ``centre`` covering the points and errors, within [floor, cap]."""
    dev = np.abs(values - centre) + np.nan_to_num(errors)
    dev = dev[np.isfinite(dev)]
    half = float(np.clip(1.15 * np.max(dev), floor, cap)) if dev.size else floor
    return centre - half, centre + half


def _set_x_locators(ax: plt.Axes, edges: np.ndarray) -> None:
    """Integer ticks for unit-width bins centred on integers (counts such as n_jets), else the
    style's automatic major/minor ticks (set explicitly: the figure is reused)."""
    width = np.diff(edges)
    centres = 0.5 * (edges[1:] + edges[:-1])
    if np.allclose(width, 1.0) and np.allclose(centres, np.round(centres)):
        ax.xaxis.set_major_locator(MultipleLocator(1.0))
        ax.xaxis.set_minor_locator(NullLocator())
    else:
        ax.xaxis.set_major_locator(AutoLocator())
        ax.xaxis.set_minor_locator(AutoMinorLocator())


def _density_label(unit: str) -> str:
    return r"$1/N\;\mathrm{d}N/\mathrm{d}x$" + (f" [1/{unit}]" if unit else "")


class ComparisonPlotter:
    """Draws three-panel comparison figures, reusing one figure for all of them.

    Re-creating a figure (and its hundreds of tick objects) costs more than drawing it; this
    keeps one figure, removes the previous plot's artists and sets every limit, scale and label
    anew. Use as a context manager (the figure is closed on exit) or call :meth:`close`.
    """

    def __init__(self) -> None:
        self._fig: plt.Figure | None = None
        self._axes: tuple[plt.Axes, plt.Axes, plt.Axes] | None = None

    def __enter__(self) -> ComparisonPlotter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the figure."""
        if self._fig is not None:
            plt.close(self._fig)
        self._fig, self._axes = None, None

    def _canvas(self) -> tuple[plt.Figure, tuple[plt.Axes, plt.Axes, plt.Axes]]:
        if self._fig is None or self._axes is None:
            fig, axes = plt.subplots(
                3,
                1,
                figsize=FIGSIZE,
                sharex=True,
                gridspec_kw={"height_ratios": [3, 1, 1], "hspace": 0.06},
            )
            fig.subplots_adjust(left=0.16, right=0.96, top=0.95, bottom=0.08)
            self._fig, self._axes = fig, (axes[0], axes[1], axes[2])
        else:
            for ax in self._axes:
                for container in list(ax.containers):
                    container.remove()
                for artist in [*ax.lines, *ax.collections, *ax.patches, *ax.texts]:
                    artist.remove()
                if ax.get_legend() is not None:
                    ax.get_legend().remove()
        return self._fig, self._axes

    def plot(
        self,
        comp: HistogramComparison,
        *,
        xlabel: str,
        unit: str,
        labels: tuple[str, str],
        region_title: str,
        paths: Sequence[Path],
        legend_title: str | None = None,
        band: np.ndarray | None = None,
        ratio_band: np.ndarray | None = None,
        band_label: str | None = None,
    ) -> None:
        """Three panels sharing x: normalised distributions (generated as a step line, reference
        as black points with σ = sqrt(Σw²) errors), the ratio generated/reference (grey band: the
        reference's relative uncertainty around 1; error bars: the generated sample's), and
        δ = 100·(gen − ref)/ref [%] with the combined uncertainty as a band. A posterior band
        (Bayesian generators) is shaded around the generated histogram and around its ratio.

        Args:
            comp: the histograms (arrays drawn as given).
            xlabel: axis label with unit, e.g. ``$m_{\\mu\\mu}$ [GeV]``.
            unit: the observable's unit for the y label ('' for none).
            labels: (generated, reference) legend names.
            region_title: right-hand label, e.g. ``Z→μμ + 2 jets``.
            paths: files to write (PNG, PDF, ...).
            legend_title: extra text above the legend entries (e.g. metrics).
            band: half-width of the posterior band around ``comp.density_gen`` (B,) [1/unit],
                or None.
            ratio_band: the same band on the ratio panel, around ``comp.ratio`` (B,), or None.
            band_label: legend entry of the band, e.g. ``posterior band (10 draws)``.
        """
        edges, centres = comp.edges, comp.centers
        with _style():
            fig, (ax, rax, dax) = self._canvas()
            if band is not None:
                _shade(ax, comp.density_gen, band, edges, label=band_label)
            ax.stairs(comp.density_gen, edges, color=GEN_COLOR, lw=2.2, label=labels[0])
            ax.errorbar(
                centres,
                comp.density_ref,
                yerr=comp.err_ref,
                fmt="o",
                ms=4.5,
                color=REF_COLOR,
                elinewidth=1.2,
                label=labels[1],
                zorder=3,
            )
            positive = np.concatenate([comp.density_ref, comp.density_gen])
            positive = positive[np.isfinite(positive) & (positive > 0)]
            if positive.size and positive.max() / positive.min() > LOG_DYNAMIC_RANGE:
                ax.set_yscale("log")
                span = positive.max() / positive.min()
                ax.set_ylim(positive.min() * 0.5, positive.max() * span**LOG_HEADROOM)
            else:
                ax.set_yscale("linear")
                ax.set_ylim(0.0, positive.max() * LINEAR_HEADROOM if positive.size else 1.0)
            ax.set_ylabel(_density_label(unit))
            ax.legend(
                title=legend_title, loc="upper right", fontsize=17, title_fontsize=15, frameon=False
            )
            _label(ax, region_title)

            # Ratio panel.
            rax.stairs(
                1.0 + comp.ref_rel_err,
                edges,
                baseline=1.0 - comp.ref_rel_err,
                fill=True,
                color=BAND_COLOR,
                alpha=0.7,
                lw=0,
            )
            rax.axhline(1.0, color=REF_COLOR, lw=1.0)
            if ratio_band is not None:
                _shade(rax, comp.ratio, ratio_band, edges)
            rax.stairs(comp.ratio, edges, color=GEN_COLOR, lw=2.0)
            rax.errorbar(
                centres,
                comp.ratio,
                yerr=comp.ratio_err,
                fmt="none",
                ecolor=GEN_COLOR,
                elinewidth=1.2,
            )
            ratio_spread = (
                comp.ratio_err if ratio_band is None else np.fmax(comp.ratio_err, ratio_band)
            )
            rax.set_ylim(*_ratio_limits(comp.ratio, ratio_spread, 1.0, 0.05, 0.5))
            short = f"{labels[0]}/{labels[1]}"
            rax.set_ylabel(short if len(short) <= 10 else "Ratio", fontsize=18)

            # delta [%] panel.
            dax.stairs(
                comp.delta + comp.delta_err,
                edges,
                baseline=comp.delta - comp.delta_err,
                fill=True,
                color=GEN_COLOR,
                alpha=0.3,
                lw=0,
            )
            dax.stairs(comp.delta, edges, color=GEN_COLOR, lw=1.6)
            dax.axhline(0.0, color=REF_COLOR, lw=1.0)
            dax.set_ylim(*_ratio_limits(comp.delta, comp.delta_err, 0.0, 5.0, 50.0))
            dax.set_ylabel(r"$\delta$ [%]", fontsize=18)
            dax.set_xlabel(xlabel)
            dax.set_xlim(edges[0], edges[-1])
            _set_x_locators(dax, edges)
            for a in (rax, dax):
                a.tick_params(axis="y", labelsize=15)
            fig.align_ylabels([ax, rax, dax])
            _save(fig, paths)


def plot_comparison(comp: HistogramComparison, **kwargs: object) -> None:
    """One comparison figure with a fresh figure (see :meth:`ComparisonPlotter.plot`)."""
    with ComparisonPlotter() as plotter:
        plotter.plot(comp, **kwargs)  # type: ignore[arg-type]


def plot_classifier_weights(
    hist_gen: DensityHistogram,
    hist_ref: DensityHistogram,
    *,
    labels: tuple[str, str],
    region_title: str,
    paths: Sequence[Path],
    legend_title: str | None = None,
) -> None:
    """Distributions of the classifier weight w = D/(1 − D) on the held-out events of both
    samples, log-x axis; the first/last bins hold the under/overflow (as the histograms do)."""
    with _style():
        fig, ax = plt.subplots(figsize=(10.0, 8.0))
        for h, color, label in ((hist_gen, GEN_COLOR, labels[0]), (hist_ref, REF_COLOR, labels[1])):
            ax.stairs(
                h.density + h.err,
                h.edges,
                baseline=np.clip(h.density - h.err, 0, None),
                fill=True,
                color=color,
                alpha=0.25,
                lw=0,
            )
            ax.stairs(h.density, h.edges, color=color, lw=2.2, label=label)
        ax.axvline(1.0, color="grey", ls="--", lw=1.2)
        ax.text(
            0.02,
            0.03,
            "outer bins include under-/overflow",
            transform=ax.transAxes,
            fontsize=13,
            color="grey",
        )
        ax.set_xscale("log")
        ax.set_yscale("log")
        top = max(hist_gen.density.max(), hist_ref.density.max())
        low = np.concatenate([hist_gen.density, hist_ref.density])
        low = low[low > 0]
        if low.size:
            ax.set_ylim(low.min() * 0.5, top * 30.0)
        ax.set_xlim(hist_gen.edges[0], hist_gen.edges[-1])
        ax.set_xlabel(r"classifier weight $w = D/(1-D)$")
        ax.set_ylabel(r"$1/N\;\mathrm{d}N/\mathrm{d}\log_{10}w$")
        ax.legend(
            title=legend_title, loc="upper right", fontsize=17, title_fontsize=15, frameon=False
        )
        _label(ax, region_title)
        fig.subplots_adjust(left=0.15, right=0.96, top=0.93, bottom=0.12)
        _save(fig, paths)
        plt.close(fig)


#: Colours of the overlaid weight histograms: all events, then 1, 2, 3 jets (Petroff cycle).
REGION_COLORS: tuple[str, ...] = ("black", "#5790fc", "#f89c20", "#e42536", "#964a8b")


def plot_generator_weights(
    hists: Sequence[WeightHistogram],
    *,
    label: str,
    paths: Sequence[Path],
    legend_title: str | None = None,
) -> None:
    """Distributions of the generated sample's per-event weights, log-x axis: one step line
    per histogram (all events, then each jet multiplicity), each normalised to its own events.
    Events outside the plotted range (and w <= 0) are not drawn: the legend entries count them."""
    with _style():
        fig, ax = plt.subplots(figsize=(10.0, 8.0))
        for i, h in enumerate(hists):
            text = f"{h.label}: {h.n_below} below, {h.n_above} above range"
            text += f", {h.n_nonpositive} w$\\leq$0" if h.n_nonpositive else ""
            color = REGION_COLORS[i % len(REGION_COLORS)]
            ax.stairs(h.density, h.edges, color=color, lw=2.4 if i == 0 else 1.8, label=text)
        ax.axvline(1.0, color="grey", ls="--", lw=1.2)
        first = hists[0]
        ax.set_xscale("log")
        ax.set_yscale("log")
        dens = np.concatenate([h.density for h in hists])
        positive = dens[dens > 0]
        if positive.size:
            ax.set_ylim(positive.min() * 0.5, positive.max() * 30.0)
        ax.set_xlim(first.edges[0], first.edges[-1])
        ax.set_xlabel(f"event weight $w$ ({label})")
        ax.set_ylabel(r"$1/N\;\mathrm{d}N/\mathrm{d}\log_{10}w$")
        ax.legend(
            title=legend_title, loc="upper right", fontsize=15, title_fontsize=15, frameon=False
        )
        _label(ax, "generated event weights")
        fig.subplots_adjust(left=0.15, right=0.96, top=0.93, bottom=0.12)
        _save(fig, paths)
        plt.close(fig)
