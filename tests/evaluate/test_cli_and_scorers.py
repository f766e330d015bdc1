"""``divtools evaluate`` / ``divtools compare`` on the command line, and the model-free scorers."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from divtools.builtins.scorers import DatasetScoreParams, LengthParams
from divtools.cli.evaluate import parse_component, split_top_level
from divtools.cli.main import cli
from divtools.errors import UserError
from divtools.scorers.simple import DatasetScore, Length
from evaluate_data import load, run_spec


def test_parse_component_keeps_nested_values_together():
    assert split_top_level("a=1,b={x: 1, y: [2, 3]},c='p,q'") == ["a=1", "b={x: 1, y: [2, 3]}", "c='p,q'"]
    assert parse_component("embedding_diversity:embedder={kind: tfidf, max_features: 50},label=lex") == {
        "kind": "embedding_diversity", "embedder": {"kind": "tfidf", "max_features": 50}, "label": "lex"}
    assert parse_component("distinct_n") == {"kind": "distinct_n"}
    with pytest.raises(UserError, match="must be key=value"):
        parse_component("distinct_n:n")


def test_cli_report_equals_the_spec_run(gens, tmp_path):
    args = ["evaluate", "--generations", str(gens), "--metric", "distinct_n:n=2,label=d2", "--scorer", "length",
            "--out", str(tmp_path / "cli"), "--quiet"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    printed = CliRunner().invoke(cli, [*args, "--print-spec"])
    import yaml

    spec = yaml.safe_load(printed.output)
    spec["output"]["dir"] = str(tmp_path / "spec")
    from_spec = load(run_spec(spec, tmp_path))
    from_cli = load(tmp_path / "cli" / "report.json")
    assert from_cli["results"] == from_spec["results"]
    assert from_cli["protocol"] == from_spec["protocol"]


def test_cli_user_errors_exit_2_with_file_and_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "a", "response": "b"}\n{oops\n')
    result = CliRunner().invoke(cli, ["evaluate", "--generations", str(bad), "--metric", "distinct_n",
                                      "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert f"{bad}: line 2, column 2: not valid JSON" in result.output
    assert not (tmp_path / "o" / "report.json").exists()
    result = CliRunner().invoke(cli, ["evaluate", "--generations", str(bad), "--metric", "no_such_metric",
                                      "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "unknown kind 'no_such_metric'" in result.output
    result = CliRunner().invoke(cli, ["compare", str(tmp_path / "nope"), "--out", str(tmp_path / "c")])
    assert result.exit_code == 2 and "no report here" in result.output


def test_length_scorer():
    texts = ["one two  three", "", "naïve\ncafé"]
    assert Length(LengthParams()).score(["p"] * 3, texts).tolist() == [3, 0, 2]
    assert Length(LengthParams(unit="characters")).score(["p"] * 3, texts).tolist() == [14, 0, 10]


def test_dataset_score_reads_a_column():
    rows = [{"score": 3}, {"score": "2.5"}, {"score": -1.0}]
    scores = DatasetScore(DatasetScoreParams()).score(["p"] * 3, ["a", "b", "c"], rows)
    assert scores.dtype == np.float64 and scores.tolist() == [3.0, 2.5, -1.0]
    bad = [{"score": 1}, {"id": "r2", "score": None}, {"score": True}, {"score": "x"}]
    with pytest.raises(UserError, match=r"a row \(id='r2'\) has no number in column 'score'"):
        DatasetScore(DatasetScoreParams()).score(["p"] * 4, ["a"] * 4, bad)
    skipped = DatasetScore(DatasetScoreParams(missing="skip")).score(["p"] * 4, ["a"] * 4, bad)
    assert skipped[0] == 1.0 and np.isnan(skipped[1:]).all()
    with pytest.raises(UserError, match="none were given"):
        DatasetScore(DatasetScoreParams()).score(["p"], ["a"])
