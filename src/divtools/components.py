"""Turn a validated params model into a live component."""

from __future__ import annotations

from typing import Any

from divtools.plugins import registries
from divtools.spec.base import ComponentParams

__all__ = ["build", "info"]


def info(kind: str, params: ComponentParams):
    """The :class:`~divtools.registry.ComponentInfo` behind ``params``."""
    return registries()[kind].get(params.kind)


def build(kind: str, params: ComponentParams) -> Any:
    """Instantiate the registered ``kind`` component that ``params`` selects."""
    return info(kind, params).build(params)
