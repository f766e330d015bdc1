"""The preference data of ``run: train``: a prepared file or a Hugging Face dataset (``data:``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import Discriminator, Field, Tag, ValidationInfo, field_validator

from divtools.spec import trl_names
from divtools.spec.base import InputPath, SpecModel

__all__ = ["DataSpec", "HfDataSpec", "PairsSource"]


def _dataset_ref(value: str, info: ValidationInfo) -> str:
    """A local folder (relative paths resolve against the spec's folder) or a hub id, as written."""
    value = value.strip()
    if not value:
        raise ValueError("give a dataset: a Hugging Face hub id or a local folder")
    expanded = os.path.expanduser(value)
    base = (info.context or {}).get("base_dir")
    if os.path.isabs(expanded) or base is None:
        return expanded
    candidate = Path(base) / expanded
    if value.startswith(("./", "../", "~")) or candidate.exists():
        return os.path.normpath(candidate)
    return expanded


class HfDataSpec(SpecModel):
    """Preference pairs read straight from a Hugging Face dataset: a hub id, a folder written by
    ``Dataset.save_to_disk`` / ``DatasetDict.save_to_disk``, or a folder of data files
    (``datasets.load_dataset`` / ``load_from_disk``). Rows need text columns prompt, chosen and
    rejected (rename others with ``columns``); weighted objectives also need their weight column."""

    hf_dataset: str
    """Hub id (e.g. trl-lib/ultrafeedback_binarized) or local folder (relative to the spec file)."""
    config: str | None = None
    """Dataset configuration (subset) name."""
    split: str = "train"
    """Split to read."""
    revision: str | None = None
    """Hub revision (branch, tag or commit) to pin."""
    columns: dict[str, str] = Field(default_factory=dict)
    """divtools column -> the dataset's column, e.g. {prompt: question, chosen: response_j, rejected: response_k}."""

    @field_validator("hf_dataset")
    @classmethod
    def _where(cls, v: str, info: ValidationInfo) -> str:
        return _dataset_ref(v, info)

    # the attributes divtools.data.sources' Hugging Face loader reads
    data_files: ClassVar[None] = None
    cache_dir: ClassVar[None] = None

    def __str__(self) -> str:  # how messages name it, like a file path
        return f"{self.hf_dataset} (split {self.split})"


def _data_source_kind(value: Any) -> str:
    return "<hf_dataset>" if isinstance(value, (dict, HfDataSpec)) else "<file>"


#: prepared pairs: a JSONL/Parquet file, or {hf_dataset: ...}. The tags are written <...> so that
#: messages leave them out of the field's location (divtools.spec.loading.format_errors).
PairsSource = Annotated[
    Union[Annotated[InputPath, Tag("<file>")], Annotated[HfDataSpec, Tag("<hf_dataset>")]],
    Discriminator(_data_source_kind),
]


class DataSpec(SpecModel):
    """The preference data: ``run: prepare`` output (JSONL or Parquet), or a Hugging Face dataset."""

    familiar_names: ClassVar[dict[str, str]] = trl_names.DATA

    train: PairsSource
    """Training pairs: a prepared file (prompt, chosen, rejected, weight, chosen_score, rejected_score,
    ids, pair_builder) or a Hugging Face dataset: {hf_dataset: NAME or FOLDER, split: train}."""
    eval: PairsSource | None = None
    """Optional held-out pairs (a file or {hf_dataset: ..., split: test}), evaluated every ``args.eval_steps``."""
    chat_template: Literal["auto", "always", "never"] = "auto"
    """Wrap prompt/response as chat messages: auto = when the tokenizer has a chat template."""
    limit: int | None = Field(None, ge=1)
    """Use only the first N rows (quick trials)."""
