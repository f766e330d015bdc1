"""``divtools plugins``: installed plugins as JSON (name, version, hooks, components, errors)."""

from __future__ import annotations

import json

import click

__all__ = ["command", "describe_plugins"]


def describe_plugins() -> list[dict]:
    from divtools.plugins import plugin_set

    ps = plugin_set()
    rows = []
    for name, plugin in ps.pm.list_name_plugin():
        hooks = sorted(h.name for h in ps.pm.get_hookcallers(plugin) or [])
        components = sorted(
            f"{info.kind}:{info.name}" for reg in ps.registries for info in reg if info.plugin == name
        )
        rows.append({"name": name, "version": ps.versions.get(name), "hooks": hooks, "components": components})
    for failure in ps.failures:
        rows.append({"name": failure.name, "version": None, "hooks": [], "components": [], "error": failure.error})
    return rows


@click.command("plugins")
def command() -> None:
    """List loaded plugins (and any that failed to load) as JSON."""
    click.echo(json.dumps(describe_plugins(), indent=2))
