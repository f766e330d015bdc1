"""``run: train`` — SFT, preference and reward-model stages."""

from __future__ import annotations

from typing import Literal

from divtools.spec.base import SpecModel
from divtools.spec.common import OutputSpec

__all__ = ["TrainSpec"]


class TrainSpec(SpecModel):
    """Train a model in stages."""

    run: Literal["train"]
    seed: int = 42
    output: OutputSpec
