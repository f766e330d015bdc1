"""DPO, deviation-weighted DPO (DDPO) and DivPO's DPO loss.

Pure functions on per-example summed log-probabilities; see :mod:`divtools.objectives.base`
for the batch keys. Formulas follow docs/method.md §4 and TRL 1.16's ``DPOTrainer._compute_loss``
(``loss_type`` "sigmoid", "ipo", "hinge"), which the tests match to 1e-6.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal, Mapping, Sequence

from divtools.errors import UserError
from divtools.objectives.base import ObjectiveOutput, PreferenceObjective, WeightedByColumn

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["DDPO", "DPO", "DivPO", "dpo_losses"]


def dpo_losses(
    chosen_logps: "torch.Tensor",
    rejected_logps: "torch.Tensor",
    ref_chosen_logps: "torch.Tensor",
    ref_rejected_logps: "torch.Tensor",
    *,
    beta: float,
    loss_type: Literal["sigmoid", "ipo", "hinge"] = "sigmoid",
    chosen_tokens: "torch.Tensor | None" = None,
    rejected_tokens: "torch.Tensor | None" = None,
) -> "torch.Tensor":
    """Per-pair DPO losses from summed completion log-probabilities.

    With r_w = log π(y_w|x) − log π_ref(y_w|x), r_l likewise and Δ = r_w − r_l:

    - ``sigmoid`` (Rafailov et al. 2023, eq. 7): ℓ = −log σ(β Δ)
    - ``hinge`` (SLiC, Zhao et al. 2023): ℓ = max(0, 1 − β Δ)
    - ``ipo`` (Azar et al. 2023, eq. 17, τ = β): ℓ = (r_w/|y_w| − r_l/|y_l| − 1/(2β))², with the
      log-ratios averaged per completion token as TRL does (confirmed with the IPO authors,
      per TRL's comment); needs ``chosen_tokens`` / ``rejected_tokens``.
    """
    import torch.nn.functional as F

    chosen_logratios = chosen_logps - ref_chosen_logps
    rejected_logratios = rejected_logps - ref_rejected_logps
    if loss_type == "sigmoid":
        return -F.logsigmoid(beta * (chosen_logratios - rejected_logratios))
    if loss_type == "hinge":
        return (1 - beta * (chosen_logratios - rejected_logratios)).clamp_min(0)
    if loss_type == "ipo":
        if chosen_tokens is None or rejected_tokens is None:
            raise ValueError("the ipo loss needs chosen_tokens and rejected_tokens")
        delta = chosen_logratios / chosen_tokens.clamp_min(1.0) - rejected_logratios / rejected_tokens.clamp_min(1.0)
        return (delta - 1 / (2 * beta)) ** 2
    raise ValueError(f"unknown DPO loss_type {loss_type!r}")


class DPO(PreferenceObjective):
    """Direct preference optimisation: ℓ_DPO per pair, batch mean (docs/method.md §4)."""

    needs_reference: ClassVar[bool] = True
    columns: ClassVar[tuple[str, ...]] = ()
    logprob_reduction: ClassVar[Literal["sum", "mean"]] = "sum"

    def _unweighted(self, batch: Mapping[str, "torch.Tensor"]) -> ObjectiveOutput:
        p = self.params
        losses = dpo_losses(
            batch["chosen_logps"],
            batch["rejected_logps"],
            batch["ref_chosen_logps"],
            batch["ref_rejected_logps"],
            beta=p.beta,
            loss_type=p.loss_type,
            chosen_tokens=batch.get("chosen_tokens"),
            rejected_tokens=batch.get("rejected_tokens"),
        )
        chosen_rewards = p.beta * (batch["chosen_logps"] - batch["ref_chosen_logps"]).detach()
        rejected_rewards = p.beta * (batch["rejected_logps"] - batch["ref_rejected_logps"]).detach()
        return ObjectiveOutput(losses, losses.detach(), chosen_rewards, rejected_rewards)

    def compute(self, batch: Mapping[str, "torch.Tensor"]) -> ObjectiveOutput:
        return self._unweighted(batch)


class DDPO(WeightedByColumn, DPO):
    """Deviation-weighted DPO (Chung et al. 2025, §3): ℓ_DDPO = w_chosen · ℓ_DPO per pair.

    Only the chosen (winning) response's weight is used. With ``reduction: mean`` (the paper) the
    batch loss is (1/B) Σ w_i ℓ_i; ``weight_normalized`` divides by Σ w_i instead. With every
    weight 1 this is exactly :class:`DPO`.
    """

    def compute(self, batch: Mapping[str, "torch.Tensor"]) -> ObjectiveOutput:
        out = self._unweighted(batch)
        weight = batch[self.weight_column].to(out.loss.dtype)
        return ObjectiveOutput(weight * out.loss, out.unweighted, out.chosen_rewards, out.rejected_rewards)


class DivPO(DPO):
    """DivPO (Lanchantin et al. 2025): plain DPO on pairs chosen by the ``divpo`` pair builder.

    The loss is DPO's; what makes it DivPO is the data (most diverse of the top ρ% vs least diverse
    of the bottom ρ%, docs/method.md §5), so :meth:`check_dataset` refuses data built otherwise.
    """

    columns: ClassVar[tuple[str, ...]] = ("pair_builder",)

    def check_dataset(self, column_names: Sequence[str], column: Any, *, file: str | None = None) -> None:
        if "pair_builder" not in column_names:
            raise UserError(
                "objective 'divpo' needs data built by the 'divpo' pair builder, but the dataset has no "
                "'pair_builder' column to show how its pairs were made; build it with 'run: prepare' and "
                "'pair_builder: {kind: divpo}'",
                file=file,
                field="objective",
            )
        builders = sorted({str(b) for b in column("pair_builder")})
        if builders != ["divpo"]:
            raise UserError(
                f"objective 'divpo' needs pairs from the 'divpo' pair builder, but this dataset's pairs were "
                f"built by {', '.join(repr(b) for b in builders)}; use objective 'dpo' for them, or rebuild "
                "the data with 'pair_builder: {kind: divpo}'",
                file=file,
                field="objective",
            )
