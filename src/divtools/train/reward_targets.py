"""Regression targets for the quality reward model ("reddit-reward", METHOD.md §2).

Votes are shifted so that the minimum is 1, passed through x ↦ log(1 + x) one hundred times,
then min-max scaled to [-1, 1]. The reference code skipped the shift (correct only when the
smallest vote is 1: a minimum of 0 squeezes every target into [0.93, 1] and negative votes give
NaN); divtools applies the same shift to the data and to the bounds, so the transform depends
only on the votes' order and spacing, never on where their minimum happens to lie.
"""

from __future__ import annotations

import math
from typing import Sequence

__all__ = ["iterated_log1p", "transform_votes"]


def iterated_log1p(x: float, times: int = 100) -> float:
    """log(1 + log(1 + ... log(1 + x))) applied ``times`` times (x ≥ 0)."""
    for _ in range(times):
        x = math.log1p(x)
    return x


def transform_votes(votes: Sequence[float], *, times: int = 100) -> list[float]:
    """Targets in [-1, 1], monotone in the votes; all 0 when every vote is equal."""
    if not votes:
        return []
    values = [float(v) for v in votes]
    if any(not math.isfinite(v) for v in values):
        raise ValueError("votes must be finite numbers")
    low = min(values)
    squashed = [iterated_log1p(v - low + 1.0, times) for v in values]
    lo, hi = min(squashed), max(squashed)
    if hi == lo:
        return [0.0 for _ in squashed]
    return [2.0 * (s - lo) / (hi - lo) - 1.0 for s in squashed]
