"""Rows -> groups: the column mapping, score parsing and prompt ids every source shares.

:class:`RowGrouper` turns ``(row_number, mapping)`` pairs into :class:`~divtools.api.Group`
objects in first-appearance order. A bad row raises a :class:`~divtools.errors.UserError` naming
file, row and field, or (``on_bad_row: drop``) is counted in ``dropped`` by reason.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter
from typing import Any, Iterable, Mapping

from divtools import input_limits
from divtools.api import Group, Response
from divtools.errors import UserError

__all__ = ["BadRow", "NUMBER", "RowGrouper", "parse_score", "prompt_id_for", "prompt_problem"]

#: a number as JSON or YAML 1.2 (core schema) spell it. Python's float() also takes "1_000",
#: "١٢" (Arabic-Indic digits), "infinity" and "nan", which no data file means as a score.
NUMBER = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")


def prompt_problem(prompt: str) -> str | None:
    """Why a prompt text cannot be used, or None: the one rule for prepare's sources and for
    evaluate's generations, gold and prompts files (an empty prompt gives every empty-prompt
    row the same id and nothing to generate from)."""
    if not prompt.strip():
        return "prompt is empty or null"
    return None


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
    """A finite float from a JSON number or a string spelling one as JSON/YAML do
    (:data:`NUMBER`, surrounding spaces allowed); :class:`BadRow` otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise BadRow("missing_score", field, "score is missing")
    if isinstance(value, bool):
        raise BadRow("bad_score", field, f"score {value!r} is not a number")
    if isinstance(value, (int, float)):
        try:
            out = float(value)
        except OverflowError:  # an integer such as 10**400: no float holds it
            raise BadRow("bad_score", field, f"score {str(value)[:20]}... ({len(str(value))} digits) is too large "
                                             "for a number (the largest is about 1.8e308)") from None
    elif isinstance(value, str):
        try:
            out = float(value.strip())
        except ValueError:
            raise BadRow("bad_score", field, f"score {value[:40]!r} is not a number") from None
        if math.isfinite(out) and not NUMBER.fullmatch(value.strip()):
            raise BadRow("bad_score", field, f"score {value[:40]!r} is not a number as JSON or YAML write one "
                                             "(digits, optional sign, point and exponent: e.g. 1000, -2.5, 1e3)")
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
            value = input_limits.loads(value)
        except json.JSONDecodeError:
            raise BadRow("bad_list", field, "expected a list (a JSON array in CSV cells)") from None
        except (input_limits.DuplicateKey, input_limits.InputTooComplex) as exc:
            raise BadRow("bad_list", field, f"refused: {exc}") from None
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
        problem = prompt_problem(prompt)
        if problem:
            raise BadRow("missing_prompt", c.prompt, problem)
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
