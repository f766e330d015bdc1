"""LoRA training on SmolLM2: DDPO, ORPO, an L1 reward model, kill-and-resume, and the loss
covering response tokens only."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.train.stop_training import Killed, killer

from .conftest import DDPO_STAGE, LORA, PRESET, REAL_ARGS, STORIES


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_ddpo_orpo_and_reward_model_train_as_lora_on_the_preset(trained_run):
    for stage, steps in (("ddpo", 3), ("orpo", 2), ("reward", 2)):
        folder = trained_run / stage
        adapter = json.loads((folder / "adapter_config.json").read_text())
        # the adapter names the preset, not a cache path: it loads wherever the preset does
        assert adapter["base_model_name_or_path"] == PRESET
        assert not (folder / "config.json").exists() or "quantization_config" not in (folder / "config.json").read_text()
        losses = [r["loss"] for r in _records(folder / "log.jsonl") if "loss" in r]
        assert len(losses) == steps and all(math.isfinite(x) for x in losses), (stage, losses)
    ddpo = [r for r in _records(trained_run / "ddpo" / "log.jsonl") if "loss/weighted" in r]
    # DDPO's loss is the weighted one; the weights of the pairs reach it
    assert all("weight/mean" in r for r in ddpo)


def test_kill_and_resume_reaches_the_same_adapter(trained_run, real_spec, tmp_path):
    import torch
    from safetensors.torch import load_file

    from divtools.train.run import run

    spec = real_spec(tmp_path / "out", [DDPO_STAGE])
    with pytest.raises(Killed):
        run(spec, quiet=True, callbacks=[killer(3)])
    out = Path(spec.output.dir)
    assert (out / "ddpo" / "checkpoints" / "checkpoint-2").is_dir()
    assert not (out / "ddpo" / "divtools-stage.json").exists()
    run(spec, quiet=True)
    a = load_file(str(trained_run / "ddpo" / "adapter_model.safetensors"))
    b = load_file(str(out / "ddpo" / "adapter_model.safetensors"))
    assert a.keys() == b.keys() and all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    whole = [(r["step"], r["loss"]) for r in _records(trained_run / "ddpo" / "log.jsonl") if "loss" in r]
    resumed = [(r["step"], r["loss"]) for r in _records(out / "ddpo" / "log.jsonl") if "loss" in r]
    assert [s for s, _ in resumed] == [1, 2, 3]
    assert [x for _, x in resumed] == pytest.approx([x for _, x in whole], abs=1e-5)


def _captured(monkeypatch, runner, spec, out: Path):
    from divtools.train import stages as stages_mod

    captured = []
    monkeypatch.setattr(stages_mod, "_train_and_save", lambda trainer, *a, **k: captured.append(trainer))
    runner(spec, spec.stages[0], out / spec.stages[0].name, None, quiet=True)
    return captured[0]


def test_preference_loss_counts_response_tokens_only(real_spec, tmp_path, monkeypatch):
    """The policy log-probs the objective receives are the sums over the response tokens of a
    plain forward pass: no prompt token is in them (a new LoRA starts as the base model)."""
    import torch

    from divtools.train.stages import run_preference

    stage = {"name": "ddpo", "kind": "preference", "init": "base", "lora": LORA, "objective": {"kind": "ddpo"},
             "args": dict(REAL_ARGS, per_device_train_batch_size=2)}
    spec = real_spec(tmp_path / "out", [stage])
    trainer = _captured(monkeypatch, run_preference, spec, tmp_path / "out")
    seen = []
    compute = trainer.objective.compute
    trainer.objective.compute = lambda batch: (seen.append(batch), compute(batch))[1]
    batch = next(iter(trainer.get_train_dataloader()))
    trainer.model.eval()  # no LoRA dropout: the same function as the plain forward below
    with torch.no_grad():
        trainer.compute_loss(trainer.model, batch)
    got = seen[0]["chosen_logps"]

    # the batch's rows are the sampler's: find each chosen sequence's dataset row (prompt ids and
    # chosen ids as TRL tokenised them), then sum the response tokens' log-probs by hand
    half = got.shape[0]
    rows = [trainer.train_dataset[i] for i in range(len(trainer.train_dataset))]
    base = trainer.model.get_base_model()
    for i in range(half):
        seq = batch["input_ids"][i][batch["attention_mask"][i] == 1].tolist()
        (row,) = [r for r in rows if r["prompt_ids"] + r["chosen_ids"] == seq][:1]
        n = len(row["prompt_ids"])
        with torch.no_grad():
            logp = torch.log_softmax(base(torch.tensor([seq])).logits[0].double(), -1)
        response_only = sum(logp[n + k - 1, t].item() for k, t in enumerate(row["chosen_ids"]))
        with_prompt = response_only + sum(logp[k - 1, t].item() for k, t in enumerate(row["prompt_ids"]) if k > 0)
        assert got[i].item() == pytest.approx(response_only, rel=1e-4)
        assert abs(got[i].item() - with_prompt) > 1.0  # a prompt token in the sum would show


def test_sft_labels_cover_response_and_eos_only(real_spec, tmp_path, monkeypatch):
    from divtools.train.stages import run_sft

    spec = real_spec(tmp_path / "out", [{"name": "sft", "kind": "sft", "lora": LORA, "args": REAL_ARGS}])
    trainer = _captured(monkeypatch, run_sft, spec, tmp_path / "out")
    tok = trainer.processing_class
    by_prompt = {p: g for p, g, _ in STORIES}
    for row in trainer.train_dataset.select(range(3)):
        # what the loss sees: the collated batch's labels (-100 = not in the loss)
        batch = trainer.data_collator([row])
        ids = batch["input_ids"][0].tolist()
        mask = (batch["labels"][0] != -100).int().tolist()
        first = mask.index(1)
        assert set(mask[first:]) == {1} and set(mask[:first]) == {0}  # one contiguous response span
        text = tok.decode(ids[:first])
        response = tok.decode(ids[first:])
        prompt = text.split("<|im_start|>user\n")[1].split("<|im_end|>")[0]
        assert response.startswith(by_prompt[prompt]) and response.rstrip("\n").endswith("<|im_end|>")
        assert text.count("<|im_start|>system") == 1 and text.endswith("<|im_start|>assistant\n")
