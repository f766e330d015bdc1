"""The ``transformers`` backend: K samples per prompt from a Hugging Face causal LM.

Prompts are wrapped in the tokenizer's chat template (a user message, after an optional system
message) when there is one, left-padded into batches of ``batch_size`` prompts, and sampled with
``num_return_sequences = K`` under ``torch.manual_seed(seed)`` (the global RNG is restored
afterwards). The model loads on the first call.
"""

from __future__ import annotations

from typing import Any, Sequence

from divtools.api import Backend
from divtools.generation.prompting import model_settings, render_prompts, use_chat_template

__all__ = ["TransformersBackend"]


class TransformersBackend(Backend):
    def __init__(self, params: Any) -> None:
        self.params = params
        self.prompts_per_call = params.batch_size
        self._model: Any = None
        self._tokenizer: Any = None
        self._use_chat: bool | None = None
        self._device: str | None = None

    def settings(self) -> dict[str, Any]:
        return model_settings(self.params, "transformers")

    def _load(self) -> None:
        if self._model is not None:
            return
        from divtools.generation.hf_models import load_model_and_tokenizer, resolve_device, resolve_dtype

        p = self.params
        self._device = resolve_device(p.device)
        self._model, self._tokenizer = load_model_and_tokenizer(
            "AutoModelForCausalLM",
            p.model,
            revision=p.revision,
            adapter=p.adapter,
            device=self._device,
            dtype=resolve_dtype(p.dtype, self._device),
        )
        # decoder-only models continue from the last position: pad on the left
        self._tokenizer.padding_side = "left"
        self._use_chat = use_chat_template(self._tokenizer, p.chat_template, model=p.model)

    def model_inputs(self, prompts: Sequence[str]) -> list[str]:
        """The exact texts the model continues (after templating)."""
        self._load()
        p = self.params
        return render_prompts(
            self._tokenizer, prompts, prompt_template=p.prompt_template, system_prompt=p.system_prompt, chat=bool(self._use_chat)
        )

    def generate(self, prompts: Sequence[str], *, num_samples: int, seed: int) -> list[list[str]]:
        import torch

        if not prompts:
            return []
        texts = self.model_inputs(prompts)
        p = self.params
        tok = self._tokenizer
        out: list[list[str]] = []
        for start in range(0, len(texts), p.batch_size):
            batch = texts[start : start + p.batch_size]
            # a chat template already holds the special tokens the model expects
            enc = tok(batch, return_tensors="pt", padding=True, add_special_tokens=not self._use_chat).to(self._device)
            sample = p.temperature > 0
            kwargs: dict[str, Any] = {
                "do_sample": sample,
                # greedy decoding gives one text; transformers refuses K > 1 without sampling
                "num_return_sequences": num_samples if sample else 1,
                "max_new_tokens": p.max_new_tokens,
                "repetition_penalty": p.repetition_penalty,
                "pad_token_id": tok.pad_token_id,
            }
            if sample:
                # top_k 0 must reach generate as 0 (off): None would fall back to the config's 50
                kwargs.update(temperature=p.temperature, top_k=p.top_k, top_p=p.top_p)
            else:
                kwargs.update(temperature=None, top_k=None, top_p=None)
            devices = [torch.device(self._device)] if str(self._device).startswith("cuda") else []
            with torch.random.fork_rng(devices=devices), torch.inference_mode():
                torch.manual_seed(seed + start)
                sequences = self._model.generate(**enc, **kwargs)
            new = sequences[:, enc["input_ids"].shape[1] :]
            decoded = tok.batch_decode(new, skip_special_tokens=True)
            if not sample:
                decoded = [text for text in decoded for _ in range(num_samples)]
            for i in range(len(batch)):
                out.append(decoded[i * num_samples : (i + 1) * num_samples])
        return out
