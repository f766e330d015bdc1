"""Issue #13 item 5: TRL / peft / transformers names are mapped to their divtools field in the
message (instead of a "did you mean" by spelling that points at an unrelated field)."""

from __future__ import annotations

import pytest

from divtools.errors import UserError
from divtools.spec.loading import validate_spec


def _lines(tmp_path, **change) -> list[str]:
    (tmp_path / "pairs.jsonl").write_text('{"prompt": "p", "chosen": "a", "rejected": "b"}\n', encoding="utf-8")
    data = {"run": "train", "output": {"dir": "out"}, "model": "m", "data": {"train": "pairs.jsonl"},
            "stages": [{"name": "s", "kind": "sft"}]}
    for where, value in change.items():
        node = data
        *path, last = where.split("__")
        for p in path:
            node = node[int(p)] if isinstance(node, list) else node[p]
        node[last] = value
    with pytest.raises(UserError) as info:
        validate_spec(data, file="t.yaml", base_dir=tmp_path)
    return info.value.lines


@pytest.mark.parametrize("key,field", [
    ("model_name_or_path", "in divtools, model: NAME"),
    ("dataset_name", "in divtools, data: {train: {hf_dataset: NAME, split: train}}"),
    ("use_peft", "in divtools, lora on the stage: lora: {r: 16, alpha: 32"),
    ("lora_alpha", "in divtools, stages[].lora.alpha"),
    ("torch_dtype", "in divtools, model.dtype"),
])
def test_top_level_trl_script_names_point_at_the_divtools_field(tmp_path, key, field):
    (line,) = _lines(tmp_path, **{key: "x"})
    assert line.startswith(f"t.yaml: (top level): unknown key '{key}' ('{key}' as in TRL/peft: {field}")
    assert "did you mean" not in line


@pytest.mark.parametrize("key,field", [
    ("use_peft", "in divtools, lora on the stage"),  # was: did you mean 'use_cpu'?
    ("torch_dtype", "in divtools, model.dtype"),  # was: did you mean 'torch_compile'?
    ("lora_alpha", "in divtools, the stage's lora.alpha"),
    ("model_name_or_path", "in divtools, the spec's model"),
    ("dataset_name", "in divtools, data: {train: {hf_dataset: NAME}}"),
])
def test_trl_names_in_args_point_at_the_divtools_field(tmp_path, key, field):
    (line,) = _lines(tmp_path, stages__0__args={key: "x"})
    assert line.startswith(f"t.yaml: stages.0.args: unknown args key '{key}' ('{key}' as in TRL/peft: {field}")
    assert "did you mean" not in line


def test_names_inside_model_lora_and_stage(tmp_path):
    lines = _lines(tmp_path, model={"model_name_or_path": "m", "torch_dtype": "bfloat16"},
                   stages__0__lora={"lora_r": 8, "lora_alpha": 16}, stages__0__learning_rate=1e-4,
                   stages__0__use_peft=True)
    text = "\n".join(lines)
    assert "model: unknown key 'model_name_or_path' ('model_name_or_path' as in TRL/peft: in divtools, path)" in text
    assert "model: unknown key 'torch_dtype' ('torch_dtype' as in TRL/peft: in divtools, dtype)" in text
    assert "stages.0.lora: unknown key 'lora_r' ('lora_r' as in TRL/peft: in divtools, r)" in text
    assert "stages.0.lora: unknown key 'lora_alpha' ('lora_alpha' as in TRL/peft: in divtools, alpha)" in text
    assert "stages.0: unknown key 'learning_rate' (a TRL config field: write it under args" in text
    assert "stages.0: unknown key 'use_peft' ('use_peft' as in TRL/peft: in divtools, lora: {r: 16, alpha: 32})" in text
    assert "t.yaml: model.path: required field is missing" in text  # the known fields are still checked
    assert len(lines) == 7


def test_spelling_suggestions_still_work_for_other_keys(tmp_path):
    (line,) = _lines(tmp_path, stages__0__args={"learning_rat": 1})
    assert "(did you mean 'learning_rate'?)" in line


def test_hf_dataset_data_validates_and_names_its_own_fields(tmp_path):
    lines = _lines(tmp_path, data={"train": {"hf_dataset": "org/name", "splitt": "train"}, "eval": "nope.jsonl"})
    assert len(lines) == 2, lines
    assert lines[0].startswith("t.yaml: data.train: unknown key 'splitt' (did you mean 'split'?)")
    assert lines[1].startswith("t.yaml: data.eval: path does not exist: ")
