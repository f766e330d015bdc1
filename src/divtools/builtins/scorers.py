"""Built-in scorers: quality of (prompt, response), higher is better."""

from __future__ import annotations

from typing import Literal

from divtools.hookspecs import hookimpl
from divtools.spec.base import ScorerParams


class DatasetScoreParams(ScorerParams):
    """A numeric column of the input rows (e.g. upvotes of human responses) used as quality."""

    kind: Literal["dataset_score"] = "dataset_score"
    column: str = "score"
    """The column of the generations/gold rows that holds the score."""
    missing: Literal["error", "skip"] = "error"
    """A row without a number in the column: stop with an error naming it, or leave the sample
    out (NaN, not averaged)."""


class LengthParams(ScorerParams):
    """Length of the response, so diversity can be read against length (not a quality judgement)."""

    kind: Literal["length"] = "length"
    unit: Literal["words", "characters"] = "words"
    """Whitespace-separated words, or Unicode characters."""


@hookimpl
def divtools_register_scorers(register) -> None:
    register("dataset_score", params=DatasetScoreParams, impl="divtools.scorers.simple:DatasetScore")
    register("length", params=LengthParams, impl="divtools.scorers.simple:Length")
