"""Built-in backends."""

from __future__ import annotations

from divtools.hookspecs import hookimpl


@hookimpl
def divtools_register_backends(register) -> None:
    """Nothing registered yet."""
