"""Preference objectives: pure per-example losses on log-probabilities (docs/method.md §4-5)."""

from __future__ import annotations

from divtools.objectives.base import ObjectiveOutput, PreferenceObjective, reduce_batch
from divtools.objectives.dpo import DDPO, DPO, DivPO, dpo_losses
from divtools.objectives.orpo import DORPO, ORPO, log1mexp, log_odds_ratio, nll_per_example

__all__ = [
    "DDPO",
    "DORPO",
    "DPO",
    "DivPO",
    "ORPO",
    "ObjectiveOutput",
    "PreferenceObjective",
    "dpo_losses",
    "log1mexp",
    "log_odds_ratio",
    "nll_per_example",
    "reduce_batch",
]
