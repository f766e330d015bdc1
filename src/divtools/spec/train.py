"""``run: train`` — SFT, preference and reward-model stages.

A train spec names a base model, a prepared preference dataset (the output of ``run: prepare``)
and an ordered list of stages. Each stage writes a Hugging Face checkpoint under
``output.dir/<stage name>/`` and may start from the base model or an earlier stage. ``args``
passes TRL/transformers config fields (``SFTConfig``, ``DPOConfig``, ``RewardConfig``) through,
checked against a snapshot of those classes so that validation needs no torch.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import Field, field_validator, model_validator

from divtools.spec import trl_names
from divtools.spec.base import Component, ComponentParams, InputPath, ModelRef, SpecModel
from divtools.spec.common import OutputSpec
from divtools.spec.train_data import DataSpec, HfDataSpec
from divtools.spec.trl_args import RESERVED_ARGS, check_args, config_fields

__all__ = [
    "DataSpec",
    "GRPOStage",
    "GRPORewardSpec",
    "HfDataSpec",
    "LoraSpec",
    "ModelSpec",
    "PreferenceStage",
    "RESERVED_ARGS",
    "RewardModelStage",
    "SFTStage",
    "TrainSpec",
    "check_args",
]

class ModelSpec(SpecModel):
    """A model to load with ``from_pretrained`` (never with remote code unless asked)."""

    familiar_names: ClassVar[dict[str, str]] = trl_names.MODEL

    path: ModelRef
    """Local folder or .gguf file (relative paths resolve against the spec file's folder), Hugging Face
    hub id, or ``preset:<name>`` (offline: ``preset:smollm2-135m-instruct``, see docs/models.md)."""
    revision: str | None = None
    """Hub revision (branch, tag or commit) to pin."""
    tokenizer: ModelRef | None = None
    """Tokenizer folder or hub id (default: the model's)."""
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    """Weights dtype to load (auto: as saved)."""
    trust_remote_code: bool = False
    """Run the model repository's own Python code. Off unless you trust it."""
    from_config: bool = False
    """Train from scratch: build the model with random weights from ``config.json`` in ``path``
    (seeded by ``init_seed``, so every stage that starts from the base gets the same weights)
    instead of loading saved weights. The quickstart's tiny model works this way."""
    init_seed: int = 0
    """Seed of the random initialisation when ``from_config`` is set."""


class LoraSpec(SpecModel):
    """LoRA adapter (peft). The paper: r=128, alpha=256."""

    familiar_names: ClassVar[dict[str, str]] = trl_names.LORA

    r: int = Field(16, ge=1)
    """Rank."""
    alpha: int = Field(32, ge=1)
    """Scaling numerator (lora_alpha)."""
    dropout: float = Field(0.05, ge=0, lt=1)
    """Dropout on the adapter input."""
    target_modules: Union[Literal["all-linear"], list[str]] = "all-linear"
    """Modules to adapt: 'all-linear' or a list of module names."""


class _Stage(SpecModel):
    familiar_names: ClassVar[dict[str, str]] = trl_names.STAGE
    #: which TRL config class this stage's args fill (a key of the fields snapshot)
    args_kind: ClassVar[str] = ""

    @classmethod
    def unknown_key_hint(cls, key: str, known: list[str]) -> str:
        hint = trl_names.pointer(cls.familiar_names, key)
        if not hint and cls.args_kind and key in config_fields()[cls.args_kind]:
            hint = f" (a TRL config field: write it under args, e.g. args: {{{key}: ...}})"
        return hint or super().unknown_key_hint(key, known)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    """Stage name: its output folder under output.dir, and what later stages' init refers to."""
    init: str = "base"
    """Starting weights: 'base' (the spec's model), 'previous' (the stage before) or a stage name."""
    lora: LoraSpec | None = None
    """Train a LoRA adapter instead of all weights. When init is a LoRA stage, its adapter is trained further."""
    args: dict[str, Any] = Field(default_factory=dict)
    """TRL config fields (learning_rate, num_train_epochs, per_device_train_batch_size, bf16, ...)."""


class SFTStage(_Stage):
    """Supervised fine-tuning (TRL SFTTrainer) on the responses, loss on response tokens only."""

    kind: Literal["sft"]
    args_kind: ClassVar[str] = "sft"
    responses: Literal["chosen", "all"] = "chosen"
    """Train on the chosen responses, or on every distinct response (chosen and rejected)."""
    data: DataSpec | None = None
    """This stage's data (default: the spec's ``data``)."""

    @field_validator("args")
    @classmethod
    def _args(cls, v: dict[str, Any]) -> dict[str, Any]:
        return check_args("sft", v)


class PreferenceStage(_Stage):
    """Preference optimisation with one objective (DPO, DDPO, ORPO, DORPO, DivPO, ...)."""

    kind: Literal["preference"]
    args_kind: ClassVar[str] = "preference"
    init: str = "previous"
    """Starting weights: 'previous' (the paper: DPO/DDPO start from SFT), 'base' (the paper's ORPO) or a stage name."""
    objective: Annotated[ComponentParams, Component("objective")]
    """The loss (see docs/objectives.md)."""
    data: DataSpec | None = None
    """This stage's data (default: the spec's ``data``), e.g. DivPO pairs for a ``divpo`` stage
    next to DDPO stages on deviation-weighted pairs."""
    reference: Literal["auto", "model", "adapter", "precomputed"] = "auto"
    """Frozen reference for objectives that need one: a separate copy of the init model (model), the
    frozen initial adapter / disabled adapter of a LoRA policy (adapter, the paper's set-up), or
    log-probs computed once before training (precomputed). auto: adapter with LoRA, else model."""
    share_reference_logps: bool = True
    """Read the reference log-probs from the store shared by every stage (and run) with the same
    reference model, tokenisation and pairs, and compute only what it lacks, once, before training;
    such a stage runs no reference model. Used only where the stored values are exactly this
    stage's reference (not with sync_ref_model, ld_alpha, or reference 'model' with LoRA); the stage
    prints which path it took. false: the reference runs every step, as in TRL."""

    @field_validator("args")
    @classmethod
    def _args(cls, v: dict[str, Any]) -> dict[str, Any]:
        return check_args("preference", v)


class RewardModelStage(_Stage):
    """A reward model: regression on transformed scores (L1, the paper's reddit-reward) or Bradley-Terry."""

    kind: Literal["reward_model"]
    args_kind: ClassVar[str] = "reward_model"
    model: ModelSpec | None = None
    """Base model of the reward model (default: the spec's model)."""
    loss: Literal["l1", "bradley_terry"] = "l1"
    """l1: sequence regression of each response's transformed score; bradley_terry: TRL RewardTrainer on pairs."""
    data: DataSpec | None = None
    """This stage's preference data (default: the spec's ``data``)."""
    reward_file: InputPath | None = None
    """l1 only: a reward file from 'run: prepare' with reward_data: true (prompt, response, score,
    target); default: the distinct responses of the pairs with their scores."""
    input_template: str = "<prompt>{prompt}</prompt><response>{response}</response>"
    """How (prompt, response) becomes the reward model's input text, for both losses (bradley_terry
    fills it with the chosen and with the rejected response); the reward_model scorer reads it
    from the stage's divtools-stage.json, so scoring sees the format training saw."""
    targets: Literal["transformed_votes", "raw"] = "transformed_votes"
    """l1 targets: docs/method.md §2 vote transform (shift to min 1, log1p ×100, min-max to [-1, 1]) or raw scores."""

    @field_validator("args")
    @classmethod
    def _args(cls, v: dict[str, Any]) -> dict[str, Any]:
        return check_args("reward_model", v)

    @field_validator("model", mode="before")
    @classmethod
    def _model_shorthand(cls, v: Any) -> Any:
        return {"path": v} if isinstance(v, str) else v

    @model_validator(mode="after")
    def _template(self) -> "RewardModelStage":
        try:
            self.input_template.format(prompt="", response="")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"input_template may use only {{prompt}} and {{response}}: {exc}") from None
        return self


class GRPORewardSpec(SpecModel):
    """A GRPO stage's reward (divtools.train.rewards): quality × (or +) each completion's diversity
    within its prompt's group of num_generations completions."""

    quality: Annotated[ComponentParams, Component("scorer")] | None = None
    """Quality scorer q_i (e.g. {kind: reward_model, model: ...}); none: the reward is the diversity alone."""
    diversity: Annotated[ComponentParams, Component("metric")] | None = None
    """A metric whose per-sample deviation within the group is d_i (e.g. {kind: embedding_diversity})."""
    partition: Annotated[ComponentParams, Component("equivalence")] | None = None
    """An equivalence test: d_i = max(floor, share of the group in other classes) (DARLING), e.g. {kind: unigram}."""
    combine: Literal["multiply", "add"] = "multiply"
    """reward = q_i · d_i (multiply, DARLING's) or q_i + diversity_weight · d_i (add)."""
    diversity_weight: float = 1.0
    """λ of combine: add."""
    floor: float = Field(0.1, ge=0, le=1)
    """Lower bound of the partition diversity (DARLING: 0.1)."""

    @model_validator(mode="after")
    def _one_diversity(self) -> "GRPORewardSpec":
        if self.diversity is not None and self.partition is not None:
            raise ValueError("give either diversity (a metric) or partition (an equivalence test), not both")
        return self


class GRPOStage(_Stage):
    """Online RL with TRL's GRPOTrainer on a divtools diversity-aware reward (see docs/on-policy.md).
    Reads the distinct prompts of its data (only a prompt column is needed)."""

    kind: Literal["grpo"]
    args_kind: ClassVar[str] = "grpo"
    #: the columns this stage reads from its data file
    data_columns: ClassVar[tuple[str, ...]] = ("prompt",)
    init: str = "previous"
    """Starting weights: 'previous' (e.g. an SFT stage), 'base' or a stage name."""
    reward: GRPORewardSpec
    """quality, diversity or partition, combine."""
    darling: bool = False
    """DARLING (Li et al. 2025): the partition diversity (default partition: {kind: unigram}),
    combine multiply, and GRPO without std normalisation (scale_rewards: none)."""
    data: DataSpec | None = None
    """This stage's prompts (default: the spec's ``data``): any file with a prompt column."""

    @field_validator("args")
    @classmethod
    def _args(cls, v: dict[str, Any]) -> dict[str, Any]:
        return check_args("grpo", v)

    @model_validator(mode="before")
    @classmethod
    def _darling_partition(cls, data: Any) -> Any:
        # darling: true without a partition: NoveltyBench's unigram test (offline, no model)
        reward = data.get("reward") if isinstance(data, dict) else None
        if data.get("darling") is True and isinstance(reward, dict) and reward.get("diversity") is None \
                and reward.get("partition") is None:
            data = {**data, "reward": {**reward, "partition": {"kind": "unigram"}}}
        return data

    @model_validator(mode="after")
    def _darling(self) -> "GRPOStage":
        r = self.reward
        if r.diversity is None and r.partition is None:
            raise ValueError("reward needs diversity (a metric, e.g. {kind: distinct_n}) or partition "
                             "(an equivalence test, e.g. {kind: unigram}); or set darling: true")
        if self.darling:
            if r.diversity is not None:
                raise ValueError("darling: true uses the partition diversity: replace reward.diversity by "
                                 "reward.partition (an equivalence test), or set darling: false")
            if r.combine != "multiply":
                raise ValueError("darling: true multiplies quality by diversity: remove reward.combine: add")
            if self.args.get("scale_rewards", "none") not in ("none", False):
                raise ValueError("darling: true turns std normalisation off (scale_rewards: none): remove args.scale_rewards")
        return self


Stage = Annotated[Union[SFTStage, PreferenceStage, RewardModelStage, GRPOStage], Field(discriminator="kind")]

#: report_to integration -> the modules of which one must be importable (transformers' integrations)
REPORT_TO_MODULES: dict[str, tuple[str, ...]] = {
    "tensorboard": ("tensorboard", "tensorboardX"),
    "wandb": ("wandb",),
    "mlflow": ("mlflow",),
    "comet_ml": ("comet_ml",),
    "clearml": ("clearml",),
    "neptune": ("neptune",),
    "dvclive": ("dvclive",),
    "codecarbon": ("codecarbon",),
    "trackio": ("trackio",),
    "swanlab": ("swanlab",),
    "azure_ml": ("azureml",),
    "dagshub": ("dagshub",),
    "flyte": ("flytekit",),
    "kubeflow": ("kubeflow",),
}


def stage_args_problems(stage: Any, data: "DataSpec") -> list[str]:
    """What a stage's ``args`` ask for that this spec or this machine cannot give, found before any
    model loads (the trainer would fail on it after loading): evaluation without eval data, a
    ``report_to`` target whose package is not installed."""
    import importlib.util

    problems = []
    args = stage.args
    strategy = args.get("eval_strategy", "no")
    asked = (f"eval_strategy is '{strategy}'" if strategy not in ("no", None) else
             "do_eval is true" if args.get("do_eval") is True else
             "load_best_model_at_end is true" if args.get("load_best_model_at_end") is True else None)
    if asked and stage.kind == "reward_model":
        problems.append(f"args.{asked}, but reward_model stages do not evaluate in this version; remove it")
    elif asked and data.eval is None:
        problems.append(f"args.{asked} but the stage has no eval data: set data.eval (held-out pairs, e.g. "
                        "run: prepare's eval.jsonl) or remove it")
    targets = args.get("report_to", "none")
    for target in [targets] if isinstance(targets, str) else list(targets or []):
        if target in ("none", "all"):
            continue
        modules = REPORT_TO_MODULES.get(target)
        if modules is None:
            problems.append(f"args.report_to: unknown integration '{target}'; one of: none, all, "
                            + ", ".join(sorted(REPORT_TO_MODULES)))
        elif not any(importlib.util.find_spec(m) is not None for m in modules):
            problems.append(f"args.report_to: '{target}' needs the {modules[0]} package, which is not installed: "
                            f"pip install {modules[0]} (or remove '{target}' from report_to)")
    return problems


class TrainSpec(SpecModel):
    """Train a model in stages."""

    familiar_names: ClassVar[dict[str, str]] = trl_names.TOP

    run: Literal["train"]
    seed: int = 42
    """Seed of model initialisation (LoRA), data order and dropout."""
    output: OutputSpec
    model: ModelSpec
    """The base model every 'init: base' stage starts from."""
    data: DataSpec
    stages: list[Stage] = Field(min_length=1)
    """Stages, run in order; finished stages are not redone when the spec is rerun."""

    @field_validator("model", mode="before")
    @classmethod
    def _model_shorthand(cls, v: Any) -> Any:
        return {"path": v} if isinstance(v, str) else v

    @model_validator(mode="after")
    def _stage_graph(self) -> "TrainSpec":
        seen: list[str] = []
        for i, stage in enumerate(self.stages):
            if stage.name in seen:
                raise ValueError(f"stages[{i}].name '{stage.name}' is used twice")
            if stage.init not in ("base", "previous") and stage.init not in seen:
                raise ValueError(
                    f"stages[{i}].init '{stage.init}' is not an earlier stage; use 'base', 'previous' or one of: "
                    f"{', '.join(seen) or '(none)'}"
                )
            if stage.kind == "reward_model" and stage.init not in ("base",) and stage.model is not None:
                raise ValueError(f"stages[{i}]: give either model or init (not both) for a reward model")
            seen.append(stage.name)
        errors = [
            {"type": "stage_args", "loc": ("stages", i, "args"), "msg": problem, "input": stage.args}
            for i, stage in enumerate(self.stages)
            for problem in stage_args_problems(stage, stage.data or self.data)
        ]
        if errors:
            from divtools.spec.base import raise_all

            raise_all("TrainSpec", errors)
        return self

    def init_stage(self, index: int) -> str | None:
        """Name of the stage stage ``index`` starts from, or None for the base model."""
        stage = self.stages[index]
        if stage.init == "base":
            return None
        if stage.init == "previous":
            return self.stages[index - 1].name if index > 0 else None
        return stage.init
