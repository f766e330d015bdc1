"""Train spec validation: TRL args checked by name and type (no torch), stage graph, snapshot current."""

from __future__ import annotations

import pytest

from divtools.errors import UserError
from divtools.spec.loading import validate_spec


def _data(tmp_path, stages, **top):
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text('{"prompt": "p", "chosen": "a", "rejected": "b"}\n')
    return {"run": "train", "output": {"dir": "out"}, "model": "some/model", "data": {"train": "pairs.jsonl"},
            "stages": stages, **top}


def _validate(tmp_path, stages, **top):
    return validate_spec(_data(tmp_path, stages, **top), file="train.yaml", base_dir=tmp_path)


def test_valid_spec_and_defaults(tmp_path):
    spec = _validate(tmp_path, [
        {"name": "sft", "kind": "sft", "lora": {"r": 128, "alpha": 256}, "args": {"learning_rate": 3e-5, "num_train_epochs": 1}},
        {"name": "ddpo", "kind": "preference", "objective": {"kind": "ddpo"}, "args": {"learning_rate": 5e-6, "bf16": True}},
        {"name": "orpo", "kind": "preference", "init": "base", "objective": {"kind": "dorpo", "weighting": "paper_code"}},
        {"name": "rm", "kind": "reward_model", "loss": "bradley_terry"},
    ])
    assert spec.model.path == "some/model" and spec.data.train == tmp_path / "pairs.jsonl"
    assert spec.init_stage(0) is None and spec.init_stage(1) == "sft" and spec.init_stage(2) is None
    assert spec.stages[1].reference == "auto" and spec.stages[1].objective.beta == 0.1
    assert spec.stages[2].objective.weighting == "paper_code"


@pytest.mark.parametrize(
    "args, message",
    [
        ({"learnign_rate": 1e-5}, "did you mean 'learning_rate'"),
        ({"learning_rate": "fast"}, "learning_rate must be float"),
        ({"num_train_epochs": True}, "num_train_epochs must be float"),
        ({"beta": 0.5}, "objective.beta"),
        ({"output_dir": "x"}, "output.dir"),
        ({"precompute_ref_log_probs": True}, "reference: precomputed"),
    ],
)
def test_bad_preference_args_are_refused(tmp_path, args, message):
    with pytest.raises(UserError, match=message):
        _validate(tmp_path, [{"name": "d", "kind": "preference", "objective": {"kind": "dpo"}, "args": args}])


def test_stage_graph_errors(tmp_path):
    with pytest.raises(UserError, match="used twice"):
        _validate(tmp_path, [{"name": "a", "kind": "sft"}, {"name": "a", "kind": "sft"}])
    with pytest.raises(UserError, match="not an earlier stage"):
        _validate(tmp_path, [{"name": "a", "kind": "sft", "init": "b"}, {"name": "b", "kind": "sft"}])
    with pytest.raises(UserError, match="unknown objective|did you mean"):
        _validate(tmp_path, [{"name": "a", "kind": "preference", "objective": {"kind": "ddp"}}])
    with pytest.raises(UserError, match="weighting"):
        _validate(tmp_path, [{"name": "a", "kind": "preference", "objective": {"kind": "dorpo", "weighting": "x"}}])
    with pytest.raises(UserError, match="input_template"):
        _validate(tmp_path, [{"name": "r", "kind": "reward_model", "input_template": "{story}"}])
    with pytest.raises(UserError, match="unknown key"):
        _validate(tmp_path, [{"name": "a", "kind": "sft", "epochs": 2}])


def test_validation_imports_no_torch(tmp_path):
    import subprocess
    import sys

    code = (
        "import sys, pathlib; from divtools.spec.loading import validate_spec\n"
        f"p = pathlib.Path({str(tmp_path)!r}); (p / 'pairs.jsonl').write_text('{{}}')\n"
        "validate_spec({'run': 'train', 'output': {'dir': 'o'}, 'model': 'm', 'data': {'train': 'pairs.jsonl'},"
        " 'stages': [{'name': 'd', 'kind': 'preference', 'objective': {'kind': 'ddpo'}, 'args': {'learning_rate': 1e-5}}]},"
        " file='t.yaml', base_dir=p)\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_trl_field_snapshot_is_current():
    pytest.importorskip("trl")
    import json

    from divtools.train.config_fields import SNAPSHOT, snapshot

    stored = json.loads(SNAPSHOT.read_text())["fields"]
    assert stored == snapshot(), "run: python -m divtools.train.config_fields"
