"""The stage kinds of ``run: train``: ``sft``, ``preference`` and ``reward_model`` (and ``grpo``,
whose runner lives in :mod:`divtools.train.grpo_stage`).

Each runner builds the TRL/transformers config from the stage's ``args`` (plus what divtools sets:
output folder, seed, CPU/bf16 defaults), trains with resume from the stage's last checkpoint, and
saves a ``from_pretrained``-loadable checkpoint (full model or LoRA adapter, with the tokenizer)
into the stage folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from divtools.atomic import write_json
from divtools.errors import UserError
from divtools.progress import bars_enabled, interactive
from divtools.spec.train import PreferenceStage, RewardModelStage, SFTStage, TrainSpec
from divtools.train.jsonl_log import STATE_FILE, JsonlLogCallback, bind_log_callbacks, truncate_log
from divtools.train.models import (
    InitPoint,
    load_causal_lm,
    load_sequence_regressor,
    load_tokenizer,
    lora_config,
)
from divtools.train.pairs_data import preference_rows, read_pairs, regression_rows, reward_pair_rows, sft_rows, use_chat
from divtools.train.ref_store import describe, store_for_stage

__all__ = ["LOG_FILE", "build_config", "build_sft_trainer", "run_preference", "run_reward_model", "run_sft", "stage_config"]

LOG_FILE = "log.jsonl"
#: where a preference stage's reference log-probs came from (the shared store or every step)
REFERENCE_FILE = "reference-logps.json"
CHECKPOINTS = "checkpoints"


def build_config(config_cls: Any, stage: Any, spec: TrainSpec, stage_dir: Path, *, quiet: bool, **divtools_set: Any) -> Any:
    """``config_cls(**kwargs)`` from divtools' defaults, ``divtools_set`` and the stage's ``args``.

    Defaults: no ``report_to`` target (add "wandb", "tensorboard", ... in args), bf16 when the GPU
    supports it, CPU settings (no bf16, no gradient checkpointing, gloo for torchrun) without one.
    """
    import torch

    kw: dict[str, Any] = {
        "output_dir": str(stage_dir / CHECKPOINTS),
        "seed": spec.seed,
        "report_to": "none",
        # the Trainer's bar only on a terminal: in a log it prints one line per logging step instead
        "disable_tqdm": not (bars_enabled(quiet) and interactive()),
    }
    if torch.cuda.is_available():
        kw["bf16"] = torch.cuda.is_bf16_supported()
    else:
        kw.update(use_cpu=True, bf16=False, activation_checkpointing=False)
        if int(os.environ.get("WORLD_SIZE", "1")) > 1:
            kw["ddp_backend"] = "gloo"
    kw.update(divtools_set)
    kw.update(stage.args)
    try:
        return config_cls(**kw)
    except (ValueError, TypeError) as exc:
        raise UserError(f"{config_cls.__name__} refused these args: {exc}", field=f"stages.{stage.name}.args") from None
    except ImportError as exc:  # e.g. an optim or integration whose package is missing
        raise UserError(f"{config_cls.__name__}: these args need a package that is not installed: {exc}",
                        field=f"stages.{stage.name}.args") from None


def stage_config(spec: TrainSpec, stage: Any, stage_dir: Path, *, quiet: bool, objective: Any = None) -> Any:
    """The TRL config object of ``stage`` (SFTConfig, DPOConfig or RewardConfig), exactly as its
    runner trains with it. ``divtools.train.run`` builds every unfinished stage's config before
    any model loads, so a refused combination of args is a ``FILE: stages.NAME.args`` error
    within seconds, not a traceback after loading."""
    from trl import DPOConfig, RewardConfig, SFTConfig

    if stage.kind == "sft":
        return build_config(SFTConfig, stage, spec, stage_dir, quiet=quiet, completion_only_loss=True)
    if stage.kind == "reward_model":
        extra = {"remove_unused_columns": False} if stage.loss == "l1" else {}
        return build_config(RewardConfig, stage, spec, stage_dir, quiet=quiet, **extra)
    if stage.kind == "grpo":
        from divtools.train.grpo_stage import grpo_config

        return grpo_config(spec, stage, stage_dir, quiet=quiet)
    if objective is None:
        from divtools.components import build

        objective = build("objective", stage.objective)
    mode = _reference_mode(stage, stage.lora is not None)
    divtools_set: dict[str, Any] = {"precompute_ref_log_probs": objective.needs_reference and mode == "precomputed"}
    params = stage.objective
    if hasattr(params, "beta"):
        divtools_set["beta"] = params.beta
    if getattr(params, "loss_type", None) in ("sigmoid", "ipo", "hinge"):
        divtools_set["loss_type"] = [params.loss_type]
    return build_config(DPOConfig, stage, spec, stage_dir, quiet=quiet, **divtools_set)


def _callbacks(stage_dir: Path, stage: Any, extra: Sequence[Any]) -> list[Any]:
    return [JsonlLogCallback(stage_dir / LOG_FILE, stage.name), *extra]


def _last_complete_checkpoint(checkpoints: Path) -> str | None:
    """The newest ``checkpoint-N`` that was saved completely. The Trainer writes
    ``trainer_state.json`` last, so a folder without it was cut off by a kill and is skipped
    (``get_last_checkpoint`` would pick it and the resume would fail); the log callback writes
    its counters (``STATE_FILE``) right after, so a folder without them is skipped too (its
    resume would restart ``num_tokens`` and ``train_loss`` in log.jsonl)."""
    if not checkpoints.is_dir():
        return None
    done = [p for p in checkpoints.glob("checkpoint-*")
            if p.is_dir() and p.name.split("-")[-1].isdigit() and (p / "trainer_state.json").exists()
            and (p / STATE_FILE).exists()]
    return str(max(done, key=lambda p: int(p.name.split("-")[-1]))) if done else None


def _train_and_save(trainer: Any, stage_dir: Path, *, quiet: bool) -> None:
    """Train, resuming from the newest checkpoint of this stage if there is one; save the result."""
    from transformers.trainer_callback import PrinterCallback

    if quiet:  # quiet: the JSONL log has every record
        trainer.remove_callback(PrinterCallback)

    checkpoints = stage_dir / CHECKPOINTS
    last = _last_complete_checkpoint(checkpoints)
    if trainer.is_world_process_zero():
        if last is not None:
            truncate_log(stage_dir / LOG_FILE, max_step=int(Path(last).name.split("-")[-1]))
        elif (stage_dir / LOG_FILE).exists():
            (stage_dir / LOG_FILE).unlink()
    trainer.accelerator.wait_for_everyone()
    bind_log_callbacks(trainer)  # a resumed run's log.jsonl continues the killed run's counters
    try:
        trainer.train(resume_from_checkpoint=last)
    except Exception as exc:
        from divtools.cli.errors import REFUSED_PICKLE, refused_pickle

        if last is not None and refused_pickle(exc):  # a planted optimizer.pt / rng_state.pth
            raise UserError(REFUSED_PICKLE.replace("a checkpoint or model file", "a file of this checkpoint"),
                            file=last) from None
        raise
    trainer.save_model(str(stage_dir))


def _init(spec: TrainSpec, prev_dir: Path | None) -> InitPoint:
    return InitPoint.of(spec.model, prev_dir)


def run_sft(spec: TrainSpec, stage: SFTStage, stage_dir: Path, prev_dir: Path | None, *, quiet: bool, callbacks: Sequence[Any] = ()) -> None:
    trainer = build_sft_trainer(spec, stage, stage_dir, prev_dir, quiet=quiet, callbacks=callbacks)
    _train_and_save(trainer, stage_dir, quiet=quiet)


def build_sft_trainer(
    spec: TrainSpec, stage: SFTStage, stage_dir: Path, prev_dir: Path | None, *, quiet: bool, callbacks: Sequence[Any] = ()
) -> Any:
    """The ``SFTTrainer`` of an sft stage (loss on response tokens only)."""
    from datasets import Dataset
    from trl import SFTTrainer

    data = stage.data or spec.data  # a stage may train on its own prepared data
    init = _init(spec, prev_dir)
    tokenizer = load_tokenizer(init)
    rows = read_pairs(data.train, limit=data.limit)
    chat = use_chat(tokenizer, data.chat_template)
    model = load_causal_lm(init, trainable_adapter=init.adapter and stage.lora is not None)
    peft = lora_config(stage.lora) if stage.lora is not None and not init.adapter else None
    config = stage_config(spec, stage, stage_dir, quiet=quiet)
    eval_ds = None
    if data.eval is not None:
        eval_ds = Dataset.from_list(sft_rows(read_pairs(data.eval), chat=chat, responses=stage.responses))
    trainer = SFTTrainer(
        model=model,
        args=config,
        train_dataset=Dataset.from_list(sft_rows(rows, chat=chat, responses=stage.responses)),
        eval_dataset=eval_ds,
        processing_class=tokenizer,
        peft_config=peft,
        callbacks=_callbacks(stage_dir, stage, callbacks),
    )
    return trainer


def _reference_mode(stage: PreferenceStage, policy_is_peft: bool) -> str:
    mode = stage.reference
    if mode == "auto":
        return "adapter" if policy_is_peft else "model"
    if mode == "adapter" and not policy_is_peft:
        raise UserError(
            "reference 'adapter' needs a LoRA policy: set lora, or start from a LoRA stage and set lora",
            field=f"stages.{stage.name}.reference",
        )
    return mode


def run_preference(
    spec: TrainSpec, stage: PreferenceStage, stage_dir: Path, prev_dir: Path | None, *, quiet: bool, callbacks: Sequence[Any] = ()
) -> None:
    from datasets import Dataset

    from divtools.components import build
    from divtools.train.preference_trainer import PreferenceTrainer

    data = stage.data or spec.data  # a stage may train on its own prepared data
    objective = build("objective", stage.objective)
    rows = read_pairs(data.train, limit=data.limit)
    names = list(rows[0])
    objective.check_dataset(names, lambda c: [r.get(c) for r in rows], file=str(data.train))
    init = _init(spec, prev_dir)
    tokenizer = load_tokenizer(init)
    chat = use_chat(tokenizer, data.chat_template)
    policy_is_peft = stage.lora is not None
    mode = _reference_mode(stage, policy_is_peft)
    model = load_causal_lm(init, trainable_adapter=init.adapter and policy_is_peft)
    peft = lora_config(stage.lora) if policy_is_peft and not init.adapter else None
    config = stage_config(spec, stage, stage_dir, quiet=quiet, objective=objective)
    store, store_why = (None, "")
    if objective.needs_reference:
        store, store_why = store_for_stage(
            stage.share_reference_logps, init, mode=mode, policy_is_peft=policy_is_peft, args=config
        )
    ref_model = None
    if objective.needs_reference and mode == "model" and store is None:
        ref_model = load_causal_lm(init, trainable_adapter=False)
    weight_columns = [c for c in objective.columns if c == objective.weight_column]
    eval_ds = None
    if data.eval is not None:
        eval_rows = read_pairs(data.eval)
        objective.check_dataset(list(eval_rows[0]), lambda c: [r.get(c) for r in eval_rows], file=str(data.eval))
        eval_ds = Dataset.from_list(preference_rows(eval_rows, chat=chat, columns=weight_columns))
    trainer = PreferenceTrainer(
        model=model,
        ref_model=ref_model,
        args=config,
        train_dataset=Dataset.from_list(preference_rows(rows, chat=chat, columns=weight_columns)),
        eval_dataset=eval_ds,
        processing_class=tokenizer,
        peft_config=peft,
        callbacks=_callbacks(stage_dir, stage, callbacks),
        objective=objective,
        reference_store=store,
    )
    if objective.needs_reference and trainer.is_world_process_zero():
        line = describe(stage.name, trainer.reference_report, store_why)
        write_json(stage_dir / REFERENCE_FILE, {"line": line, "splits": trainer.reference_report})
        if not quiet:
            print(line, flush=True)
    _train_and_save(trainer, stage_dir, quiet=quiet)


class _L1Loss:
    """Mean absolute error of the one-output head against ``labels`` (the paper's reward model)."""

    @staticmethod
    def compute(model: Any, inputs: dict[str, Any]) -> Any:
        labels = inputs.pop("labels")
        outputs = model(**inputs)
        predictions = outputs.logits.squeeze(-1).float()
        return (predictions - labels.float()).abs().mean(), outputs


def _l1_trainer_class() -> Any:
    from transformers import Trainer

    class L1RegressionTrainer(Trainer):
        """transformers ``Trainer`` with an L1 loss on a one-output sequence-classification head."""

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            loss, outputs = _L1Loss.compute(model, dict(inputs))
            return (loss, outputs) if return_outputs else loss

    return L1RegressionTrainer


def run_reward_model(
    spec: TrainSpec, stage: RewardModelStage, stage_dir: Path, prev_dir: Path | None, *, quiet: bool, callbacks: Sequence[Any] = ()
) -> None:
    from datasets import Dataset
    from transformers import DataCollatorWithPadding
    from trl import RewardTrainer

    base = stage.model or spec.model
    init = InitPoint.of(base, prev_dir) if prev_dir is not None else None
    tokenizer = load_tokenizer(init or InitPoint.of(base, None))
    model = load_sequence_regressor(base, init, tokenizer)
    data = stage.data or spec.data
    if stage.loss == "l1" and stage.reward_file is not None:
        data_file = stage.reward_file
        rows = read_pairs(stage.reward_file, limit=data.limit, required=("prompt", "response"))
    else:
        data_file = data.train
        rows = read_pairs(data.train, limit=data.limit)
    config = stage_config(spec, stage, stage_dir, quiet=quiet)
    peft = lora_config(stage.lora, task_type="SEQ_CLS")
    max_length = config.max_length

    def encode(texts: list[str]) -> Any:
        # one input format for both losses and for the reward_model scorer: input_template's text,
        # tokenised with the tokenizer's special tokens, truncated to max_length (TRL's own
        # RewardTrainer path would append EOS and silently drop over-long pairs instead)
        return tokenizer(texts, truncation=max_length is not None, max_length=max_length)

    if stage.loss == "bradley_terry":
        pairs = reward_pair_rows(rows, template=stage.input_template)

        def tokenize_pairs(batch: dict[str, list]) -> dict[str, list]:
            return {"chosen_ids": encode(batch["chosen"])["input_ids"], "rejected_ids": encode(batch["rejected"])["input_ids"]}

        # pre-tokenised (chosen_ids/rejected_ids): RewardTrainer uses the ids as given
        dataset = Dataset.from_list(pairs).map(tokenize_pairs, batched=True, remove_columns=["chosen", "rejected"])
        trainer = RewardTrainer(
            model=model,
            args=config,
            train_dataset=dataset,
            processing_class=tokenizer,
            peft_config=peft,
            callbacks=_callbacks(stage_dir, stage, callbacks),
        )
    else:
        if peft is not None:
            from peft import get_peft_model

            model = get_peft_model(model, peft)
        data = regression_rows(rows, template=stage.input_template, targets=stage.targets, file=str(data_file))

        def tokenize(batch: dict[str, list]) -> dict[str, list]:
            encoded = encode(batch["text"])
            encoded["labels"] = batch["label"]
            return encoded

        dataset = Dataset.from_list(data).map(tokenize, batched=True, remove_columns=["text", "label"])
        trainer = _l1_trainer_class()(
            model=model,
            args=config,
            train_dataset=dataset,
            data_collator=DataCollatorWithPadding(tokenizer),
            processing_class=tokenizer,
            callbacks=_callbacks(stage_dir, stage, callbacks),
        )
    _train_and_save(trainer, stage_dir, quiet=quiet)


def run_grpo(spec: TrainSpec, stage: Any, stage_dir: Path, prev_dir: Path | None, *, quiet: bool, callbacks: Sequence[Any] = ()) -> None:
    """GRPO on a divtools diversity-aware reward (:mod:`divtools.train.grpo_stage`, which builds on this module)."""
    from divtools.train.grpo_stage import run_grpo as run

    run(spec, stage, stage_dir, prev_dir, quiet=quiet, callbacks=callbacks)


RUNNERS = {"sft": run_sft, "preference": run_preference, "reward_model": run_reward_model, "grpo": run_grpo}
