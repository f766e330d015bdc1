"""Spec loading: YAML and JSON, relative paths, overrides, third-party components."""

from __future__ import annotations

from pathlib import Path

import pytest

from divtools.errors import UserError
from divtools.spec.loading import apply_overrides, load_spec

VALID = Path(__file__).parent / "valid"


def test_yaml_and_json_specs_validate_and_resolve_paths_against_the_spec_folder():
    y = load_spec(VALID / "metric_only.yaml")
    j = load_spec(VALID / "metric_only.json")
    assert y.run == j.run == "evaluate"
    assert y.generations.path == VALID.parent / "gens.jsonl"  # normalised: no ".." left
    assert y.generations.path.exists()
    assert y.output.dir == VALID / "out"
    assert y.metrics[0].kind == "distinct_n" and y.metrics[0].n == 2 and y.metrics[0].display == "d2"
    assert j.metrics[0].display == "distinct_n"


def test_third_party_component_validates_like_a_builtin():
    spec = load_spec(VALID / "example_plugin.yaml")
    assert type(spec.metrics[0]).__module__ == "divtools_example"
    assert spec.metrics[0].display == "length_spread"


def test_overrides_set_nested_values_and_list_items():
    spec = load_spec(VALID / "metric_only.yaml", ["metrics.0.n=3", "seed=7", "output.on_existing=restart"])
    assert spec.metrics[0].n == 3 and spec.seed == 7 and spec.output.on_existing == "restart"


def test_override_errors_are_user_errors():
    with pytest.raises(UserError, match="must look like key.path=value"):
        apply_overrides({}, ["novalue"])
    with pytest.raises(UserError, match="is not an index"):
        apply_overrides({"metrics": []}, ["metrics.3.n=1"])
    with pytest.raises(UserError, match="is not a mapping"):
        apply_overrides({"seed": 1}, ["seed.x=1"])


def test_errors_list_every_problem_at_once(tmp_path):
    bad = tmp_path / "s.yaml"
    bad.write_text("run: evaluate\nseed: x\nmetrics: [{kind: distinct_n, n: 0}]\ngenerations: {path: nope.jsonl}\n")
    with pytest.raises(UserError) as exc:
        load_spec(bad)
    lines = exc.value.lines
    assert any(line.endswith("seed: Input should be a valid integer, unable to parse string as an integer") for line in lines)
    assert any("metrics.0.n:" in line for line in lines)
    assert any("generations.path: path does not exist" in line for line in lines)
    assert any("output: required field is missing" in line for line in lines)
    assert all(line.startswith(f"{bad}: ") for line in lines)
