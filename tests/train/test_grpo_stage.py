"""The ``grpo`` stage of ``run: train``: spec rules, DARLING's config, and a tiny end-to-end run."""

from __future__ import annotations

import json

import pytest

from divtools.errors import UserError

GRPO_ARGS = {"per_device_train_batch_size": 4, "num_generations": 4, "max_completion_length": 8, "max_steps": 2,
             "logging_steps": 1, "learning_rate": 1e-3}


def _stage(**kw):
    return {"name": "grpo", "kind": "grpo", "init": "base", "args": dict(GRPO_ARGS), **kw}


def _invalid(train_spec, tmp_path, lm, pairs, stage):
    from pydantic import ValidationError

    with pytest.raises((UserError, ValidationError)) as info:
        train_spec(tmp_path, lm, pairs, [stage])
    return str(info.value)


def test_spec_rules(train_spec, tmp_path, pairs_file):
    lm = tmp_path  # the model folder is not read at validation
    spec = train_spec(tmp_path, lm, pairs_file, [_stage(darling=True, reward={"quality": {"kind": "length"}})])
    assert spec.stages[0].reward.partition.kind == "unigram"  # DARLING's default partition
    assert "diversity (a metric" in _invalid(train_spec, tmp_path, lm, pairs_file, _stage(reward={"quality": {"kind": "length"}}))
    assert "replace reward.diversity" in _invalid(train_spec, tmp_path, lm, pairs_file,
                                                  _stage(darling=True, reward={"diversity": {"kind": "distinct_n"}}))
    assert "remove reward.combine" in _invalid(train_spec, tmp_path, lm, pairs_file,
                                               _stage(darling=True, reward={"combine": "add"}))
    bad = _stage(darling=True, reward={})
    bad["args"]["scale_rewards"] = "group"
    assert "remove args.scale_rewards" in _invalid(train_spec, tmp_path, lm, pairs_file, bad)
    both = _stage(reward={"diversity": {"kind": "distinct_n"}, "partition": {"kind": "unigram"}})
    assert "not both" in _invalid(train_spec, tmp_path, lm, pairs_file, both)
    typo = _stage(reward={"diversity": {"kind": "distinct_n"}})
    typo["args"]["num_generation"] = 4
    assert "num_generation" in _invalid(train_spec, tmp_path, lm, pairs_file, typo)


@pytest.mark.slow  # imports trl (~15 s on the shared box when nothing else has)
def test_darling_turns_std_normalisation_off(train_spec, tmp_path, pairs_file):
    from divtools.train.stages import stage_config

    darling = train_spec(tmp_path, tmp_path, pairs_file, [_stage(darling=True, reward={})])
    plain = train_spec(tmp_path, tmp_path, pairs_file, [_stage(reward={"diversity": {"kind": "distinct_n"}})])
    assert stage_config(darling, darling.stages[0], tmp_path / "a", quiet=True).scale_rewards == "none"
    assert stage_config(plain, plain.stages[0], tmp_path / "b", quiet=True).scale_rewards == "group"  # TRL's default


@pytest.mark.slow
def test_grpo_stage_end_to_end_with_the_darling_reward(train_spec, tmp_path, tiny_lm_dir, pairs_file, monkeypatch):
    """Two GRPO steps on the tiny model; every reward the trainer used equals quality (words) ×
    max(0.1, share of the group in other unigram classes), recomputed here from the completions."""
    import numpy as np

    import divtools.train.grpo_stage as grpo_stage
    from divtools.metrics.equivalence import Unigram
    from divtools.train.rewards import partition_diversity, text_of
    from divtools.train.run import run
    from divtools.train.run import stage_complete

    calls = []
    original = grpo_stage.reward_of

    def recording(stage, num_generations):
        reward = original(stage, num_generations)

        class Recorder:
            __name__ = reward.__name__

            def __call__(self, prompts, completions, **kw):
                out = reward(prompts=prompts, completions=completions, **kw)
                calls.append(([text_of(p) for p in prompts], [text_of(c) for c in completions], out))
                return out

        return Recorder()

    monkeypatch.setattr(grpo_stage, "reward_of", recording)
    spec = train_spec(tmp_path, tiny_lm_dir, pairs_file, [_stage(darling=True, reward={"quality": {"kind": "length"}})])
    out = run(spec, quiet=True)
    assert stage_complete(out / "grpo") and (out / "grpo" / "config.json").exists()
    records = [json.loads(line) for line in (out / "grpo" / "log.jsonl").read_text().splitlines()]
    steps = [r for r in records if "rewards/darling/mean" in r]
    assert [r["step"] for r in steps] == [1, 2]
    assert len(calls) == 2
    unigram = Unigram(type("P", (), {"threshold": 0.458})())
    for (prompts, texts, got), record in zip(calls, steps):
        assert len(texts) == 4 and len(set(prompts)) == 1  # one prompt's num_generations completions
        expected = np.array([len(t.split()) for t in texts]) * partition_diversity(unigram.partition(prompts[0], texts))
        assert got == pytest.approx(expected.tolist())
        assert record["rewards/darling/mean"] == pytest.approx(float(np.mean(expected)), rel=1e-5)
