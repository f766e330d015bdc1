"""Load the weights a stage starts from: the base model or an earlier stage's checkpoint.

An earlier stage's folder holds either a full model (``config.json``) or a LoRA adapter
(``adapter_config.json``) over the base model, plus ``divtools-stage.json``.

The base model's reference goes through :func:`divtools.models.resolve.resolve_model_ref`, so a
``preset:<name>`` or a ``.gguf`` file loads from its float32 folder in the divtools cache. A
model loaded that way keeps the spec's reference as its ``_name_or_path``: an adapter trained on
it names ``preset:<name>`` (not a cache path) as its base, and loads wherever the preset does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from divtools.errors import UserError
from divtools.spec.train import LoraSpec, ModelSpec

__all__ = ["InitPoint", "load_causal_lm", "load_sequence_regressor", "load_tokenizer", "lora_config", "torch_dtype"]


@dataclass
class InitPoint:
    """Where a stage's weights come from. ``adapter`` is set when ``path`` holds a LoRA adapter;
    ``base_path`` is what ``from_pretrained`` loads for the base model (a preset or GGUF file
    resolved to its cache folder)."""

    path: str
    base: ModelSpec
    adapter: bool = False
    base_path: str = ""

    def __post_init__(self) -> None:
        if not self.base_path:
            self.base_path = self.base.path

    @classmethod
    def of(cls, base: ModelSpec, stage_dir: Path | None) -> "InitPoint":
        from divtools.models.resolve import resolve_model_ref

        base_path = resolve_model_ref(base.path)
        if stage_dir is None:
            return cls(base_path, base, False, base_path)
        if (stage_dir / "adapter_config.json").exists():
            return cls(str(stage_dir), base, True, base_path)
        return cls(str(stage_dir), base, False, base_path)

    @property
    def is_base(self) -> bool:
        return self.path == self.base_path


def _name_as_spec(model: Any, init: InitPoint) -> Any:
    """Let a model loaded from a resolved preset/GGUF folder carry the spec's reference (PEFT
    writes it into adapter_config.json as the adapter's base)."""
    if init.base_path != init.base.path:
        _rename(model, init.base.path)
    return model


def _rename(model: Any, name: str) -> None:
    # PEFT reads the instance attribute (``model.__dict__["name_or_path"]``), transformers the config's
    model.config._name_or_path = name
    model.name_or_path = name


def torch_dtype(name: str) -> Any:
    import torch

    return {"auto": "auto", "float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def _kwargs(spec: ModelSpec, *, full_path: bool) -> dict[str, Any]:
    kw: dict[str, Any] = {"dtype": torch_dtype(spec.dtype), "trust_remote_code": spec.trust_remote_code}
    if spec.revision and not full_path:
        kw["revision"] = spec.revision
    return kw


def load_tokenizer(init: InitPoint) -> Any:
    from transformers import AutoTokenizer

    from divtools.models.resolve import resolve_model_ref

    source = init.path
    if init.is_base and init.base.tokenizer:
        source = resolve_model_ref(init.base.tokenizer, field="model.tokenizer")
    kw = {"trust_remote_code": init.base.trust_remote_code}
    if init.base.revision and source == init.base.path:
        kw["revision"] = init.base.revision
    try:
        return AutoTokenizer.from_pretrained(source, **kw)
    except OSError as exc:
        raise UserError(f"cannot load a tokenizer from '{source}': {exc}", field="model") from None


def _from_config(spec: ModelSpec, auto_class: Any, **extra: Any) -> Any:
    """Random weights from ``config.json`` in ``spec.path``, the same for every call (``init_seed``);
    the global random state is left untouched."""
    import torch
    from transformers import AutoConfig

    from divtools.models.resolve import resolve_model_ref

    config = AutoConfig.from_pretrained(resolve_model_ref(spec.path), trust_remote_code=spec.trust_remote_code, **extra)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(spec.init_seed)
        return auto_class.from_config(config, trust_remote_code=spec.trust_remote_code)


def load_causal_lm(init: InitPoint, *, trainable_adapter: bool) -> Any:
    """The init model. An adapter is kept (trainable) when ``trainable_adapter``, else merged."""
    from transformers import AutoModelForCausalLM

    try:
        if init.is_base and init.base.from_config:
            return _from_config(init.base, AutoModelForCausalLM)
        if not init.adapter:
            model = AutoModelForCausalLM.from_pretrained(init.path, **_kwargs(init.base, full_path=not init.is_base))
            return _name_as_spec(model, init) if init.is_base else model
        from peft import PeftModel

        base = _name_as_spec(
            AutoModelForCausalLM.from_pretrained(init.base_path, **_kwargs(init.base, full_path=False)), init
        )
        model = PeftModel.from_pretrained(base, init.path, is_trainable=trainable_adapter)
        if trainable_adapter:
            return model
        merged = model.merge_and_unload()
        # PeftModel froze the base weights; merged, they are the full model a stage may train
        merged.requires_grad_(True)
        merged.config._name_or_path = init.path
        return merged
    except OSError as exc:
        raise UserError(f"cannot load the model from '{init.path}': {exc}", field="model") from None


def load_sequence_regressor(spec: ModelSpec, init: InitPoint | None, tokenizer: Any) -> Any:
    """A one-output sequence-classification model (reward model) from ``spec`` or an earlier stage."""
    from transformers import AutoModelForSequenceClassification

    from divtools.models.resolve import resolve_model_ref

    if init is not None and init.adapter:
        raise UserError(
            "a reward model cannot start from a LoRA stage; use init: base or a full-weight stage",
            field="stages.init",
        )
    base_path = resolve_model_ref(spec.path)
    path = init.path if init is not None else base_path
    try:
        if path == base_path and spec.from_config:
            model = _from_config(spec, AutoModelForSequenceClassification, num_labels=1)
        else:
            model = AutoModelForSequenceClassification.from_pretrained(
                path, num_labels=1, **_kwargs(spec, full_path=path != spec.path)
            )
            if path == base_path and base_path != spec.path:
                _rename(model, spec.path)
    except OSError as exc:
        raise UserError(f"cannot load the reward model base from '{path}': {exc}", field="model") from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.config.pad_token_id = tokenizer.pad_token_id
    return model


def lora_config(spec: LoraSpec | None, *, task_type: str = "CAUSAL_LM") -> Any:
    if spec is None:
        return None
    from peft import LoraConfig

    return LoraConfig(
        r=spec.r,
        lora_alpha=spec.alpha,
        lora_dropout=spec.dropout,
        target_modules=spec.target_modules,
        task_type=task_type,
    )
