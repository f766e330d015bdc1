"""model.from_config: train from scratch from a config + tokenizer folder (the quickstart's model)."""

from __future__ import annotations

import torch

from divtools.models.tiny import build_tiny_causal_lm, default_texts
from divtools.spec.train import ModelSpec
from divtools.train.models import InitPoint, load_causal_lm, load_sequence_regressor, load_tokenizer


def test_random_init_is_the_same_for_every_load_and_leaves_the_global_rng_alone(tmp_path):
    folder = build_tiny_causal_lm(default_texts(200), tmp_path / "m", weights=False)
    assert not list(folder.glob("*.safetensors"))
    spec = ModelSpec(path=str(folder), from_config=True)
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    policy = load_causal_lm(InitPoint.of(spec, None), trainable_adapter=False)
    assert torch.rand(1).item() == before.item()  # loading did not consume the global random state
    reference = load_causal_lm(InitPoint.of(spec, None), trainable_adapter=False)
    for (name, a), (_, b) in zip(policy.named_parameters(), reference.named_parameters()):
        assert torch.equal(a, b), name
    other = load_causal_lm(InitPoint.of(ModelSpec(path=str(folder), from_config=True, init_seed=1), None),
                           trainable_adapter=False)
    assert not torch.equal(next(other.parameters()), next(policy.parameters()))


def test_reward_model_from_config(tmp_path):
    folder = build_tiny_causal_lm(default_texts(200), tmp_path / "m", weights=False)
    spec = ModelSpec(path=str(folder), from_config=True)
    tokenizer = load_tokenizer(InitPoint.of(spec, None))
    model = load_sequence_regressor(spec, None, tokenizer)
    assert model.config.num_labels == 1
    out = model(**tokenizer(["a story"], return_tensors="pt")).logits
    assert out.shape == (1, 1)


def test_a_stage_trains_on_its_own_data(tmp_path, tiny_lm_dir, pairs_file):
    """stages[].data overrides the spec's data (the paper's DivPO stage next to DDPO stages)."""
    import json

    from divtools.spec.loading import validate_spec
    from divtools.train.run import run

    rows = [json.loads(x) for x in pairs_file.read_text().splitlines()]
    own = tmp_path / "divpo.jsonl"
    own.write_text("".join(json.dumps({**r, "pair_builder": "divpo"}) + "\n" for r in rows[:4]))
    args = {"per_device_train_batch_size": 2, "max_steps": 1, "logging_steps": 1, "max_length": 64}
    spec = validate_spec({
        "run": "train", "output": {"dir": str(tmp_path / "out")}, "model": str(tiny_lm_dir),
        "data": {"train": str(pairs_file)},
        "stages": [
            {"name": "dpo", "kind": "preference", "init": "base", "objective": {"kind": "dpo"}, "args": args},
            {"name": "divpo", "kind": "preference", "init": "base", "objective": {"kind": "divpo"}, "args": args,
             "data": {"train": str(own)}},
        ]}, file="t.yaml", base_dir=tmp_path)
    run(spec, quiet=True)  # the divpo objective refuses non-divpo data, so this proves the override
    assert (tmp_path / "out" / "divpo" / "divtools-stage.json").exists()
