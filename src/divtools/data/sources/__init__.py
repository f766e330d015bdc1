"""Sources: files and Hugging Face datasets -> groups of scored responses per prompt.

One module per concept: :mod:`.rows` (column mapping, score parsing, prompt ids: rows -> groups),
:mod:`.files` (JSONL, CSV, Parquet), :mod:`.hf` (Hugging Face datasets), :mod:`.writingprompts`
(the paper's dataset). Every reader yields ``(row_number, mapping)``; bad rows raise a
:class:`~divtools.errors.UserError` naming file, row and field, or (``on_bad_row: drop``) are
counted in ``Source.dropped`` by reason. The names below stay importable from here.
"""

from __future__ import annotations

from divtools.data.sources.files import (
    CsvSource,
    JsonlSource,
    ParquetSource,
    file_sha256,
    read_csv_rows,
    read_jsonl_rows,
    read_parquet_rows,
)
from divtools.data.sources.hf import HfDatasetSource, dataset_rows, load_hf
from divtools.data.sources.rows import BadRow, RowGrouper, parse_score, prompt_id_for
from divtools.data.sources.writingprompts import WRITINGPROMPTS_COLUMNS, WritingPromptsSource, writingprompts_prompt

#: the former private names, still used by callers outside this package
_load_hf = load_hf
_file_sha256 = file_sha256
_dataset_rows = dataset_rows

__all__ = [
    "BadRow",
    "CsvSource",
    "HfDatasetSource",
    "JsonlSource",
    "ParquetSource",
    "RowGrouper",
    "WRITINGPROMPTS_COLUMNS",
    "WritingPromptsSource",
    "dataset_rows",
    "file_sha256",
    "load_hf",
    "parse_score",
    "prompt_id_for",
    "read_csv_rows",
    "read_jsonl_rows",
    "read_parquet_rows",
    "writingprompts_prompt",
]
