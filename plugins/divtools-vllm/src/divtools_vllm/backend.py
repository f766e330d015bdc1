"""The ``vllm`` backend. ``import vllm`` happens in :meth:`VLLMBackend._load`, on first use."""

from __future__ import annotations

from typing import Any, Sequence

from divtools.api import Backend
from divtools.errors import UserError
from divtools.generation.prompting import model_settings, render_prompts, use_chat_template
from divtools.generation.seeds import derive_seed

__all__ = ["VLLMBackend", "VLLM_MISSING"]

VLLM_MISSING = (
    "the vllm backend needs the vllm package, which is not installed; install the build for your "
    "GPU and CUDA (pip install vllm), or use the transformers backend"
)


def import_vllm() -> Any:
    try:
        import vllm
    except ImportError as exc:
        if exc.name is not None and exc.name.split(".")[0] != "vllm":
            raise  # vllm is there but broken: show the real error
        raise UserError(VLLM_MISSING, field="backend") from None
    return vllm


class VLLMBackend(Backend):
    """K samples per prompt: one vLLM request per prompt with ``n = K`` and its own seed."""

    def __init__(self, params: Any) -> None:
        self.params = params
        self.prompts_per_call = params.prompts_per_call
        self._llm: Any = None
        self._tokenizer: Any = None
        self._chat = False
        self._lora: Any = None

    def settings(self) -> dict[str, Any]:
        return model_settings(self.params, "vllm")

    def _load(self) -> None:
        if self._llm is not None:
            return
        vllm = import_vllm()
        from divtools.generation.hf_models import adapter_base

        p = self.params
        model, adapter, revision = p.model, p.adapter, p.revision
        base = adapter_base(model)
        if base is not None:
            model, adapter, revision = base, model, None
        self._llm = vllm.LLM(
            model=model,
            revision=revision,
            dtype=p.dtype,
            tensor_parallel_size=p.tensor_parallel_size,
            gpu_memory_utilization=p.gpu_memory_utilization,
            max_model_len=p.max_model_len,
            enforce_eager=p.enforce_eager,
            enable_lora=adapter is not None,
            max_lora_rank=p.max_lora_rank,
            trust_remote_code=False,
        )
        if adapter is not None:
            from vllm.lora.request import LoRARequest

            self._lora = LoRARequest("divtools-adapter", 1, adapter)
        self._tokenizer = self._llm.get_tokenizer()
        self._chat = use_chat_template(self._tokenizer, p.chat_template, model=p.model)

    def generate(self, prompts: Sequence[str], *, num_samples: int, seed: int) -> list[list[str]]:
        self._load()
        from vllm import SamplingParams

        p = self.params
        texts = render_prompts(self._tokenizer, prompts, prompt_template=p.prompt_template,
                               system_prompt=p.system_prompt, chat=self._chat)
        # token ids, so a chat template's own BOS is not doubled by vLLM's tokenisation
        inputs = [
            {"prompt_token_ids": self._tokenizer(t, add_special_tokens=not self._chat)["input_ids"]} for t in texts
        ]
        sampling = [
            SamplingParams(
                n=num_samples,
                temperature=p.temperature,
                top_k=p.top_k if p.top_k > 0 else -1,
                top_p=p.top_p,
                repetition_penalty=p.repetition_penalty,
                max_tokens=p.max_new_tokens,
                seed=derive_seed(seed, i),
            )
            for i in range(len(prompts))
        ]
        outputs = self._llm.generate(inputs, sampling, lora_request=self._lora, use_tqdm=False)
        return [[c.text for c in sorted(o.outputs, key=lambda c: c.index)] for o in outputs]
