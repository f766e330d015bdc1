"""The materialised preset, and one tokenisation everywhere: prepare's token budget, training and
generation see the same tokens (chat template once, BOS/EOS the same way)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from .conftest import PRESET, STORIES


def test_materialised_folder_is_a_plain_float32_checkpoint(model_dir):
    """No quantisation metadata is left, and the weights are the GGUF's, dequantised by the
    gguf package itself (independently of transformers' loader)."""
    import gguf
    from safetensors.numpy import load_file

    from divtools.models.presets import preset_gguf

    config = json.loads((model_dir / "config.json").read_text())
    assert "quantization_config" not in config and config["dtype"] == "float32"
    for name in ("config.json", "generation_config.json", "tokenizer_config.json"):
        assert "gguf" not in (model_dir / name).read_text().lower(), name
    marker = json.loads((model_dir / "divtools-model.json").read_text())
    assert marker["parameters"] == 134_515_008 and marker["architecture"] == "LlamaForCausalLM"

    weights = load_file(str(model_dir / "model.safetensors"))
    assert {w.dtype for w in weights.values()} == {np.dtype("float32")}
    reader = gguf.GGUFReader(str(preset_gguf(PRESET)))
    tensors = {t.name: t for t in reader.tensors}
    # names without llama.cpp's q/k row permutation: embeddings and an MLP projection
    for gguf_name, hf_name in (("token_embd.weight", "model.embed_tokens.weight"),
                               ("blk.0.ffn_down.weight", "model.layers.0.mlp.down_proj.weight")):
        t = tensors[gguf_name]
        expected = gguf.quants.dequantize(t.data, t.tensor_type).reshape(weights[hf_name].shape)
        np.testing.assert_allclose(weights[hf_name], expected, rtol=0, atol=1e-6)


def test_one_tokenisation_for_prepare_training_and_generation(cache_env, real_pairs, tmp_path, real_spec):
    """For one (prompt, response): the trainer's prompt ids are the generation backend's prompt
    ids; prompt + response ids are what prepare's token budget counts; the chat template (its
    default system turn, its BOS-like <|im_start|>) appears once; the response ends with EOS once."""
    from types import SimpleNamespace

    from divtools.builtins.backends import TransformersBackendParams
    from divtools.data.cleaning import TokenCounter
    from divtools.generation.transformers_backend import TransformersBackend
    from divtools.train import stages as stages_mod

    captured = []
    spec = real_spec(tmp_path / "out", [{"name": "dpo", "kind": "preference", "init": "base",
                                         "lora": {"r": 4, "alpha": 8}, "objective": {"kind": "dpo"},
                                         "args": {"max_length": 192, "max_steps": 1}}])
    original = stages_mod._train_and_save
    stages_mod._train_and_save = lambda trainer, *a, **k: captured.append(trainer)
    try:
        stages_mod.run_preference(spec, spec.stages[0], tmp_path / "out" / "dpo", None, quiet=True)
    finally:
        stages_mod._train_and_save = original
    (trainer,) = captured
    tok = trainer.processing_class
    row = trainer.train_dataset[0]
    prompt, response = STORIES[0][0], STORIES[0][1]

    backend = TransformersBackend(TransformersBackendParams(model=PRESET, max_new_tokens=8))
    gen_text = backend.model_inputs([prompt])[0]
    gen_ids = backend._tokenizer(gen_text, add_special_tokens=False)["input_ids"]
    assert row["prompt_ids"] == gen_ids

    counter = TokenCounter(SimpleNamespace(tokenizer=PRESET, revision=None, chat_template=True))
    assert counter.count(prompt, [response]) == [len(row["prompt_ids"]) + len(row["chosen_ids"])]

    full = tok.decode(row["prompt_ids"] + row["chosen_ids"])
    assert full.count("You are a helpful AI assistant named SmolLM") == 1  # the template, once
    bos, eos = tok.convert_tokens_to_ids("<|im_start|>"), tok.eos_token_id
    assert row["prompt_ids"][0] == bos and row["prompt_ids"].count(bos) == 3  # system, user, assistant
    assert row["chosen_ids"].count(eos) == 1 and tok.decode(row["chosen_ids"]).startswith(response)
    assert eos not in row["prompt_ids"][-3:] and gen_text.endswith("<|im_start|>assistant\n")


def test_model_probability_criterion_on_the_preset(cache_env):
    """DivPO's -log pi(y|x): the criterion's value equals the sum of the response tokens'
    negative log-probabilities from a plain forward pass."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from divtools.builtins.pair_builders import ModelProbabilityCriterion
    from divtools.data.criteria import ModelProbabilityValues
    from divtools.models.resolve import resolve_model_ref

    values = ModelProbabilityValues(ModelProbabilityCriterion(model=PRESET, batch_size=2))
    prompt, responses = STORIES[1][0], [STORIES[1][1], STORIES[1][2]]
    got = values.nll([prompt, prompt], responses)

    folder = resolve_model_ref(PRESET)
    tok, model = AutoTokenizer.from_pretrained(folder), AutoModelForCausalLM.from_pretrained(folder).eval()
    head = tok(tok.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                       add_generation_prompt=True), add_special_tokens=False)["input_ids"]
    for value, response in zip(got, responses):
        ids = tok(response, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            logp = torch.log_softmax(model(torch.tensor([head + ids])).logits[0].double(), -1)
        expected = -sum(logp[len(head) + i - 1, t].item() for i, t in enumerate(ids))
        assert value == pytest.approx(expected, rel=1e-4)
    assert got[1] != pytest.approx(got[0])
