"""``run: prepare`` — groups -> deviations -> weights -> pairs -> preference dataset."""

from __future__ import annotations

from typing import Literal

from divtools.spec.base import SpecModel
from divtools.spec.common import OutputSpec

__all__ = ["PrepareSpec"]


class PrepareSpec(SpecModel):
    """Build a (prompt, chosen, rejected, weight) preference dataset."""

    run: Literal["prepare"]
    seed: int = 42
    output: OutputSpec
