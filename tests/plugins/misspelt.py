"""A plugin whose hook name is misspelt (singular 'metric'): must be rejected loudly."""

from divtools import hookimpl


@hookimpl
def divtools_register_metric(register):
    raise AssertionError("never called")
