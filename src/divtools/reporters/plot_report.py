"""Plots of a report (matplotlib's Agg canvas; pyplot and the global backend are left alone).

- ``quality_vs_diversity``: one panel per diversity metric (columns) and quality scorer (rows);
  x = the metric's mean diversity, y = the scorer's mean quality, one point per system with its
  95% CI as error bars on both axes; the gold system is drawn as a black star. Without scorers,
  each panel shows the systems' diversity with CI bars, one row per system.
- ``effective_diversity`` (when the sweep ran): one panel per swept metric plus one for the share
  of samples passing; x = τ, y = mean with its 95% CI as a band, one line per system.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from divtools.api import Reporter
from divtools.atomic import atomic_write
from divtools.reporters import label_order, system_order

__all__ = ["PlotReporter", "effective_diversity_figure", "quality_vs_diversity_figure"]


def _figure(ncols: int, nrows: int, params: Any):
    from matplotlib.figure import Figure

    return Figure(figsize=(params.panel_width * ncols, params.panel_height * nrows), dpi=params.dpi,
                  layout="constrained")


def _axis_label(label: str, meta: Mapping[str, Any]) -> str:
    if meta.get("type") == "metric":
        return f"{label} ({'higher' if meta.get('higher_is_more_diverse', True) else 'lower'} = more diverse)"
    return label


def _style(name: str, info: Mapping[str, Any], index: int) -> dict:
    if info.get("role") == "gold":
        return {"marker": "*", "color": "black", "markersize": 12}
    return {"marker": "o", "color": f"C{index % 10}", "markersize": 6}


def _err(entry: Mapping[str, Any]) -> list[list[float]]:
    low, high = entry["ci95"]
    return [[max(entry["mean"] - low, 0.0)], [max(high - entry["mean"], 0.0)]]


def _has(entry: Mapping[str, Any] | None) -> bool:
    return bool(entry) and entry.get("mean") is not None


def quality_vs_diversity_figure(report: Mapping[str, Any], params: Any):
    """The quality-vs-diversity figure (a matplotlib ``Figure``)."""
    labels = report["labels"]
    metrics = [k for k in label_order(report) if labels[k].get("type") == "metric"]
    scorers = [k for k in label_order(report) if labels[k].get("type") == "scorer"]
    if params.quality:
        scorers = [s for s in params.quality if s in scorers]
    systems = report["systems"]
    results = report["results"]
    rows = scorers or [None]
    fig = _figure(len(metrics), len(rows), params)
    axes = fig.subplots(len(rows), len(metrics), squeeze=False)
    names = system_order(report)
    for r, quality in enumerate(rows):
        for c, metric in enumerate(metrics):
            ax = axes[r][c]
            for i, name in enumerate(names):
                res = results.get(name, {})
                x = res.get(metric)
                if not _has(x):
                    continue
                style = _style(name, systems[name], i)
                if quality is None:
                    ax.errorbar([x["mean"]], [i], xerr=_err(x), linestyle="none", capsize=3, label=name, **style)
                    continue
                y = res.get(quality)
                if not _has(y):
                    continue
                ax.errorbar([x["mean"]], [y["mean"]], xerr=_err(x), yerr=_err(y), linestyle="none", capsize=3,
                            label=name, **style)
            ax.set_xlabel(_axis_label(metric, labels[metric]))
            if quality is None:
                ax.set_yticks(range(len(names)), names)
                ax.set_ylim(-0.5, len(names) - 0.5)
                ax.set_ylabel("system")
            else:
                ax.set_ylabel(_axis_label(quality, labels[quality]))
            ax.set_title(metric if quality is None else f"{quality} vs {metric}")
            ax.grid(True, alpha=0.3)
    if names and rows[0] is not None:
        axes[0][0].legend(fontsize="small", loc="best")
    n = report["protocol"]["samples_per_prompt"]
    fig.suptitle(f"N = {n} samples per prompt, {report['protocol']['n_prompts']} prompts; bars: 95% CI")
    return fig


def effective_diversity_figure(report: Mapping[str, Any], params: Any):
    """The effective-diversity figure, or ``None`` when the report has no sweep."""
    effective = report.get("effective_diversity")
    if not effective:
        return None
    labels = report["labels"]
    panels = [*effective["metrics"], "share"]
    fig = _figure(len(panels), 1, params)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    systems = report["systems"]
    for c, panel in enumerate(panels):
        ax = axes[c]
        for i, name in enumerate(system_order(report)):
            curves = effective["systems"].get(name)
            if curves is None:
                continue
            points = [p for p in curves[panel] if p.get("mean") is not None]
            if not points:
                continue
            style = _style(name, systems.get(name, {}), i)
            taus = [p["tau"] for p in points]
            ax.plot(taus, [p["mean"] for p in points], label=name, color=style["color"], marker=style["marker"],
                    markersize=style["markersize"] * 0.7)
            ax.fill_between(taus, [p["ci95"][0] for p in points], [p["ci95"][1] for p in points],
                            color=style["color"], alpha=0.15, linewidth=0)
        ax.set_xlabel(f"τ ({effective['quality']} ≥ τ)")
        if panel == "share":
            ax.set_ylabel("share of samples passing")
            ax.set_ylim(-0.02, 1.02)
        else:
            ax.set_ylabel(_axis_label(panel, labels.get(panel, {"type": "metric"})))
        ax.set_title(panel)
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize="small", loc="best")
    fig.suptitle("Effective diversity: samples with quality ≥ τ; bands: 95% CI")
    return fig


def save_figure(fig: Any, stem: Path, formats: Sequence[str], dpi: int) -> list[Path]:
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    out = []
    # a fixed SVG id salt and no date: the same report gives the same bytes
    with matplotlib.rc_context({"svg.hashsalt": "divtools"}):
        for fmt in formats:
            path = stem.with_suffix(f".{fmt}")
            with atomic_write(path, "wb") as fh:
                metadata = {"Date": None} if fmt in ("svg", "pdf") else {"Software": None}
                fig.savefig(fh, format=fmt, dpi=dpi, metadata=metadata)
            out.append(path)
    return out


class PlotReporter(Reporter):
    def __init__(self, params: Any) -> None:
        self.params = params

    def write(self, report: Mapping[str, Any], out_dir: Path) -> list[Path]:
        out_dir = Path(out_dir)
        metrics = [k for k, v in report["labels"].items() if v.get("type") == "metric"]
        if not metrics:
            return []
        written = save_figure(quality_vs_diversity_figure(report, self.params), out_dir / "quality_vs_diversity",
                              self.params.formats, self.params.dpi)
        fig = effective_diversity_figure(report, self.params)
        if fig is not None:
            written += save_figure(fig, out_dir / "effective_diversity", self.params.formats, self.params.dpi)
        return written
