"""Issue #13 item 4: every unknown key and every bad ``args`` key of a spec is reported in one run,
together with the other validation errors (as pydantic errors already were)."""

from __future__ import annotations

import pytest

from divtools.errors import UserError
from divtools.spec.loading import validate_spec


def _errors(data, tmp_path) -> list[str]:
    with pytest.raises(UserError) as info:
        validate_spec(data, file="t.yaml", base_dir=tmp_path)
    return info.value.lines


def test_unknown_top_level_keys_args_keys_and_other_errors_come_together(tmp_path):
    (tmp_path / "pairs.jsonl").write_text('{"prompt": "p", "chosen": "a", "rejected": "b"}\n', encoding="utf-8")
    data = {
        "run": "train",
        "outptu": {"dir": "x"},
        "modle": "y",
        "output": {"dir": "out"},
        "model": {"path": "m", "dtyp": "bf16"},
        "data": {"train": "missing.jsonl"},
        "stages": [
            {"name": "sft", "kind": "sft",
             "args": {"learning_rat": 1e-4, "num_train_epochs": "fast", "output_dir": "x", "max_steps": 3}},
            {"name": "dpo", "kind": "preference", "objective": {"kind": "dpo"}, "args": {"betaa": 0.1, "beta": 0.2}},
        ],
    }
    lines = _errors(data, tmp_path)
    expected = [
        "t.yaml: (top level): unknown key 'outptu' (did you mean 'output'?)",
        "t.yaml: (top level): unknown key 'modle' (did you mean 'model'?)",
        "t.yaml: model: unknown key 'dtyp' (did you mean 'dtype'?)",
        "t.yaml: data.train: path does not exist",
        "t.yaml: stages.0.args: unknown args key 'learning_rat' (did you mean 'learning_rate'?)",
        "t.yaml: stages.0.args: args.num_train_epochs must be float, got str ('fast')",
        "t.yaml: stages.0.args: args.output_dir is set by divtools; use output.dir",
        "t.yaml: stages.1.args: unknown args key 'betaa'",
        "t.yaml: stages.1.args: args.beta is set by divtools; use objective.beta",
    ]
    for want in expected:
        assert sum(line.startswith(want) for line in lines) == 1, (want, lines)
    assert len(lines) == len(expected), lines


def test_a_single_unknown_key_reads_as_before(tmp_path):
    data = {"run": "evaluate", "outptu": {}}
    lines = _errors(data, tmp_path)
    assert lines[0].startswith("t.yaml: (top level): unknown key 'outptu' (did you mean 'output'?); allowed: ")
    # the known part is still validated: the missing required fields are reported too
    assert any("output: required field is missing" in line for line in lines)


def test_braces_in_a_bad_value_survive_the_regrouping(tmp_path):
    data = {"run": "train", "extra": 1, "output": {"dir": "o"}, "model": "m", "data": {"train": "p"},
            "stages": [{"name": "r", "kind": "reward_model", "input_template": "{nope}"}]}
    lines = _errors(data, tmp_path)
    assert any("input_template may use only {prompt} and {response}" in line for line in lines), lines
