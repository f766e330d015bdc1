"""The paper's source, ``euclaise/WritingPrompts_preferences``: one row per post, its comments
and their upvotes as lists (a local JSONL/Parquet copy or the hub dataset)."""

from __future__ import annotations

from collections import Counter
from typing import Any, Iterator

from divtools.api import Group, Source
from divtools.data.sources.files import file_sha256, read_jsonl_rows, read_parquet_rows
from divtools.data.sources.hf import dataset_rows, load_hf
from divtools.data.sources.rows import RowGrouper
from divtools.errors import UserError

__all__ = ["WRITINGPROMPTS_COLUMNS", "WritingPromptsSource", "writingprompts_prompt"]


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
            return {"kind": p.kind, "path": str(p.path), "sha256": file_sha256(p.path)}
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
        ds = load_hf(p, p.name)
        return list(ds.column_names), dataset_rows(ds), p.name

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
