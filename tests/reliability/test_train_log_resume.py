"""Issue #12 item 9 (part): after a train resume, log.jsonl equals an uninterrupted run's log.

Before: the resumed run's records restarted ``num_tokens`` at 0, its final ``train_loss``
averaged only the resumed steps, and the loss of the logging interval holding the checkpoint
lost the steps before it. The log callback now checkpoints those counters
(``divtools.train.jsonl_log.STATE_FILE``) and restores them on resume.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.reliability.conftest import write_pairs

#: logging every 2 steps, checkpoints every 3: the checkpoint at step 3 falls inside a logging
#: interval (steps 3-4), the harder case
ARGS = {"per_device_train_batch_size": 4, "max_steps": 6, "save_steps": 3, "logging_steps": 2,
        "max_length": 64, "learning_rate": 1e-3}
#: wall-clock values: never equal between two runs
TIMING = {"train_runtime", "train_samples_per_second", "train_steps_per_second"}


class Interrupted(Exception):
    pass


STAGES = {
    # TRL's SFTTrainer logs num_tokens (its token counter restarted on resume)
    "sft": {"name": "s", "kind": "sft", "args": ARGS},
    # divtools' preference trainer: train_loss and the interval losses
    "ddpo": {"name": "s", "kind": "preference", "init": "base", "objective": {"kind": "ddpo"}, "args": ARGS},
}


def _spec(kind: str, model: Path, pairs: Path, out: Path) -> dict:
    return {"run": "train", "seed": 5, "model": str(model), "data": {"train": str(pairs)},
            "stages": [STAGES[kind]], "output": {"dir": str(out)}}


def _log(out: Path) -> list[dict]:
    rows = [json.loads(line) for line in (out / "s" / "log.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in TIMING} for r in rows]


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(STAGES))
def test_a_resumed_runs_log_equals_an_uninterrupted_runs(kind, tmp_path, tiny_lm, monkeypatch):
    pytest.importorskip("trl")
    import transformers

    from divtools.runs import run_spec_data
    from divtools.train import stages

    monkeypatch.setenv("DIVTOOLS_CACHE", str(tmp_path / "cache"))
    pairs = write_pairs(tmp_path / "pairs.jsonl")
    run_spec_data(_spec(kind, tiny_lm, pairs, tmp_path / "whole"), file="spec.yaml", base_dir=tmp_path, quiet=True)
    whole = _log(tmp_path / "whole")
    final = [r for r in whole if "train_loss" in r]
    assert len(final) == 1 and [r["step"] for r in whole if "loss" in r] == [2, 4, 6]
    if kind == "sft":
        assert all("num_tokens" in r for r in whole if "loss" in r), whole

    class StopAtStep5(transformers.TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 5:
                raise Interrupted()

    real = stages._callbacks
    monkeypatch.setattr(stages, "_callbacks", lambda stage_dir, stage, extra: [*real(stage_dir, stage, extra),
                                                                                StopAtStep5()])
    out = tmp_path / "resumed"
    with pytest.raises(Exception, match="Interrupted"):  # wrapped as StageFailed
        run_spec_data(_spec(kind, tiny_lm, pairs, out), file="spec.yaml", base_dir=tmp_path, quiet=True)
    assert (out / "s" / "checkpoints" / "checkpoint-3").is_dir()
    assert not (out / "s" / "checkpoints" / "checkpoint-6").exists()
    steps_run: list[int] = []

    class CountSteps(transformers.TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            steps_run.append(state.global_step)

    monkeypatch.setattr(stages, "_callbacks", lambda stage_dir, stage, extra: [*real(stage_dir, stage, extra),
                                                                                CountSteps()])
    run_spec_data(_spec(kind, tiny_lm, pairs, out), file="spec.yaml", base_dir=tmp_path, quiet=True)
    assert steps_run == [4, 5, 6]  # it resumed from checkpoint-3, it did not start over
    resumed = _log(out)

    assert [r["step"] for r in resumed] == [r["step"] for r in whole]
    for a, b in zip(resumed, whole):
        assert a == b, (a, b)
    # what was wrong before, spelt out: the counters continue and train_loss covers all 6 steps
    tokens = [r["num_tokens"] for r in resumed if "num_tokens" in r]
    assert tokens == sorted(tokens) and len(set(tokens)) == len(tokens) == (3 if kind == "sft" else 0)
    losses = [r["loss"] for r in whole if "loss" in r]
    assert final[0]["train_loss"] == pytest.approx(sum(v * 2 for v in losses) / 6, rel=1e-9)
