"""Spec fields in words: type names with their allowed values, for ``divtools list`` and the
generated spec reference (one formatter, so the two never disagree)."""

from __future__ import annotations

import json
import types
import typing
from typing import Any

__all__ = ["allowed_values", "component_kind", "type_name"]


def component_kind(metadata: list[Any]) -> str | None:
    """The component kind a field's ``Annotated`` metadata names (``Component("metric")``), if any."""
    return next((m.kind for m in metadata if type(m).__name__ == "Component"), None)


def allowed_values(ann: Any) -> list[Any] | None:
    """The values a ``Literal`` (possibly optional or annotated) allows; None for other types."""
    origin = typing.get_origin(ann)
    if origin is typing.Annotated:
        return allowed_values(typing.get_args(ann)[0])
    if origin is typing.Literal:
        return list(typing.get_args(ann))
    if origin in (typing.Union, types.UnionType):
        found = [allowed_values(a) for a in typing.get_args(ann) if a is not type(None)]
        if found and all(f is not None for f in found):
            return [v for f in found for v in f]
    return None


def _tag(model: type) -> str | None:
    """``{type: "deviation"}`` for a section model told apart by a literal ``type``/``kind``."""
    fields = getattr(model, "model_fields", {})
    for key in ("type", "kind"):
        if key in fields and typing.get_origin(fields[key].annotation) is typing.Literal:
            values = typing.get_args(fields[key].annotation)
            if len(values) == 1:
                return f"{{{key}: {json.dumps(values[0])}, ...}}"
    return None


def type_name(ann: Any, *, sep: str = " | ", tags: bool = False) -> str:
    """``"a" | "b"`` for literals, ``list of X``, ``X or Y (optional)``, ``metric component``;
    ``sep`` joins literal values (the Markdown tables escape the bar). With ``tags`` a section
    model with a literal ``type``/``kind`` is shown by it (``{type: "deviation", ...}``), as a
    user writes it, instead of by its class name."""
    def again(a: Any) -> str:
        return type_name(a, sep=sep, tags=tags)

    origin = typing.get_origin(ann)
    if origin is typing.Annotated:
        base, *meta = typing.get_args(ann)
        kind = component_kind(meta)
        return f"{kind} component" if kind else again(base)
    if origin is typing.Literal:
        return sep.join(json.dumps(a) for a in typing.get_args(ann))
    if origin in (list, tuple, set):
        args = typing.get_args(ann)
        return f"list of {again(args[0])}" if args else "list"
    if origin is dict:
        return "mapping"
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(ann)
        return " or ".join(again(a) for a in args if a is not type(None)) + (
            " (optional)" if type(None) in args else "")
    if isinstance(ann, type):
        return (_tag(ann) if tags else None) or ann.__name__
    return str(ann).replace("typing.", "")
