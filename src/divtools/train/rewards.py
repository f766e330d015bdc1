"""Diversity-aware GRPO rewards as plain TRL reward functions.

TRL's ``GRPOTrainer`` calls each reward function as ``f(prompts=..., completions=...,
completion_ids=..., **columns) -> list[float]``, with each prompt's ``num_generations``
completions next to each other (TRL PR #6680). A group-relative diversity signal is therefore an
ordinary reward function: this module builds one from divtools components, for the ``grpo``
stage of ``run: train`` and for a user's own TRL script::

    from divtools.train.rewards import diversity_reward
    reward = diversity_reward(quality={"kind": "length"}, diversity={"kind": "distinct_n", "n": 1},
                              num_generations=4)
    GRPOTrainer(..., reward_funcs=[reward], args=GRPOConfig(num_generations=4, ...))

For completion i of a group of G (one prompt's completions):

- q_i: the quality scorer's value (1 for ``multiply`` and 0 for ``add`` without a scorer);
- d_i, ``diversity``: the metric's per-sample deviation within the group (``GroupResult.deviation``
  of :func:`divtools.api.measure_groups`: higher = more different from the group's others);
- d_i, ``partition`` (DARLING, Li et al. 2025, facebookresearch/darling): the share of the other
  G−1 completions in a different equivalence class, ``(G − |class(i)|)/(G − 1)``
  (:func:`divtools.metrics.novelty.class_deviation` of the equivalence's greedy partition),
  floored: ``max(floor, ·)`` with DARLING's floor 0.1, so that a completion whose every
  sibling is its paraphrase keeps a tenth of its quality;
- reward_i = q_i · d_i (``multiply``, DARLING's product) or q_i + λ·d_i (``add``, λ =
  ``diversity_weight``).

A completion with no letter or digit (:func:`divtools.api.is_degenerate_text`) gets the lowest
diversity (0, or the floor) and the others are measured among themselves, so an empty answer is
never the group's most diverse one (the degenerate-text rule of the metrics) and its siblings
keep their signal. DARLING runs GRPO without the per-group std normalisation
(``scale_rewards: "none"`` in TRL's GRPOConfig); the ``grpo`` stage's ``darling: true`` sets it.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Literal, Mapping, Sequence

import numpy as np

from divtools.api import is_degenerate_text, measure_groups
from divtools.errors import UserError
from divtools.metrics.novelty import class_deviation

__all__ = [
    "DARLING_FLOOR",
    "DiversityReward",
    "combine",
    "darling_reward",
    "diversity_reward",
    "group_slices",
    "partition_diversity",
    "text_of",
]

#: DARLING's lower bound on the partition diversity
DARLING_FLOOR = 0.1


def combine(quality: np.ndarray | None, diversity: np.ndarray, mode: str, weight: float = 1.0) -> np.ndarray:
    """reward = q·d (``multiply``) or q + weight·d (``add``); without quality: d or weight·d."""
    d = np.asarray(diversity, dtype=np.float64)
    if mode == "multiply":
        return d.copy() if quality is None else np.asarray(quality, dtype=np.float64) * d
    if mode == "add":
        return weight * d if quality is None else np.asarray(quality, dtype=np.float64) + weight * d
    raise ValueError(f"combine must be 'multiply' or 'add', got {mode!r}")


def partition_diversity(labels: Sequence[int], floor: float = DARLING_FLOOR) -> np.ndarray:
    """DARLING's diversity of each member of a partitioned group: max(floor, (G − |class(i)|)/(G − 1))."""
    return np.maximum(class_deviation(labels), floor)


def text_of(item: Any) -> str:
    """The text of a TRL prompt or completion: a string, or a conversation (a list of
    ``{"role", "content"}`` messages) whose last message is taken (the user's prompt, the
    assistant's completion)."""
    if isinstance(item, str):
        return item
    if isinstance(item, Sequence) and item and isinstance(item[-1], Mapping):
        content = item[-1].get("content", "")
        if isinstance(content, list):  # multimodal parts: keep the text ones
            return "".join(p.get("text", "") for p in content if isinstance(p, Mapping))
        return str(content)
    raise TypeError(f"cannot read a text from {type(item).__name__}: give strings or chat messages")


def group_slices(prompts: Sequence[str], num_generations: int | None) -> list[slice]:
    """The groups of one reward call. With ``num_generations`` G: consecutive blocks of G, each of
    one prompt (TRL's order); refused when the batch does not split so (e.g. TRL sharding one
    group over processes). Without: runs of equal consecutive prompts."""
    n = len(prompts)
    if num_generations is None:
        out, start = [], 0
        for i in range(1, n + 1):
            if i == n or prompts[i] != prompts[start]:
                out.append(slice(start, i))
                start = i
        return out
    if num_generations < 1 or n % num_generations:
        raise ValueError(f"the reward got {n} completions, not a multiple of num_generations={num_generations}: "
                         "each prompt's completions must arrive together (one process per group)")
    out = [slice(s, s + num_generations) for s in range(0, n, num_generations)]
    for sl in out:
        if any(p != prompts[sl.start] for p in prompts[sl]):
            raise ValueError(f"completions {sl.start}..{sl.stop - 1} of the reward call belong to different prompts: "
                             f"num_generations={num_generations} does not match the trainer's")
    return out


def _build(kind: str, entry: Any, field: str) -> Any:
    """A live component from a spec entry (a dict or params model) or the component itself."""
    if entry is None:
        return None
    from divtools.spec.base import ComponentParams

    if isinstance(entry, (Mapping, ComponentParams)):
        from divtools.inprocess import build_component

        return build_component(kind, entry, where=field)
    return entry


class DiversityReward:
    """A TRL reward function: quality × (or +) within-group diversity (see the module docstring).

    Exactly one of ``diversity`` (a metric) and ``partition`` (an equivalence test) is given; each
    of them and ``quality`` (a scorer) is a spec entry such as ``{"kind": "unigram"}`` or a built
    component. ``num_generations`` checks the grouping (default: runs of equal prompts).
    """

    def __init__(
        self,
        *,
        quality: Any = None,
        diversity: Any = None,
        partition: Any = None,
        combine: Literal["multiply", "add"] = "multiply",
        diversity_weight: float = 1.0,
        floor: float = DARLING_FLOOR,
        num_generations: int | None = None,
        name: str | None = None,
    ) -> None:
        if (diversity is None) == (partition is None):
            raise UserError("give exactly one of diversity (a metric, e.g. {kind: distinct_n}) and partition "
                            "(an equivalence test, e.g. {kind: unigram}: DARLING's diversity)", field="reward")
        if combine not in ("multiply", "add"):
            raise UserError(f"combine must be multiply or add, got {combine!r}", field="reward.combine")
        if not 0 <= floor <= 1:
            raise UserError(f"floor must be in [0, 1], got {floor}", field="reward.floor")
        self.scorer = _build("scorer", quality, "reward.quality")
        self.metric = _build("metric", diversity, "reward.diversity")
        self.equivalence = _build("equivalence", partition, "reward.partition")
        self.mode = combine
        self.weight = float(diversity_weight)
        self.floor = float(floor) if partition is not None else 0.0
        self.num_generations = num_generations
        # TRL logs each reward function under its __name__ (rewards/<name>/mean)
        self.__name__ = name or ("darling" if partition is not None else "diversity")

    def diversity(self, prompts: Sequence[str], texts: Sequence[str]) -> np.ndarray:
        """d_i for every completion, group by group; degenerate texts get the lowest value."""
        out = np.full(len(texts), self.floor, dtype=np.float64)
        for sl in group_slices(prompts, self.num_generations):
            idx = [i for i in range(sl.start, sl.stop) if not is_degenerate_text(texts[i])]
            if len(idx) < 2:
                continue  # nothing to differ from: the lowest diversity
            group = [texts[i] for i in idx]
            if self.equivalence is not None:
                values = partition_diversity(self.equivalence.partition(prompts[sl.start], group), self.floor)
            else:
                values = measure_groups(self.metric, [group], [prompts[sl.start]])[0].deviation
            out[idx] = np.asarray(values, dtype=np.float64)
        return out

    def quality(self, prompts: Sequence[str], texts: Sequence[str], columns: Mapping[str, Any]) -> np.ndarray | None:
        if self.scorer is None:
            return None
        n = len(texts)
        rows = [{k: v[i] for k, v in columns.items() if isinstance(v, list) and len(v) == n} for i in range(n)]
        values = np.asarray(self.scorer.score(list(prompts), list(texts), rows), dtype=np.float64)
        if values.shape != (n,):
            raise RuntimeError(f"the quality scorer returned {values.shape} scores for {n} completions")
        return values

    def __call__(self, prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any) -> list[float | None]:
        p = [text_of(x) for x in prompts]
        c = [text_of(x) for x in completions]
        columns = {k: v for k, v in kwargs.items() if k not in ("completion_ids", "trainer_state", "log_extra",
                                                                 "log_metric", "environments")}
        d = self.diversity(p, c)
        reward = combine(self.quality(p, c, columns), d, self.mode, self.weight)
        log_metric = kwargs.get("log_metric")
        if callable(log_metric) and len(d):
            log_metric(f"{self.__name__}/diversity_mean", float(np.mean(d)))
        # NaN (e.g. a scorer's missing value) -> None: TRL leaves such a completion out of its group's baseline
        return [None if not math.isfinite(r) else float(r) for r in reward]


def diversity_reward(**kwargs: Any) -> Callable[..., list[float | None]]:
    """A :class:`DiversityReward` (keyword arguments as its constructor)."""
    return DiversityReward(**kwargs)


def darling_reward(quality: Any = None, partition: Any = None, *, floor: float = DARLING_FLOOR,
                   num_generations: int | None = None) -> Callable[..., list[float | None]]:
    """DARLING's reward: quality × max(floor, share of the group in other equivalence classes);
    ``partition`` defaults to NoveltyBench's unigram test. Train it with ``scale_rewards="none"``."""
    return DiversityReward(quality=quality, partition=partition or {"kind": "unigram"}, combine="multiply",
                           floor=floor, num_generations=num_generations)
