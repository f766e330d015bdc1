"""Built-in reporters: report.json, report.md, the quality-vs-diversity figures and report.html."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from divtools.hookspecs import hookimpl
from divtools.spec.base import ComponentParams


class JsonReporterParams(ComponentParams):
    """report.json: per system and label the mean, 95% CI, prompt count and per-prompt values,
    plus the protocol, the resolved spec and component versions (the run's record)."""

    kind: Literal["json"] = "json"


class MarkdownReporterParams(ComponentParams):
    """report.md: the headline table (systems as rows; the spec's ``headline`` labels, or every
    metric and scorer, as columns; mean [95% CI]) and report-appendix.md with every table."""

    kind: Literal["markdown"] = "markdown"
    digits: int = Field(3, ge=0, le=12)
    """Significant digits of each mean; an interval's bounds are rounded to the same decimal
    place as its mean."""


class _FigureParams(ComponentParams):
    """What the figures share (the plot reporter writes them, the html reporter embeds them)."""

    width: float = Field(3.346, gt=0, le=20)
    """Width of every figure in inches (3.346 in = 85 mm, one column of a two-column paper)."""
    height: float = Field(2.6, gt=0, le=20)
    """Height of the main quality-vs-diversity figure in inches."""
    panel_height: float = Field(1.7, gt=0, le=20)
    """Height of one row of the grid figures in inches."""
    font_size: float = Field(8.0, ge=5, le=24)
    """Size of every text in points, at the figure's own width."""
    columns: int = Field(2, ge=1, le=8)
    """At most this many panels per row of the grid figures."""
    quality: str | None = None
    """The main figure's quality scorer (y). Default: the first scorer of the spec's
    ``headline``, else the first scorer; never a length scorer."""
    diversity: str | None = None
    """The main figure's diversity metric (x). Default: the first metric of ``headline``, else
    the first metric."""
    grid: bool = True
    """Also draw quality_vs_diversity_grid: every (scorer, metric) pair."""


class PlotReporterParams(_FigureParams):
    """quality_vs_diversity.png/.svg (the main scorer against one diversity metric, one labelled
    point per system, 95% CI bars on both axes, the human data a black star), its all-pairs grid,
    and effective_diversity.png/.svg when the sweep ran (matplotlib, Agg)."""

    kind: Literal["plot"] = "plot"
    formats: list[Literal["png", "svg", "pdf"]] = Field(default_factory=lambda: ["png", "svg"], min_length=1)
    """Files written for each figure."""
    dpi: int = Field(300, ge=30, le=1200)
    """Raster resolution (PNG)."""


class HtmlReporterParams(_FigureParams):
    """report.html: one self-contained page (no network) with the figures, the tables and a
    sample browser: pick a prompt, read every system's samples side by side with their scores
    and deviations, sort and filter them."""

    kind: Literal["html"] = "html"
    digits: int = Field(3, ge=0, le=12)
    """Significant digits in the tables."""
    max_prompts: int = Field(500, ge=1)
    """The sample browser holds the first this many prompts (the page carries their texts)."""
    dpi: int = Field(100, ge=30, le=600)
    """Resolution the embedded SVG figures are laid out at."""


@hookimpl
def divtools_register_reporters(register) -> None:
    register("json", params=JsonReporterParams, impl="divtools.reporters.json_report:JsonReporter")
    register("markdown", params=MarkdownReporterParams, impl="divtools.reporters.markdown_report:MarkdownReporter")
    register("plot", params=PlotReporterParams, impl="divtools.reporters.plot_report:PlotReporter")
    register("html", params=HtmlReporterParams, impl="divtools.reporters.html_report:HtmlReporter")
