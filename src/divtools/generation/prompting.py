"""How a prompt becomes model input: ``prompt_template``, then the tokenizer's chat template
(an optional system message and the prompt as the user's message, then the assistant's turn)."""

from __future__ import annotations

from typing import Any, Sequence

from divtools.errors import UserError

__all__ = ["model_settings", "render_prompts", "use_chat_template"]


def use_chat_template(tokenizer: Any, wanted: bool | None, *, model: str) -> bool:
    """Whether to apply the chat template: as asked, or (unset) when the tokenizer has one."""
    has_template = bool(getattr(tokenizer, "chat_template", None))
    if wanted and not has_template:
        raise UserError(f"the tokenizer of '{model}' has no chat template; set chat_template: false", field="chat_template")
    return has_template if wanted is None else wanted


def render_prompts(
    tokenizer: Any,
    prompts: Sequence[str],
    *,
    prompt_template: str,
    system_prompt: str | None,
    chat: bool,
) -> list[str]:
    """The texts the model continues. With ``chat`` the text already holds the template's special
    tokens (encode it without adding BOS again)."""
    texts = []
    for prompt in prompts:
        content = prompt_template.replace("{prompt}", prompt)
        if chat:
            messages = ([{"role": "system", "content": system_prompt}] if system_prompt else []) + [
                {"role": "user", "content": content}
            ]
            content = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        texts.append(content)
    return texts


def model_settings(params: Any, backend: str) -> dict[str, Any]:
    """The settings that shape a local model backend's texts (model, prompt format, sampling),
    recorded with every generated row; shared by the ``transformers`` and ``vllm`` backends."""
    return {
        "backend": backend,
        "model": params.model,
        "revision": params.revision,
        "adapter": params.adapter,
        "chat_template": params.chat_template,
        "system_prompt": params.system_prompt,
        "prompt_template": params.prompt_template,
        "dtype": params.dtype,
        **params.sampling(),
    }
