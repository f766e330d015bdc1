"""The transformers backend on a tiny causal LM built offline: K samples, seeds, chat templates,
LoRA adapters, and an interrupted run resumed to the same file as an uninterrupted one."""

from __future__ import annotations

import pytest

from divtools.builtins.backends import TransformersBackendParams
from divtools.generation.driver import generate_to_jsonl, read_generations
from divtools.generation.transformers_backend import TransformersBackend

PROMPTS = ["The wise king", "A river at night", "The old dragon"]


def make(model, **kw) -> TransformersBackend:
    return TransformersBackend(TransformersBackendParams(model=str(model), max_new_tokens=kw.pop("max_new_tokens", 8), **kw))


def test_paper_defaults():
    p = TransformersBackendParams(model="some/model")
    assert p.sampling() == {"temperature": 1.0, "top_k": 50, "top_p": 0.95, "repetition_penalty": 1.1, "max_new_tokens": 2048}


def test_k_samples_per_prompt_same_seed_same_text(tiny_lm):
    backend = make(tiny_lm, batch_size=2)
    out = backend.generate(PROMPTS, num_samples=4, seed=1)
    assert [len(x) for x in out] == [4, 4, 4]
    assert all(isinstance(t, str) for x in out for t in x)
    assert len({t for x in out for t in x}) > 6  # sampled, not one text repeated
    assert backend.generate(PROMPTS, num_samples=4, seed=1) == out
    assert make(tiny_lm, batch_size=2).generate(PROMPTS, num_samples=4, seed=1) == out  # fresh load too
    assert backend.generate(PROMPTS, num_samples=4, seed=2) != out


def test_generation_continues_the_templated_prompt(tiny_lm):
    """The samples are what model.generate gives for the chat-templated prompt (checked directly)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    backend = make(tiny_lm, temperature=0.0, repetition_penalty=1.0)
    assert backend.model_inputs(["Hi"]) == ["<|user|>Hi<|end|><|assistant|>"]
    ours = backend.generate(["Hi"], num_samples=1, seed=0)[0][0]
    tok = AutoTokenizer.from_pretrained(tiny_lm)
    model = AutoModelForCausalLM.from_pretrained(tiny_lm)
    ids = tok("<|user|>Hi<|end|><|assistant|>", return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        seq = model.generate(**ids, do_sample=False, max_new_tokens=8, pad_token_id=tok.pad_token_id)
    assert ours == tok.decode(seq[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)


def test_chat_template_off_and_system_prompt(tiny_lm):
    assert make(tiny_lm, chat_template=False, prompt_template="Story: {prompt}").model_inputs(["x"]) == ["Story: x"]
    with_system = make(tiny_lm, system_prompt="Be brief.").model_inputs(["x"])
    assert with_system == ["<|system|>Be brief.<|end|><|user|>x<|end|><|assistant|>"]


def test_settings_recorded(tiny_lm):
    s = make(tiny_lm).settings()
    assert s["backend"] == "transformers" and s["model"] == str(tiny_lm) and s["top_k"] == 50


def test_interrupted_run_resumes_to_the_uninterrupted_file(tiny_lm, tmp_path):
    prompts = [(f"p{i}", f"Story {i} of the sea") for i in range(5)]
    reference = tmp_path / "ref.jsonl"
    generate_to_jsonl(make(tiny_lm, batch_size=2), prompts, reference, num_samples=2, seed=4, system="tiny", quiet=True)

    class Killed(TransformersBackend):
        calls = 0

        def generate(self, prompts, *, num_samples, seed):
            if Killed.calls == 1:
                raise RuntimeError("killed")
            Killed.calls += 1
            return super().generate(prompts, num_samples=num_samples, seed=seed)

    path = tmp_path / "g.jsonl"
    with pytest.raises(RuntimeError):
        generate_to_jsonl(Killed(make(tiny_lm, batch_size=2).params), prompts, path, num_samples=2, seed=4, system="tiny", quiet=True)
    assert {r["prompt_id"] for r in read_generations(path)} == {"p0", "p1"}
    generate_to_jsonl(make(tiny_lm, batch_size=2), prompts, path, num_samples=2, seed=4, system="tiny", quiet=True)
    assert path.read_bytes() == reference.read_bytes()


def test_lora_adapter_given_separately_or_as_the_model(tiny_lm, tmp_path):
    """A LoRA adapter changes the output exactly as applying it with peft directly does."""
    import torch
    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = AutoModelForCausalLM.from_pretrained(tiny_lm)
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    torch.manual_seed(0)
    peft_model = get_peft_model(base, config)
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "lora_" in name:
                param.mul_(20.0)  # big enough to change greedy decoding of a random tiny model
    adapter = tmp_path / "adapter"
    peft_model.save_pretrained(adapter)
    assert not (adapter / "config.json").exists()  # an adapter-only folder naming its base

    greedy = {"temperature": 0.0, "repetition_penalty": 1.0, "max_new_tokens": 10}
    plain = make(tiny_lm, **greedy).generate(PROMPTS, num_samples=1, seed=0)
    separate = make(tiny_lm, adapter=str(adapter), **greedy).generate(PROMPTS, num_samples=1, seed=0)
    as_model = make(adapter, **greedy).generate(PROMPTS, num_samples=1, seed=0)
    assert separate == as_model
    assert separate != plain

    tok = AutoTokenizer.from_pretrained(tiny_lm)
    direct = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_lm), adapter).eval()
    ids = tok("<|user|>" + PROMPTS[0] + "<|end|><|assistant|>", return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        seq = direct.generate(**ids, do_sample=False, max_new_tokens=10, pad_token_id=tok.pad_token_id)
    assert separate[0][0] == tok.decode(seq[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)


def test_built_through_the_registry(tiny_lm):
    from divtools.plugins import load_plugins

    info = load_plugins(env={"DIVTOOLS_LOAD_PLUGINS": ""}).registries["backend"].get("transformers")
    backend = info.build(info.params(kind="transformers", model=str(tiny_lm), max_new_tokens=4))
    assert isinstance(backend, TransformersBackend) and backend.prompts_per_call == 8
    assert len(backend.generate(["x"], num_samples=2, seed=0)[0]) == 2


def test_relative_model_path_resolves_against_the_spec_folder(tiny_lm):
    rel = tiny_lm.name
    p = TransformersBackendParams.model_validate({"model": rel}, context={"base_dir": tiny_lm.parent})
    assert p.model == str(tiny_lm)
    hub = TransformersBackendParams.model_validate({"model": "org/name"}, context={"base_dir": tiny_lm.parent})
    assert hub.model == "org/name"


def test_sampling_settings_reach_generate(tiny_lm, monkeypatch):
    """top_k 0 reaches generate as 0 (off; None would mean the config's default 50); greedy when
    temperature is 0."""
    backend = make(tiny_lm, top_k=0, top_p=0.8, repetition_penalty=1.3, max_new_tokens=5)
    backend._load()
    seen = {}
    real = backend._model.generate

    def spy(**kwargs):
        seen.update(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(backend._model, "generate", spy)
    backend.generate(["x"], num_samples=2, seed=0)
    assert seen["top_k"] == 0 and seen["top_p"] == 0.8 and seen["repetition_penalty"] == 1.3
    assert seen["do_sample"] is True and seen["max_new_tokens"] == 5 and seen["num_return_sequences"] == 2
    greedy = make(tiny_lm, temperature=0.0, max_new_tokens=5)
    out = greedy.generate(["x"], num_samples=2, seed=0)
    assert out[0][0] == out[0][1]
