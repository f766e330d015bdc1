"""A full-weight stage may start from a LoRA stage: the adapter is merged and every weight trains."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")


@pytest.mark.slow
def test_full_dpo_after_lora_sft(tmp_path, tiny_lm_dir, pairs_file, train_spec):
    from transformers import AutoModelForCausalLM

    from divtools.train.run import run

    args = {"per_device_train_batch_size": 2, "max_steps": 1, "logging_steps": 1, "max_length": 64, "learning_rate": 1e-2}
    spec = train_spec(tmp_path, tiny_lm_dir, pairs_file, [
        {"name": "sft", "kind": "sft", "lora": {"r": 4, "alpha": 8}, "args": args},
        {"name": "dpo", "kind": "preference", "init": "sft", "objective": {"kind": "dpo"}, "args": args},
    ])
    out = run(spec, quiet=True)
    assert (out / "sft" / "adapter_config.json").exists()
    dpo = AutoModelForCausalLM.from_pretrained(out / "dpo")  # a full checkpoint, not an adapter
    base = AutoModelForCausalLM.from_pretrained(tiny_lm_dir)
    changed = [n for (n, a), (_, b) in zip(dpo.named_parameters(), base.named_parameters()) if not torch.equal(a, b)]
    # embeddings and norms carry no LoRA: they changed only because the merged model trained in full
    assert any("norm" in n for n in changed)
