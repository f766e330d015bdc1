"""Aggregating per-prompt values: mean and a seeded percentile-bootstrap 95% CI.

The bootstrap resamples *prompts* with replacement (the unit of the protocol), B times; the
interval is the 2.5th and 97.5th percentiles of the resampled means (numpy's default linear
interpolation). The generator is seeded from (seed, system, label) only, so a system's interval
does not change when other systems or metrics are added to a run.
"""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np

from divtools.evaluate.protocol import seeded_rng

__all__ = ["aggregate", "bootstrap_ci"]

#: resamples drawn per block; with at most _CELLS indices per block memory stays ~16 MB however
#: many prompts there are (the draws are one stream, so blocking does not change the numbers)
_BLOCK = 256
_CELLS = 2_000_000


def bootstrap_ci(values: np.ndarray, *, samples: int, rng: np.random.Generator) -> tuple[float, float]:
    """95% percentile interval of the mean of ``values`` over ``samples`` resamples."""
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    if n == 0:
        raise ValueError("no values")
    means = np.empty(samples, dtype=np.float64)
    block = max(1, min(_BLOCK, _CELLS // n))
    for start in range(0, samples, block):
        stop = min(samples, start + block)
        idx = rng.integers(0, n, size=(stop - start, n))
        means[start:stop] = values[idx].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def aggregate(per_prompt: Mapping[str, float], *, seed: int, samples: int, system: str, label: str) -> dict:
    """``{mean, ci95, n_prompts, per_prompt}``; non-finite values are kept as ``null`` in
    ``per_prompt`` and left out of the mean and interval (``n_prompts`` counts the rest)."""
    clean = {pid: (float(v) if v is not None and math.isfinite(v) else None) for pid, v in per_prompt.items()}
    values = np.array([v for v in clean.values() if v is not None], dtype=np.float64)
    if len(values) == 0:
        return {"mean": None, "ci95": None, "n_prompts": 0, "per_prompt": clean}
    low, high = bootstrap_ci(values, samples=samples, rng=seeded_rng(seed, "bootstrap", system, label))
    return {"mean": float(values.mean()), "ci95": [low, high], "n_prompts": int(len(values)), "per_prompt": clean}
