"""``divtools evaluate``: metric-only evaluation of a generations file, without a spec file."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["command", "parse_component"]


def parse_component(text: str) -> dict:
    """``KIND[:key=value,...]`` -> ``{"kind": KIND, key: value}`` (values parsed as YAML)."""
    import yaml

    kind, _, rest = text.partition(":")
    entry: dict = {"kind": kind.strip()}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        if "=" not in item:
            from divtools.errors import UserError

            raise UserError(f"'{item}' in '{text}' must be key=value", field="--metric")
        key, value = item.split("=", 1)
        entry[key.strip()] = yaml.safe_load(value)
    return entry


@click.command("evaluate")
@click.option("--generations", type=click.Path(path_type=Path), required=True, help="JSONL: prompt, response[, system, id].")
@click.option("--metric", "metrics", multiple=True, required=True, metavar="KIND[:key=value,...]",
              help="A metric, e.g. distinct_n:n=2,label=d2 (repeatable).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True, help="Output directory.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--quiet", is_flag=True, help="No progress bars.")
def command(generations: Path, metrics: tuple[str, ...], out_dir: Path, seed: int, quiet: bool) -> None:
    """Compute diversity metrics over a generations file and write DIR/report.json."""
    from divtools.runs import run_spec_data

    data = {
        "run": "evaluate",
        "seed": seed,
        "generations": {"path": str(generations)},
        "metrics": [parse_component(m) for m in metrics],
        "output": {"dir": str(out_dir)},
    }
    result = run_spec_data(data, file="(command line)", base_dir=Path.cwd(), quiet=quiet)
    click.echo(f"done: {result}")
