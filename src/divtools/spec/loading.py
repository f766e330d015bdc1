"""Read, override and validate spec files; turn pydantic errors into ``FILE: field: message``.

YAML is read with :class:`divtools.spec.yaml_loader.SpecLoader` (the safe loader: no tags, no code;
plus YAML 1.2 floats such as ``5e-4``); JSON with the standard library. Both within
:mod:`divtools.input_limits` (nesting depth, alias expansion, integer digits, duplicate keys).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any, Iterable, Union

import yaml
from pydantic import Field, TypeAdapter, ValidationError

from divtools import input_limits
from divtools.errors import UserError
from divtools.registry import suggest
from divtools.spec.evaluate import EvaluateSpec
from divtools.spec.online import OnlineSpec
from divtools.spec.pipeline import PipelineSpec
from divtools.spec.prepare import PrepareSpec
from divtools.spec.train import TrainSpec
from divtools.spec.overrides import apply_overrides
from divtools.spec.yaml_loader import load_yaml, yaml_problem

__all__ = ["RUN_KINDS", "RunSpec", "apply_overrides", "format_errors", "load_spec", "read_spec_file", "validate_spec"]

RunSpec = Annotated[Union[PrepareSpec, TrainSpec, EvaluateSpec, PipelineSpec, OnlineSpec], Field(discriminator="run")]
RUN_KINDS = ("prepare", "train", "evaluate", "pipeline", "online")

_ADAPTER: TypeAdapter[Any] | None = None


def _adapter() -> TypeAdapter[Any]:
    global _ADAPTER
    if _ADAPTER is None:
        _ADAPTER = TypeAdapter(RunSpec)
    return _ADAPTER


def read_spec_file(path: str | Path) -> dict[str, Any]:
    """The spec file's mapping; a user error for anything that is not one."""
    path = Path(path)
    name = str(path)
    if not path.exists():
        raise UserError("file not found; check the path", file=name)
    if path.is_dir():
        raise UserError("is a directory, expected a .yaml, .yml or .json spec file", file=name)
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark is accepted (YAML and JSON alike)
    except UnicodeDecodeError as exc:
        raise UserError(f"not valid UTF-8 (byte {exc.start}); save the spec as UTF-8", file=name) from None
    if not text.strip():
        raise UserError("the spec file is empty; it needs at least 'run:' (prepare, train, evaluate or pipeline)", file=name)
    try:
        if path.suffix.lower() == ".json":
            data = input_limits.loads(text)
        else:
            data = load_yaml(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"JSON syntax error at line {exc.lineno}, column {exc.colno}: {exc.msg}", file=name) from None
    except (input_limits.DuplicateKey, input_limits.InputTooComplex) as exc:
        raise UserError(f"refused: {exc}", file=name) from None
    except yaml.YAMLError as exc:
        raise UserError(yaml_problem(exc), file=name) from None
    if data is None:
        raise UserError("the spec file holds no settings; it needs at least 'run:'", file=name)
    if not isinstance(data, dict):
        raise UserError(
            f"the top level must be a mapping of settings (run: ..., ...), not a {type(data).__name__}",
            file=name,
        )
    return data


def _loc(loc: tuple[Any, ...]) -> str:
    # pydantic puts the union tag into the location ("metrics.0.distinct_n.n"); users never wrote
    # it, so drop tags that equal the entry's kind/run.
    return ".".join(str(p) for p in loc) or "(top level)"


def format_errors(exc: ValidationError, data: Any, *, file: str) -> list[str]:
    """One ``FILE: field: message`` line per error (a union's failed members on one line)."""
    merged: list[list[Any]] = []
    for err in exc.errors(include_url=False):
        loc = list(err["loc"])
        # drop the discriminator tags pydantic inserts (e.g. 'evaluate', 'distinct_n', a criterion's 'deviation')
        clean: list[Any] = []
        node: Any = data
        tagged = False
        for part in loc:
            if isinstance(node, dict) and part not in node and isinstance(part, str) and (
                node.get("run") == part or node.get("kind") == part or node.get("type") == part
            ):
                continue
            if isinstance(part, str) and part.startswith("<") and part.endswith(">"):
                continue  # the tag of a union divtools discriminates itself (e.g. a file or {hf_dataset: ...})
            if _union_member(part, node):
                tagged = True
                continue
            clean.append(part)
            if isinstance(node, dict):
                node = node.get(part)
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                node = node[part]
            else:
                node = None
        kind = err["type"]
        msg = err["msg"]
        ctx = err.get("ctx") or {}
        if kind == "union_tag_invalid":
            tag = ctx.get("tag")
            tags = [t.strip().strip("'") for t in str(ctx.get("expected_tags", "")).split(",")]
            what = ctx.get("discriminator", "'kind'").strip("'")
            msg = f"unknown {what} '{tag}'{suggest(tag, tags)}; expected one of: {', '.join(tags)}"
        elif kind == "union_tag_not_found":
            what = ctx.get("discriminator", "'kind'").strip("'")
            msg = f"missing '{what}': say which component this is"
            clean_loc = clean
            if what == "run":
                msg = "missing 'run': set it to prepare, train, evaluate or pipeline"
            clean = clean_loc
        elif kind == "missing":
            msg = "required field is missing"
        elif kind == "model_type" or kind == "model_attributes_type":
            msg = f"expected a mapping (key: value), got {type(err.get('input')).__name__}"
        elif kind == "list_type":
            msg = f"expected a list, got {type(err.get('input')).__name__}"
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        where = _loc(tuple(clean))
        if tagged and merged and merged[-1][0] == where and merged[-1][2]:
            # one value failing each member of a union (a float >= 0, or 'inf'): one line
            merged[-1][1] += " or " + msg.removeprefix("Input should be ")
        else:
            merged.append([where, msg, tagged])
    return [f"{file}: {where}: {msg}" for where, msg, _ in merged]


#: the names pydantic gives union members in error locations ('constrained-float',
#: "literal['inf']", 'function-after[...]', 'list[str]', 'int'): types, never fields a user wrote
_MEMBER_TAG = re.compile(r"^(?:[a-z]+(?:-[a-z]+)+(?:\[.*\])?|[a-z]+\[.*\]|str|int|float|bool|none|bytes)$")


def _union_member(part: Any, node: Any) -> bool:
    return isinstance(part, str) and not (isinstance(node, dict) and part in node) and bool(_MEMBER_TAG.match(part))


def validate_spec(data: dict[str, Any], *, file: str, base_dir: Path, check_paths: bool = True) -> Any:
    """Validate a spec mapping; a :class:`UserError` listing every problem otherwise.

    ``check_paths=False`` skips the existence check of input paths (for specs that read what
    another run has yet to write)."""
    try:
        return _adapter().validate_python(data, context={"base_dir": base_dir, "check_paths": check_paths})
    except ValidationError as exc:
        lines = format_errors(exc, data, file=file)
        err = UserError("\n".join(lines))
        err.lines = lines  # type: ignore[attr-defined]
        raise err from None


def load_spec(path: str | Path, overrides: Iterable[str] = (), *, check_paths: bool = True) -> Any:
    """Read, override and validate a spec file; relative paths resolve against its folder."""
    path = Path(path)
    data = apply_overrides(read_spec_file(path), overrides, file=str(path))
    return validate_spec(data, file=str(path), base_dir=path.resolve().parent, check_paths=check_paths)


def spec_json_schema() -> dict[str, Any]:
    """JSON Schema of a spec file (any run kind), built from the loaded registries."""
    schema = _adapter().json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "divtools run spec"
    return schema
