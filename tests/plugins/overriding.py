"""A plugin that replaces a built-in on purpose (override=True)."""

from typing import Literal

from divtools import MetricParams, hookimpl


class DistinctNParams(MetricParams):
    """A replacement distinct_n."""

    kind: Literal["distinct_n"] = "distinct_n"


@hookimpl
def divtools_register_metrics(register):
    register("distinct_n", params=DistinctNParams, impl="tests.plugins.clash:nothing", override=True)
