"""``divtools schema``: write JSON Schema files for spec files (editor completion, CI checks)."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["command", "schemas"]


def schemas() -> dict[str, dict]:
    """File name -> JSON Schema: the whole spec, and one per run kind."""
    from pydantic import TypeAdapter

    from divtools.spec.evaluate import EvaluateSpec
    from divtools.spec.loading import spec_json_schema
    from divtools.spec.pipeline import PipelineSpec
    from divtools.spec.online import OnlineSpec
    from divtools.spec.prepare import PrepareSpec
    from divtools.spec.train import TrainSpec

    out = {"spec.schema.json": spec_json_schema()}
    for name, model in (("prepare", PrepareSpec), ("train", TrainSpec), ("evaluate", EvaluateSpec), ("pipeline", PipelineSpec), ("online", OnlineSpec)):
        schema = TypeAdapter(model).json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        out[f"{name}.schema.json"] = schema
    return out


@click.command("schema")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("schemas"),
              show_default=True, help="Directory for the schema files.")
def command(out_dir: Path) -> None:
    """Write the JSON Schema of spec files (covering every loaded plugin) to --out.

    The committed schemas/ are built from divtools' own components:
    `DIVTOOLS_LOAD_PLUGINS= divtools schema --out schemas/`.
    """
    from divtools.atomic import write_json

    for name, schema in schemas().items():
        path = write_json(out_dir / name, schema)
        click.echo(str(path))
