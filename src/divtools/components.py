"""Turn a validated params model into a live component."""

from __future__ import annotations

from typing import Any

from divtools.errors import DivtoolsError
from divtools.plugins import registries
from divtools.spec.base import ComponentParams

__all__ = ["build", "info"]


def info(kind: str, params: ComponentParams):
    """The :class:`~divtools.registry.ComponentInfo` behind ``params``."""
    return registries()[kind].get(params.kind)


#: kind -> (module, class) every built component of that kind must be an instance of: what its
#: caller really uses, beyond the abstract method of :mod:`divtools.api` (the trainer reads an
#: objective's declarations, ``compute`` and ``check_dataset`` from PreferenceObjective)
CONTRACTS: dict[str, tuple[str, str]] = {"objective": ("divtools.objectives.base", "PreferenceObjective")}


def build(kind: str, params: ComponentParams) -> Any:
    """Instantiate the registered ``kind`` component that ``params`` selects; a component that
    does not honour its kind's contract (:data:`CONTRACTS`) is refused with an error naming it."""
    entry = info(kind, params)
    component = entry.build(params)
    if kind in CONTRACTS:
        import importlib

        module, cls_name = CONTRACTS[kind]
        if not isinstance(component, getattr(importlib.import_module(module), cls_name)):
            raise DivtoolsError(
                f"{kind} '{params.kind}' of plugin '{entry.plugin}' built a {type(component).__name__}, which "
                f"does not subclass divtools.{cls_name}; the trainer needs that class's declarations "
                f"(needs_reference, logprob_reduction, needs_nll) and methods (compute, check_dataset): "
                f"subclass divtools.{cls_name} (docs/plugins.md)"
            )
    return component
