"""``--set KEY.PATH=VALUE`` overrides of a spec mapping, applied before validation.

Values are parsed as YAML 1.2 (:mod:`divtools.spec.yaml_loader`), so ``--set seed=7`` is an int
and ``--set stages.sft.args.learning_rate=1e-4`` a float. List items are addressed by index or
by name; in a pipeline a first key that names a step means that step. Light on purpose: the CLI
imports it for its help text.
"""

from __future__ import annotations

from typing import Any, Iterable

import yaml

from divtools.errors import UserError
from divtools.spec.yaml_loader import load_yaml, yaml_problem

__all__ = ["SET_EXAMPLES", "SET_HELP", "apply_overrides"]

#: the --set help's examples; tests/specs/test_set_names.py runs each on the spec it names
SET_EXAMPLES = (
    ("stages.sft.args.learning_rate=1e-4", "examples/paper/train.yaml"),
    ("train.stages.sft.args.max_steps=2", "examples/quickstart.yaml"),
)
SET_HELP = (
    "Override a spec value by dotted path; list items by index or by name (stages, systems), "
    "pipeline steps by name, e.g. --set " + " or --set ".join(e for e, _ in SET_EXAMPLES) + " (repeatable)."
)


def _named_item(node: list[Any], key: str, where: str, file: str | None) -> int:
    """Index of the list item whose ``name`` (or a metric's ``label``) is ``key``."""
    names = [item.get("name", item.get("label")) if isinstance(item, dict) else None for item in node]
    hits = [i for i, name in enumerate(names) if name == key]
    if len(hits) != 1:
        known = ", ".join(str(n) for n in names if n is not None) or "(no named items)"
        what = "two items are" if hits else "no item is"
        raise UserError(
            f"{what} named '{key}' in the list at '{where}'; use an index (0..{len(node) - 1}) or one of: {known}",
            file=file, field="--set",
        )
    return hits[0]


def apply_overrides(data: dict[str, Any], sets: Iterable[str], *, file: str | None = None) -> dict[str, Any]:
    """Apply ``key.sub=value`` overrides (value parsed as YAML 1.2).

    List items are addressed by index or by name (``stages.sft.args.learning_rate=1e-4``); in a
    pipeline, a first key that names a step means that step (``train.seed=1`` is
    ``steps.train.seed=1``)."""
    for item in sets:
        if "=" not in item:
            raise UserError(f"override '{item}' must look like key.path=value", file=file, field="--set")
        dotted, raw = item.split("=", 1)
        try:
            value = load_yaml(raw) if raw.strip() else ""
        except yaml.YAMLError as exc:  # seed=[1,  or  seed=!!python/name:os.system
            raise UserError(f"the value '{raw[:80]}' cannot be read: {yaml_problem(exc)}", file=file,
                            field=f"--set {dotted.strip()}") from None
        keys = dotted.strip().split(".")
        steps = data.get("steps") if data.get("run") == "pipeline" else None
        if isinstance(steps, dict) and keys[0] not in data and keys[0] in steps:
            keys = ["steps", *keys]
        node: Any = data
        for i, key in enumerate(keys):
            last = i == len(keys) - 1
            if isinstance(node, list):
                where = ".".join(keys[:i])
                if key.isdigit():
                    if int(key) >= len(node):
                        raise UserError(f"'{key}' is not an index of the list at '{where}' ({len(node)} items)", file=file, field="--set")
                    index = int(key)
                else:
                    index = _named_item(node, key, where, file)
                if last:
                    node[index] = value
                else:
                    node = node[index]
            elif isinstance(node, dict):
                if last:
                    node[key] = value
                else:
                    node = node.setdefault(key, {})
            else:
                raise UserError(f"cannot set '{dotted}': '{'.'.join(keys[:i])}' is not a mapping", file=file, field="--set")
    return data
