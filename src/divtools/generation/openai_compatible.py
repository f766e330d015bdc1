"""The ``openai_compatible`` backend: samples from any server speaking the OpenAI chat API.

Modes:

- ``independent``: every sample is an independent request for the same messages (or one request
  with ``n = K`` when ``samples_per_request: all``).
- ``iterative`` (the paper's prompting baseline for API models): sample 1 answers the prompt;
  sample k > 1 is asked, through ``iterative_template``, for a response different from samples
  1..k-1, which are shown to it numbered.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Sequence

from divtools.api import Backend
from divtools.generation.openai_client import ChatClient
from divtools.generation.seeds import derive_seed
from divtools.redact import redact_data

__all__ = ["OpenAICompatibleBackend", "fill_template", "format_previous"]


def fill_template(template: str, **values: str) -> str:
    """Replace ``{name}`` fields in one pass (a value's own braces are left alone)."""
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), template)


def format_previous(samples: Sequence[str]) -> str:
    """Earlier samples as ``Response 1:\\n...`` blocks, for the iterative template."""
    return "\n\n".join(f"Response {i}:\n{text}" for i, text in enumerate(samples, start=1))


class OpenAICompatibleBackend(Backend):
    """Sample K responses per prompt over HTTP; ``concurrency`` prompts per call, in parallel
    threads (the samples of one prompt are requested one after another)."""

    def __init__(self, params: Any, *, client: ChatClient | None = None) -> None:
        self.params = params
        self.prompts_per_call = params.concurrency
        self.client = client or ChatClient(params)

    def settings(self) -> dict[str, Any]:
        p = self.params
        out: dict[str, Any] = {
            "backend": "openai_compatible",
            **self.client.identity(),
            "mode": p.mode,
            "system_prompt": p.system_prompt,
            "temperature": p.temperature,
            "top_p": p.top_p,
            "top_k": p.top_k,
            "repetition_penalty": p.repetition_penalty,
            "max_new_tokens": p.max_new_tokens,
        }
        if p.mode == "iterative":
            out["iterative_template"] = p.iterative_template
        if p.extra_body:
            out["extra_body"] = p.extra_body
        return redact_data(out)  # recorded with the generations: no secret (e.g. a key in extra_body)

    def _messages(self, content: str) -> list[dict[str, str]]:
        messages = []
        if self.params.system_prompt:
            messages.append({"role": "system", "content": self.params.system_prompt})
        messages.append({"role": "user", "content": content})
        return messages

    def _fields(self, seed: int | None, n: int = 1) -> dict[str, Any]:
        p = self.params
        return {
            "temperature": p.temperature,
            "top_p": p.top_p,
            "max_tokens": p.max_new_tokens,
            "top_k": p.top_k,
            "repetition_penalty": p.repetition_penalty,
            "seed": seed if p.send_seed else None,
            "n": n if n != 1 else None,
        }

    def generate(self, prompts: Sequence[str], *, num_samples: int, seed: int) -> list[list[str]]:
        seeds = [derive_seed(seed, i) for i in range(len(prompts))]
        if self.params.concurrency <= 1 or len(prompts) <= 1:
            return [self._one_prompt(prompt, num_samples, s) for prompt, s in zip(prompts, seeds)]
        with ThreadPoolExecutor(max_workers=self.params.concurrency) as pool:
            return list(pool.map(lambda args: self._one_prompt(args[0], num_samples, args[1]), zip(prompts, seeds)))

    def _one_prompt(self, prompt: str, k: int, seed: int) -> list[str]:
        p = self.params
        if p.mode == "iterative":
            samples: list[str] = []
            for j in range(k):
                content = prompt if not samples else fill_template(
                    p.iterative_template, prompt=prompt, previous=format_previous(samples)
                )
                samples.extend(self.client.chat(self._messages(content), **self._fields(derive_seed(seed, j))))
            return samples
        if p.samples_per_request == "all":
            return self.client.chat(self._messages(prompt), **self._fields(seed, n=k))
        out: list[str] = []
        for j in range(k):
            out.extend(self.client.chat(self._messages(prompt), **self._fields(derive_seed(seed, j))))
        return out
