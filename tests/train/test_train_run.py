"""``run: train`` end to end on a tiny model: SFT -> DDPO -> reward model, resume, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.train.stop_training import Killed, killer

torch = pytest.importorskip("torch")
pytest.importorskip("trl")

ARGS = {"per_device_train_batch_size": 4, "max_steps": 3, "logging_steps": 1, "max_length": 128, "learning_rate": 1e-3}


def _spec(tmp_path, lm, pairs, stages, **top):
    from divtools.spec.loading import validate_spec

    data = {"run": "train", "output": {"dir": str(tmp_path / "out")}, "model": str(lm), "data": {"train": str(pairs)},
            "stages": stages, **top}
    return validate_spec(data, file="train.yaml", base_dir=tmp_path)


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _same_weights(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.slow
def test_sft_ddpo_reward_model_end_to_end(tmp_path, tiny_lm_dir, pairs_file):
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

    from divtools.train.run import run

    spec = _spec(tmp_path, tiny_lm_dir, pairs_file, [
        {"name": "sft", "kind": "sft", "args": ARGS},
        {"name": "ddpo", "kind": "preference", "objective": {"kind": "ddpo", "beta": 0.1}, "args": ARGS},
        {"name": "rm", "kind": "reward_model", "loss": "l1", "args": ARGS},
    ])
    out = run(spec, quiet=True)
    base = AutoModelForCausalLM.from_pretrained(tiny_lm_dir)
    sft = AutoModelForCausalLM.from_pretrained(out / "sft")
    ddpo = AutoModelForCausalLM.from_pretrained(out / "ddpo")
    rm = AutoModelForSequenceClassification.from_pretrained(out / "rm")
    AutoTokenizer.from_pretrained(out / "ddpo")
    assert not _same_weights(base, sft) and not _same_weights(sft, ddpo)
    assert rm.config.num_labels == 1
    for name in ("sft", "ddpo", "rm"):
        info = json.loads((out / name / "divtools-stage.json").read_text())
        assert info["complete"] and info["stage"]["name"] == name
    assert json.loads((out / "ddpo" / "divtools-stage.json").read_text())["init"] == str(out / "sft")
    log = _records(out / "ddpo" / "log.jsonl")
    steps = [r for r in log if "loss/weighted" in r]
    assert [r["step"] for r in steps] == [1, 2, 3]
    for r in steps:
        for key in ("loss/unweighted", "rewards/margins", "rewards/accuracies", "weight/mean", "weight/min", "weight/max"):
            assert key in r
    # the first batches are shuffled pairs; every logged weight is one of the file's weights
    weights = {json.loads(line)["weight"] for line in pairs_file.read_text().splitlines()}
    assert all(r["weight/min"] in weights and r["weight/max"] in weights for r in steps)
    # step 1: weighted loss = mean(w * l), unweighted = mean(l); at step 1 policy == reference: l = log 2
    assert steps[0]["loss/unweighted"] == pytest.approx(0.693147, abs=1e-5)
    assert steps[0]["loss/weighted"] == pytest.approx(steps[0]["weight/mean"] * 0.693147, abs=1e-5)
    rm_log = [r for r in _records(out / "rm" / "log.jsonl") if "loss" in r]
    assert len(rm_log) == 3

    # a finished run is not redone
    mtime = (out / "ddpo" / "model.safetensors").stat().st_mtime_ns
    run(spec, quiet=True)
    assert (out / "ddpo" / "model.safetensors").stat().st_mtime_ns == mtime




@pytest.mark.slow
def test_kill_and_resume_reaches_the_same_weights(tmp_path, tiny_lm_dir, pairs_file):
    from transformers import AutoModelForCausalLM

    from divtools.train.run import run

    args = dict(ARGS, max_steps=4, save_steps=2)
    stages = [{"name": "ddpo", "kind": "preference", "init": "base", "objective": {"kind": "ddpo"}, "args": args}]
    whole = run(_spec(tmp_path / "a", tiny_lm_dir, pairs_file, stages), quiet=True)

    spec = _spec(tmp_path / "b", tiny_lm_dir, pairs_file, stages)
    with pytest.raises(Killed):
        run(spec, quiet=True, callbacks=[killer(3)])
    killed = Path(spec.output.dir)
    assert (killed / "ddpo" / "checkpoints" / "checkpoint-2").is_dir()
    assert not (killed / "ddpo" / "divtools-stage.json").exists()
    run(spec, quiet=True)
    a = AutoModelForCausalLM.from_pretrained(whole / "ddpo")
    b = AutoModelForCausalLM.from_pretrained(killed / "ddpo")
    assert _same_weights(a, b)
    log_a = [(r["step"], r["loss"]) for r in _records(whole / "ddpo" / "log.jsonl") if "loss/weighted" in r]
    log_b = [(r["step"], r["loss"]) for r in _records(killed / "ddpo" / "log.jsonl") if "loss/weighted" in r]
    assert log_a == log_b and [s for s, _ in log_b] == [1, 2, 3, 4]


def test_changed_spec_refuses_to_resume(tmp_path, tiny_lm_dir, pairs_file):
    from divtools.errors import UserError
    from divtools.train.run import _claim

    stages = [{"name": "dpo", "kind": "preference", "objective": {"kind": "dpo"}, "args": ARGS}]
    _claim(_spec(tmp_path, tiny_lm_dir, pairs_file, stages))
    (tmp_path / "out" / "dpo").mkdir()
    # an output (a folder holding only the manifest and empty folders is reused by any spec)
    (tmp_path / "out" / "dpo" / "log.jsonl").write_text('{"step": 1}\n')
    changed = [{"name": "dpo", "kind": "preference", "objective": {"kind": "dpo", "beta": 0.2}, "args": ARGS}]
    with pytest.raises(UserError, match="different spec"):
        _claim(_spec(tmp_path, tiny_lm_dir, pairs_file, changed))
    _claim(_spec(tmp_path, tiny_lm_dir, pairs_file, stages))  # same spec: resumes
    assert (tmp_path / "out" / "dpo").is_dir()
    restart = _spec(tmp_path, tiny_lm_dir, pairs_file, changed)
    restart.output.on_existing = "restart"
    _claim(restart)
    assert not (tmp_path / "out" / "dpo").exists()


def test_divpo_refuses_data_from_other_builders(tmp_path, tiny_lm_dir, pairs_file):
    from divtools.errors import UserError
    from divtools.train.run import run

    spec = _spec(tmp_path, tiny_lm_dir, pairs_file, [
        {"name": "divpo", "kind": "preference", "init": "base", "objective": {"kind": "divpo"}, "args": ARGS}])
    with pytest.raises(UserError, match="gap_disjoint"):
        run(spec, quiet=True)


def test_divpo_trains_on_divpo_pairs(tmp_path, tiny_lm_dir, divpo_pairs_file):
    from transformers import AutoModelForCausalLM

    from divtools.train.run import run

    spec = _spec(tmp_path, tiny_lm_dir, divpo_pairs_file, [
        {"name": "divpo", "kind": "preference", "init": "base", "objective": {"kind": "divpo"}, "args": ARGS}])
    out = run(spec, quiet=True)
    AutoModelForCausalLM.from_pretrained(out / "divpo")
    steps = [r for r in _records(out / "divpo" / "log.jsonl") if "loss/weighted" in r]
    assert len(steps) == 3 and not any(k.startswith("weight/") for k in steps[0])
