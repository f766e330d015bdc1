"""Familiar TRL / peft / transformers names, mapped to the divtools field that does the same.

A TRL user writes ``model_name_or_path``, ``dataset_name``, ``use_peft``, ``lora_alpha`` or
``torch_dtype`` (fields of TRL's ``ModelConfig`` and ``ScriptArguments``, peft's ``LoraConfig``,
``from_pretrained``'s kwargs) where divtools has its own field. "did you mean" by spelling would
point at an unrelated field (``use_peft`` -> ``use_cpu``); these tables say where the setting lives.

Each table maps a name to the pointer text, for one place a user may write it: the top level of a
train spec, a stage, a stage's ``args``, ``model``, ``lora`` or ``data``. :class:`SpecModel`
subclasses name their table in ``familiar_names``; :func:`divtools.spec.train.check_args` reads
:data:`ARGS`.
"""

from __future__ import annotations

__all__ = ["ARGS", "DATA", "LORA", "MODEL", "STAGE", "TOP", "pointer"]

_LORA = "lora on the stage: lora: {r: 16, alpha: 32, dropout: 0.05, target_modules: all-linear}"

#: names a TRL script (ModelConfig / ScriptArguments) takes, at the top level of a train spec
TOP: dict[str, str] = {
    "model_name_or_path": "model: NAME (or model: {path: NAME})",
    "model_revision": "model.revision",
    "revision": "model.revision",
    "torch_dtype": "model.dtype",
    "dtype": "model.dtype",
    "trust_remote_code": "model.trust_remote_code",
    "tokenizer_name_or_path": "model.tokenizer",
    "dataset_name": "data: {train: {hf_dataset: NAME, split: train}} (or a prepared file: data: {train: FILE})",
    "dataset_config": "data.train.config (with data.train: {hf_dataset: NAME})",
    "dataset_train_split": "data.train.split (with data.train: {hf_dataset: NAME})",
    "dataset_test_split": "data.eval: {hf_dataset: NAME, split: SPLIT}",
    "use_peft": _LORA,
    "lora_r": "stages[].lora.r",
    "lora_alpha": "stages[].lora.alpha",
    "lora_dropout": "stages[].lora.dropout",
    "lora_target_modules": "stages[].lora.target_modules",
    "output_dir": "output.dir (each stage writes to output.dir/<stage name>)",
    "beta": "stages[].objective.beta",
    "loss_type": "stages[].objective (kind: dpo, ddpo, orpo, ...)",
    "args": "stages[].args (each stage has its own TRL config fields)",
    "training_args": "stages[].args",
}

#: on a stage (next to name/kind/args)
STAGE: dict[str, str] = {
    "use_peft": "lora: {r: 16, alpha: 32}",
    "peft_config": "lora: {r: 16, alpha: 32}",
    "lora_r": "lora.r",
    "lora_alpha": "lora.alpha",
    "lora_dropout": "lora.dropout",
    "lora_target_modules": "lora.target_modules",
    "beta": "objective.beta",
    "loss_type": "objective (kind: dpo, ddpo, orpo, ...)",
    "model_name_or_path": "init (base, previous or a stage name), or the spec's top-level model",
    "ref_model": "reference (auto, model, adapter or precomputed)",
    "dataset_name": "data: {train: {hf_dataset: NAME}}",
    "training_args": "args",
    "config": "args",
}

#: inside a stage's args (TRL's ModelConfig / ScriptArguments are not config-class fields)
ARGS: dict[str, str] = {
    "model_name_or_path": "the spec's model (or the stage's init)",
    "model_revision": "model.revision",
    "torch_dtype": "model.dtype",
    "dtype": "model.dtype",
    "trust_remote_code": "model.trust_remote_code",
    "attn_implementation": "not settable in this version (transformers picks the default)",
    "use_peft": _LORA,
    "lora_r": "the stage's lora.r",
    "lora_alpha": "the stage's lora.alpha",
    "lora_dropout": "the stage's lora.dropout",
    "lora_target_modules": "the stage's lora.target_modules",
    "load_in_4bit": "not supported in this version (no quantised training)",
    "load_in_8bit": "not supported in this version (no quantised training)",
    "dataset_name": "data: {train: {hf_dataset: NAME}}",
    "dataset_train_split": "data.train.split",
    "dataset_test_split": "data.eval: {hf_dataset: NAME, split: SPLIT}",
}

#: inside model: {...}
MODEL: dict[str, str] = {
    "model_name_or_path": "path",
    "name_or_path": "path",
    "pretrained_model_name_or_path": "path",
    "model_revision": "revision",
    "torch_dtype": "dtype",
    "tokenizer_name_or_path": "tokenizer",
}

#: inside lora: {...} (peft's LoraConfig and TRL's ModelConfig spellings)
LORA: dict[str, str] = {
    "lora_r": "r",
    "lora_alpha": "alpha",
    "lora_dropout": "dropout",
    "lora_target_modules": "target_modules",
}

#: inside data: {...}
DATA: dict[str, str] = {
    "dataset_name": "train: {hf_dataset: NAME, split: train}",
    "name": "train: {hf_dataset: NAME, split: train}",
    "dataset_train_split": "train: {hf_dataset: NAME, split: SPLIT}",
    "dataset_test_split": "eval: {hf_dataset: NAME, split: SPLIT}",
    "max_samples": "limit",
}


def pointer(table: dict[str, str], key: str) -> str | None:
    """The hint for ``key`` ("" when the table does not know it), e.g.
    `` ('use_peft' as in TRL/peft: in divtools, lora on the stage: ...)``."""
    where = table.get(key)
    return f" ('{key}' as in TRL/peft: in divtools, {where})" if where else ""
