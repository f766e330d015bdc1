"""What a stage's ``args`` may hold: the fields of TRL's/transformers' config classes (``SFTConfig``,
``DPOConfig``, ``RewardConfig``, ``GRPOConfig``), read from a committed snapshot of those classes so
that validating a spec needs no torch, and the fields divtools sets itself (``RESERVED_ARGS``).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from divtools.spec import trl_names

__all__ = ["RESERVED_ARGS", "check_args", "config_fields"]

_FIELDS_FILE = Path(__file__).resolve().parent.parent / "builtins" / "data" / "trl_config_fields.json"

#: config fields divtools sets itself, per stage kind, and where the spec sets them instead
RESERVED_ARGS: dict[str, dict[str, str]] = {
    "_all": {
        "output_dir": "output.dir (each stage writes to output.dir/<stage name>)",
        "seed": "the spec's top-level seed",
        "resume_from_checkpoint": "rerun the same spec: divtools resumes from the last checkpoint",
        "model_init_kwargs": "model (path, revision, dtype)",
    },
    "preference": {
        "beta": "objective.beta",
        "loss_type": "objective.loss_type",
        "loss_weights": "the objective",
        "precompute_ref_log_probs": "reference: precomputed",
        "use_weighting": "the objective (WPO weighting is not a per-example weight)",
    },
    "sft": {"completion_only_loss": "always on: the loss covers response tokens only"},
}


@functools.lru_cache(maxsize=1)
def config_fields() -> dict[str, dict[str, list[str]]]:
    """Stage kind -> {config field -> the JSON kinds it accepts} (the committed snapshot)."""
    return json.loads(_FIELDS_FILE.read_text(encoding="utf-8"))["fields"]


def _kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, dict):
        return "dict"
    return type(value).__name__


def check_args(stage_kind: str, args: dict[str, Any]) -> dict[str, Any]:
    """Refuse unknown, reserved or mistyped ``args`` keys for a stage of ``stage_kind`` (every
    bad key at once: one error each)."""
    from pydantic_core import PydanticCustomError

    from divtools.registry import suggest
    from divtools.spec.base import raise_all

    allowed = config_fields()[stage_kind]
    reserved = {**RESERVED_ARGS["_all"], **RESERVED_ARGS.get(stage_kind, {})}
    problems: list[str] = []
    for key, value in args.items():
        if key in reserved:
            problems.append(f"args.{key} is set by divtools; use {reserved[key]}")
            continue
        if key not in allowed:
            hint = trl_names.pointer(trl_names.ARGS, key) or suggest(key, sorted(allowed))
            problems.append(
                f"unknown args key '{key}'{hint}: not a field of the TRL config for '{stage_kind}' stages"
            )
            continue
        kinds = allowed[key]
        got = _kind_of(value)
        ok = "any" in kinds or got in kinds or (got == "int" and "float" in kinds)
        if not ok:
            problems.append(f"args.{key} must be {' or '.join(kinds)}, got {got} ({value!r})")
    if problems:  # no context given: the messages are not templates
        raise_all("args", [PydanticCustomError("bad_args", p) for p in problems], args)
    return args
