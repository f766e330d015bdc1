"""``divtools list KIND``: the components of one kind, their plugin and parameters."""

from __future__ import annotations

import json
from typing import Any

import click

from divtools.plugins import KINDS

__all__ = ["command", "describe_kind"]


def _param_rows(params: type) -> list[dict[str, Any]]:
    rows = []
    for name, f in params.model_fields.items():
        if name == "kind":
            continue
        ann = f.annotation
        type_name = getattr(ann, "__name__", None) or str(ann).replace("typing.", "")
        default = None if f.is_required() else f.get_default(call_default_factory=True)
        try:
            json.dumps(default)
        except TypeError:
            default = repr(default)
        rows.append({"name": name, "type": type_name, "required": f.is_required(), "default": default,
                     "description": (f.description or "").strip()})
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


@click.command("list")
@click.argument("kind", type=click.Choice(KINDS))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def command(kind: str, as_json: bool) -> None:
    """List the registered components of KIND."""
    rows = describe_kind(kind)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        over = f" (overrides {row['overrides']})" if row["overrides"] else ""
        click.echo(f"{row['name']}  [{row['plugin']} {row['version'] or ''}]{over}")
        if row["description"]:
            click.echo(f"    {row['description']}")
        for p in row["parameters"]:
            req = "required" if p["required"] else f"default {p['default']!r}"
            click.echo(f"    - {p['name']}: {p['type']} ({req})")
