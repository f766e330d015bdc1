"""Generate docs/cli.md (from ``--help``) and docs/spec-reference.md (from the spec models).

``make docs`` rewrites both; tests fail when the committed files are stale. Built from
divtools' own components only (run with ``DIVTOOLS_LOAD_PLUGINS=`` empty).
"""

from __future__ import annotations

import json
import typing
from pathlib import Path
from typing import Any

import click
from pydantic import BaseModel

__all__ = ["cli_reference", "spec_reference", "write_reference_docs"]


def cli_reference() -> str:
    from divtools.cli.main import cli

    out = ["# CLI reference", "", "Generated from `divtools --help` by `make docs`; do not edit by hand.", ""]

    def walk(cmd: click.Command, path: list[str]) -> None:
        ctx = click.Context(cmd, info_name=" ".join(path), terminal_width=88, max_content_width=88)
        out.extend([f"## `{' '.join(path)}`", "", "```text", cmd.get_help(ctx).rstrip(), "```", ""])
        if isinstance(cmd, click.Group):
            for name in sorted(cmd.commands):
                walk(cmd.commands[name], [*path, name])

    walk(cli, ["divtools"])
    return "\n".join(out)


def _type_name(ann: Any) -> str:
    from divtools.spec.describe import type_name

    return type_name(ann, sep=" \\| ")  # the bar is escaped inside Markdown tables


def _default(field: Any) -> str:
    if field.is_required():
        return "**required**"
    value = field.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return "(section defaults)"
    try:
        return f"`{json.dumps(value, default=str)}`"
    except TypeError:
        return f"`{value!r}`"


def _model_table(model: type[BaseModel], out: list[str], seen: set[type], title: str) -> None:
    if model in seen:
        return
    seen.add(model)
    doc = " ".join((model.__doc__ or "").split())
    out.extend([f"### {title}", "", doc, "", "| field | type | default | description |", "|---|---|---|---|"])
    nested: list[tuple[type[BaseModel], str]] = []
    for name, f in model.model_fields.items():
        desc = " ".join((f.description or "").split()).replace("|", "\\|")
        component = next((m.kind for m in f.metadata if type(m).__name__ == "Component"), None)
        type_name = f"{component} component" if component else _type_name(f.annotation)
        out.append(f"| `{name}` | {type_name} | {_default(f)} | {desc} |")
        if component:
            continue
        for sub in _models_in(f.annotation):
            nested.append((sub, f"{title}.{name}"))
    out.append("")
    for sub, sub_title in nested:
        _model_table(sub, out, seen, f"{sub_title} ({sub.__name__})")


def _models_in(ann: Any) -> list[type[BaseModel]]:
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return [ann]
    if typing.get_origin(ann) is typing.Annotated:
        args = typing.get_args(ann)
        if any(type(m).__name__ == "Component" for m in args[1:]):
            return []  # components are documented per kind below
        return _models_in(args[0])
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(ann):
        found += _models_in(arg)
    return found


def spec_reference() -> str:
    from divtools.plugins import KINDS, registries
    from divtools.spec.evaluate import EvaluateSpec
    from divtools.spec.pipeline import PipelineSpec
    from divtools.spec.online import OnlineSpec
    from divtools.spec.prepare import PrepareSpec
    from divtools.spec.train import TrainSpec

    out = ["# Spec reference", "",
           "Generated from the spec models by `make docs`; do not edit by hand. Every section rejects",
           "unknown keys; relative paths resolve against the spec file's folder. Components are chosen",
           "by `kind:` (see `divtools list KIND`, which also shows plugin components).", ""]
    seen: set[type] = set()
    for run, model in (("prepare", PrepareSpec), ("train", TrainSpec), ("evaluate", EvaluateSpec), ("pipeline", PipelineSpec), ("online", OnlineSpec)):
        out.extend([f"## `run: {run}`", ""])
        _model_table(model, out, seen, run)
    out.extend(["## Components", ""])
    for kind in KINDS:
        items = list(registries()[kind])
        if not items:
            continue
        out.extend([f"## {kind} components", ""])
        for info in items:
            _model_table(info.params, out, seen, f"{kind}: `{info.name}`")
    return "\n".join(out).rstrip() + "\n"


def write_reference_docs(docs_dir: Path) -> list[Path]:
    from divtools.atomic import write_text

    return [write_text(docs_dir / "cli.md", cli_reference() + "\n"),
            write_text(docs_dir / "spec-reference.md", spec_reference())]


if __name__ == "__main__":  # pragma: no cover
    import sys

    for p in write_reference_docs(Path(sys.argv[1] if len(sys.argv) > 1 else "docs")):
        print(p)
