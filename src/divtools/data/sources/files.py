"""File sources (JSONL, CSV, Parquet): readers that yield ``(row number, mapping)`` pairs and
the sources that group them. Files are identified by their SHA-256."""

from __future__ import annotations

import csv
import hashlib
import io
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

from divtools.api import Group, Source
from divtools.data.sources.rows import RowGrouper
from divtools.errors import UserError
from divtools.jsonl import read_jsonl

__all__ = ["CsvSource", "JsonlSource", "ParquetSource", "file_sha256", "read_csv_rows", "read_jsonl_rows",
           "read_parquet_rows"]


#: the shared JSONL reader (kept under this name for the source modules and plugins using it)
read_jsonl_rows = read_jsonl


def _decode_utf8(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UserError(f"line {line}: not valid UTF-8 (byte {exc.start} of the file); save the file as UTF-8", file=name) from None


def read_csv_rows(path: Path, delimiter: str = ",") -> tuple[list[str], Iterator[tuple[int, dict[str, Any]]]]:
    """Header and ``(line number, row)`` pairs. Fields may be any size (a 1 MB response is fine)."""
    name = str(path)
    text = _decode_utf8(path.read_bytes(), name)
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise UserError("the file is empty: expected a header row and data rows", file=name) from None
    except csv.Error as exc:
        raise UserError(f"line 1: CSV error: {exc}", file=name) from None

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise UserError(f"line {reader.line_num}: CSV error: {exc}", file=name) from None
            if not values:
                continue
            if len(values) != len(header):
                # a quote left open swallows the following lines into one field
                hint = " (a quote left open?)" if any("\n" in v for v in values) else ""
                raise UserError(
                    f"line {reader.line_num}: {len(values)} fields, the header has {len(header)}{hint}", file=name
                )
            yield reader.line_num, dict(zip(header, values))

    return header, rows()


def read_parquet_rows(path: Path) -> tuple[list[str], Iterator[tuple[int, dict[str, Any]]]]:
    """Column names and ``(row number from 1, row)`` pairs, read in record batches."""
    name = str(path)
    try:
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - pyarrow ships with divtools[all]
        raise UserError("reading Parquet needs pyarrow: pip install 'divtools[all]'", file=name) from None
    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid & co. for a file that is not Parquet
        raise UserError(f"not a readable Parquet file: {exc}", file=name) from None
    columns = list(pf.schema_arrow.names)

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        number = 0
        for batch in pf.iter_batches(batch_size=8192):
            for row in batch.to_pylist():
                number += 1
                yield number, row

    return columns, rows()


class _FileSource(Source):
    unit = "line"

    def __init__(self, params) -> None:
        self.params = params
        self.dropped: Counter[str] = Counter()

    def _rows(self) -> tuple[list[str] | None, Iterator[tuple[int, dict[str, Any]]]]:
        raise NotImplementedError

    def identity(self) -> dict[str, Any]:
        p = self.params.path
        return {"kind": self.params.kind, "path": str(p), "sha256": file_sha256(p)}

    def load(self) -> list[Group]:
        name = str(self.params.path)
        if self.params.path.is_dir():
            raise UserError("is a directory; expected a file", file=name, field="source.path")
        grouper = RowGrouper(self.params.columns, self.params.layout, self.params.on_bad_row, name, self.unit)
        header, rows = self._rows()
        if header is not None:
            grouper.check_columns(header)
        first = True
        for number, row in rows:
            if first and header is None:
                grouper.check_columns(row.keys())
            first = False
            grouper.add(number, row)
        groups = grouper.groups()
        self.dropped = grouper.dropped
        return groups


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class JsonlSource(_FileSource):
    """JSON Lines: one object per line; the first row's keys are checked against the mapping."""

    def _rows(self):
        return None, read_jsonl_rows(self.params.path)


class CsvSource(_FileSource):
    """CSV with a header row."""

    def _rows(self):
        return read_csv_rows(self.params.path, self.params.delimiter)


class ParquetSource(_FileSource):
    """Parquet via pyarrow."""

    unit = "row"

    def _rows(self):
        return read_parquet_rows(self.params.path)
