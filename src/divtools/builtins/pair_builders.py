"""Built-in pair builders: scored groups -> (prompt, chosen, rejected) pairs, all seeded.
Implementations live in :mod:`divtools.data.pairs`; this module imports pydantic only."""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field

from divtools.hookspecs import hookimpl
from divtools.spec.base import Component, ComponentParams, ModelRef, SpecModel

__all__ = [
    "AllPairsParams",
    "BestVsWorstParams",
    "DeviationCriterion",
    "DivpoParams",
    "GapDisjointParams",
    "ModelProbabilityCriterion",
    "WordRarityCriterion",
]


class GapDisjointParams(ComponentParams):
    """The paper's pairs (docs/method.md §2): per prompt, disjoint random pairs of unused responses whose
    scores differ by at least ``gap``; when no such pair is left, any pair with different scores.
    The higher score wins; each response is in at most one pair."""

    kind: Literal["gap_disjoint"] = "gap_disjoint"
    gap: float = Field(5.0, ge=0)
    """Minimum score difference of a pair (the paper: 5 upvotes)."""
    fallback: bool = True
    """When no pair with the gap is left, pair remaining responses with any different scores."""
    max_pairs_per_prompt: int | None = Field(None, ge=1)
    """Keep at most this many pairs per prompt (default: no limit; the paper had none)."""


class AllPairsParams(ComponentParams):
    """Every pair of a prompt's responses with different scores (higher wins), a random sample of
    at most ``max_pairs_per_prompt`` of them per prompt."""

    kind: Literal["all_pairs"] = "all_pairs"
    min_gap: float = Field(0.0, ge=0)
    """Minimum score difference (pairs with equal scores are never made)."""
    max_pairs_per_prompt: int | None = Field(10, ge=1)
    """Cap per prompt; null for no cap (N responses give up to N(N-1)/2 pairs)."""


class BestVsWorstParams(ComponentParams):
    """One pair per prompt: the highest-scored response against the lowest (ties broken at random)."""

    kind: Literal["best_vs_worst"] = "best_vs_worst"
    min_gap: float = Field(0.0, ge=0)
    """Skip the prompt unless best - worst exceeds 0 and is at least this."""


class DeviationCriterion(SpecModel):
    """Diversity = a metric's per-response deviation (the DDPO paper's DivPO setup)."""

    type: Literal["deviation"] = "deviation"
    metric: Annotated[ComponentParams, Component("metric")]
    """Any registered metric; its deviation (higher = more diverse) ranks the responses."""


class ModelProbabilityCriterion(SpecModel):
    """Diversity = -log pi(y|x) under a causal LM (DivPO paper): less likely = more diverse."""

    type: Literal["model_probability"] = "model_probability"
    model: ModelRef
    """Local folder, .gguf file, hub id or ``preset:<name>`` of a causal LM
    (``AutoModelForCausalLM``); no remote code is run."""
    revision: str | None = None
    """Model revision, for hub ids."""
    reduction: Literal["sum", "mean"] = "sum"
    """Sum of the response tokens' negative log-probabilities (the DivPO formula) or their mean
    (removes the preference for long responses)."""
    chat_template: bool = True
    """Put the prompt in the tokenizer's chat template (as a user turn) when it has one."""
    batch_size: int = Field(8, ge=1)
    """Responses scored per forward pass."""
    device: str = "cpu"
    """Torch device, e.g. cpu or cuda."""


class WordRarityCriterion(SpecModel):
    """Diversity = mean -log frequency of a response's words within the pool (DivPO's word-frequency
    criterion): responses made of words the other responses rarely use rank as more diverse."""

    type: Literal["word_rarity"] = "word_rarity"
    lowercase: bool = True
    """Compare words case-insensitively."""


Criterion = Annotated[
    Union[DeviationCriterion, ModelProbabilityCriterion, WordRarityCriterion], Field(discriminator="type")
]


class DivpoParams(ComponentParams):
    """DivPO selection (Lanchantin et al. 2025, as set up in the DDPO paper, docs/method.md §5): take the
    top k and bottom k responses by score, k = min(max(2, floor(n*rho/100)), floor(n/2)); pair the
    most diverse of the top set (chosen) with the least diverse of the bottom set (rejected)."""

    kind: Literal["divpo"] = "divpo"
    rho: float = Field(25.0, gt=0, le=50)
    """Share of the responses (percent) in each of the high and low sets."""
    min_set_size: int = Field(2, ge=1)
    """Lower bound of k before the floor(n/2) cap (the paper: 2)."""
    pairs_per_prompt: int = Field(2, ge=1)
    """Most diverse ``pairs_per_prompt`` of the high set are paired at random with the least
    diverse ``pairs_per_prompt`` of the low set (the paper: 2)."""
    criteria: list[Criterion] = Field(min_length=1)
    """Diversity criteria; with several, ``combine`` merges them."""
    combine: Literal["mean_rank", "geometric_minmax"] = "mean_rank"
    """How several criteria order a set: ``mean_rank``, the mean of each criterion's rank (scale
    free); ``geometric_minmax``, the geometric mean of each criterion's values min-maxed to [0, 1]
    within the set (0.5 when a criterion is constant), as the DDPO reference code does. One
    criterion orders the set by its own values either way."""
    criterion_pool: Literal["set", "group"] = "set"
    """Compute pool-relative criteria (deviation, word rarity) within each set (the paper
    recomputes deviation within the high and within the low set) or over all the prompt's responses."""
    pool: Literal["all", "paired"] = "all"
    """Responses DivPO selects from: ``all`` the prompt's responses after cleaning; ``paired``
    only those the paper's ``gap_disjoint`` pairs (gap 5, fallback, same seed) use, as the DDPO
    reference code does (it builds DivPO data from its paired file)."""
    min_gap: float = Field(0.0, ge=0)
    """Drop a pair unless chosen score - rejected score is positive and at least this: pairs with
    equal scores are never made (as ``best_vs_worst`` and ``gap_disjoint``)."""


@hookimpl
def divtools_register_pair_builders(register) -> None:
    register("gap_disjoint", params=GapDisjointParams, impl="divtools.data.pairs:GapDisjoint")
    register("all_pairs", params=AllPairsParams, impl="divtools.data.pairs:AllPairs")
    register("best_vs_worst", params=BestVsWorstParams, impl="divtools.data.pairs:BestVsWorst")
    register("divpo", params=DivpoParams, impl="divtools.data.pairs:Divpo")
