"""Provenance of a report: which registered components (and so which plugins, at which
versions) a spec uses, and which libraries took part in the run."""

from __future__ import annotations

import sys
from typing import Any, Iterator

from pydantic import BaseModel

from divtools.spec.base import ComponentParams

__all__ = ["RUNTIME_LIBRARIES", "components_used", "recorded", "runtime_versions"]

#: libraries whose versions can change a report's numbers, recorded when they were used
RUNTIME_LIBRARIES = (
    "numpy", "scipy", "torch", "transformers", "trl", "peft", "accelerate", "tokenizers",
    "sentence_transformers", "datasets", "vllm", "gguf", "nltk", "rouge_score",
)


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


def runtime_versions() -> dict[str, str]:
    """``{library: version}`` for each of :data:`RUNTIME_LIBRARIES` imported in this process.

    divtools imports torch, transformers, trl and the like only inside the stages that use them,
    so "imported" means "took part in the run": a metrics-only evaluation records numpy and
    scipy, one that generated with a local model also torch and transformers."""
    from importlib import metadata

    out: dict[str, str] = {}
    for name in RUNTIME_LIBRARIES:
        module = sys.modules.get(name)
        if module is None:
            continue
        version = getattr(module, "__version__", None)
        if not isinstance(version, str):
            try:
                version = metadata.version(name.replace("_", "-"))
            except metadata.PackageNotFoundError:
                version = "unknown"
        out[name] = version
    return out


def recorded(value: Any) -> Any:
    """A spec (or a component's params) as reports record it: JSON-ready, with every secret
    redacted (:func:`divtools.redact.redact_data`: credentials in URLs, key-like query strings
    and headers, values of secret environment variables)."""
    from divtools.redact import redact_data

    return redact_data(value.model_dump(mode="json") if hasattr(value, "model_dump") else value)
