"""``divtools cache``: inspect or clear the embedding cache."""

from __future__ import annotations

from pathlib import Path

import click

from divtools.cli.help import FullHelpGroup

__all__ = ["command"]


@click.group("cache", cls=FullHelpGroup)
def command() -> None:
    """Inspect or clear the embedding cache."""


@command.command("clear")
@click.option("--dir", "cache_dir", type=click.Path(path_type=Path), default=None, help="Cache directory (default: DIVTOOLS_CACHE or ~/.cache/divtools).")
def clear(cache_dir: Path | None) -> None:
    """Delete every cached embedding."""
    from divtools.embed_cache import clear_cache

    removed = clear_cache(cache_dir)
    click.echo(f"removed {removed} cached entries")
