"""Built-in objectives: DPO, DDPO, ORPO, DORPO, DivPO (equations in docs/objectives.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from divtools.hookspecs import hookimpl
from divtools.spec.base import ComponentParams


class DPOParams(ComponentParams):
    """DPO (Rafailov et al. 2023): −log σ(β·Δ log-ratio), needs a reference model."""

    kind: Literal["dpo"] = "dpo"
    beta: float = Field(0.1, gt=0)
    """β: strength of the implicit KL penalty (the paper: 0.1)."""
    loss_type: Literal["sigmoid", "ipo", "hinge"] = "sigmoid"
    """sigmoid (DPO), ipo (IPO, length-averaged as in TRL) or hinge (SLiC)."""


class DDPOParams(DPOParams):
    """Deviation-weighted DPO (Chung et al. 2025): w_chosen · ℓ_DPO per pair."""

    kind: Literal["ddpo"] = "ddpo"  # type: ignore[assignment]
    weight_column: str = "weight"
    """Column of the preference data holding the chosen response's weight."""
    reduction: Literal["mean", "weight_normalized"] = "mean"
    """Batch reduction: mean over pairs (the paper) or Σ w·ℓ / Σ w."""


class DivPOParams(DPOParams):
    """DivPO (Lanchantin et al. 2025): DPO on pairs from the 'divpo' pair builder."""

    kind: Literal["divpo"] = "divpo"  # type: ignore[assignment]


class ORPOParams(ComponentParams):
    """ORPO (Hong et al. 2024): NLL(chosen) + β·(−log σ(Δ log-odds)); no reference model."""

    kind: Literal["orpo"] = "orpo"
    beta: float = Field(0.25, gt=0)
    """λ of the ORPO paper (TRL calls it beta): weight of the odds-ratio term (the paper's runs: 0.25)."""
    nll_tokens: Literal["prompt_and_completion", "completion"] = "prompt_and_completion"
    """Tokens of the chosen sequence in the NLL term: TRL's ORPOTrainer (and so the reference code)
    uses prompt and completion; the ORPO paper describes the completion only."""
    nll_reduction: Literal["token_mean", "example_mean"] = "token_mean"
    """NLL averaged over all tokens of the batch (TRL) or per sequence, then over the batch."""


class DORPOParams(ORPOParams):
    """Deviation-weighted ORPO (Chung et al. 2025), per-example (paper text) or paper-code form."""

    kind: Literal["dorpo"] = "dorpo"  # type: ignore[assignment]
    weighting: Literal["per_example", "paper_code"] = "per_example"
    """per_example: w·(NLL + β·L_OR) per pair (the paper's text). paper_code: −β·log σ(w·Δ) plus
    NLL × batch-mean weight (the public reference code)."""
    weight_column: str = "weight"
    """Column of the preference data holding the chosen response's weight."""
    reduction: Literal["mean", "weight_normalized"] = "mean"
    """Batch reduction: mean over pairs (the paper) or Σ w·ℓ / Σ w."""


@hookimpl
def divtools_register_objectives(register) -> None:
    register("dpo", params=DPOParams, impl="divtools.objectives.dpo:DPO")
    register("ddpo", params=DDPOParams, impl="divtools.objectives.dpo:DDPO")
    register("divpo", params=DivPOParams, impl="divtools.objectives.dpo:DivPO")
    register("orpo", params=ORPOParams, impl="divtools.objectives.orpo:ORPO")
    register("dorpo", params=DORPOParams, impl="divtools.objectives.orpo:DORPO")
