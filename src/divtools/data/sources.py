"""Sources: files and Hugging Face datasets -> groups of scored responses per prompt.

Every reader yields ``(row_number, mapping)``; :class:`RowGrouper` turns rows into
:class:`~divtools.api.Group` objects in first-appearance order. Bad rows raise a
:class:`~divtools.errors.UserError` naming file, row and field, or (``on_bad_row: drop``) are
counted in :attr:`Source.dropped` by reason.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from divtools.api import Group, Response, Source
from divtools.errors import UserError
from divtools.jsonl import read_jsonl

__all__ = [
    "CsvSource",
    "HfDatasetSource",
    "JsonlSource",
    "ParquetSource",
    "RowGrouper",
    "WritingPromptsSource",
    "parse_score",
    "prompt_id_for",
    "read_csv_rows",
    "read_jsonl_rows",
    "read_parquet_rows",
    "writingprompts_prompt",
]


def prompt_id_for(prompt: str) -> str:
    """Stable id of a prompt text: ``p`` + the first 16 hex digits of its SHA-1."""
    return "p" + hashlib.sha1(prompt.encode("utf-8")).hexdigest()[:16]


class BadRow(Exception):
    """A row that cannot be used; ``reason`` is the drop-report key."""

    def __init__(self, reason: str, field: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.field = field
        self.message = message


def parse_score(value: Any, field: str) -> float:
    """A finite float from a JSON number or a numeric string; :class:`BadRow` otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise BadRow("missing_score", field, "score is missing")
    if isinstance(value, bool):
        raise BadRow("bad_score", field, f"score {value!r} is not a number")
    if isinstance(value, (int, float)):
        out = float(value)
    elif isinstance(value, str):
        try:
            out = float(value.strip())
        except ValueError:
            raise BadRow("bad_score", field, f"score {value[:40]!r} is not a number") from None
    else:
        try:  # numpy scalars from parquet / datasets
            out = float(value)
        except (TypeError, ValueError):
            raise BadRow("bad_score", field, f"score of type {type(value).__name__} is not a number") from None
    if not math.isfinite(out):
        raise BadRow("bad_score", field, f"score {value!r} is not a finite number")
    return out


def _text(value: Any, field: str, *, what: str) -> str:
    if value is None:
        return ""  # counted later by cleaning as an empty response
    if not isinstance(value, str):
        raise BadRow(f"bad_{what}", field, f"{what} must be text, got {type(value).__name__}")
    try:  # JSON may carry lone surrogates ("\ud800"): valid JSON, but no UTF-8 file can hold them
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadRow(f"bad_{what}", field, f"{what} holds an invalid character at position {exc.start} "
                                          "(a lone UTF-16 surrogate)") from None
    return value


def _as_list(value: Any, field: str) -> list[Any]:
    if isinstance(value, str):
        try:  # CSV cells hold JSON arrays in the grouped layout
            value = json.loads(value)
        except json.JSONDecodeError:
            raise BadRow("bad_list", field, "expected a list (a JSON array in CSV cells)") from None
    if hasattr(value, "tolist"):
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        raise BadRow("bad_list", field, f"expected a list, got {type(value).__name__}")
    return list(value)


class RowGrouper:
    """Collects rows into groups (first-appearance order) under a column mapping and layout."""

    def __init__(self, columns: Any, layout: str, on_bad_row: str, file: str, unit: str = "row") -> None:
        self.unit = unit  # "line" for text files (the number is the file's line), "row" otherwise
        self.columns = columns
        self.layout = layout
        self.on_bad_row = on_bad_row
        self.file = file
        self.dropped: Counter[str] = Counter()
        self._groups: dict[str, Group] = {}
        self._ids: set[str] = set()  # explicit response ids seen: a repeat would make pair ids ambiguous
        self.rows = 0

    def check_columns(self, present: Iterable[str]) -> None:
        """A missing mapped column is a user error, listing the columns that exist."""
        present = list(present)
        c = self.columns
        for name in ("prompt", "response", "score", "prompt_id", "response_id", "system"):
            column = getattr(c, name)
            if column is not None and column not in present:
                raise UserError(
                    f"column '{column}' (columns.{name}) not found; the data has: "
                    f"{', '.join(map(str, present)) or 'no columns'}. Set source.columns.{name} to "
                    "the right column" + (" or null" if name == "score" else ""),
                    file=self.file,
                    field=f"source.columns.{name}",
                )

    def add(self, row_number: int, row: Mapping[str, Any]) -> None:
        self.rows += 1
        try:
            self._add(row)
        except BadRow as bad:
            if self.on_bad_row == "drop":
                self.dropped[bad.reason] += 1
                return
            raise UserError(
                f"{self.unit} {row_number}: {bad.message} (set source.on_bad_row: drop to skip such rows)",
                file=self.file,
                field=bad.field,
            ) from None

    def _get(self, row: Mapping[str, Any], column: str) -> Any:
        if column not in row:
            raise BadRow("missing_field", column, f"field '{column}' is missing")
        return row[column]

    def _add(self, row: Mapping[str, Any]) -> None:
        c = self.columns
        prompt = _text(self._get(row, c.prompt), c.prompt, what="prompt")
        if not prompt.strip():
            raise BadRow("missing_prompt", c.prompt, "prompt is empty or null")
        pid_raw = self._get(row, c.prompt_id) if c.prompt_id else None
        prompt_id = str(pid_raw) if pid_raw is not None else prompt_id_for(prompt)
        system = _text(self._get(row, c.system), c.system, what="system") if c.system else None
        if self.layout == "grouped":
            texts = _as_list(self._get(row, c.response), c.response)
            scores = _as_list(self._get(row, c.score), c.score) if c.score else [None] * len(texts)
            ids = _as_list(self._get(row, c.response_id), c.response_id) if c.response_id else [None] * len(texts)
            if not (len(texts) == len(scores) == len(ids)):
                raise BadRow(
                    "length_mismatch", c.score or c.response_id or c.response,
                    f"{len(texts)} responses but {len(scores)} scores / {len(ids)} ids",
                )
            items = [
                (_text(t, c.response, what="response"), parse_score(s, c.score) if c.score else None, i)
                for t, s, i in zip(texts, scores, ids)
            ]
        else:
            text = _text(self._get(row, c.response), c.response, what="response")
            score = parse_score(self._get(row, c.score), c.score) if c.score else None
            rid = self._get(row, c.response_id) if c.response_id else None
            items = [(text, score, rid)]
        explicit = [str(rid) for _, _, rid in items if rid is not None]
        repeated = sorted({i for i in explicit if i in self._ids or explicit.count(i) > 1})
        if repeated:
            raise BadRow("duplicate_id", c.response_id or c.response,
                         f"response id {repeated[0]!r} appears twice; response ids must be unique")
        self._ids.update(explicit)
        group = self._groups.get(prompt_id)
        if group is None:
            group = self._groups[prompt_id] = Group(prompt_id=prompt_id, prompt=prompt, responses=[], system=system)
        for text, score, rid in items:
            n = len(group.responses)
            group.responses.append(
                Response(id=str(rid) if rid is not None else f"{prompt_id}/{n}", text=text, score=score)
            )

    def groups(self) -> list[Group]:
        if self.rows == 0:
            raise UserError("the data has no rows; nothing to prepare", file=self.file)
        return list(self._groups.values())


# ---------------------------------------------------------------- readers
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
        return {"kind": self.params.kind, "path": str(p), "sha256": _file_sha256(p)}

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


def _file_sha256(path: Path) -> str:
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


# ---------------------------------------------------------------- Hugging Face datasets
def _load_hf(params, name: str, config: str | None = None):
    """``datasets.load_dataset`` with the pinned revision, split and data files."""
    try:
        import datasets
    except ImportError:  # pragma: no cover - datasets ships with divtools[train]
        raise UserError("loading Hugging Face datasets needs 'datasets': pip install 'divtools[train]'") from None
    kwargs: dict[str, Any] = {"split": params.split}
    if params.revision is not None:
        kwargs["revision"] = params.revision
    if params.data_files is not None:
        kwargs["data_files"] = params.data_files
    if params.cache_dir is not None:
        kwargs["cache_dir"] = str(params.cache_dir)
    try:
        saved = _load_saved(datasets, name, params.split)
        if saved is not None:
            return saved
        return datasets.load_dataset(name, config, **kwargs)
    except FileNotFoundError as exc:
        raise UserError(f"dataset not found: {exc}", file=name, field="source") from None
    except ValueError as exc:  # bad split names, unknown configs, empty data files
        raise UserError(f"could not load the dataset: {exc}", file=name, field="source") from None
    except Exception as exc:
        # offline hub misses and revision errors come as library-specific exceptions
        cls = type(exc).__name__
        if "Connection" in cls or "Offline" in cls or "Revision" in cls or "NotFound" in cls or "Hub" in cls:
            raise UserError(f"could not load the dataset ({cls}): {exc}", file=name, field="source") from None
        raise


def _load_saved(datasets: Any, name: str, split: str):
    """A folder written by ``Dataset.save_to_disk`` / ``DatasetDict.save_to_disk`` (Arrow files
    only, no code), read with ``load_from_disk``: ``load_dataset`` refuses such folders. None for
    anything else."""
    folder = Path(name)
    if not (folder.is_dir() and ((folder / "state.json").is_file() or (folder / "dataset_dict.json").is_file())):
        return None
    ds = datasets.load_from_disk(str(folder))
    if isinstance(ds, datasets.DatasetDict):
        if split not in ds:
            raise UserError(f"no split '{split}' in this saved dataset; it has: {', '.join(ds)}", file=name, field="split")
        return ds[split]
    return ds


def _dataset_rows(ds) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, row in enumerate(ds, start=1):
        yield number, row


class HfDatasetSource(Source):
    """Any dataset ``datasets.load_dataset`` can read, under a column mapping."""

    def __init__(self, params) -> None:
        self.params = params
        self.dropped: Counter[str] = Counter()

    def identity(self) -> dict[str, Any]:
        p = self.params
        return {"kind": p.kind, "name": p.name, "config": p.config, "revision": p.revision, "split": p.split,
                "data_files": p.data_files}

    def load(self) -> list[Group]:
        p = self.params
        ds = _load_hf(p, p.name, p.config)
        grouper = RowGrouper(p.columns, p.layout, p.on_bad_row, p.name)
        grouper.check_columns(ds.column_names)
        for number, row in _dataset_rows(ds):
            grouper.add(number, row)
        self.dropped = grouper.dropped
        return grouper.groups()


# ---------------------------------------------------------------- WritingPrompts
WRITINGPROMPTS_COLUMNS = ("post_title", "post_text", "comment_texts", "comment_scores")


def writingprompts_prompt(title: str, text: str, *, strip_title_tag: bool = True) -> str:
    """The paper's prompt: title (first leading bracket tag removed), newline, post text.

    Without post text the prompt is the title alone (no trailing newline)."""
    from divtools.data.cleaning import strip_title_tag as strip

    title = strip(title) if strip_title_tag else title.strip()
    text = (text or "").strip()
    return f"{title}\n{text}" if text else title


class WritingPromptsSource(Source):
    """``euclaise/WritingPrompts_preferences``: one row per post, comments and their upvotes as lists.

    An optional ``comment_ids`` list column gives the response ids; otherwise they are
    ``<prompt_id>/<n>``. The prompt id is always derived from the prompt text."""

    def __init__(self, params) -> None:
        self.params = params
        self.dropped: Counter[str] = Counter()

    def identity(self) -> dict[str, Any]:
        p = self.params
        if p.path is not None:
            return {"kind": p.kind, "path": str(p.path), "sha256": _file_sha256(p.path)}
        return {"kind": p.kind, "name": p.name, "revision": p.revision, "split": p.split, "data_files": p.data_files}

    def _rows(self) -> tuple[list[str], Iterator[tuple[int, dict[str, Any]]], str]:
        p = self.params
        if p.path is not None:
            name = str(p.path)
            suffix = p.path.suffix.lower()
            if suffix == ".parquet":
                columns, rows = read_parquet_rows(p.path)
                return columns, rows, name
            if suffix in (".jsonl", ".json"):
                rows_list = read_jsonl_rows(p.path)
                first = next(rows_list, None)
                if first is None:
                    raise UserError("the data has no rows; nothing to prepare", file=name)

                def chained() -> Iterator[tuple[int, dict[str, Any]]]:
                    yield first
                    yield from rows_list

                return list(first[1].keys()), chained(), name
            raise UserError("expected a .jsonl or .parquet file", file=name, field="source.path")
        ds = _load_hf(p, p.name)
        return list(ds.column_names), _dataset_rows(ds), p.name

    def load(self) -> list[Group]:
        from divtools.spec.base import SpecModel

        class _Columns(SpecModel):  # the fixed schema, checked like a user mapping
            prompt: str = "post_title"
            response: str = "comment_texts"
            score: str = "comment_scores"
            prompt_id: None = None
            response_id: str | None = None
            system: None = None

        columns, rows, name = self._rows()
        unit = "line" if self.params.path is not None and self.params.path.suffix.lower() != ".parquet" else "row"
        # optional comment ids (a list per post) become response ids when the data has them
        mapping = _Columns(response_id="comment_ids" if "comment_ids" in columns else None)
        grouper = RowGrouper(mapping, "grouped", self.params.on_bad_row, name, unit)
        grouper.check_columns(columns)
        if "post_text" not in columns:
            raise UserError(f"column 'post_text' not found; the data has: {', '.join(columns)}", file=name,
                            field="source")
        strip = self.params.strip_title_tag
        for number, row in rows:
            title = row.get("post_title") or ""
            text = row.get("post_text") or ""
            if not isinstance(title, str) or not isinstance(text, str):
                grouper.rows += 1
                if self.params.on_bad_row == "drop":
                    grouper.dropped["bad_prompt"] += 1
                    continue
                raise UserError(f"{unit} {number}: post_title and post_text must be text", file=name, field="post_title")
            row = dict(row)
            row["post_title"] = writingprompts_prompt(title, text, strip_title_tag=strip)
            grouper.add(number, row)
        self.dropped = grouper.dropped
        return grouper.groups()
