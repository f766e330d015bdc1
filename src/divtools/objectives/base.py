"""What every preference objective receives, returns and declares.

An objective is a pure function of per-example tensors (one row per preference pair). The
trainer adapter computes the log-probabilities and passes them in a plain ``dict`` whose keys are
the constants below; the objective returns an :class:`ObjectiveOutput`. Nothing here touches a
model, so every loss can be tested against a hand computation or a peer library.

Batch keys (all shape ``(batch,)``):

- ``chosen_logps`` / ``rejected_logps`` — policy log-probability of the completion, reduced over
  its tokens as the objective's ``logprob_reduction`` says (``"sum"`` or ``"mean"``).
- ``ref_chosen_logps`` / ``ref_rejected_logps`` — the same under the frozen reference model
  (only when ``needs_reference``).
- ``chosen_tokens`` / ``rejected_tokens`` — number of completion tokens.
- ``chosen_nll_sum`` / ``chosen_nll_tokens`` — summed negative log-likelihood of the chosen
  sequence and its token count, over the tokens the objective's ``nll_tokens`` names (only when
  ``needs_nll``).
- any extra column the objective declares in ``columns`` (e.g. ``weight``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Mapping, Sequence

from divtools.api import Objective
from divtools.errors import UserError

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = [
    "CHOSEN_LOGPS",
    "ObjectiveOutput",
    "PreferenceObjective",
    "reduce_batch",
]

CHOSEN_LOGPS = "chosen_logps"
REJECTED_LOGPS = "rejected_logps"
REF_CHOSEN_LOGPS = "ref_chosen_logps"
REF_REJECTED_LOGPS = "ref_rejected_logps"
CHOSEN_TOKENS = "chosen_tokens"
REJECTED_TOKENS = "rejected_tokens"
CHOSEN_NLL_SUM = "chosen_nll_sum"
CHOSEN_NLL_TOKENS = "chosen_nll_tokens"


@dataclass
class ObjectiveOutput:
    """Per-example results of one objective on one batch.

    ``loss`` is what is optimised (after :meth:`PreferenceObjective.reduce`); ``unweighted`` is the
    same loss with every weight set to 1 (equal to ``loss`` for unweighted objectives), logged so
    a run shows how much the weights change the objective. Rewards are the implicit rewards TRL
    logs (β·log-ratio for DPO, β·mean log-prob for ORPO); ``metrics`` holds extra per-example
    quantities (e.g. the NLL and odds-ratio terms) to be averaged in logs.
    """

    loss: "torch.Tensor"
    unweighted: "torch.Tensor"
    chosen_rewards: "torch.Tensor"
    rejected_rewards: "torch.Tensor"
    metrics: dict[str, "torch.Tensor"] = field(default_factory=dict)


def reduce_batch(
    losses: "torch.Tensor", weights: "torch.Tensor | None", how: Literal["mean", "weight_normalized"]
) -> "torch.Tensor":
    """Batch loss from per-example losses.

    - ``mean``: (1/B) Σ_i ℓ_i — the paper (docs/method.md §4: "batch mean, no renormalisation by Σw").
    - ``weight_normalized``: Σ_i ℓ_i / Σ_i w_i, where ℓ_i already carries its weight w_i, i.e. the
      weighted average Σ w_i ℓ'_i / Σ w_i of the unweighted losses ℓ'_i. A batch whose weights
      are all 0 gives 0. Under data parallelism and gradient accumulation the normaliser is the
      micro-batch's own Σw (each rank's), not the global one.
    """
    if how == "mean" or weights is None:
        return losses.mean()
    if how == "weight_normalized":
        return losses.sum() / weights.sum().clamp_min(1e-12)
    raise ValueError(f"unknown batch reduction {how!r}")


class PreferenceObjective(Objective):
    """Base of the built-in objectives: holds the params, declares needs, reduces the batch.

    Subclasses implement :meth:`compute`. ``loss`` (the :class:`divtools.api.Objective` contract)
    returns the per-example weighted losses.
    """

    needs_reference: ClassVar[bool] = True
    columns: ClassVar[tuple[str, ...]] = ()
    #: how the completion's token log-probabilities are reduced to one number: "sum" or "mean"
    logprob_reduction: ClassVar[Literal["sum", "mean"]] = "sum"
    #: whether the batch must carry ``chosen_nll_sum`` / ``chosen_nll_tokens``
    needs_nll: ClassVar[bool] = False

    def __init__(self, params: Any) -> None:
        self.params = params

    @property
    def name(self) -> str:
        return str(getattr(self.params, "kind", type(self).__name__.lower()))

    @property
    def weight_column(self) -> str | None:
        """The batch column holding the per-example weight, if the objective is weighted."""
        return None

    #: which tokens the NLL term covers: "completion" or "prompt_and_completion"
    @property
    def nll_tokens(self) -> str:
        return "completion"

    def compute(self, batch: Mapping[str, "torch.Tensor"]) -> ObjectiveOutput:  # pragma: no cover
        raise NotImplementedError

    def loss(self, batch: Mapping[str, "torch.Tensor"]) -> "torch.Tensor":
        return self.compute(batch).loss

    def reduce(self, per_example: "torch.Tensor", batch: Mapping[str, "torch.Tensor"]) -> "torch.Tensor":
        """The scalar loss of a batch (see :func:`reduce_batch`)."""
        how = getattr(self.params, "reduction", "mean")
        column = self.weight_column
        return reduce_batch(per_example, batch[column] if column else None, how)

    def check_dataset(self, column_names: Sequence[str], column: Any, *, file: str | None = None) -> None:
        """Refuse a dataset this objective cannot train on. ``column(name)`` returns a column's values."""
        missing = [c for c in self.columns if c not in column_names]
        if missing:
            raise UserError(
                f"objective '{self.name}' needs the column(s) {', '.join(missing)}, which the dataset "
                f"lacks (it has: {', '.join(column_names)}); build it with 'run: prepare'",
                file=file,
                field="objective",
            )
        column_name = self.weight_column
        if column_name:
            import math

            def ok(w: Any) -> bool:
                try:  # a string or list in the column is as bad as a negative weight, not a traceback
                    return not isinstance(w, bool) and math.isfinite(float(w)) and float(w) >= 0
                except (TypeError, ValueError):
                    return False

            bad = [w for w in column(column_name) if not ok(w)]
            if bad:
                raise UserError(
                    f"column '{column_name}' must hold finite weights >= 0; found {bad[:3]}",
                    file=file,
                    field="objective",
                )


class WeightedByColumn:
    """Mixin for deviation-weighted objectives (DDPO, DORPO): the chosen response's weight comes
    from the data column named by ``params.weight_column`` (``weight``, or e.g.
    ``weight_semantic`` written by ``weights.per_metric``)."""

    params: Any

    @property
    def weight_column(self) -> str:
        return self.params.weight_column

    @property
    def columns(self) -> tuple[str, ...]:  # type: ignore[override]
        return (self.params.weight_column,)
