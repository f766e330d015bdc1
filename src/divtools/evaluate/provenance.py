"""Which registered components (and so which plugins, at which versions) a spec uses."""

from __future__ import annotations

from typing import Any, Iterator

from pydantic import BaseModel

from divtools.spec.base import ComponentParams

__all__ = ["components_used"]


def _walk(value: Any, where: str) -> Iterator[tuple[str, ComponentParams]]:
    if isinstance(value, ComponentParams):
        yield where, value
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _walk(getattr(value, name), f"{where}.{name}" if where else name)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _walk(item, f"{where}.{i}")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{where}.{key}")


def components_used(spec: Any) -> list[dict[str, Any]]:
    """One ``{field, kind, name, plugin, version}`` per component in ``spec`` (nested ones too),
    found by matching each params model to the registry entry that declared it."""
    from divtools.plugins import registries

    by_params: dict[type, Any] = {}
    for registry in registries():
        for info in registry:
            by_params[info.params] = info
    out = []
    for where, params in _walk(spec, ""):
        info = by_params.get(type(params))
        if info is None:  # a params base used as a plain section, not a registered component
            continue
        out.append({"field": where, "kind": info.kind, "name": info.name, "plugin": info.plugin,
                    "version": info.plugin_version})
    return out
