"""Built-in sources."""

from __future__ import annotations

from divtools.hookspecs import hookimpl


@hookimpl
def divtools_register_sources(register) -> None:
    """Nothing registered yet."""
