"""Split groups by prompt (docs/method.md §2: 90/10, seed 42)."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from divtools.api import Group

__all__ = ["split_groups"]


def split_groups(groups: Sequence[Group], *, eval_fraction: float, seed: int) -> tuple[list[Group], list[Group]]:
    """``(train, eval)``: a seeded permutation of the prompt ids (sorted first, so the split does
    not depend on file order); the first ``round(n * eval_fraction)`` go to eval. Each side keeps
    the input order."""
    n = len(groups)
    n_eval = int(math.floor(n * eval_fraction + 0.5)) if eval_fraction > 0 else 0
    if eval_fraction > 0 and n >= 2:
        n_eval = min(max(n_eval, 1), n - 1)  # a requested eval side is never empty, train never
    ids = sorted(g.prompt_id for g in groups)
    order = np.random.default_rng(seed).permutation(len(ids))
    eval_ids = {ids[i] for i in order[:n_eval]}
    train = [g for g in groups if g.prompt_id not in eval_ids]
    held = [g for g in groups if g.prompt_id in eval_ids]
    return train, held
