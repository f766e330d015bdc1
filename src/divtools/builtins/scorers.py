"""Built-in scorers."""

from __future__ import annotations

from divtools.hookspecs import hookimpl


@hookimpl
def divtools_register_scorers(register) -> None:
    """Nothing registered yet."""
