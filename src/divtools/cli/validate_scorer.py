"""``divtools validate-scorer SPEC --pairs FILE``: a scorer's agreement with human preferences."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

__all__ = ["command"]


def _scorers(spec_file: str, only: str | None) -> list[tuple[str, Any, dict]]:
    """(label, params, spec-level validation settings) of the scorers SPEC_FILE names: an evaluate
    spec's ``scorers`` (or a pipeline's evaluate steps'), or a file holding one scorer entry."""
    from divtools.errors import UserError
    from divtools.spec.loading import load_spec, read_spec_file

    data = read_spec_file(Path(spec_file))
    found: list[tuple[str, Any, dict]] = []
    if isinstance(data, dict) and "run" not in data and "kind" in data:
        from divtools.plugins import registries

        try:
            params = registries()["scorer"].get(str(data["kind"])).params.model_validate(
                data, context={"base_dir": Path(spec_file).resolve().parent})
        except Exception as exc:  # pydantic ValidationError or unknown kind
            raise UserError(f"not a valid scorer entry: {exc}", file=spec_file) from None
        found.append((params.display, params, {}))
    else:
        spec = load_spec(spec_file, check_paths=False)
        specs = [spec] if spec.run == "evaluate" else [s for s in getattr(spec, "steps", {}).values()
                                                       if getattr(s, "run", None) == "evaluate"]
        for ev in specs:
            checks = {c.scorer: c for c in ev.scorer_validation}
            for s in ev.scorers:
                c = checks.get(s.display)
                found.append((s.display, s, {"min_accuracy": c.min_accuracy, "position_bias": c.position_bias}
                              if c else {}))
    if only is not None:
        found = [f for f in found if f[0] == only]
        if not found:
            raise UserError(f"no scorer labelled '{only}'", file=spec_file, field="--scorer")
    if not found:
        raise UserError("names no scorer (give an evaluate spec with 'scorers', or one scorer entry)", file=spec_file)
    return found


def _columns(text: str | None) -> dict[str, str]:
    from divtools.errors import UserError

    columns = {"prompt": "prompt", "chosen": "chosen", "rejected": "rejected"}
    for item in [t for t in (text or "").split(",") if t.strip()]:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in columns or not value.strip():
            raise UserError(f"'{item}' is not NAME=COLUMN with NAME one of prompt, chosen, rejected", field="--columns")
        columns[key] = value.strip()
    return columns


@click.command("validate-scorer")
@click.argument("spec_file", type=click.Path(dir_okay=False, path_type=str))
@click.option("--pairs", "pairs_file", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="JSONL, CSV or Parquet file of human preference pairs.")
@click.option("--columns", default=None, metavar="NAME=COLUMN,...",
              help="Column mapping, e.g. chosen=chosen_story,rejected=rejected_story (LitBench).")
@click.option("--scorer", "only", default=None, help="Validate only the scorer with this label.")
@click.option("--min-accuracy", type=click.FloatRange(0, 1), default=None,
              help="Exit 2 below this accuracy (default: the spec's scorer_validation min_accuracy, if any).")
@click.option("--position-bias", is_flag=True, help="LLM judges: also compare each pair in both orders.")
@click.option("--json", "as_json", is_flag=True, help="Print the records as JSON.")
def command(spec_file: str, pairs_file: str, columns: str | None, only: str | None, min_accuracy: float | None,
            position_bias: bool, as_json: bool) -> None:
    """Score human preference pairs with the scorers of SPEC_FILE: accuracy (95% Wilson CI),
    accuracy per length-gap bin, score-length correlation, LLM-judge position bias; exit 2 when
    a scorer is below its required accuracy."""
    from divtools.components import build
    from divtools.evaluate.scorer_validation import check_minimum, read_pairs, validate_scorer

    pairs = read_pairs(pairs_file, _columns(columns))
    records, failure = [], None
    for label, params, settings in _scorers(spec_file, only):
        record = validate_scorer(build("scorer", params), pairs, kind=params.kind,
                                 position_bias=position_bias or settings.get("position_bias", False))
        minimum = min_accuracy if min_accuracy is not None else settings.get("min_accuracy")
        record.update(scorer=label, pairs=pairs_file, min_accuracy=minimum)
        records.append(record)
        try:
            check_minimum(label, record, minimum, pairs_file, "--min-accuracy" if min_accuracy is not None
                          else "scorer_validation.min_accuracy")
        except Exception as exc:  # report every scorer first, then refuse
            failure = failure or exc
    if as_json:
        click.echo(json.dumps(records, indent=2, sort_keys=True))
    else:
        for r in records:
            click.echo(_describe(r))
    if failure is not None:
        raise failure


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _describe(r: dict) -> str:
    lo, hi = r["ci95"] or (None, None)
    lines = [f"{r['scorer']} ({r['kind']}): accuracy {_pct(r['accuracy'])} on {r['n']} pairs "
             f"(95% CI {_pct(lo)}-{_pct(hi)}; ties {r['ties']}); longer-text-wins baseline {_pct(r['length_baseline'])}",
             "  by length gap (chosen - rejected words):"]
    for b in r["by_length_gap"]:
        lines.append(f"    [{b['gap_words'][0]:+.0f}, {b['gap_words'][1]:+.0f}]: {_pct(b['accuracy'])} (n = {b['n']})")
    rho = r["score_length_spearman"]
    lines.append(f"  score vs length: Spearman rho {'n/a' if rho is None else f'{rho:+.2f}'}")
    pb = r.get("position_bias")
    if pb:
        lines.append(f"  both orders: picks the first shown {_pct(pb['first_position_rate'])}, same verdict in both "
                     f"orders {_pct(pb['consistency'])}, pairwise accuracy {_pct(pb['pairwise_accuracy'])}")
    if r.get("min_accuracy") is not None:
        lines.append(f"  required: {_pct(r['min_accuracy'])}")
    return "\n".join(lines)
