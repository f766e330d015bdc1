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
