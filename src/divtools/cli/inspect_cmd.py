"""``divtools inspect DIR``: the data diagnostics of a prepare output folder."""

from __future__ import annotations

import json
from pathlib import Path

import click

__all__ = ["command"]


@click.command("inspect")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the diagnostics as JSON instead of text.")
def command(folder: Path, as_json: bool) -> None:
    """Pool sizes, zero-weight and floored shares, weight-length correlation, chosen-vs-rejected
    length gap, constant-deviation pools and warnings of the prepare folder FOLDER (computed from
    its files, so folders of earlier runs work too)."""
    from divtools.data.diagnostics import diagnose_folder, format_diagnostics

    diag = diagnose_folder(folder)
    if as_json:
        click.echo(json.dumps(diag, indent=2, sort_keys=True))
        return
    click.echo(f"{folder}:")
    for line in format_diagnostics(diag):
        click.echo(line)
