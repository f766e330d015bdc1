"""Rank correlation shared by the length diagnostics of prepare and evaluate (no other import)."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

__all__ = ["spearman"]


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's ρ (scipy.stats.spearmanr: Pearson correlation of average ranks) over the pairs
    where both values are finite; None with fewer than 3 such pairs or when either is constant."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    from scipy.stats import spearmanr

    rho = float(spearmanr(x, y).statistic)
    return rho if math.isfinite(rho) else None
