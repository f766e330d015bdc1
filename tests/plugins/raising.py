"""A plugin whose hook raises: reported by name, everything else keeps working."""

from divtools import hookimpl


@hookimpl
def divtools_register_metrics(register):
    raise RuntimeError("model file missing")
