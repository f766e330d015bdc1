"""``divtools run SPEC``: validate a spec, then run the stage its ``run:`` field names."""

from __future__ import annotations

from pathlib import Path

import click

from divtools.spec.overrides import SET_HELP

__all__ = ["command"]


@click.command("run")
@click.argument("spec_file", type=click.Path(path_type=Path))
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help=SET_HELP)
@click.option("--quiet", is_flag=True, help="No progress bars, and no progress or warnings from transformers/datasets.")
@click.option("--debug", is_flag=True,
              help="Show the traceback of a failure inside a trainer or model library (sets DIVTOOLS_DEBUG=1).")
def command(spec_file: Path, sets: tuple[str, ...], quiet: bool, debug: bool) -> None:
    """Run the spec in SPEC_FILE (prepare, train or evaluate)."""
    import os

    from divtools.errors import DEBUG_ENV
    from divtools.runs import run_spec_file

    if debug:
        os.environ[DEBUG_ENV] = "1"

    result = run_spec_file(spec_file, sets, quiet=quiet)
    click.echo(f"done: {result}")
