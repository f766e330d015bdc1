"""Loading Hugging Face models for generation and scoring: device and dtype choice, PEFT/LoRA
adapters (given separately, or a folder that holds only an adapter), tokenizer padding.

Imports torch/transformers inside the functions; peft only when an adapter is used.
No ``trust_remote_code``: only architectures transformers ships are loaded. A ``preset:<name>``
or ``.gguf`` model reference loads from its float32 folder in the divtools cache
(:mod:`divtools.models.resolve`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from divtools.errors import UserError

__all__ = ["adapter_base", "load_model_and_tokenizer", "resolve_device", "resolve_dtype"]


def resolve_device(device: str | None) -> str:
    import torch

    if device:
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_dtype(name: str, device: str) -> Any:
    import torch

    if name != "auto":
        return getattr(torch, name)
    if device.startswith("cuda") and torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def adapter_base(path: str) -> str | None:
    """The base model a folder holding only a PEFT adapter names, or None for a full model."""
    folder = Path(path)
    config = folder / "adapter_config.json"
    if not folder.is_dir() or not config.exists() or (folder / "config.json").exists():
        return None
    try:
        base = json.loads(config.read_text(encoding="utf-8")).get("base_model_name_or_path")
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"cannot read the adapter config: {exc}", file=str(config)) from None
    if not base:
        raise UserError(
            "this adapter does not name its base model (base_model_name_or_path); give the base "
            "as model: and this folder as adapter:",
            file=str(config),
        )
    return str(base)


def load_model_and_tokenizer(
    auto_class: str,
    model: str,
    *,
    revision: str | None,
    adapter: str | None,
    device: str,
    dtype: Any,
    field: str = "model",
    model_kwargs: dict[str, Any] | None = None,
) -> tuple[Any, Any]:
    """(model in eval mode on ``device``, tokenizer) for ``transformers.<auto_class>``.

    ``model`` may be a folder holding only an adapter: its base model is loaded and the adapter
    applied. The tokenizer comes from the adapter's folder when it has one (training may add
    tokens or a chat template), else from the base model.
    """
    from divtools.models.presets import is_preset
    from divtools.models.resolve import is_gguf_ref

    for name, where in ((model, field), (adapter, "adapter")):
        # spec paths are resolved to absolute ones; hub ids never are: say so before importing torch
        if name is not None and Path(name).is_absolute() and not Path(name).exists():
            kind = "GGUF file" if is_gguf_ref(name) else "folder"
            raise UserError(f"cannot load '{name}': no such {kind}", field=where)
        if where == "adapter" and name is not None and (is_preset(name) or is_gguf_ref(name)):
            raise UserError(f"'{name}' is a model, not a LoRA adapter; give it as model:", field=where)
    import transformers
    from transformers.utils import logging as hf_logging

    # the weight-loading bar of a model divtools loads is noise next to divtools' own progress
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        return _load(transformers, auto_class, model, revision=revision, adapter=adapter, device=device,
                     dtype=dtype, field=field, model_kwargs=model_kwargs)
    finally:
        if bars:
            hf_logging.enable_progress_bar()


def _load(transformers: Any, auto_class: str, model: str, *, revision: str | None, adapter: str | None,
          device: str, dtype: Any, field: str, model_kwargs: dict[str, Any] | None) -> tuple[Any, Any]:
    base_of_model = adapter_base(model)
    if base_of_model is not None:
        if adapter is not None:
            raise UserError(
                f"{model} is itself an adapter (base {base_of_model}); give either it as model: or "
                "the base as model: and an adapter:",
                field="adapter",
            )
        model, adapter = base_of_model, model
        revision = None  # the revision named the adapter's folder, not the base
    from divtools.models.resolve import resolve_model_ref

    # a preset or .gguf (given, or named by an adapter as its base) loads from its cache folder
    resolved = resolve_model_ref(model, field=field)
    if resolved != model:
        model, revision = resolved, None
    loader = getattr(transformers, auto_class)
    try:
        net = loader.from_pretrained(model, revision=revision, dtype=dtype, **(model_kwargs or {}))
    except OSError as exc:
        raise UserError(f"cannot load '{model}': {exc}", field=field) from None
    tokenizer_source = model
    if adapter is not None:
        try:
            from peft import PeftModel
        except ImportError:  # pragma: no cover - peft is in the train extra
            raise UserError("a LoRA adapter needs the peft package: pip install 'divtools[train]'", field="adapter") from None
        try:
            net = PeftModel.from_pretrained(net, adapter)
        except (OSError, ValueError) as exc:
            raise UserError(f"cannot load the adapter '{adapter}': {exc}", field="adapter") from None
        net = net.merge_and_unload()  # plain module: faster generation, same outputs
        if Path(adapter).is_dir() and any((Path(adapter) / f).exists() for f in ("tokenizer.json", "tokenizer_config.json")):
            tokenizer_source = adapter
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(
            tokenizer_source, revision=revision if tokenizer_source == model else None
        )
    except OSError as exc:
        raise UserError(f"cannot load the tokenizer of '{tokenizer_source}': {exc}", field=field) from None
    if tokenizer.pad_token_id is None:
        # padding only fills batches; the attention mask hides it, so eos serves
        tokenizer.pad_token = tokenizer.eos_token
    net.to(device)
    net.eval()
    return net, tokenizer
