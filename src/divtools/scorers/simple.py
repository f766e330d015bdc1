"""Scorers that need no model: a column of the input rows, and response length."""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

from divtools.api import Scorer
from divtools.errors import UserError

__all__ = ["DatasetScore", "Length"]


class DatasetScore(Scorer):
    """quality = ``float(row[column])``: a score the data already carries (upvotes, ratings)."""

    def __init__(self, params) -> None:
        self.column = params.column
        self.missing = params.missing

    def score(
        self,
        prompts: Sequence[str],
        responses: Sequence[str],
        rows: Sequence[Mapping[str, Any]] | None = None,
    ) -> np.ndarray:
        if rows is None:
            raise UserError(f"dataset_score reads the column '{self.column}' of the input rows, but none were given")
        out = np.empty(len(responses), dtype=np.float64)
        for i, row in enumerate(rows):
            value = row.get(self.column)
            number = _number(value)
            if number is None:
                if self.missing == "skip":
                    out[i] = math.nan
                    continue
                which = ", ".join(f"{k}={row[k]!r}" for k in ("system", "prompt_id", "id") if k in row)
                raise UserError(
                    f"a row ({which or f'number {i + 1}'}) has no number in column '{self.column}' "
                    f"(got {value!r}); fix the data, pick another column, or set missing: skip",
                    field="dataset_score",
                )
            out[i] = number
        return out


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        try:
            return float(value) if math.isfinite(value) else None
        except OverflowError:  # an integer too large for a float (10**400) is no usable score
            return None
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


class Length(Scorer):
    """quality = number of whitespace-separated words (or characters) of the response."""

    def __init__(self, params) -> None:
        self.unit = params.unit

    def score(
        self,
        prompts: Sequence[str],
        responses: Sequence[str],
        rows: Sequence[Mapping[str, Any]] | None = None,
    ) -> np.ndarray:
        if self.unit == "words":
            return np.array([len(r.split()) for r in responses], dtype=np.float64)
        return np.array([len(r) for r in responses], dtype=np.float64)
