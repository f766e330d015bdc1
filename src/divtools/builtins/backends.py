"""Built-in generation backends: ``transformers`` (local or hub model, LoRA adapters) and
``openai_compatible`` (any server speaking the OpenAI chat-completions API).

Defaults follow the paper's evaluation protocol (docs/method.md §6): K = 4 samples per prompt (the
evaluate run's ``num_samples``), temperature 1.0, top-k 50, top-p 0.95, repetition penalty 1.1,
up to 2048 new tokens. Only pydantic here; the implementations import torch/transformers/urllib
when used.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from divtools.hookspecs import hookimpl
from divtools.spec.base import ComponentParams, ModelRef, SpecModel, require_placeholders

__all__ = [
    "DEFAULT_ITERATIVE_TEMPLATE",
    "ModelRef",
    "OpenAICompatibleParams",
    "OpenAIConnection",
    "SamplingSettings",
    "TransformersBackendParams",
]


# ModelRef lives in divtools.spec.base (train specs use it too); re-exported here for plugins.

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class SamplingSettings(ComponentParams):
    """Sampling settings shared by the model backends (paper defaults, docs/method.md §6)."""

    temperature: float = Field(1.0, ge=0.0)
    """Sampling temperature; 0 means greedy decoding (every sample the same)."""
    top_k: int = Field(50, ge=0)
    """Keep only the k most likely next tokens; 0 turns top-k off."""
    top_p: float = Field(0.95, gt=0.0, le=1.0)
    """Nucleus sampling: keep the smallest set of tokens whose probability reaches top_p."""
    repetition_penalty: float = Field(1.1, gt=0.0)
    """Penalty on tokens already in the text (1.0 = none; CTRL-style, as in transformers)."""
    max_new_tokens: int = Field(2048, ge=1)
    """Most tokens generated per sample."""

    def sampling(self) -> dict[str, Any]:
        return {
            "temperature": self.temperature,
            "top_k": self.top_k,
            "top_p": self.top_p,
            "repetition_penalty": self.repetition_penalty,
            "max_new_tokens": self.max_new_tokens,
        }


class TransformersBackendParams(SamplingSettings):
    """Generate with a Hugging Face transformers causal LM (local folder or hub id), optionally with
    a LoRA adapter, through the tokenizer's chat template when it has one."""

    kind: Literal["transformers"] = "transformers"
    model: ModelRef
    """Local folder or hub id of a causal LM. A folder holding only a PEFT adapter
    (adapter_config.json) is loaded onto the base model the adapter names."""
    revision: str | None = None
    """Hub revision (branch, tag or commit) of the model; pin it for reproducible runs."""
    adapter: ModelRef | None = None
    """A LoRA/PEFT adapter (local folder or hub id) applied on top of the model."""
    chat_template: bool | None = None
    """Wrap each prompt in the tokenizer's chat template as a user message: true, false, or
    unset = when the tokenizer has a template."""
    system_prompt: str | None = None
    """System message placed before the prompt when the chat template is used."""
    prompt_template: str = "{prompt}"
    """Text given to the model for a prompt; ``{prompt}`` is replaced by the prompt."""
    batch_size: int = Field(8, ge=1)
    """Prompts per generate() call; each produces num_samples sequences."""
    device: str | None = None
    """torch device, e.g. cuda, cuda:1, cpu (default: cuda when available, else cpu)."""
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    """Weights' dtype; auto = bfloat16 on a GPU that supports it, else float32."""

    @field_validator("prompt_template")
    @classmethod
    def _has_prompt(cls, value: str) -> str:
        return require_placeholders(value, "prompt", field="prompt_template")


class OpenAIConnection(SpecModel):
    """How to reach a server speaking the OpenAI chat-completions API."""

    model: str
    """Model name the server knows (e.g. gpt-4o, or the name a vLLM server was started with)."""
    base_url: str | None = None
    """Server URL up to /v1 (e.g. http://localhost:8000/v1); default: the environment variable
    named by base_url_env, else https://api.openai.com/v1."""
    base_url_env: str = "OPENAI_BASE_URL"
    """Environment variable read for the server URL when base_url is not set."""
    api_key_env: str | None = "OPENAI_API_KEY"
    """NAME of the environment variable holding the API key (the key itself is never written in
    a spec, report or log); unset, or the variable absent: no key is sent."""
    timeout_s: float = Field(120.0, gt=0)
    """Seconds to wait for one HTTP answer."""
    max_retries: int = Field(6, ge=0)
    """Retries after a timeout, a dropped connection, HTTP 429 or HTTP 5xx."""
    backoff_base_s: float = Field(1.0, ge=0)
    """First retry waits this long; each next one twice as long (or the server's Retry-After)."""
    backoff_max_s: float = Field(60.0, ge=0)
    """Longest wait between retries."""
    concurrency: int = Field(1, ge=1, le=64)
    """Requests in flight at once (prompts for a backend, items for a judge)."""
    extra_body: dict[str, Any] = Field(default_factory=dict)
    """Extra JSON fields sent with every request (server-specific options)."""

    @field_validator("api_key_env", "base_url_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        # the message never repeats the value: it may be a key pasted by mistake
        if value is not None and not _ENV_NAME.match(value):
            raise ValueError(
                "must be the NAME of an environment variable (letters, digits, _), not a key or URL; "
                "put the key in that variable"
            )
        return value

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://", value):
            raise ValueError("base_url must start with http:// or https://")
        if value is not None and "@" in value.split("/")[2]:
            raise ValueError(
                "base_url must not hold user:password@; put the key in the environment variable named by api_key_env"
            )
        return value


#: the iterative mode's prompt for sample k > 1: {prompt} and the earlier samples {previous}
DEFAULT_ITERATIVE_TEMPLATE = (
    "{prompt}\n\n"
    "Responses to this prompt have already been written:\n\n"
    "{previous}\n\n"
    "Write a new response to the prompt that is different from all of the responses above."
)


class OpenAICompatibleParams(ComponentParams, OpenAIConnection):
    """Generate through an HTTP server speaking the OpenAI chat-completions API (OpenAI, vLLM,
    TGI, llama.cpp, ...), with the paper's iterative mode as an option."""

    kind: Literal["openai_compatible"] = "openai_compatible"
    mode: Literal["independent", "iterative"] = "independent"
    """independent: each sample is its own request; iterative: sample k is prompted with samples
    1..k-1 and asked to differ from them (iterative_template)."""
    iterative_template: str = DEFAULT_ITERATIVE_TEMPLATE
    """Prompt for samples after the first in iterative mode; ``{prompt}`` and ``{previous}``
    (the earlier samples, numbered) are replaced."""
    system_prompt: str | None = None
    """System message sent before the prompt."""
    temperature: float = Field(1.0, ge=0.0)
    """Sampling temperature."""
    top_p: float = Field(0.95, gt=0.0, le=1.0)
    """Nucleus sampling threshold."""
    top_k: int | None = Field(None, ge=0)
    """Top-k, sent only when set (vLLM/TGI servers accept it; OpenAI does not)."""
    repetition_penalty: float | None = Field(None, gt=0.0)
    """Repetition penalty, sent only when set (vLLM/TGI servers accept it; OpenAI does not)."""
    max_new_tokens: int = Field(2048, ge=1)
    """Most tokens per sample (sent as max_tokens)."""
    send_seed: bool = True
    """Send a per-sample seed (OpenAI and vLLM honour it; turn off for servers that reject it)."""
    samples_per_request: Literal[1, "all"] = 1
    """independent mode: 1 request per sample, or all samples of a prompt in one request (n=K)."""

    @model_validator(mode="after")
    def _mode(self) -> "OpenAICompatibleParams":
        if self.mode == "iterative" and self.samples_per_request == "all":
            raise ValueError("iterative mode asks for one sample at a time: drop samples_per_request: all")
        return self

    @field_validator("iterative_template")
    @classmethod
    def _iterative_fields(cls, value: str) -> str:
        return require_placeholders(value, "prompt", "previous", field="iterative_template")


@hookimpl
def divtools_register_backends(register) -> None:
    register(
        "transformers",
        params=TransformersBackendParams,
        impl="divtools.generation.transformers_backend:TransformersBackend",
    )
    register(
        "openai_compatible",
        params=OpenAICompatibleParams,
        impl="divtools.generation.openai_compatible:OpenAICompatibleBackend",
    )
