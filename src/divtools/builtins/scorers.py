"""Built-in scorers: quality of (prompt, response), higher is better."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from divtools.builtins.backends import ModelRef, OpenAIConnection
from divtools.hookspecs import hookimpl
from divtools.spec.base import ScorerParams, require_placeholders


class DatasetScoreParams(ScorerParams):
    """A numeric column of the input rows (e.g. upvotes of human responses) used as quality."""

    kind: Literal["dataset_score"] = "dataset_score"
    column: str = "score"
    """The column of the generations/gold rows that holds the score."""
    missing: Literal["error", "skip"] = "error"
    """A row without a number in the column: stop with an error naming it, or leave the sample
    out (NaN, not averaged)."""


class LengthParams(ScorerParams):
    """Length of the response, so diversity can be read against length (not a quality judgement)."""

    kind: Literal["length"] = "length"
    unit: Literal["words", "characters"] = "words"
    """Whitespace-separated words, or Unicode characters."""


#: the paper's reward-model input (docs/method.md §6)
REWARD_TEMPLATE = "<prompt>{prompt}</prompt><response>{response}</response>"


class RewardModelParams(ScorerParams):
    """A sequence-classification (reward) model's output on the paper's input format."""

    kind: Literal["reward_model"] = "reward_model"
    model: ModelRef
    """Local folder or hub id of an AutoModelForSequenceClassification checkpoint (e.g. saved by
    the reward_model training stage), or a folder holding only a PEFT adapter over its base."""
    revision: str | None = None
    """Hub revision of the model; pin it for reproducible scores."""
    adapter: ModelRef | None = None
    """A LoRA/PEFT adapter applied on top of the model."""
    num_labels: int = Field(1, ge=1)
    """Outputs of the head when an adapter is loaded onto a bare base model."""
    template: str = REWARD_TEMPLATE
    """Model input; {prompt} and {response} are replaced. Default: the input_template a divtools
    reward_model stage trained the model on (read from its divtools-stage.json), else the paper's."""
    chat_template: bool = False
    """Score the tokenizer's chat-templated conversation (user: prompt, assistant: response)
    instead of ``template``: for reward models trained elsewhere on conversational pairs."""
    output_index: int = Field(0, ge=0)
    """Which output of the head is the score (0 for a one-output regression head)."""
    max_length: int | None = Field(2048, ge=8)
    """Longest input in tokens; longer inputs are truncated (unset: no truncation)."""
    truncation_side: Literal["right", "left"] = "right"
    """Cut long inputs at the end (right) or the start (left)."""
    batch_size: int = Field(8, ge=1)
    """Texts per forward pass."""
    device: str | None = None
    """torch device (default: cuda when available, else cpu)."""
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    """Weights' dtype; auto = bfloat16 on a GPU that supports it, else float32."""

    @field_validator("template")
    @classmethod
    def _fields(cls, value: str) -> str:
        return require_placeholders(value, "prompt", "response", field="template")


class LLMJudgeParams(ScorerParams, OpenAIConnection):
    """A chat model (any OpenAI-compatible server) rates each response against a rubric."""

    kind: Literal["llm_judge"] = "llm_judge"
    rubric: str = (
        "Rate the story written for the prompt as creative writing: originality, engagement, "
        "coherence, fit to the prompt and quality of the prose."
    )
    """What the judge looks for; inserted at {rubric}."""
    prompt_template: str = (
        "{rubric}\n\nPrompt:\n{prompt}\n\nResponse:\n{response}\n\n"
        "Rate the response from {min_score} (worst) to {max_score} (best). "
        "Answer with the score only, as a number."
    )
    """The judge's message; {rubric}, {prompt}, {response}, {min_score}, {max_score} are replaced."""
    system_prompt: str | None = "You are a careful, strict judge of writing quality."
    """System message sent before each item."""
    min_score: float = 1.0
    """Lowest allowed score; a reply outside [min_score, max_score] is an error."""
    max_score: float = 10.0
    """Highest allowed score."""
    temperature: float = Field(0.0, ge=0.0)
    """Judge sampling temperature (0: as repeatable as the server allows)."""
    max_new_tokens: int = Field(256, ge=1)
    """Most tokens in the judge's reply."""
    seed: int | None = 0
    """Base of the per-item seed sent to the server (unset: send none)."""
    cache: bool = True
    """Keep judgements in the divtools cache ($DIVTOOLS_CACHE), so a rerun does not pay for
    the same judgement twice."""
    constrained: Literal["auto", "json_schema", "json_object", "off"] = "auto"
    """Ask for the reply {"score": N} through the request's ``response_format`` with a JSON schema
    of the score's range. json_schema: OpenAI's form (OpenAI, vLLM, llama.cpp's llama-server);
    json_object: ``{type: json_object, schema: ...}`` (llama-cpp-python's server, llama-server).
    auto: json_schema, then json_object, then none: a form the server refuses (HTTP 400/422) is
    dropped for the rest of the run and the report says so. off: never send it."""
    reask: int = Field(2, ge=0, le=10)
    """Times a reply with no readable score is asked again (with a one-line reminder of the
    expected answer) before the item counts as missing."""
    max_missing_share: float = Field(0.05, ge=0.0, le=1.0)
    """Largest share of a system's samples left without a score (replies still unreadable after
    ``reask``) before the run stops with exit 2, naming the share and examples. Below it, missing
    scores are counted in the report and left out of the means."""

    @field_validator("prompt_template")
    @classmethod
    def _fields(cls, value: str) -> str:
        return require_placeholders(value, "prompt", "response", field="prompt_template")

    @model_validator(mode="after")
    def _range(self) -> "LLMJudgeParams":
        if self.min_score >= self.max_score:
            raise ValueError("min_score must be below max_score")
        return self


@hookimpl
def divtools_register_scorers(register) -> None:
    register("dataset_score", params=DatasetScoreParams, impl="divtools.scorers.simple:DatasetScore")
    register("length", params=LengthParams, impl="divtools.scorers.simple:Length")
    register("reward_model", params=RewardModelParams, impl="divtools.scorers.reward_model:RewardModelScorer")
    register("llm_judge", params=LLMJudgeParams, impl="divtools.scorers.llm_judge:LLMJudgeScorer")
