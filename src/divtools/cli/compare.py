"""``divtools compare REPORT...``: merge evaluation reports into one table and plot."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["command"]


@click.command("compare")
@click.argument("reports", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True, help="Output directory.")
def command(reports: tuple[Path, ...], out_dir: Path) -> None:
    """Merge report.json files of separate runs (same prompts, same N) into one report."""
    from divtools.evaluate.compare import compare_reports

    result = compare_reports(list(reports), out_dir)
    click.echo(f"done: {result}")
