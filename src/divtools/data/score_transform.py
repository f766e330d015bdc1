"""The paper's vote transform for reward-model targets (docs/method.md §2).

t(x) = minmax_[-1, 1]( log1p^(100)(x + c) ),  c = 1 - min(votes)

``log1p^(100)`` is x -> log(1 + x) applied 100 times; it squeezes heavy-tailed upvote counts.
The shift c moves the fitted minimum to 1, and divtools applies the same shift to the data and
to both bounds of the min-max step, so the transform is correct for any minimum vote. The
reference code shifted inconsistently: it is right only when the minimum vote is 1 (a minimum
of 0 crowds every target into [0.93, 1]; negative votes give NaN).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

__all__ = ["ScoreTransform", "iterated_log1p"]


def iterated_log1p(x: np.ndarray, iterations: int = 100) -> np.ndarray:
    """log(1 + x) applied ``iterations`` times (x >= 0 keeps every step finite)."""
    out = np.asarray(x, dtype=np.float64)
    for _ in range(iterations):
        out = np.log1p(out)
    return out


@dataclass(frozen=True)
class ScoreTransform:
    """Fitted on the training votes; maps any vote to [-1, 1] (votes outside the fitted range map
    outside it, monotonically; votes below ``low + shift - 1`` are clipped to the fitted minimum)."""

    low: float
    high: float
    iterations: int = 100

    @classmethod
    def fit(cls, votes: Sequence[float], iterations: int = 100) -> "ScoreTransform":
        v = np.asarray(votes, dtype=np.float64)
        if v.size == 0 or not np.all(np.isfinite(v)):
            raise ValueError("ScoreTransform.fit needs at least one finite vote")
        return cls(low=float(v.min()), high=float(v.max()), iterations=iterations)

    @property
    def shift(self) -> float:
        """c = 1 - min(votes): the fitted minimum becomes 1."""
        return 1.0 - self.low

    def _squash(self, votes: np.ndarray) -> np.ndarray:
        # clip at the fitted minimum so an unseen lower vote never reaches log1p(<= -1) = NaN/-inf
        shifted = np.maximum(np.asarray(votes, dtype=np.float64), self.low) + self.shift
        return iterated_log1p(shifted, self.iterations)

    def __call__(self, votes: Sequence[float] | np.ndarray) -> np.ndarray:
        v = np.asarray(votes, dtype=np.float64)
        lo, hi = self._squash(np.array([self.low, self.high]))
        if hi == lo:  # one distinct vote: every target is the middle of the range
            return np.zeros_like(v)
        return 2.0 * (self._squash(v) - lo) / (hi - lo) - 1.0
