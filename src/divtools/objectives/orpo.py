"""ORPO and deviation-weighted ORPO (DORPO), in both the paper's and the reference code's form.

Pure functions on per-example *mean* completion log-probabilities and the chosen sequence's NLL;
see :mod:`divtools.objectives.base` for the batch keys. ORPO follows Hong et al. 2024 (eqs. 4, 7)
as TRL 1.16's ``trl.experimental.orpo.ORPOTrainer`` computes it, which the tests match.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal, Mapping

from divtools.objectives.base import ObjectiveOutput, PreferenceObjective, WeightedByColumn

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["DORPO", "ORPO", "log1mexp", "log_odds_ratio", "nll_per_example"]


def log1mexp(x: "torch.Tensor") -> "torch.Tensor":
    """log(1 − exp(x)) for x < 0, stable on both sides of −log 2 (Mächler 2012; as TRL)."""
    import torch

    return torch.where(x < -0.6931471805599453, torch.log1p(-torch.exp(x)), torch.log(-torch.expm1(x)))


def log_odds_ratio(chosen_mean_logps: "torch.Tensor", rejected_mean_logps: "torch.Tensor") -> "torch.Tensor":
    """Δ = log odds(y_w) − log odds(y_l), odds(y) = P/(1−P), P = exp(mean token log-prob).

    log odds = log P − log(1 − P), computed in float32 with :func:`log1mexp`.
    """
    c = chosen_mean_logps.float()
    r = rejected_mean_logps.float()
    return (c - r) - (log1mexp(c) - log1mexp(r))


def nll_per_example(
    nll_sum: "torch.Tensor", nll_tokens: "torch.Tensor", how: Literal["token_mean", "example_mean"]
) -> "torch.Tensor":
    """Per-example NLL whose batch mean is the batch NLL.

    - ``token_mean`` (TRL's ORPOTrainer: ``CrossEntropyLoss`` over all chosen tokens of the batch):
      NLL_i = B · s_i / Σ_j n_j, so (1/B) Σ_i NLL_i = Σ s / Σ n.
    - ``example_mean``: NLL_i = s_i / n_i (each sequence's own mean).
    """
    if how == "token_mean":
        return nll_sum * (nll_sum.shape[0] / nll_tokens.sum().clamp_min(1.0))
    if how == "example_mean":
        return nll_sum / nll_tokens.clamp_min(1.0)
    raise ValueError(f"unknown NLL reduction {how!r}")


class ORPO(PreferenceObjective):
    """ORPO: ℓ = NLL(y_w) + λ · (−log σ(Δ log-odds)); no reference model (λ is TRL's ``beta``)."""

    needs_reference: ClassVar[bool] = False
    columns: ClassVar[tuple[str, ...]] = ()
    logprob_reduction: ClassVar[Literal["sum", "mean"]] = "mean"
    needs_nll: ClassVar[bool] = True

    @property
    def nll_tokens(self) -> str:
        return self.params.nll_tokens

    def _terms(self, batch: Mapping[str, "torch.Tensor"]):
        import torch.nn.functional as F

        nll = nll_per_example(batch["chosen_nll_sum"], batch["chosen_nll_tokens"], self.params.nll_reduction)
        log_odds = log_odds_ratio(batch["chosen_logps"], batch["rejected_logps"])
        return nll, log_odds, F

    def _rewards(self, batch: Mapping[str, "torch.Tensor"]):
        beta = self.params.beta
        return beta * batch["chosen_logps"].detach(), beta * batch["rejected_logps"].detach()

    def compute(self, batch: Mapping[str, "torch.Tensor"]) -> ObjectiveOutput:
        nll, log_odds, F = self._terms(batch)
        odds_term = -F.logsigmoid(log_odds)
        losses = nll + self.params.beta * odds_term
        chosen_rewards, rejected_rewards = self._rewards(batch)
        metrics = {"nll": nll.detach(), "odds_ratio_loss": odds_term.detach(), "log_odds_ratio": log_odds.detach()}
        return ObjectiveOutput(losses, losses.detach(), chosen_rewards, rejected_rewards, metrics)


class DORPO(WeightedByColumn, ORPO):
    """Deviation-weighted ORPO (Chung et al. 2025, §3), two named forms.

    - ``per_example`` (the paper's text, default): ℓ_i = w_i · (NLL_i + λ·(−log σ(Δ_i))).
    - ``paper_code`` (the public reference code): ℓ_i = w̄ · NLL_i + λ·(−log σ(w_i · Δ_i)), where
      w̄ is the mean weight of the batch — the weight scales the log-odds difference inside the
      log-sigmoid, and the NLL only through the batch mean.
    """

    def compute(self, batch: Mapping[str, "torch.Tensor"]) -> ObjectiveOutput:
        nll, log_odds, F = self._terms(batch)
        beta = self.params.beta
        weight = batch[self.weight_column].to(nll.dtype)
        unweighted = (nll + beta * -F.logsigmoid(log_odds)).detach()
        if self.params.weighting == "per_example":
            odds_term = -F.logsigmoid(log_odds)
            losses = weight * (nll + beta * odds_term)
        elif self.params.weighting == "paper_code":
            odds_term = -F.logsigmoid(weight * log_odds)
            losses = weight.mean() * nll + beta * odds_term
        else:  # pragma: no cover - the params model forbids it
            raise ValueError(f"unknown DORPO weighting {self.params.weighting!r}")
        chosen_rewards, rejected_rewards = self._rewards(batch)
        metrics = {"nll": nll.detach(), "odds_ratio_loss": odds_term.detach(), "log_odds_ratio": log_odds.detach()}
        return ObjectiveOutput(losses, unweighted, chosen_rewards, rejected_rewards, metrics)
