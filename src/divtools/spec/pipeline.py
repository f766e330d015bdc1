"""``run: pipeline`` — several runs in one spec file, executed in order.

Each step is a complete prepare/train/evaluate spec (with its own ``run:`` and ``output:``),
so a step reads the files an earlier step wrote, and re-running the pipeline resumes every
step from its own output directory. ``--set steps.train.seed=1`` overrides inside a step.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field

from divtools.spec.base import SpecModel
from divtools.spec.evaluate import EvaluateSpec
from divtools.spec.prepare import PrepareSpec
from divtools.spec.train import TrainSpec

__all__ = ["PipelineSpec", "StepSpec"]

StepSpec = Annotated[Union[PrepareSpec, TrainSpec, EvaluateSpec], Field(discriminator="run")]


class PipelineSpec(SpecModel):
    """Named steps, run in the order written; each is a full prepare/train/evaluate spec."""

    run: Literal["pipeline"]
    steps: dict[str, StepSpec] = Field(min_length=1)
    """Step name -> spec. Names are for progress messages and ``--set steps.NAME.field=...``."""
