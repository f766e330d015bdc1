"""Generation and scoring with SmolLM2 and the session's trained adapters, offline."""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import PRESET, STORIES


def _backend(model: str, **kw):
    from divtools.builtins.backends import TransformersBackendParams
    from divtools.generation.transformers_backend import TransformersBackend

    return TransformersBackend(TransformersBackendParams(model=model, **kw))


def test_generation_stops_at_eos_and_writes_english(cache_env):
    """A short-answer prompt, greedy: the answer ends well before max_new_tokens (EOS stopped
    it), and no template token leaks into the text."""
    backend = _backend(PRESET, max_new_tokens=64, temperature=0.0)
    (texts,) = backend.generate(["What is the capital of France? Answer in one short sentence."], num_samples=1, seed=0)
    text = texts[0]
    n = len(backend._tokenizer(text, add_special_tokens=False)["input_ids"])
    assert 0 < n < 40, text
    assert "Paris" in text
    assert "<|im_end|>" not in text and "<|im_start|>" not in text


def test_reloaded_adapter_generates_the_same_text_for_the_same_seed(cache_env, trained_run):
    prompts = [STORIES[2][0]]
    first = _backend(str(trained_run / "ddpo"), max_new_tokens=24).generate(prompts, num_samples=2, seed=7)
    again = _backend(str(trained_run / "ddpo"), max_new_tokens=24).generate(prompts, num_samples=2, seed=7)
    other = _backend(str(trained_run / "ddpo"), max_new_tokens=24).generate(prompts, num_samples=2, seed=8)
    assert first == again
    assert first != other
    words = " ".join(first[0]).split()
    assert len(words) >= 8 and sum(w.isascii() for w in words) / len(words) > 0.9


def test_reward_model_scores_on_the_pretrained_backbone(cache_env, trained_run):
    """The L1 reward adapter over the preset: finite scores, the same in any batch size
    (padding with pad = eos must not move the pooled token), and responses told apart."""
    from divtools.builtins.scorers import RewardModelParams
    from divtools.scorers.reward_model import RewardModelScorer

    prompts = [p for p, _, _ in STORIES] * 2
    responses = [g for _, g, _ in STORIES] + [b for _, _, b in STORIES]
    one = RewardModelScorer(RewardModelParams(model=str(trained_run / "reward"), batch_size=1)).score(prompts, responses)
    many = RewardModelScorer(RewardModelParams(model=str(trained_run / "reward"), batch_size=8)).score(prompts, responses)
    assert np.isfinite(one).all()
    np.testing.assert_allclose(one, many, atol=1e-4)
    assert np.ptp(one) > 1e-4
