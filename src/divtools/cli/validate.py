"""``divtools validate FILE...``: check spec files without running anything."""

from __future__ import annotations

import click

from divtools.spec.overrides import SET_HELP

from divtools.errors import EXIT_USER_ERROR, UserError

__all__ = ["command"]


@click.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=True, path_type=str))
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help=SET_HELP)
@click.option("--no-path-check", is_flag=True,
              help="Do not require input files to exist yet (a train spec before its prepare run).")
def command(files: tuple[str, ...], sets: tuple[str, ...], no_path_check: bool) -> None:
    """Validate spec FILES; print every problem as FILE: field: message (exit code 2)."""
    from divtools.spec.loading import load_spec

    failed = False
    for path in files:
        try:
            spec = load_spec(path, sets, check_paths=not no_path_check)
        except UserError as exc:
            click.echo(str(exc), err=True)
            failed = True
            continue
        click.echo(f"{path}: ok (run: {spec.run})")
    if failed:
        raise SystemExit(EXIT_USER_ERROR)
