"""The offline tiny-model builders: loadable, deterministic, chat template usable by TRL."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")


def test_causal_lm_round_trip(tiny_lm_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_lm_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_lm_dir)
    assert tok.padding_side == "right"
    assert tok.pad_token == "<|pad|>" and tok.eos_token == "<|end|>"
    assert model.config.tie_word_embeddings and model.config.hidden_size == 64
    assert model.config.vocab_size == len(tok)
    text = "A wise son maketh a glad father."
    assert tok.decode(tok(text)["input_ids"]) == text
    # the chat-templated prompt is a prefix of prompt + answer (TRL relies on it)
    prompt = tok.apply_chat_template([{"role": "user", "content": "Hi"}], tokenize=False, add_generation_prompt=True)
    full = tok.apply_chat_template(
        [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}], tokenize=False
    )
    assert full.startswith(prompt) and full.endswith("<|end|>")
    out = model(**tok([text], return_tensors="pt"))
    assert out.logits.shape[-1] == len(tok)


def test_same_seed_same_weights(tmp_path, kjv_texts):
    from transformers import AutoModelForCausalLM

    from divtools.models.tiny import build_tiny_causal_lm

    a = AutoModelForCausalLM.from_pretrained(build_tiny_causal_lm(kjv_texts[:100], tmp_path / "a", seed=3))
    b = AutoModelForCausalLM.from_pretrained(build_tiny_causal_lm(kjv_texts[:100], tmp_path / "b", seed=3))
    c = AutoModelForCausalLM.from_pretrained(build_tiny_causal_lm(kjv_texts[:100], tmp_path / "c", seed=4))
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters()))
    assert not all(torch.equal(x, y) for x, y in zip(a.parameters(), c.parameters()))


def test_sequence_classifier_shares_tokenizer(tiny_lm_dir, tiny_rm_dir):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_rm_dir)
    assert tok.get_vocab() == AutoTokenizer.from_pretrained(tiny_lm_dir).get_vocab()
    rm = AutoModelForSequenceClassification.from_pretrained(tiny_rm_dir)
    assert rm.config.num_labels == 1 and rm.config.pad_token_id == tok.pad_token_id
    scores = rm(**tok(["one", "two words here"], return_tensors="pt", padding=True)).logits
    assert scores.shape == (2, 1)


def test_vocab_too_small_is_refused(kjv_texts):
    from divtools.models.tiny import build_tiny_tokenizer

    with pytest.raises(ValueError, match="vocab_size"):
        build_tiny_tokenizer(kjv_texts, vocab_size=100)
