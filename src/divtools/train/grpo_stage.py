"""The ``grpo`` stage of ``run: train``: TRL's ``GRPOTrainer`` on a divtools diversity-aware reward.

The policy samples ``num_generations`` completions per prompt (TRL's generation, or vLLM through
``args.use_vllm``); :class:`divtools.train.rewards.DiversityReward` scores each completion by
quality × (or +) its diversity within the group; GRPO's group-relative advantage trains on it.
``darling: true`` is DARLING's set-up: the floored partition diversity, multiplied, and
``scale_rewards: "none"`` (no division by the group's reward std).

The prompts are the distinct ``prompt`` values of the stage's data, in file order (a prepared
pairs file, or any JSONL/Parquet file or Hugging Face dataset with a prompt column).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from divtools.errors import UserError
from divtools.spec.train import GRPOStage, TrainSpec
from divtools.train.models import InitPoint, load_causal_lm, load_tokenizer, lora_config
from divtools.train.pairs_data import read_pairs, use_chat
from divtools.train.rewards import DiversityReward
from divtools.train.stages import _callbacks, _train_and_save, build_config

__all__ = ["build_grpo_trainer", "grpo_config", "prompt_rows", "reward_of", "run_grpo"]


def grpo_config(spec: TrainSpec, stage: GRPOStage, stage_dir: Path, *, quiet: bool) -> Any:
    """The stage's ``GRPOConfig``: its args, with ``scale_rewards: none`` under ``darling``."""
    from trl import GRPOConfig

    divtools_set: dict[str, Any] = {"scale_rewards": "none"} if stage.darling else {}
    return build_config(GRPOConfig, stage, spec, stage_dir, quiet=quiet, **divtools_set)


def reward_of(stage: GRPOStage, num_generations: int | None) -> DiversityReward:
    """The stage's reward function (a plain TRL reward function)."""
    r = stage.reward
    return DiversityReward(quality=r.quality, diversity=r.diversity, partition=r.partition, combine=r.combine,
                           diversity_weight=r.diversity_weight, floor=r.floor, num_generations=num_generations)


def prompt_rows(rows: Sequence[dict[str, Any]], *, chat: bool, file: str) -> list[dict[str, Any]]:
    """One dataset row per distinct prompt (first occurrence order): ``prompt`` as text, or as a
    one-message conversation when the chat template is used (TRL applies it)."""
    seen: dict[str, None] = {}
    for row in rows:
        seen.setdefault(row["prompt"], None)
    if not seen:
        raise UserError("no prompt to sample from", file=file)
    return [{"prompt": [{"role": "user", "content": p}] if chat else p} for p in seen]


def build_grpo_trainer(
    spec: TrainSpec, stage: GRPOStage, stage_dir: Path, prev_dir: Path | None, *, quiet: bool, callbacks: Sequence[Any] = ()
) -> Any:
    from datasets import Dataset
    from trl import GRPOTrainer

    data = stage.data or spec.data
    init = InitPoint.of(spec.model, prev_dir)
    tokenizer = load_tokenizer(init)
    if tokenizer.pad_token is None:  # GRPO pads the prompts of a generation batch
        tokenizer.pad_token = tokenizer.eos_token
    chat = use_chat(tokenizer, data.chat_template)
    config = grpo_config(spec, stage, stage_dir, quiet=quiet)
    train = prompt_rows(read_pairs(data.train, limit=data.limit, required=("prompt",)), chat=chat, file=str(data.train))
    eval_ds = None
    if data.eval is not None:
        eval_ds = Dataset.from_list(prompt_rows(read_pairs(data.eval, required=("prompt",)), chat=chat, file=str(data.eval)))
    # each group is checked to be one prompt's num_generations completions; with a different
    # group size at evaluation the reward groups runs of equal prompts (the prompts are distinct)
    same = config.num_generations_eval in (None, config.num_generations)
    reward = reward_of(stage, config.num_generations if same else None)
    model = load_causal_lm(init, trainable_adapter=init.adapter and stage.lora is not None)
    peft = lora_config(stage.lora) if stage.lora is not None and not init.adapter else None
    return GRPOTrainer(
        model=model,
        reward_funcs=[reward],
        args=config,
        train_dataset=Dataset.from_list(train),
        eval_dataset=eval_ds,
        processing_class=tokenizer,
        peft_config=peft,
        callbacks=_callbacks(stage_dir, stage, callbacks),
    )


def run_grpo(
    spec: TrainSpec, stage: GRPOStage, stage_dir: Path, prev_dir: Path | None, *, quiet: bool, callbacks: Sequence[Any] = ()
) -> None:
    trainer = build_grpo_trainer(spec, stage, stage_dir, prev_dir, quiet=quiet, callbacks=callbacks)
    _train_and_save(trainer, stage_dir, quiet=quiet)
