"""Built-in reporters."""

from __future__ import annotations

from divtools.hookspecs import hookimpl


@hookimpl
def divtools_register_reporters(register) -> None:
    """Nothing registered yet."""
