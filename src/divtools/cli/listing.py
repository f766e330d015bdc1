"""``divtools list KIND``: the components of one kind, their plugin and parameters, each parameter
with its type (allowed values spelled out), default and description."""

from __future__ import annotations

import json
import shutil
import textwrap
from typing import Any

import click

from divtools.plugins import KINDS

__all__ = ["command", "describe_kind"]


def _param_rows(params: type) -> list[dict[str, Any]]:
    from divtools.spec.describe import allowed_values, component_kind, type_name

    rows = []
    for name, f in params.model_fields.items():
        if name == "kind":
            continue
        # pydantic keeps an Annotated field's markers (Component("metric")) in f.metadata
        kind = component_kind(f.metadata)
        default = None if f.is_required() else f.get_default(call_default_factory=True)
        if hasattr(default, "model_dump"):
            default = default.model_dump(mode="json")
        try:
            json.dumps(default)
        except TypeError:
            default = repr(default)
        shown = type_name(f.annotation, tags=True)
        if shown.endswith(" (optional)"):
            shown = shown[: -len(" (optional)")] + " or null"
        rows.append({
            "name": name,
            "type": f"{kind} component (see divtools list {kind})" if kind else shown,
            "allowed": allowed_values(f.annotation),
            "required": f.is_required(),
            "default": default,
            "description": " ".join((f.description or "").split()),
        })
    return rows


def describe_kind(kind: str) -> list[dict[str, Any]]:
    from divtools.plugins import registries

    return [
        {
            "name": info.name,
            "plugin": info.plugin,
            "version": info.plugin_version,
            "description": info.summary,
            "overrides": info.overrides,
            "parameters": _param_rows(info.params),
        }
        for info in registries()[kind]
    ]


def _wrap(text: str, indent: int, width: int, hang: int = 0) -> list[str]:
    """Wrapped at word boundaries, never cut: a long value runs past the width instead."""
    return textwrap.wrap(text, width=max(width, indent + 30), initial_indent=" " * indent,
                         subsequent_indent=" " * (indent + hang), break_on_hyphens=False, break_long_words=False)


@click.command("list")
@click.argument("kind", type=click.Choice(KINDS))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def command(kind: str, as_json: bool) -> None:
    """List the registered components of KIND with every parameter's type, allowed values,
    default and description."""
    rows = describe_kind(kind)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    width = min(shutil.get_terminal_size((100, 24)).columns, 100)
    for row in rows:
        over = f" (overrides {row['overrides']})" if row["overrides"] else ""
        click.echo(f"{row['name']}  [{row['plugin']} {row['version'] or ''}]{over}")
        for line in _wrap(row["description"], 4, width):
            click.echo(line)
        for p in row["parameters"]:
            req = "required" if p["required"] else f"default: {json.dumps(p['default'], default=str)}"
            for line in _wrap(f"- {p['name']}: {p['type']} ({req})", 4, width, hang=2):
                click.echo(line)
            for line in _wrap(p["description"], 8, width):
                click.echo(line)
