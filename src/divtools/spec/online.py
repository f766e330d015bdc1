"""``run: online`` — iterated on-policy DDPO / DivPO from the model's own samples.

Each of ``rounds`` rounds samples ``samples_per_prompt`` responses per training prompt from the
current policy (any backend whose params name a ``model``), scores them with ``scorer``, builds
deviation-weighted pairs exactly as ``run: prepare`` does (``pair_builder``, ``metrics``,
``weights``), trains one preference ``stage`` from the previous round's model, and evaluates
the new model on ``eval``. Every step is an ordinary evaluate / prepare / train run in
``output.dir/round-N/`` (see docs/on-policy.md).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, model_validator

from divtools.spec.base import Component, ComponentParams, InputPath, SpecModel
from divtools.spec.common import OutputSpec
from divtools.spec.prepare import WeightsSpec
from divtools.spec.train import ModelSpec, PreferenceStage

__all__ = ["OnlineEvalSpec", "OnlineSpec"]

MetricSpec = Annotated[ComponentParams, Component("metric")]
ScorerSpec = Annotated[ComponentParams, Component("scorer")]


class OnlineEvalSpec(SpecModel):
    """The small evaluation of every round's model (and of the starting model, round 0)."""

    prompts: InputPath | None = None
    """JSONL of held-out prompts (prompt, optional prompt_id); default: the training prompts."""
    limit: int | None = Field(None, ge=1)
    """Evaluate only the first N prompts."""
    samples_per_prompt: int = Field(4, ge=2, le=1000)
    """Samples per prompt of the evaluation."""
    metrics: list[MetricSpec] = Field(min_length=1)
    """Diversity metrics of the evaluation. Hold out one that the training signal does not use
    (the report warns when they coincide: a Goodhart risk)."""
    scorers: list[ScorerSpec] = Field(default_factory=list)
    """Quality scorers of the evaluation (default: none)."""


class OnlineSpec(SpecModel):
    """Iterated on-policy DDPO/DivPO: sample -> score -> pairs and weights -> one preference stage, R times."""

    familiar_names: ClassVar[dict[str, str]] = {"num_rounds": "rounds", "iterations": "rounds",
                                                "num_generations": "samples_per_prompt"}

    run: Literal["online"]
    seed: int = 42
    """Seed of sampling (a different derived seed each round), pairing and training."""
    rounds: int = Field(ge=1, le=100)
    """Number of sample-score-train rounds."""
    model: ModelSpec
    """The starting policy (round 1 samples from it and trains from it)."""
    prompts: InputPath
    """JSONL of training prompts: prompt, optional prompt_id (or id)."""
    samples_per_prompt: int = Field(4, ge=2, le=1000)
    """K: responses sampled per training prompt each round."""
    backend: Annotated[ComponentParams, Component("backend")]
    """Generation backend, e.g. {kind: transformers, max_new_tokens: 256}; its ``model`` is set to
    the current policy every round (written here, it is ignored)."""
    scorer: ScorerSpec
    """Quality of each sample: the score the pair builder ranks by."""
    metrics: list[MetricSpec] = Field(default_factory=list)
    """Deviation signals of the weights (as ``run: prepare``'s metrics); empty: weights are 1."""
    pair_builder: Annotated[ComponentParams, Component("pair_builder")] = Field(
        default_factory=lambda: {"kind": "best_vs_worst"})
    """How each round's samples become pairs (any pair builder; DivPO: {kind: divpo, ...})."""
    weights: WeightsSpec = Field(default_factory=WeightsSpec)
    """Deviation -> weight settings (as ``run: prepare``), except that ``pool`` defaults to ``all``:
    deviation is measured among all K samples of a prompt. (With ``pool: pairs`` and a pair builder
    that keeps two samples per prompt, such as the default best_vs_worst, both have the same
    distance-based deviation and every weight is 1.)"""
    stage: PreferenceStage
    """The preference stage trained each round (name, kind and init are set by divtools)."""
    eval: OnlineEvalSpec
    """The small evaluation after every round."""
    output: OutputSpec

    @model_validator(mode="before")
    @classmethod
    def _fill(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if isinstance(data.get("model"), str):
            data["model"] = {"path": data["model"]}
        weights = data.get("weights", {})
        if isinstance(weights, dict) and "pool" not in weights:  # the one place pool defaults to all
            data["weights"] = {**weights, "pool": "all"}
        stage = data.get("stage")
        if isinstance(stage, dict):
            data["stage"] = {"name": "policy", "kind": "preference", **stage, "init": "base"}
        backend = data.get("backend")
        model = data.get("model")
        if isinstance(backend, dict) and "model" not in backend and isinstance(model, dict) and "path" in model:
            data["backend"] = {**backend, "model": model["path"]}  # replaced by the policy each round
        return data

    @model_validator(mode="after")
    def _checks(self) -> "OnlineSpec":
        if self.model.from_config:
            raise ValueError("model.from_config: the backend would sample from the saved weights, not the random "
                             "initialisation the stage trains from; save the initial model and give its folder")
        if self.backend.kind == "openai_compatible":
            raise ValueError("backend 'openai_compatible': a server keeps serving the weights it loaded, not each "
                             "round's policy; use a backend that loads the model folder (e.g. transformers)")
        if "model" not in type(self.backend).model_fields:
            raise ValueError(f"backend '{self.backend.kind}' has no model field to point at each round's policy: "
                             "use a backend that loads a model folder (e.g. transformers)")
        if self.stage.name != "policy" or self.stage.init != "base":
            raise ValueError("stage: name and init are set by divtools; remove them")
        return self
