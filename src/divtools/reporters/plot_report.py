"""Figures of a report, sized for one column of a paper (matplotlib's Agg canvas; pyplot and the
global backend are left alone).

- ``quality_vs_diversity``: the paper's panel. x = one diversity metric's mean over prompts, y =
  the main quality scorer's mean; one labelled point per system with its 95% bootstrap CI on
  both axes; the human ("gold") system is a black star. Without a scorer: the metric per system.
- ``quality_vs_diversity_grid`` (more than one pair): every (non-length scorer, metric) pair, at
  most ``columns`` panels a row.
- ``effective_diversity`` (when the sweep ran): one panel per swept metric; x = the share of
  samples whose quality passes τ, y = the metric over the passing samples, one line per system through the τ
  values; points resting on few prompts are labelled with their prompt count.

Conventions: right (or up) = more diverse for every metric — an axis is reversed when lower
values mean more diversity (self-BLEU, homogenization, compression ratio); length is never a
quality axis (:func:`divtools.reporters.is_length`); every text is ``font_size`` points at the
figure's own width, which defaults to 3.346 in = 85 mm, so it prints at that size in one column.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping, Sequence

from divtools.api import Reporter
from divtools.atomic import atomic_write
from divtools.errors import UserError
from divtools.reporters import default_axes, display_name, metric_labels, quality_labels, system_order

__all__ = ["PlotReporter", "effective_diversity_figure", "pairs_grid_figure", "quality_vs_diversity_figure",
           "system_styles"]

#: 12 colours that stay apart (tab10 plus navy and dark goldenrod); black is the human data's
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf", "#003f5c", "#b8860b"]
#: 12 filled marker shapes; the star is the human data's
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "<", ">", "h", "p", "8"]
#: inches below a grid for the figure-wide legend
LEGEND_HEIGHT = 0.5


#: longest system name drawn in a figure (longer ones are cut with an ellipsis)
NAME_CHARS = 24


def figure_name(name: str) -> str:
    """A system name as a figure shows it: one line (whitespace runs become one space), at most
    NAME_CHARS characters; ``$`` escaped so matplotlib never reads it as mathtext."""
    text = " ".join(str(name).split())
    if len(text) > NAME_CHARS:
        text = text[:NAME_CHARS - 1] + "…"
    return text.replace("$", r"\$")


def system_styles(report: Mapping[str, Any]) -> dict[str, dict]:
    """Marker, colour and legend name per system: the gold system a black star, the others the
    i-th colour and the i-th marker (distinct for up to 12 systems, then repeating)."""
    out: dict[str, dict] = {}
    i = 0
    for name in system_order(report):
        info = report["systems"][name]
        if info.get("role") == "gold":
            out[name] = {"marker": "*", "color": "black", "markersize": 9, "name": figure_name(display_name(name, info))}
        else:
            out[name] = {"marker": MARKERS[i % len(MARKERS)], "color": PALETTE[i % len(PALETTE)],
                         "markersize": 5, "name": figure_name(name)}
            i += 1
    return out


def _rc(params: Any) -> dict:
    size = params.font_size
    return {"font.size": size, "axes.labelsize": size, "axes.titlesize": size, "xtick.labelsize": size,
            "ytick.labelsize": size, "legend.fontsize": size, "figure.titlesize": size,
            "svg.hashsalt": "divtools", "svg.fonttype": "path"}


def _figure(width: float, height: float, params: Any):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=params.dpi, layout="constrained")


def diversity_label(label: str, meta: Mapping[str, Any], arrow: str = "→", short: bool = False) -> str:
    """Axis label of a metric; the axis is reversed when lower values are more diverse. The
    short form (grid panels) keeps the arrow to more diversity and ``(rev.)`` for a reversal."""
    higher = meta.get("higher_is_more_diverse", True)
    if short:
        return f"{label} {arrow}" if higher else f"{label} (rev.) {arrow}"
    return f"{label} (more diverse {arrow})" if higher else f"{label}, reversed (more diverse {arrow})"


#: label positions tried around a point, in offset points (right-up first)
_OFFSETS = [(4, 3), (4, -10), (-4, 3), (-4, -10), (4, 11), (-4, 11), (4, -18), (-4, -18), (10, -4), (-10, -4)]


def _place_labels(fig: Any, ax: Any, items: list[tuple[float, float, str, str]], params: Any) -> None:
    """Label each point where its text overlaps no point and no label placed before and stays
    inside the axes (the first such of a few positions around it; else the first position). Runs on the
    final layout (:func:`_finish`), so what is measured is what is drawn."""
    from matplotlib.transforms import Bbox

    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    # the points themselves are obstacles too (a marker is about 6 pt across)
    half = 3 * fig.dpi / 72
    placed: list[Any] = [Bbox.from_extents(px - half, py - half, px + half, py + half)
                         for px, py in (ax.transData.transform((x, y)) for x, y, _, _ in items)]
    for x, y, text, color in items:
        best = None
        for dx, dy in _OFFSETS:
            ann = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=params.font_size,
                              color=color, ha="left" if dx > 0 else "right")
            box = ann.get_window_extent(renderer)
            inside = frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
            if inside and not any(box.overlaps(other) for other in placed):
                best = (ann, box)
                break
            ann.remove()
        if best is None:
            ann = ax.annotate(text, (x, y), xytext=_OFFSETS[0], textcoords="offset points",
                              fontsize=params.font_size, color=color)
            best = (ann, ann.get_window_extent(renderer))
        placed.append(best[1])


def _orient(ax: Any, meta: Mapping[str, Any], axis: str) -> None:
    if not meta.get("higher_is_more_diverse", True):
        (ax.invert_xaxis if axis == "x" else ax.invert_yaxis)()


def _err(entry: Mapping[str, Any]) -> list[list[float]]:
    low, high = entry["ci95"]
    return [[max(entry["mean"] - low, 0.0)], [max(high - entry["mean"], 0.0)]]


def _has(entry: Mapping[str, Any] | None) -> bool:
    return bool(entry) and entry.get("mean") is not None


def _check_axes(report: Mapping[str, Any], params: Any) -> tuple[str | None, str | None]:
    labels = report["labels"]
    if params.quality is not None and params.quality not in quality_labels(report):
        why = "is a length scorer (never a quality axis)" if params.quality in labels else "is not a scorer label"
        raise UserError(f"'{params.quality}' {why}; scorers: {', '.join(quality_labels(report)) or 'none'}",
                        field="reporters.plot.quality")
    if params.diversity is not None and params.diversity not in metric_labels(report):
        raise UserError(f"'{params.diversity}' is not a metric label; metrics: {', '.join(metric_labels(report))}",
                        field="reporters.plot.diversity")
    return default_axes(report, params.quality, params.diversity)


def _points(ax: Any, report: Mapping[str, Any], quality: str, metric: str, styles: Mapping[str, dict],
            annotate: bool, params: Any) -> list[tuple[float, float, str, str]]:
    """One point per system with CI bars; returns the labels to place (when ``annotate``)."""
    items = []
    for name in system_order(report):
        res = report["results"].get(name, {})
        x, y = res.get(metric), res.get(quality)
        if not (_has(x) and _has(y)):
            continue
        st = styles[name]
        ax.errorbar([x["mean"]], [y["mean"]], xerr=_err(x), yerr=_err(y), linestyle="none", capsize=2,
                    elinewidth=0.8, marker=st["marker"], color=st["color"], markersize=st["markersize"],
                    label=st["name"])
        items.append((x["mean"], y["mean"], st["name"], st["color"]))
    _orient(ax, report["labels"][metric], "x")
    ax.set_xlabel(diversity_label(metric, report["labels"][metric], short=not annotate))
    ax.set_ylabel(f"{quality} ↑" if not annotate else f"{quality} (better ↑)")
    ax.grid(True, alpha=0.3, linewidth=0.5)
    ax.tick_params(labelsize=params.font_size)
    if annotate:
        ax.margins(x=0.18, y=0.1)  # room for the labels inside the frame
    return items if annotate else []


def quality_vs_diversity_figure(report: Mapping[str, Any], params: Any):
    """The default figure: one scorer against one metric (a matplotlib ``Figure``)."""
    quality, metric = _check_axes(report, params)
    styles = system_styles(report)
    fig = _figure(params.width, params.height, params)
    ax = fig.subplots()
    if quality is not None:
        items = _points(ax, report, quality, metric, styles, annotate=True, params=params)
        return _finish(fig, [(ax, items)], params)
    # no quality scorer: the metric per system, one row each (the gold system on top)
    names = [n for n in system_order(report) if _has(report["results"].get(n, {}).get(metric))]
    for i, name in enumerate(names):
        x = report["results"][name][metric]
        st = styles[name]
        ax.errorbar([x["mean"]], [i], xerr=_err(x), linestyle="none", capsize=2, elinewidth=0.8,
                    marker=st["marker"], color=st["color"], markersize=st["markersize"], label=st["name"])
    ax.set_yticks(range(len(names)), [styles[n]["name"] for n in names])
    ax.set_ylim(len(names) - 0.5, -0.5)
    _orient(ax, report["labels"][metric], "x")
    ax.set_xlabel(diversity_label(metric, report["labels"][metric]))
    ax.grid(True, axis="x", alpha=0.3, linewidth=0.5)
    ax.tick_params(labelsize=params.font_size)
    return _finish(fig, [], params)


def _finish(fig: Any, labels: Sequence[tuple[Any, list]], params: Any):
    """Lay the figure out once and keep that layout (each savefig would otherwise redo it, and
    move the points under labels placed before), then place the point labels on it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    fig.get_layout_engine().execute(fig)
    fig.set_layout_engine("none")
    for ax, items in labels:
        if items:
            _place_labels(fig, ax, items, params)
    return fig


def _legend(fig: Any, axes: Sequence[Any], params: Any) -> None:
    handles, names = [], []
    for ax in axes:
        for h, n in zip(*ax.get_legend_handles_labels()):
            if n not in names:
                handles.append(h)
                names.append(n)
    if handles:
        fig.legend(handles, names, loc="outside lower center", ncols=min(3, len(names)), fontsize=params.font_size,
                   frameon=False)


def _grid(n: int, params: Any):
    cols = min(params.columns, n)
    rows = math.ceil(n / cols)
    fig = _figure(params.width, params.panel_height * rows + LEGEND_HEIGHT, params)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, list(axes[:n])


def pairs_grid_figure(report: Mapping[str, Any], params: Any):
    """Every (scorer, metric) pair, ``columns`` panels a row; ``None`` for fewer than 2 pairs."""
    pairs = [(q, m) for q in quality_labels(report) for m in metric_labels(report)]
    if len(pairs) < 2:
        return None
    styles = system_styles(report)
    fig, axes = _grid(len(pairs), params)
    for ax, (quality, metric) in zip(axes, pairs):
        _points(ax, report, quality, metric, styles, annotate=False, params=params)
    _legend(fig, axes, params)
    return _finish(fig, [], params)


def small_prompt_count(n: int, total: int) -> bool:
    """Whether a point rests on few prompts (at most half of those evaluated): its count is shown."""
    return n <= total / 2


def effective_diversity_figure(report: Mapping[str, Any], params: Any):
    """The effective-diversity grid, or ``None`` when the report has no sweep."""
    effective = report.get("effective_diversity")
    if not effective or not effective.get("metrics"):
        return None
    labels = report["labels"]
    total = report["protocol"]["n_prompts"]
    styles = system_styles(report)
    fig, axes = _grid(len(effective["metrics"]), params)
    labels_by_axis: dict[str, list] = {}
    for ax, metric in zip(axes, effective["metrics"]):
        small: list[tuple[float, float, str, str]] = []
        for name in system_order(report):
            curves = effective["systems"].get(name)
            if curves is None:
                continue
            points = [(s, p) for s, p in zip(curves["share"], curves[metric])
                      if s.get("mean") is not None and p.get("mean") is not None]
            if not points:
                continue
            st = styles[name]
            xs = [s["mean"] for s, _ in points]
            ys = [p["mean"] for _, p in points]
            ax.plot(xs, ys, color=st["color"], marker=st["marker"], markersize=st["markersize"] * 0.8,
                    linewidth=1.0, label=st["name"])
            small += [(x, p["mean"], f"n={p['n_prompts']}", st["color"]) for x, (_, p) in zip(xs, points)
                      if small_prompt_count(p["n_prompts"], total)]
        meta = labels.get(metric, {"type": "metric"})
        _orient(ax, meta, "y")
        labels_by_axis[metric] = small
        ax.set_xlabel("share passing τ")
        ax.set_xlim(-0.05, 1.05)
        ax.set_xticks([0, 0.5, 1], ["0", "0.5", "1"])
        ax.set_ylabel(diversity_label(metric, meta, arrow="↑", short=True))
        ax.grid(True, alpha=0.3, linewidth=0.5)
        ax.tick_params(labelsize=params.font_size)
    _legend(fig, axes, params)
    return _finish(fig, [(ax, labels_by_axis.get(metric, [])) for ax, metric in zip(axes, effective["metrics"])],
                   params)


def save_figure(fig: Any, stem: Path, formats: Sequence[str], dpi: int, rc: Mapping[str, Any] | None = None) -> list[Path]:
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    out = []
    # a fixed SVG id salt and no date: the same report gives the same bytes
    with matplotlib.rc_context({"svg.hashsalt": "divtools", **(rc or {})}):
        for fmt in formats:
            path = stem.with_suffix(f".{fmt}")
            with atomic_write(path, "wb") as fh:
                metadata = {"Date": None} if fmt in ("svg", "pdf") else {"Software": None}
                fig.savefig(fh, format=fmt, dpi=dpi, metadata=metadata)
            out.append(path)
    return out


def figures(report: Mapping[str, Any], params: Any) -> dict[str, Any]:
    """File stem -> figure, for every figure this report has (built under the font settings)."""
    import matplotlib

    if not metric_labels(report):
        return {}
    with matplotlib.rc_context(_rc(params)):
        out = {"quality_vs_diversity": quality_vs_diversity_figure(report, params)}
        if params.grid:
            grid = pairs_grid_figure(report, params)
            if grid is not None:
                out["quality_vs_diversity_grid"] = grid
        effective = effective_diversity_figure(report, params)
        if effective is not None:
            out["effective_diversity"] = effective
    return out


class PlotReporter(Reporter):
    def __init__(self, params: Any) -> None:
        self.params = params

    def write(self, report: Mapping[str, Any], out_dir: Path) -> list[Path]:
        written: list[Path] = []
        for stem, fig in figures(report, self.params).items():
            written += save_figure(fig, Path(out_dir) / stem, self.params.formats, self.params.dpi, _rc(self.params))
        return written
