"""Built-in objectives."""

from __future__ import annotations

from divtools.hookspecs import hookimpl


@hookimpl
def divtools_register_objectives(register) -> None:
    """Nothing registered yet."""
