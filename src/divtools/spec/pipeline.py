"""``run: pipeline`` — several runs in one spec file, executed in order.

Each step is a complete prepare/train/evaluate spec (with its own ``run:`` and ``output:``),
so a step reads the files an earlier step wrote, and re-running the pipeline resumes every
step from its own output directory. ``--set steps.train.seed=1`` overrides inside a step.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import Field, ValidationInfo, model_validator

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

    @model_validator(mode="before")
    @classmethod
    def _outputs_of_steps(cls, data: Any, info: ValidationInfo) -> Any:
        """Record every step's output directory, so inputs a step will produce pass validation."""
        if isinstance(data, dict) and isinstance(data.get("steps"), dict) and info.context is not None:
            base = info.context.get("base_dir")
            outs = []
            for step in data["steps"].values():
                out = step.get("output", {}).get("dir") if isinstance(step, dict) and isinstance(step.get("output"), dict) else None
                if isinstance(out, str):
                    path = Path(os.path.expanduser(out))
                    outs.append(path if path.is_absolute() or base is None else Path(base) / path)
            info.context["pending_outputs"] = tuple(outs)
        return data
