"""Built-in embedders."""

from __future__ import annotations

from divtools.hookspecs import hookimpl


@hookimpl
def divtools_register_embedders(register) -> None:
    """Nothing registered yet."""
