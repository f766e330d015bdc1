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


def test_a_spec_using_the_example_plugin_runs(tmp_path):
    """The third-party example plugin's metric and scorer work in a run exactly like built-ins."""
    import json

    from click.testing import CliRunner

    from divtools.cli.main import cli

    gens = Path(__file__).parent / "gens.jsonl"
    spec = tmp_path / "plugin.yaml"
    spec.write_text(f"""run: evaluate
generations: {{path: {gens}}}
metrics: [{{kind: length_spread}}, {{kind: distinct_n, n: 1, label: d1}}]
scorers: [{{kind: type_token_ratio, label: ttr}}]
reporters: [{{kind: json}}]
bootstrap_samples: 100
output: {{dir: out}}
""")
    result = CliRunner().invoke(cli, ["run", str(spec), "--quiet"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    texts = [json.loads(x)["response"] for x in gens.read_text().splitlines()]
    by_prompt = {}
    for row in map(json.loads, gens.read_text().splitlines()):
        by_prompt.setdefault(row["prompt"], []).append(row["response"])
    lengths = [[len(t.split()) for t in group] for group in by_prompt.values()]
    import numpy as np

    expected = np.mean([np.std(g) / np.mean(g) for g in lengths])
    assert report["results"]["default"]["length_spread"]["mean"] == pytest.approx(expected, abs=1e-12)
    ttr = np.mean([len(set(t.lower().split())) / len(t.split()) for t in texts])
    assert report["results"]["default"]["ttr"]["mean"] == pytest.approx(ttr, abs=1e-12)
    assert report["versions"]["plugins"]["example"] == "0.1.0"
