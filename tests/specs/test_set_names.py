"""Issue #13 item 6: ``--set`` addresses stages (and other named list items) by name and
pipeline steps by name; the help's examples are real (this test runs each on its spec)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from divtools.errors import UserError
from divtools.spec.loading import load_spec
from divtools.spec.overrides import SET_EXAMPLES, SET_HELP, apply_overrides

ROOT = Path(__file__).resolve().parents[2]


def _get(spec, dotted: str):
    node = spec
    for key in dotted.split("."):
        if isinstance(node, list):
            node = node[int(key)] if key.isdigit() else next(x for x in node if getattr(x, "name", None) == key)
        elif isinstance(node, dict):
            node = node[key]
        else:
            node = getattr(node, key)
    return node


@pytest.mark.parametrize("example,spec_file", SET_EXAMPLES)
def test_each_help_example_changes_the_value_it_names(example, spec_file):
    assert f"--set {example}" in SET_HELP
    dotted, raw = example.split("=")
    before = load_spec(ROOT / spec_file, check_paths=False)
    after = load_spec(ROOT / spec_file, [example], check_paths=False)
    path = dotted if before.run != "pipeline" else "steps." + dotted  # a pipeline's first key is a step
    *parent, last = path.split(".")
    got_before = _get(before, ".".join(parent)).get(last)  # absent before, or another value
    got_after = _get(after, ".".join(parent))[last]
    assert got_after == pytest.approx(float(raw)) and got_after != got_before


def test_the_cli_help_shows_the_examples_and_validate_accepts_them():
    from divtools.cli.main import cli

    runner = CliRunner()
    help_text = " ".join(runner.invoke(cli, ["run", "--help"]).output.split())
    for example, spec_file in SET_EXAMPLES:
        assert example in help_text
        result = runner.invoke(cli, ["validate", "--no-path-check", str(ROOT / spec_file), "--set", example])
        assert result.exit_code == 0, result.output


def test_stages_by_name_and_by_index_are_the_same_item():
    data = {"run": "train", "stages": [{"name": "sft", "args": {}}, {"name": "ddpo", "objective": {"kind": "ddpo"}}]}
    by_name = apply_overrides({**data, "stages": [dict(s) for s in data["stages"]]}, ["stages.ddpo.objective.beta=0.2"])
    assert by_name["stages"][1]["objective"] == {"kind": "ddpo", "beta": 0.2}
    assert by_name["stages"][0] == {"name": "sft", "args": {}}


def test_pipeline_steps_by_name_with_or_without_steps_prefix():
    data = {"run": "pipeline", "steps": {"train": {"run": "train", "seed": 1, "stages": [{"name": "sft", "args": {}}]}}}
    apply_overrides(data, ["train.seed=5", "steps.train.stages.sft.args.max_steps=3"])
    assert data["steps"]["train"]["seed"] == 5
    assert data["steps"]["train"]["stages"][0]["args"] == {"max_steps": 3}
    assert "train" not in data  # no stray top-level key


def test_metrics_by_label_and_bad_names_are_user_errors():
    data = {"metrics": [{"kind": "distinct_n", "label": "d2"}, {"kind": "self_bleu"}]}
    apply_overrides(data, ["metrics.d2.n=3"])
    assert data["metrics"][0]["n"] == 3
    with pytest.raises(UserError, match=r"no item is named 'nope' in the list at 'metrics'; use an index \(0..1\) or one of: d2"):
        apply_overrides(data, ["metrics.nope.n=1"])
    with pytest.raises(UserError, match="two items are named 'a'"):
        apply_overrides({"stages": [{"name": "a"}, {"name": "a"}]}, ["stages.a.x=1"])
