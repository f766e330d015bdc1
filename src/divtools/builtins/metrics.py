"""Built-in metrics: deviation (per text) and diversity (per group)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from divtools.hookspecs import hookimpl
from divtools.spec.base import MetricParams


class DistinctNParams(MetricParams):
    """distinct-n: unique n-grams / all n-grams of the group (Li et al. 2016)."""

    kind: Literal["distinct_n"] = "distinct_n"
    n: int = Field(2, ge=1, le=8)
    """n-gram order."""


@hookimpl
def divtools_register_metrics(register) -> None:
    register("distinct_n", params=DistinctNParams, impl="divtools.metrics.distinct:DistinctN")
