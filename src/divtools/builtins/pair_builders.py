"""Built-in pair builders."""

from __future__ import annotations

from divtools.hookspecs import hookimpl


@hookimpl
def divtools_register_pair_builders(register) -> None:
    """Nothing registered yet."""
