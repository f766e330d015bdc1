"""The thin trainer adapter: TRL's ``DPOTrainer`` with the loss replaced by a divtools objective.

Everything else is TRL's: dataset tokenisation, the reference model (separate model, the frozen
copy of a loaded LoRA adapter named ``ref``, the disabled adapter of a new LoRA, or precomputed
log-probabilities), the fused LM head that computes token log-probabilities without building the
full logits, accelerate/DeepSpeed/FSDP wiring, checkpoints. This class changes three things:

1. the collator keeps the objective's numeric columns (``weight``) as tensors, and the Trainer is
   told they are signature columns so it does not drop them;
2. ``_compute_loss`` takes those columns out of the batch *before* ``model(**batch)``, computes the
   per-example log-probabilities exactly as TRL does, and calls the pure objective
   (:mod:`divtools.objectives`);
3. objectives without a reference (ORPO/DORPO) load no reference model and run no reference pass;
4. with a :class:`~divtools.train.ref_store.ReferenceStore`, reference log-probs come from the store
   shared by every stage with the same reference, and only pairs it lacks are computed (once).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch
from trl import DPOTrainer
from trl.models.utils import disable_gradient_checkpointing
from trl.trainer.dpo_trainer import DataCollatorForPreference
from trl.trainer.utils import use_adapter

from divtools.objectives.base import PreferenceObjective
from divtools.train.ref_store import ReferenceStore, pair_key

__all__ = ["PreferenceCollator", "PreferenceTrainer"]

_NON_MODEL_KEYS = {"completion_mask", "ref_chosen_logps", "ref_rejected_logps"}


@dataclass
class PreferenceCollator(DataCollatorForPreference):
    """TRL's preference collator, plus per-pair numeric columns (e.g. ``weight``) as float tensors."""

    extra_columns: Sequence[str] = ()

    def torch_call(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
        output = super().torch_call(examples)
        for column in self.extra_columns:
            output[column] = torch.tensor([float(ex[column]) for ex in examples], dtype=torch.float32)
        return output


class PreferenceTrainer(DPOTrainer):
    """``DPOTrainer`` whose loss is ``objective`` (a :class:`PreferenceObjective`)."""

    _tag_names = ["trl", "dpo", "divtools"]

    def __init__(
        self, *args: Any, objective: PreferenceObjective, reference_store: ReferenceStore | None = None, **kwargs: Any
    ) -> None:
        self.objective = objective
        self.reference_store = reference_store if objective.needs_reference else None
        #: how this stage got its reference log-probs (for the stage's log line)
        self.reference_report: dict[str, Any] = {}
        self.extra_columns = tuple(c for c in objective.columns if c == objective.weight_column)
        training_args = kwargs["args"]
        if not objective.needs_reference or self.reference_store is not None:
            # TRL loads a reference model unless log-probs are "precomputed"; a reference-free
            # objective needs neither (_precompute_ref_logps below skips the pass), and with a
            # store the reference pass runs once, at init, only for pairs the store lacks.
            training_args.precompute_ref_log_probs = True
        processing_class = kwargs["processing_class"]
        tokenizer = getattr(processing_class, "tokenizer", processing_class)
        if kwargs.get("data_collator") is None:
            # the pad token TRL would pick: args.pad_token, else the tokenizer's, else eos
            pad = training_args.pad_token or tokenizer.pad_token or tokenizer.eos_token
            kwargs["data_collator"] = PreferenceCollator(
                pad_token_id=tokenizer.convert_tokens_to_ids(pad),
                max_length=training_args.max_length,
                truncation_mode=training_args.truncation_mode,
                pad_to_multiple_of=training_args.pad_to_multiple_of,
                extra_columns=self.extra_columns,
            )
        if objective.needs_reference and self.reference_store is None:
            super().__init__(*args, **kwargs)
        else:
            # "precompute" makes TRL hash every weight (to key its log-prob cache): seconds to
            # minutes for a large model, for a cache a reference-free objective never uses and
            # the store already keys by the reference's content.
            import trl.trainer.dpo_trainer as dpo_module

            key = self.reference_store.key if self.reference_store is not None else "divtools-no-reference"
            hash_module = dpo_module.hash_module
            dpo_module.hash_module = lambda module: key
            try:
                super().__init__(*args, **kwargs)
            finally:
                dpo_module.hash_module = hash_module

    # -- dataset plumbing -------------------------------------------------------------------
    def _set_signature_columns_if_needed(self) -> None:
        super()._set_signature_columns_if_needed()
        for column in self.extra_columns:
            if column not in self._signature_columns:
                self._signature_columns.append(column)

    def _precompute_ref_logps(self, dataset, name, batch_size):
        if not self.objective.needs_reference:
            return dataset
        if self.reference_store is None:
            return super()._precompute_ref_logps(dataset, name, batch_size)
        return self._stored_ref_logps(dataset, name, batch_size)

    def _stored_ref_logps(self, dataset, name, batch_size):
        """The reference columns from the store; pairs it lacks are computed in one TRL pass and added."""
        from accelerate.utils import broadcast_object_list
        from datasets import Dataset, Features, Value, concatenate_datasets

        store = self.reference_store
        keys = [pair_key(p, c, r) for p, c, r in zip(dataset["prompt_ids"], dataset["chosen_ids"], dataset["rejected_ids"])]
        found = store.lookup(keys)
        # every rank must compute the same subset (another process may be writing the store)
        missing = [[i for i, v in enumerate(found) if v is None]]
        broadcast_object_list(missing, from_process=0)
        missing = missing[0]
        report = {**store.report, "computed": len(missing)}
        if missing:
            model = self.ref_model or self.model
            was_training = model.training
            model.eval()  # the deterministic reference: no dropout in a frozen adapter copy
            try:
                computed = super()._precompute_ref_logps(dataset.select(missing), name, batch_size)
            finally:
                model.train(was_training)
            chosen, rejected = computed["ref_chosen_logps"], computed["ref_rejected_logps"]
            if self.accelerator.is_main_process:
                store.put([keys[i] for i in missing], chosen, rejected)
            for j, i in enumerate(missing):
                found[i] = (chosen[j], rejected[j])
        self.reference_report[name] = report
        columns = Dataset.from_dict(
            {"ref_chosen_logps": [v[0] for v in found], "ref_rejected_logps": [v[1] for v in found]},
            features=Features({"ref_chosen_logps": Value("float32"), "ref_rejected_logps": Value("float32")}),
        )
        return concatenate_datasets([dataset, columns], axis=1)

    # -- the loss ---------------------------------------------------------------------------
    def _reference_logps(self, model_kwargs: dict, labels: torch.Tensor, seq_len: int, shift_mask: torch.Tensor):
        """Summed completion log-probs under the reference, as in TRL's ``_compute_loss``."""
        with torch.no_grad(), disable_gradient_checkpointing(self.model, self.args.gradient_checkpointing_kwargs):
            if self.ref_model is None:
                # PEFT: the frozen copy "ref" of a loaded adapter, or the adapter disabled (= base model)
                unwrapped = self.accelerator.unwrap_model(self.model)
                with use_adapter(unwrapped, adapter_name="ref" if "ref" in unwrapped.peft_config else None):
                    ref_outputs = self.model(**model_kwargs, labels=labels, fused_lm_head=True)
            else:
                ref_outputs = self.ref_model(**model_kwargs, labels=labels, fused_lm_head=True)
        per_token = ref_outputs.log_probs[:, -seq_len:]
        return (per_token * shift_mask).sum(dim=1)

    def _compute_loss(self, model, inputs, return_outputs):
        mode = "train" if self.model.training else "eval"
        objective = self.objective
        # the weight (and any other objective column) must never reach model(**batch)
        columns = {c: inputs[c] for c in self.extra_columns if c in inputs}
        model_kwargs = {k: v for k, v in inputs.items() if k not in _NON_MODEL_KEYS and k not in columns}
        model_kwargs["use_cache"] = False
        completion_mask = inputs["completion_mask"]
        shift_mask = completion_mask[..., 1:]
        nll_over_prompt = objective.needs_nll and objective.nll_tokens == "prompt_and_completion"
        if nll_over_prompt:
            # ORPO as TRL computes it: the NLL covers prompt and completion, so score every real token
            labels = inputs["input_ids"].masked_fill(inputs["attention_mask"] == 0, -100)
        else:
            labels = inputs["input_ids"].masked_fill(completion_mask == 0, -100)
        outputs = model(**model_kwargs, labels=labels, fused_lm_head=True)
        seq_len = shift_mask.size(1)
        per_token = outputs.log_probs[:, -seq_len:]
        completion_tokens = completion_mask.sum(dim=1).to(per_token.dtype)
        sums = (per_token * shift_mask).sum(dim=1) if nll_over_prompt else per_token.sum(dim=1)
        if objective.logprob_reduction == "mean":
            logps = sums / shift_mask.sum(dim=1).clamp_min(1)
        else:
            logps = sums
        chosen_logps, rejected_logps = logps.chunk(2, dim=0)
        chosen_tokens, rejected_tokens = completion_tokens.chunk(2, dim=0)
        batch: dict[str, torch.Tensor] = {
            "chosen_logps": chosen_logps,
            "rejected_logps": rejected_logps,
            "chosen_tokens": chosen_tokens,
            "rejected_tokens": rejected_tokens,
            **{c: v.to(per_token.device) for c, v in columns.items()},
        }
        if objective.needs_nll:
            nll_mask = (labels[:, 1:] != -100)[:, -seq_len:]
            chosen_per_token, _ = per_token.chunk(2, dim=0)
            chosen_nll_mask, _ = nll_mask.chunk(2, dim=0)
            batch["chosen_nll_sum"] = -(chosen_per_token * chosen_nll_mask).sum(dim=1)
            batch["chosen_nll_tokens"] = chosen_nll_mask.sum(dim=1).to(per_token.dtype)
        if objective.needs_reference:
            if self.precompute_ref_logps:
                ref_chosen, ref_rejected = inputs["ref_chosen_logps"], inputs["ref_rejected_logps"]
            else:
                ref_kwargs = {k: v for k, v in model_kwargs.items() if k != "output_router_logits"}
                ref_labels = inputs["input_ids"].masked_fill(completion_mask == 0, -100)
                ref_chosen, ref_rejected = self._reference_logps(ref_kwargs, ref_labels, seq_len, shift_mask).chunk(2)
            batch["ref_chosen_logps"] = ref_chosen
            batch["ref_rejected_logps"] = ref_rejected

        out = objective.compute(batch)
        loss = objective.reduce(out.loss, batch)
        if self.aux_loss_enabled:
            loss = loss + self.router_aux_loss_coef * outputs.aux_loss
        self._record_metrics(mode, out, loss, batch)

        if return_outputs:
            with torch.no_grad():
                outputs = model(**model_kwargs)
            return loss, outputs
        return loss

    def _record_metrics(self, mode: str, out, loss: torch.Tensor, batch: dict[str, torch.Tensor]) -> None:
        """Weighted and unweighted losses, rewards, weight statistics; averaged over ranks."""
        gather = self.accelerator.gather_for_metrics
        metrics = self._metrics[mode]
        metrics["loss/weighted"].append(gather(loss.detach().reshape(1)).mean().item())
        metrics["loss/unweighted"].append(gather(out.unweighted.detach()).mean().item())
        chosen = gather(out.chosen_rewards.detach())
        rejected = gather(out.rejected_rewards.detach())
        metrics["rewards/chosen"].append(chosen.mean().item())
        metrics["rewards/rejected"].append(rejected.mean().item())
        metrics["rewards/accuracies"].append((chosen > rejected).float().mean().item())
        metrics["rewards/margins"].append((chosen - rejected).mean().item())
        metrics["logps/chosen"].append(gather(batch["chosen_logps"].detach()).mean().item())
        metrics["logps/rejected"].append(gather(batch["rejected_logps"].detach()).mean().item())
        for name, value in out.metrics.items():
            metrics[f"objective/{name}"].append(gather(value.detach().float()).mean().item())
        column = self.objective.weight_column
        if column and column in batch:
            w = gather(batch[column].detach().float())
            metrics["weight/mean"].append(w.mean().item())
            metrics["weight/min"].append(w.min().item())
            metrics["weight/max"].append(w.max().item())
            metrics["weight/sum"].append(w.sum().item())
            metrics["weight/zero_fraction"].append((w == 0).float().mean().item())

