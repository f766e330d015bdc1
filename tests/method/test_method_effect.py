"""The method end to end on a task with a known answer (divtools.synthetic): deviation weights ->
the right pairs -> the weighted loss -> a trained model -> its samples.

Every unit test checks one formula; none would notice weights attached to the wrong rows or a
reduction that cancels them. Here the tiny model is trained from scratch through divtools' run
API (prepare -> SFT -> DPO / DDPO) on a task where most winners are majority-mode and most
losers rare-mode, so plain DPO narrows the modes, and TF-IDF deviation gives the rare-mode winners
large weights. The checker measures each model's held-out samples exactly. Then the wiring is
broken on purpose — the weight column shuffled across pairs, or every weight set to 1 — and the
same assertion must fail. SFT is trained once per module.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from benchmarks.method_task import (
    analyse,
    break_weights,
    build_tiny_model,
    evaluate_spec,
    prepare_spec,
    run,
    train_spec,
    write_task,
)
from divtools.synthetic import TaskConfig

pytestmark = pytest.mark.slow

#: the task: 64 training prompts, pools of 8 (5 majority-mode, 3 rare-mode responses)
CONFIG = TaskConfig(n_prompts=64, n_eval_prompts=16, pool_size=8, seed=0)
SEED = 1
SFT_ARGS = {"learning_rate": 1e-2, "lr_scheduler_type": "cosine", "warmup_steps": 10, "num_train_epochs": 24,
            "per_device_train_batch_size": 32, "logging_steps": 100}
PO_ARGS = {"learning_rate": 5e-4, "num_train_epochs": 3, "per_device_train_batch_size": 8, "logging_steps": 100}
BACKEND = {"kind": "transformers", "max_new_tokens": 8, "batch_size": 16, "repetition_penalty": 1.0}
SAMPLES = 8

#: the asserted effect: DDPO's mode entropy (bits) at least this much above DPO's ...
ENTROPY_MARGIN = 0.25
#: ... at a quality share at most this much below DPO's
QUALITY_SLACK = 0.15


def assert_effect(dpo: dict, ddpo: dict) -> None:
    """DDPO widens the modes by ENTROPY_MARGIN bits at a quality cost of at most QUALITY_SLACK."""
    gain = ddpo["mode_entropy"]["mean"] - dpo["mode_entropy"]["mean"]
    cost = dpo["quality_share"]["mean"] - ddpo["quality_share"]["mean"]
    assert gain >= ENTROPY_MARGIN, f"mode entropy: DDPO - DPO = {gain:.3f} bits < {ENTROPY_MARGIN}"
    assert cost <= QUALITY_SLACK, f"quality share: DPO - DDPO = {cost:.3f} > {QUALITY_SLACK}"


def _evaluate(root: Path, name: str, systems: dict[str, Path]) -> dict:
    report = run(evaluate_spec(root, root / f"eval-{name}", systems, samples=SAMPLES, seed=0, backend=BACKEND,
                               bootstrap=200, extra_metrics=False), root)
    return analyse(report, bootstrap=200)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The task, prepare (paper weights), SFT, DPO and DDPO from SFT, and their held-out stats."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    root = tmp_path_factory.mktemp("method")
    write_task(root, CONFIG)
    model = build_tiny_model(root, CONFIG)
    run(prepare_spec(root, root / "prep", seed=SEED), root)
    stages = [
        {"name": "sft", "kind": "sft", "responses": "all", "args": SFT_ARGS},
        {"name": "dpo", "kind": "preference", "init": "sft", "objective": {"kind": "dpo"}, "args": PO_ARGS},
        {"name": "ddpo", "kind": "preference", "init": "sft", "objective": {"kind": "ddpo"}, "args": PO_ARGS},
    ]
    run(train_spec({"path": str(model), "from_config": True}, root / "prep" / "train.jsonl", root / "train",
                   stages, seed=SEED), root)
    stats = _evaluate(root, "main", {n: root / "train" / n for n in ("sft", "dpo", "ddpo")})
    return root, stats


def _ddpo_on_broken_weights(root: Path, how: str) -> dict:
    """DDPO from the same SFT checkpoint on a copy of train.jsonl whose weights are broken."""
    data = break_weights(root / "prep" / "train.jsonl", root / f"train-{how}.jsonl", how, seed=0)
    stage = {"name": f"ddpo_{how}", "kind": "preference", "init": "base", "objective": {"kind": "ddpo"},
             "args": PO_ARGS}
    run(train_spec({"path": str(root / "train" / "sft")}, data, root / f"train-{how}", [stage], seed=SEED), root)
    return _evaluate(root, how, {f"ddpo_{how}": root / f"train-{how}" / f"ddpo_{how}"})[f"ddpo_{how}"]


def test_ddpo_widens_modes_at_little_quality_cost(trained):
    _, stats = trained
    # the set-up works as designed: SFT writes valid lines of every mode, and plain DPO narrows
    # them (its winners are mostly majority-mode, its losers mostly rare-mode)
    assert stats["sft"]["valid_share"]["mean"] > 0.9 and stats["sft"]["modes"]["mean"] > 2.5
    assert stats["dpo"]["rare_share"]["mean"] < stats["sft"]["rare_share"]["mean"] - 0.15
    assert_effect(stats["dpo"], stats["ddpo"])
    # the checker and divtools' own metric agree in direction
    assert stats["ddpo"]["tfidf"]["mean"] > stats["dpo"]["tfidf"]["mean"]


@pytest.mark.parametrize("how", ["shuffle", "ones"])
def test_broken_weight_wiring_fails_the_check(trained, how):
    root, stats = trained
    broken = _ddpo_on_broken_weights(root, how)
    with pytest.raises(AssertionError, match="mode entropy"):
        assert_effect(stats["dpo"], broken)
    if how == "ones":  # every weight 1: DDPO is DPO, sample for sample
        assert _responses(root / "eval-ones" / "generations" / "ddpo_ones.jsonl") == \
            _responses(root / "eval-main" / "generations" / "dpo.jsonl")


def _responses(path: Path) -> list[str]:
    return [json.loads(line)["response"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
