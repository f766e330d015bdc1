"""Snapshot of the TRL/transformers config fields a train spec's ``args`` may set.

``divtools validate`` must not import torch, so the field names and their JSON kinds are read
from ``divtools/builtins/data/trl_config_fields.json``, written by :func:`write_snapshot` from the
installed TRL (``python -m divtools.train.config_fields``); a test checks it is current.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from pathlib import Path
from typing import Any

__all__ = ["SNAPSHOT", "CONFIG_CLASSES", "snapshot", "write_snapshot"]

SNAPSHOT = Path(__file__).resolve().parent.parent / "builtins" / "data" / "trl_config_fields.json"
#: stage kind -> the config class its ``args`` populate
CONFIG_CLASSES = {
    "sft": "trl:SFTConfig",
    "preference": "trl:DPOConfig",
    "reward_model": "trl:RewardConfig",
    "grpo": "trl:GRPOConfig",
}


def _kinds(annotation: Any) -> list[str]:
    """JSON kinds a value of ``annotation`` may take: bool, int, float, str, list, dict, null, any."""
    if isinstance(annotation, str):
        return ["any"]
    if annotation is type(None) or annotation is None:
        return ["null"]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        out: list[str] = []
        for arg in typing.get_args(annotation):
            for k in _kinds(arg):
                if k not in out:
                    out.append(k)
        return out
    if origin is typing.Literal:
        return sorted({type(a).__name__.replace("NoneType", "null") for a in typing.get_args(annotation)})
    base = origin or annotation
    if base is bool:
        return ["bool"]
    if base is int:
        return ["int"]
    if base is float:
        return ["float"]
    if base is str or (isinstance(base, type) and issubclass(base, enum.Enum)):
        return ["str"]
    if base in (list, tuple, set) or base is typing.Sequence:
        return ["list"]
    if base is dict:
        return ["dict"]
    return ["any"]


def snapshot() -> dict[str, dict[str, list[str]]]:
    """stage kind -> {field name: JSON kinds} from the installed TRL."""
    import importlib

    out: dict[str, dict[str, list[str]]] = {}
    for stage, target in CONFIG_CLASSES.items():
        module, _, name = target.partition(":")
        cls = getattr(importlib.import_module(module), name)
        hints = typing.get_type_hints(cls)
        fields = {}
        for f in dataclasses.fields(cls):
            if f.init and not f.name.startswith("_"):
                fields[f.name] = _kinds(hints.get(f.name, f.type))
        out[stage] = dict(sorted(fields.items()))
    return out


def write_snapshot(path: Path = SNAPSHOT) -> Path:
    from divtools.atomic import write_json

    import trl

    return write_json(path, {"trl_version": trl.__version__, "fields": snapshot()})


if __name__ == "__main__":  # pragma: no cover
    print(write_snapshot())
