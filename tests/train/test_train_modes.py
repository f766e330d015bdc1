"""Other stage set-ups: the paper's LoRA SFT -> DDPO with the frozen SFT adapter as reference,
ORPO/DORPO from the base model, precomputed reference log-probs, Bradley-Terry reward model."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

ARGS = {"per_device_train_batch_size": 4, "max_steps": 3, "logging_steps": 1, "max_length": 128, "learning_rate": 1e-3}


@pytest.mark.slow
def test_lora_sft_then_ddpo_with_adapter_reference(tmp_path, tiny_lm_dir, pairs_file, train_spec, log_records):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from divtools.train.run import run

    lora = {"r": 4, "alpha": 8, "dropout": 0.0}
    spec = train_spec(tmp_path, tiny_lm_dir, pairs_file, [
        {"name": "sft", "kind": "sft", "lora": lora, "args": ARGS},
        {"name": "ddpo", "kind": "preference", "lora": lora, "objective": {"kind": "ddpo"}, "args": ARGS},
    ])
    out = run(spec, quiet=True)
    assert (out / "sft" / "adapter_config.json").exists() and (out / "ddpo" / "adapter_config.json").exists()
    base = AutoModelForCausalLM.from_pretrained(tiny_lm_dir)
    model = PeftModel.from_pretrained(base, out / "ddpo")
    assert model.peft_config["default"].r == 4
    # the reference is the frozen SFT adapter: at step 1 policy == reference, so every DPO loss is log 2
    first = [r for r in log_records(out / "ddpo" / "log.jsonl") if "loss/unweighted" in r][0]
    assert first["loss/unweighted"] == pytest.approx(0.693147, abs=1e-5)
    assert first["rewards/margins"] == pytest.approx(0.0, abs=1e-6)
    # the DDPO adapter moved away from the SFT adapter
    from safetensors.torch import load_file

    a = load_file(out / "sft" / "adapter_model.safetensors")
    b = load_file(out / "ddpo" / "adapter_model.safetensors")
    assert a.keys() == b.keys() and any(not torch.equal(a[k], b[k]) for k in a)


@pytest.mark.slow
@pytest.mark.parametrize("objective", [{"kind": "orpo"}, {"kind": "dorpo", "weighting": "paper_code"}])
def test_orpo_family_from_base_without_reference(tmp_path, tiny_lm_dir, pairs_file, objective, train_spec, log_records):
    from transformers import AutoModelForCausalLM

    from divtools.train.run import run

    spec = train_spec(tmp_path, tiny_lm_dir, pairs_file, [
        {"name": "o", "kind": "preference", "init": "base", "objective": objective, "args": ARGS}])
    out = run(spec, quiet=True)
    AutoModelForCausalLM.from_pretrained(out / "o")
    rec = [r for r in log_records(out / "o" / "log.jsonl") if "loss/weighted" in r]
    assert len(rec) == 3 and all("objective/nll" in r and "objective/log_odds_ratio" in r for r in rec)


@pytest.mark.slow
def test_precomputed_reference_matches_model_reference(tmp_path, tiny_lm_dir, pairs_file, train_spec, log_records):
    from divtools.train.run import run

    logs = {}
    for mode in ("model", "precomputed"):
        spec = train_spec(tmp_path / mode, tiny_lm_dir, pairs_file, [
            {"name": "d", "kind": "preference", "init": "base", "reference": mode, "objective": {"kind": "ddpo"},
             "args": ARGS}])
        out = run(spec, quiet=True)
        logs[mode] = [r["loss"] for r in log_records(out / "d" / "log.jsonl") if "loss/weighted" in r]
    assert logs["model"] == pytest.approx(logs["precomputed"], abs=1e-6)


@pytest.mark.slow
def test_bradley_terry_reward_model(tmp_path, tiny_lm_dir, pairs_file, train_spec, log_records):
    from transformers import AutoModelForSequenceClassification

    from divtools.train.run import run

    spec = train_spec(tmp_path, tiny_lm_dir, pairs_file, [
        {"name": "rm", "kind": "reward_model", "loss": "bradley_terry", "args": ARGS}])
    out = run(spec, quiet=True)
    rm = AutoModelForSequenceClassification.from_pretrained(out / "rm")
    assert rm.config.num_labels == 1
    assert json.loads((out / "rm" / "divtools-stage.json").read_text())["stage"]["loss"] == "bradley_terry"


@pytest.mark.slow
def test_gradient_accumulation_matches_the_full_batch(tmp_path, tiny_lm_dir, pairs_file, train_spec, log_records):
    """2 micro-batches of 2 with accumulation = 1 batch of 4 (mean reduction): same losses and weights."""
    from transformers import AutoModelForCausalLM

    from divtools.train.run import run

    outs = {}
    for name, extra in (("full", {"per_device_train_batch_size": 4}),
                        ("accum", {"per_device_train_batch_size": 2, "gradient_accumulation_steps": 2})):
        spec = train_spec(tmp_path / name, tiny_lm_dir, pairs_file, [
            {"name": "d", "kind": "preference", "init": "base", "objective": {"kind": "ddpo"}, "args": {**ARGS, **extra}}])
        outs[name] = run(spec, quiet=True)
    a = [r["loss"] for r in log_records(outs["full"] / "d" / "log.jsonl") if "loss/weighted" in r]
    b = [r["loss"] for r in log_records(outs["accum"] / "d" / "log.jsonl") if "loss/weighted" in r]
    assert len(a) == len(b) == 3 and a == pytest.approx(b, abs=1e-6)
    ma = AutoModelForCausalLM.from_pretrained(outs["full"] / "d").state_dict()
    mb = AutoModelForCausalLM.from_pretrained(outs["accum"] / "d").state_dict()
    assert all(torch.allclose(ma[k], mb[k], atol=1e-5) for k in ma)


@pytest.mark.slow
def test_eval_data_is_evaluated_with_the_objective(tmp_path, tiny_lm_dir, pairs_file, train_spec, log_records):
    from divtools.train.run import run

    args = {**ARGS, "eval_strategy": "steps", "eval_steps": 3, "per_device_eval_batch_size": 4}
    # eval data is given in the spec: validation refuses eval_strategy without it
    spec = train_spec(tmp_path, tiny_lm_dir, pairs_file, [
        {"name": "d", "kind": "preference", "init": "base", "objective": {"kind": "ddpo"}, "args": args}],
        data={"train": str(pairs_file), "eval": str(pairs_file)})
    out = run(spec, quiet=True)
    evals = [r for r in log_records(out / "d" / "log.jsonl") if "eval_loss" in r]
    assert len(evals) == 1 and evals[0]["step"] == 3
    assert {"eval_loss/weighted", "eval_loss/unweighted", "eval_weight/mean"} <= set(evals[0])
    # every eval pair was seen once, with its weight: 4 equal batches, so the mean is the file's mean
    import json

    weights = [json.loads(line)["weight"] for line in pairs_file.read_text().splitlines()]
    assert evals[0]["eval_weight/mean"] == pytest.approx(sum(weights) / len(weights))
