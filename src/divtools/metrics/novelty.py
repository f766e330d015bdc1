"""NoveltyBench's distinct_k and utility_k (Zhang et al. 2025, "NoveltyBench: Evaluating Language
Models for Humanlike Diversity", arXiv 2504.05228; ``src/partition.py`` and ``src/score.py`` of
novelty-bench/novelty-bench, MIT).

For one prompt's k samples in order:

- partition: greedy, by an equivalence test (:meth:`divtools.api.Equivalence.partition`): for i
  in order, an unassigned sample opens class c; later unassigned samples equivalent to that
  class's *first* member join c.
- distinct_k = number of classes.
- utility_k = (1−p)/(1−p^k) · Σ_{i=1..k} p^(i−1) · 1[sample i opens a new class] · u_i, with
  patience p (theirs 0.8) and u_i ∈ 1..10 the sample's quality; equal to their
  ``np.average(generation_scores, weights=p**arange(k))`` (p = 1: the plain mean over k).
- u_i: any divtools scorer's value mapped to 1..10 by nine ascending thresholds
  (``bisect_left(thresholds, s) + 1``, their ``transform_raw_reward``), or by the deciles of the
  run's own scores (every system's samples pooled, so all systems share one scale).

Deviation (per sample, for prepare and samples.jsonl): the share of the group's other samples in
a different class, (N − |class(i)|)/(N − 1): DARLING's diversity signal (facebookresearch/darling).

Note: NoveltyBench's ``partition.py`` stores ``"distinct": max(partition)``, one less than the
number of classes, and their published example ``summary.json`` (gemini-1.5-pro, nb-curated)
averages that field: 0.83 where the partitions give 1.83. divtools counts classes.
"""

from __future__ import annotations

import bisect
import math
from typing import Any, Sequence

import numpy as np

from divtools.api import GroupResult, Metric

__all__ = [
    "DistinctK",
    "UtilityK",
    "class_deviation",
    "distinct_count",
    "opens_class",
    "quality_levels",
    "utility",
]


def distinct_count(labels: Sequence[int]) -> int:
    """Number of classes in a partition."""
    return len(set(labels))


def opens_class(labels: Sequence[int]) -> list[bool]:
    """Whether each sample opens a new class (its label is the number of classes seen before)."""
    seen: set[int] = set()
    out = []
    for label in labels:
        out.append(label not in seen)
        seen.add(label)
    return out


def utility(labels: Sequence[int], quality: Sequence[float], patience: float) -> float:
    """Σ_i p^(i−1)·1[i opens a class]·u_i / Σ_i p^(i−1) (= the (1−p)/(1−p^k) form); NaN when a
    class-opening sample has no finite quality."""
    k = len(labels)
    if k == 0:
        return math.nan
    weights = patience ** np.arange(k, dtype=np.float64)
    new = np.array(opens_class(labels))
    u = np.asarray(quality, dtype=np.float64)
    if not np.all(np.isfinite(u[new])):
        return math.nan
    gains = np.where(new, u, 0.0)
    return float(np.average(gains, weights=weights))


def class_deviation(labels: Sequence[int]) -> np.ndarray:
    """(N − |class(i)|)/(N − 1): share of the other samples in another class; zeros if N < 2."""
    n = len(labels)
    if n < 2:
        return np.zeros(n)
    sizes: dict[int, int] = {}
    for label in labels:
        sizes[label] = sizes.get(label, 0) + 1
    return np.array([(n - sizes[label]) / (n - 1) for label in labels], dtype=np.float64)


def quality_levels(scores: Sequence[float], thresholds: Sequence[float]) -> np.ndarray:
    """``bisect_left(thresholds, s) + 1`` per score (NoveltyBench's ``transform_raw_reward``):
    nine ascending thresholds give levels 1..10; NaN stays NaN."""
    out = np.empty(len(scores), dtype=np.float64)
    for i, s in enumerate(scores):
        out[i] = bisect.bisect_left(list(thresholds), float(s)) + 1 if math.isfinite(s) else math.nan
    return out


def decile_thresholds(pooled: Sequence[float]) -> list[float]:
    """The 10%, 20%, ..., 90% quantiles (numpy's linear interpolation) of the finite scores."""
    from divtools.errors import UserError

    finite = np.asarray([s for s in pooled if math.isfinite(s)], dtype=np.float64)
    if finite.size == 0:
        raise UserError("utility_k: the quality scorer gave no finite score to set the 1-10 scale from",
                        field="metrics.quality")
    return [float(q) for q in np.quantile(finite, np.arange(1, 10) / 10)]


class DistinctK(Metric):
    """distinct_k: the number of equivalence classes among a prompt's first k samples.

    - diversity = number of classes (1..k). Higher = more diverse. Grows with k: compare at one k.
    - deviation_i = share of the other samples in a different class than sample i.
    - ``k`` unset: all N samples of the group; set: the first k (a group with fewer: NaN).
    """

    higher_is_more_diverse = True

    def __init__(self, params: Any) -> None:
        from divtools.components import build

        self.k = params.k
        self.equivalence = build("equivalence", params.equivalence)

    def _labels(self, prompt: str, texts: Sequence[str]) -> list[int]:
        return self.equivalence.partition(prompt, list(texts))

    def group(self, texts: Sequence[str]) -> GroupResult:
        return self.groups_with_prompts([texts], [""])[0]

    def groups(self, groups: Sequence[Sequence[str]]) -> list[GroupResult]:
        return self.groups_with_prompts(groups, [""] * len(groups))

    def _too_few(self, texts: Sequence[str]) -> bool:
        return not texts or (self.k is not None and len(texts) < self.k)

    def groups_with_prompts(self, groups: Sequence[Sequence[str]], prompts: Sequence[str]) -> list[GroupResult]:
        out = []
        for texts, prompt in zip(groups, prompts):
            labels = self._labels(prompt, texts)
            head = labels if self.k is None else labels[: self.k]  # greedy labels of a prefix = prefix's
            div = math.nan if self._too_few(texts) else float(distinct_count(head))
            out.append(GroupResult(deviation=class_deviation(labels), diversity=div))
        return out


class UtilityK(DistinctK):
    """utility_k: patience-discounted quality of the samples that open a new class.

    - diversity = (1−p)/(1−p^k) Σ_i p^(i−1) 1[i opens a class] u_i, u_i ∈ 1..10 (see the module
      docstring). Higher = more novel *and* good; range [0, 10]. ``extras`` holds the value at
      every patience of ``patience_sweep``.
    - deviation_i: as distinct_k.
    - quality: the ``quality`` scorer on (prompt, sample); mapped by ``quality_thresholds``, or by
      the deciles of the run's scores (:meth:`calibrate`; outside an evaluate run, of the groups
      of the call).
    """

    def __init__(self, params: Any) -> None:
        from divtools.components import build

        super().__init__(params)
        self.patience = params.patience
        self.sweep = list(params.patience_sweep)
        self.scorer = build("scorer", params.quality)
        self.thresholds: list[float] | None = list(params.quality_thresholds) if params.quality_thresholds else None
        self._scores: dict[tuple[str, str], float] = {}

    def _score(self, groups: Sequence[Sequence[str]], prompts: Sequence[str]) -> None:
        missing = list(dict.fromkeys((p, t) for texts, p in zip(groups, prompts) for t in texts
                                     if (p, t) not in self._scores))
        if missing:
            values = np.asarray(self.scorer.score([p for p, _ in missing], [t for _, t in missing]), dtype=np.float64)
            if values.shape != (len(missing),):
                from divtools.errors import DivtoolsError

                raise DivtoolsError(f"utility_k: the quality scorer returned {values.shape} scores for {len(missing)} samples")
            self._scores.update(zip(missing, (float(v) for v in values)))

    def calibrate(self, groups: Sequence[Sequence[str]], prompts: Sequence[str]) -> None:
        self._score(groups, prompts)
        if self.thresholds is None:
            self.thresholds = decile_thresholds([self._scores[(p, t)] for texts, p in zip(groups, prompts) for t in texts])

    def groups_with_prompts(self, groups: Sequence[Sequence[str]], prompts: Sequence[str]) -> list[GroupResult]:
        if self.thresholds is None:
            self.calibrate(groups, prompts)
        self._score(groups, prompts)
        out = []
        for texts, prompt in zip(groups, prompts):
            labels = self._labels(prompt, texts)
            head = labels if self.k is None else labels[: self.k]
            u = quality_levels([self._scores[(prompt, t)] for t in texts[: len(head)]], self.thresholds)
            too_few = self._too_few(texts)
            value = math.nan if too_few else utility(head, u, self.patience)
            extras = {f"patience={p:g}": (math.nan if too_few else utility(head, u, p)) for p in self.sweep}
            out.append(GroupResult(deviation=class_deviation(labels), diversity=value, extras=extras))
        return out
