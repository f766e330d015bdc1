"""``divtools evaluate``: evaluate a generations file without writing a spec file.

It builds the same ``run: evaluate`` spec a file would hold (shown with ``--print-spec``) and
runs it, so the report is identical to ``divtools run`` on that spec.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

__all__ = ["OPTIONS", "command", "in_options", "parse_component", "split_top_level"]


def split_top_level(text: str, sep: str = ",") -> list[str]:
    """Split on ``sep`` outside brackets/braces/quotes, so values may be YAML lists or mappings
    (``embedder={kind: tfidf, max_features: 50}``)."""
    parts, depth, quote, current = [], 0, "", []
    for ch in text:
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "[{(":
            depth += 1
        elif ch in "]})":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return parts


def parse_component(text: str, option: str = "--metric") -> dict:
    """``KIND[:key=value,...]`` -> ``{"kind": KIND, key: value}`` (values parsed as YAML)."""
    import yaml

    from divtools.errors import UserError
    from divtools.spec.yaml_loader import load_yaml, yaml_problem

    kind, _, rest = text.partition(":")
    entry: dict = {"kind": kind.strip()}
    for item in filter(None, (p.strip() for p in split_top_level(rest))):
        if "=" not in item:
            raise UserError(f"'{item}' in '{text}' must be key=value", field=option)
        key, value = item.split("=", 1)
        try:
            entry[key.strip()] = load_yaml(value)
        except yaml.YAMLError as exc:
            raise UserError(f"'{value}' in '{text}' is not a valid value: {yaml_problem(exc)}", field=option) from None
    return entry


@click.command("evaluate")
@click.option("--generations", type=click.Path(path_type=Path), help="JSONL: prompt, response[, system, id, prompt_id, sample].")
@click.option("--gold", type=click.Path(path_type=Path), help="JSONL of human responses, subsampled to N per prompt.")
@click.option("--metric", "metrics", multiple=True, required=True, metavar="KIND[:key=value,...]",
              help="A metric, e.g. distinct_n:n=2,label=d2 (repeatable).")
@click.option("--scorer", "scorers", multiple=True, metavar="KIND[:key=value,...]",
              help="A quality scorer, e.g. length or dataset_score:column=upvotes (repeatable).")
@click.option("-n", "--samples-per-prompt", type=int, default=None, help="N samples per prompt (default: inferred).")
@click.option("--prompt-ids", type=click.Path(path_type=Path), help="File with one prompt id per line: the prompts to evaluate.")
@click.option("--effective-diversity", "effective", is_flag=True, help="Sweep quality thresholds (needs a --scorer).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True, help="Output directory.")
@click.option("--on-existing", type=click.Choice(["resume", "restart", "error"]), default="resume", show_default=True,
              help="What to do when --out already holds this run.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--print-spec", is_flag=True, help="Print the equivalent spec file (YAML) and stop.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def command(generations: Path | None, gold: Path | None, metrics: tuple[str, ...], scorers: tuple[str, ...],
            samples_per_prompt: int | None, prompt_ids: Path | None, effective: bool, out_dir: Path,
            on_existing: str, seed: int, print_spec: bool, quiet: bool) -> None:
    """Compute diversity metrics (and quality scorers) over a generations file; write DIR/report.json,
    report.md and the plots."""
    from divtools.errors import UserError
    from divtools.runs import run_spec_data

    if generations is None and gold is None:
        raise UserError("give --generations FILE (and/or --gold FILE)", field="--generations")
    data: dict[str, Any] = {"run": "evaluate", "seed": seed}
    if generations is not None:
        data["generations"] = {"path": str(generations)}
    if gold is not None:
        data["gold"] = {"path": str(gold)}
    if prompt_ids is not None:
        data["prompts"] = {"ids_file": str(prompt_ids)}
    if samples_per_prompt is not None:
        data["samples_per_prompt"] = samples_per_prompt
    data["metrics"] = [parse_component(m, "--metric") for m in metrics]
    if scorers:
        data["scorers"] = [parse_component(s, "--scorer") for s in scorers]
    if effective:
        data["effective_diversity"] = {}
    data["output"] = {"dir": str(out_dir), "on_existing": on_existing}
    if print_spec:
        import yaml

        click.echo(yaml.safe_dump(data, sort_keys=False), nl=False)
        return
    try:
        result = run_spec_data(data, file="(command line)", base_dir=Path.cwd(), quiet=quiet)
    except UserError as exc:  # the user typed options, not spec fields: name the options
        raise UserError(in_options(exc.message), file=exc.file,
                        field=in_options(exc.field) if exc.field else None) from None
    click.echo(f"done: {result}")


#: the spec fields this command fills from its options, and the option that fills each
OPTIONS = {
    "output.on_existing": "--on-existing", "output.dir": "--out", "generations.path": "--generations",
    "gold.path": "--gold", "prompts.ids_file": "--prompt-ids", "samples_per_prompt": "-n",
    "effective_diversity": "--effective-diversity", "seed": "--seed",
}
_FIELD = re.compile(r"(?<![\w.-])(" + "|".join(re.escape(k) for k in OPTIONS) + r")(?![\w.])(: (?=resume|restart|error))?")


def in_options(text: str) -> str:
    """``text`` with each spec field this command fills replaced by its option
    (``set output.on_existing: restart`` -> ``set --on-existing restart``)."""
    return _FIELD.sub(lambda m: OPTIONS[m.group(1)] + (" " if m.group(2) else ""), text)
