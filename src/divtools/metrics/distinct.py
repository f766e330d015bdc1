"""distinct-n (Li et al. 2016): unique n-grams / total n-grams over a group."""

from __future__ import annotations

from collections import Counter
from typing import Sequence

import numpy as np

from divtools.api import GroupResult, Metric

__all__ = ["DistinctN", "ngrams"]


def ngrams(tokens: Sequence[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


class DistinctN(Metric):
    """diversity = |unique n-grams| / |n-grams| over all texts of the group (whitespace tokens).

    deviation_i = share of text i's n-grams that occur in no other text of the group.
    Higher = more diverse. Falls as N grows (more texts share more n-grams).
    """

    def __init__(self, params) -> None:
        self.n = params.n

    def group(self, texts: Sequence[str]) -> GroupResult:
        grams = [ngrams(t.split(), self.n) for t in texts]
        total = sum(len(g) for g in grams)
        unique = len(set().union(*map(set, grams))) if grams else 0
        owners: Counter[tuple[str, ...]] = Counter()
        for g in grams:
            owners.update(set(g))
        dev = np.array(
            [sum(owners[x] == 1 for x in g) / len(g) if g else 0.0 for g in grams], dtype=np.float64
        )
        return GroupResult(deviation=dev, diversity=unique / total if total else 0.0)
