"""Parity with TRL on the same tiny model and batch: DPO losses and gradients, ORPO loss."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("trl")


def _rows(kjv_texts, n=6, weights=None):
    rows = []
    for i in range(n):
        rows.append(
            {
                "prompt": f"Say something wise about number {i}.",
                "chosen": " " + kjv_texts[2 * i],
                "rejected": " " + kjv_texts[2 * i + 1],
                "weight": 1.0 if weights is None else weights[i],
            }
        )
    return rows


def _dpo_config(tmp_path, **kw):
    from trl import DPOConfig

    base = dict(
        output_dir=str(tmp_path), bf16=False, use_cpu=True, gradient_checkpointing=False, report_to="none",
        per_device_train_batch_size=4, max_length=128, seed=0, logging_steps=1,
    )
    base.update(kw)
    return DPOConfig(**base)


def _trainers(tiny_lm_dir, rows, tmp_path, objective, **cfg):
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import DPOTrainer

    from divtools.train.preference_trainer import PreferenceTrainer

    tok = AutoTokenizer.from_pretrained(tiny_lm_dir)
    ds = Dataset.from_list(rows)
    trl_trainer = DPOTrainer(
        model=AutoModelForCausalLM.from_pretrained(tiny_lm_dir), args=_dpo_config(tmp_path / "a", **cfg),
        train_dataset=ds.remove_columns(["weight"]), processing_class=tok,
    )
    ours = PreferenceTrainer(
        model=AutoModelForCausalLM.from_pretrained(tiny_lm_dir), args=_dpo_config(tmp_path / "b", **cfg),
        train_dataset=ds, processing_class=tok, objective=objective,
    )
    return trl_trainer, ours


def _loss_and_grads(trainer, n=4):
    examples = [trainer.train_dataset[i] for i in range(n)]
    batch = trainer.data_collator(examples)
    trainer.model.train()
    trainer.model.zero_grad()
    loss = trainer.compute_loss(trainer.model, batch)
    loss.backward()
    grads = {k: p.grad.detach().clone() for k, p in trainer.model.named_parameters() if p.grad is not None}
    return loss.detach(), grads, batch


@pytest.mark.parametrize("loss_type", ["sigmoid", "ipo", "hinge"])
def test_dpo_matches_trl_loss_and_gradients(tiny_lm_dir, kjv_texts, tmp_path, loss_type):
    from divtools.builtins.objectives import DPOParams
    from divtools.objectives import DPO

    rows = _rows(kjv_texts)
    trl_trainer, ours = _trainers(tiny_lm_dir, rows, tmp_path, DPO(DPOParams(beta=0.5, loss_type=loss_type)),
                                  beta=0.5, loss_type=[loss_type])
    a, ga, _ = _loss_and_grads(trl_trainer)
    b, gb, _ = _loss_and_grads(ours)
    assert float(a) > 0
    assert abs(float(a) - float(b)) <= 1e-6
    assert ga.keys() == gb.keys() and len(ga) > 0
    for k in ga:
        assert torch.allclose(ga[k], gb[k], rtol=1e-5, atol=1e-7), k


def test_ddpo_all_ones_equals_dpo_and_zero_weight_has_no_gradient(tiny_lm_dir, kjv_texts, tmp_path):
    from divtools.builtins.objectives import DDPOParams
    from divtools.objectives import DDPO

    rows = _rows(kjv_texts)
    trl_trainer, ours = _trainers(tiny_lm_dir, rows, tmp_path, DDPO(DDPOParams()))
    a, ga, _ = _loss_and_grads(trl_trainer)
    b, gb, batch = _loss_and_grads(ours)
    assert torch.equal(batch["weight"], torch.ones(4))
    assert abs(float(a) - float(b)) <= 1e-6
    for k in ga:
        assert torch.allclose(ga[k], gb[k], rtol=1e-5, atol=1e-7), k

    # weight 0 on pair 0: the gradient equals that of the batch without pair 0 (scaled by 3/4)
    weighted = _rows(kjv_texts, weights=[0.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    _, ours0 = _trainers(tiny_lm_dir, weighted, tmp_path / "w", DDPO(DDPOParams()))
    _, g0, _ = _loss_and_grads(ours0, n=4)
    examples = [ours0.train_dataset[i] for i in range(1, 4)]
    sub = ours0.data_collator(examples)
    ours0.model.zero_grad()
    ours0.compute_loss(ours0.model, sub).backward()
    for k, p in ours0.model.named_parameters():
        if p.grad is not None:
            assert torch.allclose(g0[k], p.grad * 3 / 4, rtol=1e-4, atol=1e-7), k


def test_orpo_matches_trl_orpo_trainer(tiny_lm_dir, kjv_texts, tmp_path):
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl.experimental.orpo import ORPOConfig, ORPOTrainer

    from divtools.builtins.objectives import ORPOParams
    from divtools.objectives import ORPO
    from divtools.train.preference_trainer import PreferenceTrainer

    tok = AutoTokenizer.from_pretrained(tiny_lm_dir)
    rows = [{k: v for k, v in r.items() if k != "weight"} for r in _rows(kjv_texts)]
    cfg = ORPOConfig(output_dir=str(tmp_path / "o"), bf16=False, use_cpu=True, report_to="none", beta=0.25,
                     max_length=128, per_device_train_batch_size=4, gradient_checkpointing=False)
    model = AutoModelForCausalLM.from_pretrained(tiny_lm_dir)
    orpo = ORPOTrainer(model=model, args=cfg, train_dataset=Dataset.from_list(rows), processing_class=tok)
    batch = orpo.data_collator([orpo.train_dataset[i] for i in range(4)])
    model.train()
    trl_loss, _ = orpo.get_batch_loss_metrics(model, batch)

    # the very same token sequences, in divtools' batch layout ([chosen; rejected], completion mask)
    ours = PreferenceTrainer(
        model=AutoModelForCausalLM.from_pretrained(tiny_lm_dir), args=_dpo_config(tmp_path / "p"),
        train_dataset=Dataset.from_list(rows), processing_class=tok, objective=ORPO(ORPOParams(beta=0.25)),
    )
    assert ours.ref_model is None
    cat = ORPOTrainer.concatenated_inputs(batch, padding_value=tok.pad_token_id)
    ids, attn, labels = cat["concatenated_input_ids"], cat["concatenated_attention_mask"], cat["concatenated_labels"]
    ours_batch = {"input_ids": ids, "attention_mask": attn, "completion_mask": (labels != -100).long()}
    ours.model.train()
    our_loss = ours.compute_loss(ours.model, ours_batch)
    assert float(trl_loss) > 0
    assert abs(float(trl_loss) - float(our_loss)) <= 1e-5
