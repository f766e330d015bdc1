"""divtools-vllm: the ``vllm`` generation backend as a separately installed divtools plugin.

Registering imports only pydantic and divtools; vLLM is imported when the backend first
generates, so ``divtools list backend`` and ``divtools validate`` work where vLLM is absent.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

import divtools
from divtools.builtins.backends import ModelRef, SamplingSettings
from divtools.spec.base import require_placeholders

__all__ = ["VLLMBackendParams"]

__version__ = "0.1.0"


class VLLMBackendParams(SamplingSettings):
    """Generate with vLLM's offline engine (GPU): the transformers backend's protocol at scale."""

    kind: Literal["vllm"] = "vllm"
    model: ModelRef
    """Local folder or hub id of a causal LM (or a folder holding only a PEFT/LoRA adapter)."""
    revision: str | None = None
    """Hub revision of the model; pin it for reproducible runs."""
    adapter: ModelRef | None = None
    """A LoRA adapter folder served with vLLM's LoRA support."""
    max_lora_rank: int = Field(16, ge=1)
    """Largest LoRA rank vLLM reserves room for (at least the adapter's r)."""
    chat_template: bool | None = None
    """Wrap each prompt in the tokenizer's chat template: true, false, or unset = when it has one."""
    system_prompt: str | None = None
    """System message placed before the prompt when the chat template is used."""
    prompt_template: str = "{prompt}"
    """Text given to the model for a prompt; ``{prompt}`` is replaced by the prompt."""
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    """Weights' dtype (vLLM's choice when auto)."""
    tensor_parallel_size: int = Field(1, ge=1)
    """GPUs one model is split over."""
    gpu_memory_utilization: float = Field(0.9, gt=0.0, le=1.0)
    """Share of GPU memory vLLM may take."""
    max_model_len: int | None = Field(None, ge=16)
    """Longest prompt + generation in tokens (default: the model's)."""
    enforce_eager: bool = False
    """Skip CUDA graph capture (slower, starts faster, less memory)."""
    prompts_per_call: int = Field(256, ge=1)
    """Prompts handed to vLLM at once; their samples are saved before the next batch."""

    @field_validator("prompt_template")
    @classmethod
    def _has_prompt(cls, value: str) -> str:
        return require_placeholders(value, "prompt", field="prompt_template")


@divtools.hookimpl
def divtools_register_backends(register) -> None:
    register("vllm", params=VLLMBackendParams, impl="divtools_vllm.backend:VLLMBackend")
