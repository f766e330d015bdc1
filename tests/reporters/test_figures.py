"""The figures: readable at one paper column (every text ≥ 8 pt once the figure is printed
85 mm wide), right = more diverse for every metric, length never on the quality axis, 12
systems with 12 distinct markers and colours, the grids' column limit, small prompt counts shown."""

from __future__ import annotations

import copy
import math

import pytest

from divtools.builtins.reporters import PlotReporterParams
from divtools.errors import UserError
from divtools.reporters import plot_report as pr

COLUMN_INCHES = 85 / 25.4


def _texts(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    FigureCanvasAgg(fig).draw()  # ticks exist once drawn
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def _printed_points(fig, text) -> float:
    """A text's size once the figure is scaled to 85 mm wide."""
    return text.get_fontsize() * COLUMN_INCHES / fig.get_figwidth()


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    from report_data import build_run, load

    out = build_run(tmp_path_factory.mktemp("fig"), {"sft": 1, "dpo": 2, "ddpo": 4}, reporters=[{"kind": "json"}])
    return load(out / "report.json")


def test_every_text_is_at_least_8_pt_at_85_mm(report):
    params = PlotReporterParams()
    figs = pr.figures(report, params)
    assert set(figs) == {"quality_vs_diversity", "quality_vs_diversity_grid", "effective_diversity"}
    for name, fig in figs.items():
        assert fig.get_figwidth() == pytest.approx(COLUMN_INCHES, abs=0.01)
        texts = _texts(fig)
        assert len(texts) > 8, name
        small = [(t.get_text(), _printed_points(fig, t)) for t in texts if _printed_points(fig, t) < 8 - 1e-9]
        assert not small, (name, small)
        # and nothing drawn is cut off at the figure's edge (the tight box is in inches)
        tight = fig.get_tightbbox(fig.canvas.get_renderer())
        width, height = fig.get_size_inches()
        assert tight.x0 >= -0.01 and tight.y0 >= -0.01 and tight.x1 <= width + 0.01 and tight.y1 <= height + 0.01, (
            name, tight.bounds)
    # a wider figure would shrink its text when printed in a column: the check catches that
    wide = pr.figures(report, PlotReporterParams(width=7))["quality_vs_diversity"]
    assert min(_printed_points(wide, t) for t in _texts(wide)) < 8


def test_main_figure_axes_default_and_length_is_never_quality(report):
    params = PlotReporterParams()
    fig = pr.quality_vs_diversity_figure(report, params)
    (ax,) = fig.axes
    # scorers are [length, quality]: the default quality axis skips the length scorer
    assert ax.get_ylabel() == "quality (better ↑)" and ax.get_xlabel() == "d2 (more diverse →)"
    with pytest.raises(UserError, match="length scorer"):
        pr.quality_vs_diversity_figure(report, PlotReporterParams(quality="length"))
    grid = pr.pairs_grid_figure(report, params)
    assert {a.get_ylabel() for a in grid.axes if a.get_visible()} == {"quality ↑"}
    # the headline chooses: its first scorer and first metric
    headed = copy.deepcopy(report)
    headed["spec"]["headline"] = ["length", "self_bleu", "quality"]
    ax = pr.quality_vs_diversity_figure(headed, params).axes[0]
    assert ax.get_xlabel().startswith("self_bleu") and ax.get_ylabel().startswith("quality")


def test_point_labels_do_not_overlap(report):
    fig = pr.quality_vs_diversity_figure(report, PlotReporterParams())
    (ax,) = fig.axes
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in ax.texts]
    assert len(boxes) == 4  # human, sft, dpo, ddpo (ddpo and human sit close together)
    frame = ax.get_window_extent(renderer)
    for i, box in enumerate(boxes):
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
        assert not any(box.overlaps(other) for other in boxes[i + 1:])


def test_right_is_more_diverse_for_every_metric(report):
    params = PlotReporterParams(diversity="self_bleu")
    ax = pr.quality_vs_diversity_figure(report, params).axes[0]
    assert ax.xaxis_inverted() and "reversed" in ax.get_xlabel()
    # the most diverse system (ddpo: lowest self-BLEU among the models) sits right of sft
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(ax.figure).draw()
    x = {c.get_label(): ax.transData.transform(c.lines[0].get_xydata()[0])[0] for c in ax.containers}
    assert report["results"]["ddpo"]["self_bleu"]["mean"] < report["results"]["sft"]["self_bleu"]["mean"]
    assert x["ddpo"] > x["sft"]
    ax = pr.quality_vs_diversity_figure(report, PlotReporterParams()).axes[0]
    assert not ax.xaxis_inverted()
    eff = pr.effective_diversity_figure(report, PlotReporterParams())
    by_label = {a.get_ylabel(): a for a in eff.axes if a.get_visible()}
    assert by_label["self_bleu (rev.) ↑"].yaxis_inverted() and not by_label["d2 ↑"].yaxis_inverted()


def test_twelve_systems_get_distinct_markers_and_colours(report):
    many = copy.deepcopy(report)
    base = many["results"]["sft"]
    names = [f"s{i}" for i in range(12)]
    many["systems"] = {"human": many["systems"]["human"]}
    for name in names:
        many["systems"][name] = {"role": "file", "n_prompts_complete": 6}
        many["results"][name] = base
    many["order"]["systems"] = ["human", *names]
    styles = pr.system_styles(many)
    assert styles["human"]["marker"] == "*" and styles["human"]["color"] == "black"
    assert len({styles[n]["marker"] for n in names}) == 12 and len({styles[n]["color"] for n in names}) == 12
    assert all(styles[n]["color"] != "black" and styles[n]["marker"] != "*" for n in names)
    fig = pr.quality_vs_diversity_figure(many, PlotReporterParams())
    assert len(fig.axes[0].containers) == 13 and len(fig.axes[0].texts) == 13  # a labelled point each


def test_grid_column_limit_and_small_prompt_counts(report):
    fig = pr.pairs_grid_figure(report, PlotReporterParams(columns=1))
    visible = [a for a in fig.axes if a.get_visible()]
    assert len(visible) == 2 and len({round(a.get_position().x0, 3) for a in visible}) == 1  # one column
    fig = pr.pairs_grid_figure(report, PlotReporterParams(columns=2))
    assert len({round(a.get_position().x0, 3) for a in fig.axes if a.get_visible()}) == 2
    total = report["protocol"]["n_prompts"]
    eff = pr.effective_diversity_figure(report, PlotReporterParams())
    shown = sorted(t.get_text() for a in eff.axes for t in a.texts)
    curves = report["effective_diversity"]["systems"]
    expected = sorted(f"n={p['n_prompts']}" for name in curves for m in report["effective_diversity"]["metrics"]
                      for p in curves[name][m] if p["mean"] is not None and p["n_prompts"] <= total / 2)
    assert shown == expected and shown  # the fixture's strictest τ leaves few prompts
    assert not any(math.isnan(a.get_xlim()[0]) for a in eff.axes)


def test_figure_axes_are_checked_with_the_spec(tmp_path):
    from report_data import build_run

    with pytest.raises(UserError, match="plot.quality 'length' is a length scorer"):
        build_run(tmp_path / "a", {"sft": 1}, reporters=[{"kind": "plot", "quality": "length"}])
    with pytest.raises(UserError, match="html.diversity 'nope' is not a metric label; metrics: d2, self_bleu"):
        build_run(tmp_path / "b", {"sft": 1}, reporters=[{"kind": "html", "diversity": "nope"}])
    assert not (tmp_path / "a" / "out").exists()  # refused before any work
