"""run: pipeline — steps validate up front (inputs an earlier step writes included) and run in order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from divtools.errors import UserError
from divtools.runs import run_spec
from divtools.spec.loading import load_spec

DATA = Path(__file__).parents[2] / "examples" / "data" / "stories.jsonl"

SPEC = f"""
run: pipeline
steps:
  prepare:
    run: prepare
    source: {{kind: writingprompts, path: {DATA}}}
    metrics: [{{kind: distinct_n, n: 1, label: d1}}]
    split: {{eval_fraction: 0.25}}
    output: {{dir: out/prepare}}
  evaluate:
    run: evaluate
    generations: {{path: out/prepare/eval_responses.jsonl}}
    metrics: [{{kind: distinct_n, n: 2, label: d2}}]
    bootstrap_samples: 100
    reporters: [{{kind: json}}]
    output: {{dir: out/evaluate}}
"""


def test_pipeline_validates_inputs_of_later_steps_and_runs_in_order(tmp_path):
    spec_file = tmp_path / "pipe.yaml"
    spec_file.write_text(SPEC)
    spec = load_spec(spec_file)  # out/prepare/eval_responses.jsonl does not exist yet
    assert list(spec.steps) == ["prepare", "evaluate"]
    result = run_spec(spec, quiet=True)
    assert Path(result).is_relative_to(tmp_path / "out" / "evaluate")
    report = json.loads((tmp_path / "out" / "evaluate" / "report.json").read_text())
    prepared = [json.loads(x) for x in (tmp_path / "out" / "prepare" / "eval_responses.jsonl").read_text().splitlines()]
    # the evaluate step read what the prepare step wrote: every held-out prompt is accounted for
    complete = report["results"]["human"]["d2"]["n_prompts"]
    incomplete = report["systems"]["human"]["n_incomplete_prompts"]
    assert complete + incomplete == len({r["prompt_id"] for r in prepared}) == report["protocol"]["n_prompts"]


def test_missing_input_outside_every_step_output_is_still_an_error(tmp_path):
    spec_file = tmp_path / "pipe.yaml"
    spec_file.write_text(SPEC.replace("out/prepare/eval_responses.jsonl", "elsewhere/gens.jsonl"))
    with pytest.raises(UserError, match=r"steps.evaluate.generations.path: path does not exist"):
        load_spec(spec_file)


def test_override_inside_a_step(tmp_path):
    spec_file = tmp_path / "pipe.yaml"
    spec_file.write_text(SPEC)
    spec = load_spec(spec_file, ["steps.prepare.seed=7"])
    assert spec.steps["prepare"].seed == 7
