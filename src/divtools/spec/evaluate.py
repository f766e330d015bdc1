"""``run: evaluate`` — metrics (and scorers) over generations, per system and prompt."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from divtools.spec.base import Component, ComponentParams, InputPath, SpecModel
from divtools.spec.common import OutputSpec

__all__ = ["EvaluateSpec", "GenerationsSpec", "MetricSpec", "ScorerSpec"]

MetricSpec = Annotated[ComponentParams, Component("metric")]
ScorerSpec = Annotated[ComponentParams, Component("scorer")]


class GenerationsSpec(SpecModel):
    """A JSONL file of generations: one row per response with ``prompt`` and ``response``;
    optional ``system`` (rows without it form the system ``default``), ``id`` and ``prompt_id``."""

    path: InputPath


class EvaluateSpec(SpecModel):
    """Evaluate diversity (and quality) of generations."""

    run: Literal["evaluate"]
    seed: int = 0
    """Seed for bootstrap confidence intervals and subsampling."""
    generations: GenerationsSpec
    metrics: list[MetricSpec] = Field(min_length=1)
    scorers: list[ScorerSpec] = Field(default_factory=list)
    bootstrap_samples: int = Field(1000, ge=100)
    """Bootstrap resamples of prompts for the 95% confidence intervals."""
    output: OutputSpec

    @model_validator(mode="after")
    def _distinct_labels(self) -> "EvaluateSpec":
        seen: set[str] = set()
        for entry in [*self.metrics, *self.scorers]:
            label = entry.display  # type: ignore[attr-defined]
            if label in seen:
                raise ValueError(f"two metrics/scorers are labelled '{label}': give each a distinct label")
            seen.add(label)
        return self
