"""Issue #13 item 2: everything checkable is checked before a model loads, as ``FILE: field:
message`` (exit 2); a failure inside a trainer names the stage and the likely field, without a
traceback unless ``--debug``."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from divtools.errors import StageFailed, UserError

ARGS = {"per_device_train_batch_size": 4, "max_steps": 1, "logging_steps": 1, "max_length": 64}


def _write(tmp_path, lm, pairs, stages, eval_file=None):
    data = {"train": str(pairs)}
    if eval_file:
        data["eval"] = str(eval_file)
    spec = {"run": "train", "output": {"dir": str(tmp_path / "out")}, "model": str(lm), "data": data, "stages": stages}
    path = tmp_path / "train.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    return path


def _validate_lines(tmp_path, pairs_file, stages, eval_file=None):
    from divtools.spec.loading import load_spec

    with pytest.raises(UserError) as info:
        load_spec(_write(tmp_path, tmp_path, pairs_file, stages, eval_file))
    return info.value.lines


def test_evaluation_without_eval_data_is_refused_at_validation(tmp_path, pairs_file):
    lines = _validate_lines(tmp_path, pairs_file, [
        {"name": "sft", "kind": "sft", "args": {"eval_strategy": "steps", "eval_steps": 2}},
        {"name": "dpo", "kind": "preference", "objective": {"kind": "dpo"}, "args": {"load_best_model_at_end": True}},
        {"name": "rm", "kind": "reward_model", "args": {"eval_strategy": "epoch"}},
    ])
    path = str(tmp_path / "train.json")
    assert lines == [
        f"{path}: stages.0.args: args.eval_strategy is 'steps' but the stage has no eval data: set data.eval "
        "(held-out pairs, e.g. run: prepare's eval.jsonl) or remove it",
        f"{path}: stages.1.args: args.load_best_model_at_end is true but the stage has no eval data: set data.eval "
        "(held-out pairs, e.g. run: prepare's eval.jsonl) or remove it",
        f"{path}: stages.2.args: args.eval_strategy is 'epoch', but reward_model stages do not evaluate in this "
        "version; remove it",
    ]


def test_with_eval_data_evaluation_validates(tmp_path, pairs_file):
    from divtools.spec.loading import load_spec

    spec = load_spec(_write(tmp_path, tmp_path, pairs_file,
                            [{"name": "sft", "kind": "sft", "args": {"eval_strategy": "steps"}}], eval_file=pairs_file))
    assert spec.stages[0].args["eval_strategy"] == "steps"


@pytest.mark.skipif(importlib.util.find_spec("tensorboard") is not None or importlib.util.find_spec("tensorboardX") is not None,
                    reason="tensorboard is installed here")
def test_report_to_a_missing_integration_is_refused_at_validation(tmp_path, pairs_file):
    lines = _validate_lines(tmp_path, pairs_file, [
        {"name": "sft", "kind": "sft", "args": {"report_to": "tensorboard"}},
        {"name": "sft2", "kind": "sft", "args": {"report_to": ["none", "tensorbored"]}},
    ])
    assert lines[0].endswith("stages.0.args: args.report_to: 'tensorboard' needs the tensorboard package, which is "
                             "not installed: pip install tensorboard (or remove 'tensorboard' from report_to)")
    assert "stages.1.args: args.report_to: unknown integration 'tensorbored'; one of: none, all, " in lines[1]
    assert len(lines) == 2


def _no_model_loads(monkeypatch):
    import divtools.train.models as models
    import divtools.train.stages as stages

    def refuse(*a, **k):
        raise AssertionError("a model was loaded before the configs were checked")

    for name in ("load_causal_lm", "load_sequence_regressor", "load_tokenizer"):
        monkeypatch.setattr(stages, name, refuse)
        monkeypatch.setattr(models, name, refuse)


def test_trl_config_errors_come_before_any_model_loads(tmp_path, tiny_lm_dir, pairs_file, monkeypatch):
    from divtools.runs import run_spec_file

    _no_model_loads(monkeypatch)
    # the first stage is fine; the third's TrainingArguments refuses its scheduler name
    path = _write(tmp_path, tiny_lm_dir, pairs_file, [
        {"name": "sft", "kind": "sft", "args": ARGS},
        {"name": "ddpo", "kind": "preference", "objective": {"kind": "ddpo"}, "args": ARGS},
        {"name": "rm", "kind": "reward_model", "args": {**ARGS, "lr_scheduler_type": "sawtooth"}},
    ])
    with pytest.raises(UserError) as info:
        run_spec_file(path, quiet=True)
    text = str(info.value)
    assert text.startswith(f"{path}: stages.rm.args: RewardConfig refused these args: ")
    assert "sawtooth" in text
    assert not (tmp_path / "out" / "sft" / "log.jsonl").exists()


def test_a_failure_inside_a_trainer_names_the_stage_and_the_field(tmp_path, tiny_lm_dir, pairs_file, monkeypatch):
    import divtools.train.stages as stages
    from divtools.runs import run_spec_file

    def fails(spec, stage, *a, **k):
        raise ValueError("batch_size should be a positive integer value, but got batch_size=0")

    monkeypatch.setitem(stages.RUNNERS, "sft", fails)
    monkeypatch.delenv("DIVTOOLS_DEBUG", raising=False)
    path = _write(tmp_path, tiny_lm_dir, pairs_file, [{"name": "sft", "kind": "sft", "args": {**ARGS, "per_device_train_batch_size": 0}}])
    with pytest.raises(StageFailed) as info:
        run_spec_file(path, quiet=True)
    text = str(info.value)
    assert text.startswith("stage 'sft' (sft) failed while training: ValueError: batch_size should be a positive")
    assert "likely field: stages.sft.args.per_device_train_batch_size" in text
    assert isinstance(info.value.__cause__, ValueError)
    # --debug: the library's own exception, with its traceback
    monkeypatch.setenv("DIVTOOLS_DEBUG", "1")
    with pytest.raises(ValueError, match="batch_size should be"):
        run_spec_file(path, quiet=True)


@pytest.mark.slow
def test_the_cli_prints_a_real_trainer_failure_without_a_traceback(tmp_path, tiny_lm_dir, pairs_file):
    # a batch size of 0 passes TRL's config and fails in the trainer's data loader, after loading
    path = _write(tmp_path, tiny_lm_dir, pairs_file, [{"name": "sft", "kind": "sft", "args": {**ARGS, "per_device_train_batch_size": 0}}])
    cmd = [sys.executable, "-m", "divtools.cli.main", "run", str(path), "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "stage 'sft' (sft) failed while training: " in proc.stderr
    assert "likely field: stages.sft.args.per_device_train_batch_size" in proc.stderr
    assert "Traceback" not in proc.stderr
    debug = subprocess.run(cmd + ["--debug"], capture_output=True, text=True, cwd=tmp_path)
    assert debug.returncode != 0 and "Traceback" in debug.stderr


def test_a_pipelines_train_configs_are_checked_before_its_first_step(tmp_path, tiny_lm_dir, monkeypatch):
    from divtools.runs import run_spec_file

    _no_model_loads(monkeypatch)
    rows = [{"prompt": f"p{i // 4}", "response": f"response number {i}", "score": i} for i in range(16)]
    (tmp_path / "src.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    spec = {"run": "pipeline", "steps": {
        "prepare": {"run": "prepare", "source": {"kind": "jsonl", "path": "src.jsonl"},
                    "pair_builder": {"kind": "gap_disjoint", "gap": 1},
                    "metrics": [{"kind": "embedding_diversity", "embedder": {"kind": "stylometric"}}],
                    "output": {"dir": "prepared"}},
        "train": {"run": "train", "output": {"dir": "trained"}, "model": str(tiny_lm_dir),
                  "data": {"train": "prepared/train.jsonl"},
                  "stages": [{"name": "sft", "kind": "sft", "args": {"lr_scheduler_type": "sawtooth"}}]}}}
    path = tmp_path / "pipeline.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    with pytest.raises(UserError, match="stages.sft.args: SFTConfig refused these args"):
        run_spec_file(path, quiet=True)
    assert not (tmp_path / "prepared").exists()  # prepare never ran
