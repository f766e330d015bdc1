"""divtools-example: a complete third-party divtools plugin in one file.

It registers one metric (``length_spread``) and one scorer (``type_token_ratio``) through the
same hooks the built-ins use; ``pyproject.toml`` declares it under the ``divtools`` entry-point
group.
"""

from __future__ import annotations

from typing import Literal, Sequence

import numpy as np

import divtools
from divtools import GroupResult, MetricParams, ScorerParams

__all__ = ["LengthSpread", "TypeTokenRatio"]


class LengthSpreadParams(MetricParams):
    """Spread of response lengths in words (coefficient of variation)."""

    kind: Literal["length_spread"] = "length_spread"


class LengthSpread(divtools.Metric):
    """diversity = std(lengths) / mean(lengths) (population std, word counts);
    deviation_i = |len_i - mean of the other lengths| / mean(lengths)."""

    def __init__(self, params: LengthSpreadParams) -> None:
        self.params = params

    def group(self, texts: Sequence[str]) -> GroupResult:
        lengths = np.array([len(t.split()) for t in texts], dtype=np.float64)
        mean = lengths.mean() if len(lengths) else 0.0
        if len(lengths) < 2 or mean == 0:
            return GroupResult(deviation=np.zeros(len(lengths)), diversity=0.0)
        others = (lengths.sum() - lengths) / (len(lengths) - 1)
        return GroupResult(deviation=np.abs(lengths - others) / mean, diversity=float(lengths.std() / mean))


class TypeTokenRatioParams(ScorerParams):
    """Vocabulary richness of a response: distinct words / words."""

    kind: Literal["type_token_ratio"] = "type_token_ratio"
    lowercase: bool = True


class TypeTokenRatio(divtools.Scorer):
    def __init__(self, params: TypeTokenRatioParams) -> None:
        self.params = params

    def score(self, prompts, responses, rows=None) -> np.ndarray:
        out = []
        for text in responses:
            words = (text.lower() if self.params.lowercase else text).split()
            out.append(len(set(words)) / len(words) if words else 0.0)
        return np.array(out, dtype=np.float64)


@divtools.hookimpl
def divtools_register_metrics(register) -> None:
    register("length_spread", params=LengthSpreadParams, impl=LengthSpread)


@divtools.hookimpl
def divtools_register_scorers(register) -> None:
    register("type_token_ratio", params=TypeTokenRatioParams, impl=TypeTokenRatio)
