"""``divtools validate-scorer`` and ``scorer_validation`` on human-labelled pairs
(tests/evaluate/data/human_pairs.jsonl: intact KJV proverbs vs damaged copies; see its README)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from divtools.cli.main import cli

PAIRS = Path(__file__).parent / "data" / "human_pairs.jsonl"
COLUMNS = "chosen=chosen_story,rejected=rejected_story"


def _rows():
    return [json.loads(line) for line in PAIRS.read_text(encoding="utf-8").splitlines()]


def _invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def length_entry(tmp_path) -> Path:
    path = tmp_path / "scorer.yaml"
    path.write_text("kind: length\n", encoding="utf-8")
    return path


def test_length_scorer_accuracy_ci_and_gap_bins(length_entry):
    from statsmodels.stats.proportion import proportion_confint

    result = _invoke("validate-scorer", length_entry, "--pairs", PAIRS, "--columns", COLUMNS, "--json")
    assert result.exit_code == 0, result.output
    (record,) = json.loads(result.output)
    rows = _rows()
    # by construction: the intact verse is longer than its truncation (24 pairs), shorter than
    # its garbled extension (16 pairs), so "longer wins" is right on exactly 24 of 40
    assert sum(r["damage"] == "truncated" for r in rows) == 24
    assert record["accuracy"] == pytest.approx(24 / 40) and record["n"] == 40 and record["ties"] == 0
    lo, hi = proportion_confint(24, 40, alpha=0.05, method="wilson")
    assert record["ci95"] == pytest.approx([lo, hi], abs=1e-9)
    assert record["length_baseline"] == pytest.approx(0.6)
    assert record["score_length_spearman"] == pytest.approx(1.0)
    # within length-gap bins the length scorer is all right (chosen longer) or all wrong
    for b in record["by_length_gap"]:
        if b["n"]:
            expected = 1.0 if b["gap_words"][0] > 0 else 0.0 if b["gap_words"][1] < 0 else None
            if expected is not None:
                assert b["accuracy"] == expected
    assert sum(b["n"] for b in record["by_length_gap"]) == 40


def test_text_output_and_minimum_refused_with_exit_2(length_entry):
    ok = _invoke("validate-scorer", length_entry, "--pairs", PAIRS, "--columns", COLUMNS, "--min-accuracy", "0.55")
    assert ok.exit_code == 0, ok.output
    assert "accuracy 60.0% on 40 pairs" in ok.output
    refused = _invoke("validate-scorer", length_entry, "--pairs", PAIRS, "--columns", COLUMNS, "--min-accuracy", "0.7")
    assert refused.exit_code == 2
    assert "below the required 70.0%" in refused.output and "Traceback" not in refused.output


def test_a_missing_column_is_named(length_entry):
    result = _invoke("validate-scorer", length_entry, "--pairs", PAIRS)
    assert result.exit_code == 2
    assert "column 'chosen' (chosen) is missing" in result.output and "--columns chosen=COLUMN" in result.output


def _evaluate_spec(tmp_path: Path, min_accuracy: float) -> Path:
    from evaluate_data import generation_rows, write_jsonl

    gens = write_jsonl(tmp_path / "gens.jsonl", generation_rows())
    spec = {"run": "evaluate", "generations": {"path": str(gens)}, "metrics": [{"kind": "distinct_n"}],
            "scorers": [{"kind": "length"}], "reporters": [{"kind": "json"}], "bootstrap_samples": 100,
            "scorer_validation": [{"scorer": "length", "pairs": str(PAIRS), "min_accuracy": min_accuracy,
                                   "columns": {"chosen": "chosen_story", "rejected": "rejected_story"}}],
            "output": {"dir": str(tmp_path / "out")}}
    path = tmp_path / "evaluate.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def test_an_evaluate_spec_requiring_more_accuracy_is_refused(tmp_path):
    spec = _evaluate_spec(tmp_path, 0.7)
    result = _invoke("run", spec, "--quiet")
    assert result.exit_code == 2, result.output
    assert "scorer_validation[0].min_accuracy" in result.output and "60.0% of 40 pairs" in result.output
    assert not (tmp_path / "out" / "report.json").exists()
    # validate-scorer reads the same requirement from the spec
    again = _invoke("validate-scorer", spec, "--pairs", PAIRS, "--columns", COLUMNS)
    assert again.exit_code == 2 and "below the required 70.0%" in again.output


def test_a_met_requirement_is_recorded_in_the_report(tmp_path):
    spec = _evaluate_spec(tmp_path, 0.55)
    result = _invoke("run", spec, "--quiet")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    (record,) = report["scorer_validation"]
    assert record["scorer"] == "length" and record["accuracy"] == pytest.approx(0.6) and record["min_accuracy"] == 0.55


def test_a_constant_scorer_scores_one_half_not_more():
    import numpy as np

    from divtools.evaluate.scorer_validation import accuracy

    assert accuracy(np.ones(10), np.ones(10))["accuracy"] == 0.5
    assert accuracy(np.array([np.nan, 2.0]), np.array([1.0, 1.0]))["accuracy"] == 0.75


def test_spec_checks_the_scorer_label_and_a_pipeline_step_is_read(tmp_path):
    spec = _evaluate_spec(tmp_path, 0.7)
    data = yaml.safe_load(spec.read_text())
    data["scorer_validation"][0]["scorer"] = "lenght"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data), encoding="utf-8")
    result = _invoke("validate", bad)
    assert result.exit_code == 2 and "scorer_validation[0].scorer 'lenght' is not a scorer label" in result.output
    # the evaluate step of a pipeline spec, with its requirement
    data["scorer_validation"][0]["scorer"] = "length"
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(yaml.safe_dump({"run": "pipeline", "steps": {"evaluate": data}}), encoding="utf-8")
    result = _invoke("validate-scorer", pipeline, "--pairs", PAIRS, "--columns", COLUMNS)
    assert result.exit_code == 2 and "below the required 70.0%" in result.output
    assert "accuracy 60.0% on 40 pairs" in result.output  # every record is printed before the refusal
