"""Built-in sources: JSONL, CSV and Parquet files, Hugging Face datasets, and the paper's
``euclaise/WritingPrompts_preferences`` schema. Implementations live in
:mod:`divtools.data.sources` (one module per kind of source); this module imports pydantic only."""

from __future__ import annotations

from typing import Literal, Union

from pydantic import Field

from divtools.hookspecs import hookimpl
from divtools.spec.base import ComponentParams, InputPath, SpecModel, SpecPath

__all__ = [
    "ColumnMap",
    "CsvSourceParams",
    "HfDatasetSourceParams",
    "JsonlSourceParams",
    "ParquetSourceParams",
    "WritingPromptsSourceParams",
]


class ColumnMap(SpecModel):
    """Which column holds what. In the ``long`` layout a row is one response; in the ``grouped``
    layout a row is one prompt whose ``response`` (and ``score``, ``response_id``) columns hold lists."""

    prompt: str = "prompt"
    """Column with the prompt text."""
    response: str = "response"
    """Column with the response text (a list of texts in the grouped layout)."""
    score: str | None = "score"
    """Column with the response's quality score, e.g. upvotes (a list in the grouped layout);
    null when the data has no scores (then only score-free pair builders work)."""
    prompt_id: str | None = None
    """Column with a prompt id; rows with the same id form one group. Default: rows with the same
    prompt text form one group, and the id is ``p`` + the first 16 hex digits of its SHA-1."""
    response_id: str | None = None
    """Column with a response id (a list in the grouped layout). Default: ``<prompt_id>/<n>``, n
    counting the prompt's responses in file order from 0."""
    system: str | None = None
    """Column with a system message for the prompt (optional)."""


class _TabularParams(ComponentParams):
    columns: ColumnMap = Field(default_factory=ColumnMap)
    """Column mapping."""
    layout: Literal["long", "grouped"] = "long"
    """``long``: one row per response; ``grouped``: one row per prompt with list columns."""
    on_bad_row: Literal["error", "drop"] = "error"
    """A row with a missing field, a non-numeric or missing score or a non-text response: stop
    with an error naming file, row and field (``error``), or drop it and count it in the
    summary under ``source_dropped`` (``drop``)."""


class JsonlSourceParams(_TabularParams):
    """A JSON Lines file (UTF-8): one JSON object per line."""

    kind: Literal["jsonl"] = "jsonl"
    path: InputPath
    """The file."""


class CsvSourceParams(_TabularParams):
    """A CSV file (UTF-8) with a header row. In the grouped layout list cells hold JSON arrays."""

    kind: Literal["csv"] = "csv"
    path: InputPath
    """The file."""
    delimiter: str = Field(",", min_length=1, max_length=1)
    """Field separator."""


class ParquetSourceParams(_TabularParams):
    """A Parquet file (needs pyarrow: ``pip install divtools[all]``)."""

    kind: Literal["parquet"] = "parquet"
    path: InputPath
    """The file."""


DataFiles = Union[str, list[str], dict[str, Union[str, list[str]]]]


class _HubParams(ComponentParams):
    revision: str | None = None
    """Git revision (commit sha, tag or branch) of the dataset repository. Pin it: some datasets,
    WritingPrompts_preferences among them, have revisions of different sizes."""
    split: str = "train"
    """Split to load (``datasets`` split syntax, e.g. ``train[:1000]``)."""
    data_files: DataFiles | None = None
    """``data_files`` passed to ``datasets.load_dataset`` (a file, a list, or split -> files)."""
    cache_dir: SpecPath | None = None
    """``datasets`` cache folder (default: the ``datasets`` default)."""


class HfDatasetSourceParams(_HubParams, _TabularParams):
    """A Hugging Face dataset loaded with ``datasets.load_dataset`` (hub id, local folder, or a
    packaged builder such as ``json``/``parquet``/``csv`` with ``data_files``)."""

    kind: Literal["hf_dataset"] = "hf_dataset"
    name: str
    """Dataset id on the hub, a local folder, or a builder name (json, csv, parquet)."""
    config: str | None = None
    """Dataset configuration (subset) name."""


class WritingPromptsSourceParams(_HubParams):
    """The paper's data: Reddit r/WritingPrompts as in ``euclaise/WritingPrompts_preferences``
    (columns ``post_title``, ``post_text``, ``comment_texts``, ``comment_scores``). Prompt =
    title without its first leading bracket tag, a newline, the post text (docs/method.md §2)."""

    kind: Literal["writingprompts"] = "writingprompts"
    name: str = "euclaise/WritingPrompts_preferences"
    """Dataset id or local folder; ignored when ``path`` is given."""
    path: InputPath | None = None
    """A local JSONL or Parquet file with the same columns, instead of ``name``."""
    strip_title_tag: bool = True
    """Remove the first leading bracket tag (``[WP]``) from the title, as the paper does."""
    on_bad_row: Literal["error", "drop"] = "error"
    """A row whose texts and scores have different lengths or hold a non-numeric score: stop
    with an error naming the row (``error``) or drop it and count it (``drop``)."""


@hookimpl
def divtools_register_sources(register) -> None:
    register("jsonl", params=JsonlSourceParams, impl="divtools.data.sources.files:JsonlSource")
    register("csv", params=CsvSourceParams, impl="divtools.data.sources.files:CsvSource")
    register("parquet", params=ParquetSourceParams, impl="divtools.data.sources.files:ParquetSource")
    register("hf_dataset", params=HfDatasetSourceParams, impl="divtools.data.sources.hf:HfDatasetSource")
    register("writingprompts", params=WritingPromptsSourceParams, impl="divtools.data.sources.writingprompts:WritingPromptsSource")
