"""Built-in reporters: report.json, report.md and the quality-vs-diversity plots."""

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
    """report.md: a table with systems as rows and metrics/scorers as columns (mean [95% CI])."""

    kind: Literal["markdown"] = "markdown"
    digits: int = Field(3, ge=0, le=12)
    """Significant digits of each number."""


class PlotReporterParams(ComponentParams):
    """quality_vs_diversity.png/.svg (one panel per diversity metric, one point per system, 95% CI
    bars on both axes) and effective_diversity.png/.svg when the sweep ran (matplotlib, Agg)."""

    kind: Literal["plot"] = "plot"
    formats: list[Literal["png", "svg", "pdf"]] = Field(default_factory=lambda: ["png", "svg"], min_length=1)
    """Files written for each figure."""
    dpi: int = Field(100, ge=30, le=600)
    """Raster resolution (PNG)."""
    panel_width: float = Field(4.0, gt=0, le=20)
    """Width of one panel in inches."""
    panel_height: float = Field(3.5, gt=0, le=20)
    """Height of one panel in inches."""
    quality: list[str] | None = None
    """Scorer labels for the quality axis, one row of panels each (default: every scorer)."""


@hookimpl
def divtools_register_reporters(register) -> None:
    register("json", params=JsonReporterParams, impl="divtools.reporters.json_report:JsonReporter")
    register("markdown", params=MarkdownReporterParams, impl="divtools.reporters.markdown_report:MarkdownReporter")
    register("plot", params=PlotReporterParams, impl="divtools.reporters.plot_report:PlotReporter")
