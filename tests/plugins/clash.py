"""A plugin that registers a name a built-in holds, without override."""

from typing import Literal

from divtools import MetricParams, hookimpl


class DistinctNParams(MetricParams):
    kind: Literal["distinct_n"] = "distinct_n"


@hookimpl
def divtools_register_metrics(register):
    register("distinct_n", params=DistinctNParams, impl="tests.plugins.clash:nothing")
