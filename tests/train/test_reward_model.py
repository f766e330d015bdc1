"""Reward-model data and loss: targets from scores (prepare's vote transform), L1 loss by hand."""

from __future__ import annotations

import pytest

from divtools.errors import UserError
from divtools.train.pairs_data import regression_rows

TEMPLATE = "<prompt>{prompt}</prompt><response>{response}</response>"


def test_targets_from_pairs_use_the_vote_transform():
    from divtools.data.score_transform import ScoreTransform

    rows = [
        {"prompt": "p", "chosen": "a", "rejected": "b", "chosen_score": 9, "rejected_score": 0},
        {"prompt": "p", "chosen": "a", "rejected": "c", "chosen_score": 9, "rejected_score": 3},  # "a" again
    ]
    out = regression_rows(rows, template=TEMPLATE, targets="transformed_votes")
    assert [r["text"] for r in out] == ["<prompt>p</prompt><response>a</response>",
                                        "<prompt>p</prompt><response>b</response>",
                                        "<prompt>p</prompt><response>c</response>"]
    expected = ScoreTransform.fit([9, 0, 3])([9, 0, 3])
    assert [r["label"] for r in out] == pytest.approx(list(expected))
    assert out[0]["label"] == 1.0 and out[1]["label"] == -1.0
    raw = regression_rows(rows, template=TEMPLATE, targets="raw")
    assert [r["label"] for r in raw] == [9.0, 0.0, 3.0]


def test_reward_file_targets_are_used_as_written():
    rows = [{"prompt": "p", "response": "a", "score": 5, "target": 0.25},
            {"prompt": "p", "response": "b", "score": 1, "target": -1.0}]
    out = regression_rows(rows, template="{prompt}|{response}", targets="transformed_votes")
    assert out == [{"text": "p|a", "label": 0.25}, {"text": "p|b", "label": -1.0}]


def test_missing_scores_are_a_user_error():
    with pytest.raises(UserError, match="chosen_score"):
        regression_rows([{"prompt": "p", "chosen": "a", "rejected": "b"}], template=TEMPLATE, targets="raw")


def test_l1_loss_by_hand(tiny_rm_dir):
    torch = pytest.importorskip("torch")
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from divtools.train.stages import _L1Loss

    tok = AutoTokenizer.from_pretrained(tiny_rm_dir)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_rm_dir)
    enc = tok(["a wise son", "a foolish son maketh"], return_tensors="pt", padding=True)
    labels = torch.tensor([0.5, -1.0])
    loss, out = _L1Loss.compute(model, {**enc, "labels": labels})
    pred = out.logits.squeeze(-1).detach()
    assert loss.item() == pytest.approx(float((abs(pred[0] - 0.5) + abs(pred[1] + 1.0)) / 2), rel=1e-6)


@pytest.mark.slow
def test_reward_model_trains_on_prepares_reward_file(tmp_path, tiny_lm_dir, pairs_file, train_spec, log_records):
    import json

    from transformers import AutoModelForSequenceClassification

    from divtools.train.run import run

    reward = tmp_path / "reward_train.jsonl"
    reward.write_text("".join(json.dumps({"prompt": "p", "response": f"answer {i}", "score": i, "target": i / 5 - 1}) + "\n"
                              for i in range(10)))
    args = {"per_device_train_batch_size": 4, "max_steps": 2, "logging_steps": 1, "max_length": 64}
    spec = train_spec(tmp_path, tiny_lm_dir, pairs_file, [
        {"name": "rm", "kind": "reward_model", "reward_file": str(reward), "args": args}])
    out = run(spec, quiet=True)
    AutoModelForSequenceClassification.from_pretrained(out / "rm")
    assert len([r for r in log_records(out / "rm" / "log.jsonl") if "loss" in r]) == 2
