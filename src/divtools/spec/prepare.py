"""``run: prepare`` — groups -> cleaning -> split -> pairs -> deviations -> weights -> dataset.

See ``docs/data.md`` for every option and which one the paper used (docs/method.md §2, §3, §5).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from divtools.spec.base import Component, ComponentParams, ModelRef, SpecModel
from divtools.spec.common import OutputSpec

__all__ = [
    "BOT_MARKERS",
    "CleaningSpec",
    "PrepareSpec",
    "SplitSpec",
    "TokenBudgetSpec",
    "WEIGHT_PRESETS",
    "WeightsSpec",
]

#: the paper's moderator/bot comment markers (docs/method.md §2)
BOT_MARKERS = (
    "**Welcome to the Prompt!**",
    "this submission has been removed",
    "**Off-Topic Discussion**",
)


class TokenBudgetSpec(SpecModel):
    """Drop responses whose prompt + response is longer than ``limit`` tokens (the paper: 2048
    tokens of the chat-templated text under the base model's tokenizer)."""

    tokenizer: ModelRef
    """Local folder, .gguf file, hub id or ``preset:<name>`` of the tokenizer (``AutoTokenizer``;
    use the model you train); no remote code is run."""
    revision: str | None = None
    """Tokenizer revision, for hub ids."""
    limit: int = Field(2048, ge=1)
    """Token budget for prompt + response."""
    chat_template: bool = True
    """Count the chat-templated text (prompt as user turn, response as assistant turn) when the
    tokenizer has a chat template; otherwise prompt + newline + response."""


class CleaningSpec(SpecModel):
    """What is dropped before pairing; every drop is counted by reason in ``summary.json``."""

    drop_bot_comments: bool = True
    """Drop responses containing a moderator/bot marker (the paper's rule)."""
    bot_markers: list[str] = Field(default_factory=lambda: list(BOT_MARKERS))
    """Substrings marking a moderator/bot comment (case-sensitive, as the paper)."""
    drop_deleted: bool = True
    """Drop ``[deleted]`` / ``[removed]`` bodies (the reference code forgot them)."""
    drop_empty: bool = True
    """Drop empty or whitespace-only responses."""
    drop_duplicates: bool = True
    """Drop a response whose text (whitespace-trimmed) repeats an earlier response to the same prompt."""
    max_chars: int | None = Field(100_000, ge=1)
    """Drop responses longer than this many characters (a guard against runaway rows; Reddit
    comments are at most 10,000 characters). Null: no limit."""
    max_tokens: TokenBudgetSpec | None = None
    """The paper's token budget (needs transformers); null: no token limit."""
    min_responses: int = Field(2, ge=2)
    """Drop prompts left with fewer responses (a pair needs two)."""


class SplitSpec(SpecModel):
    """Split by prompt: a prompt and all its responses go to one side."""

    eval_fraction: float = Field(0.1, ge=0, lt=1)
    """Share of prompts held out (the paper: 0.1)."""
    seed: int = 42
    """Seed of the split (the paper: 42). Independent of the run's seed, so changing the pairing
    seed keeps the same split."""


#: named settings; fields set explicitly in the spec override the preset's values
WEIGHT_PRESETS: dict[str, dict[str, Any]] = {
    # docs/method.md §3 as the reference code runs it: pool = responses in the prompt's pairs,
    # min-max to [-1, 1], geometric mean of (s+1)/2, divide by the pool mean; no floor.
    "paper": dict(pool="pairs", normalise="minmax", combine="geometric", floor=None, cap=None, renormalise="none"),
    # the paper's intended "minimum deviation" fix, applied to the chosen weight for real
    "paper_floor": dict(pool="pairs", normalise="minmax", combine="geometric", floor=0.2, cap=None, renormalise="none"),
    # every pair weighs 1 (plain DPO/ORPO); deviations are still computed and written
    "uniform": dict(pool="pairs", normalise="minmax", combine="geometric", floor=None, cap=None, renormalise="none"),
}


class WeightsSpec(SpecModel):
    """Deviation -> per-pair weight (docs/method.md §3). A field you set overrides the preset's value."""

    preset: Literal["paper", "paper_floor", "uniform"] = "paper"
    """``paper``: exactly docs/method.md §3 (pool = pairs, min-max, geometric mean, mean 1 per pool, no
    floor); ``paper_floor``: the same with a real floor of 0.2 on the chosen weight (the paper's
    intended fix); ``uniform``: every weight is 1."""
    pool: Literal["pairs", "all"] = "pairs"
    """Responses a prompt's deviations and weight mean are computed over: those appearing in the
    prompt's pairs (the paper's reference code) or all the prompt's responses after cleaning."""
    normalise: Literal["minmax", "rank", "zscore"] = "minmax"
    """Per metric, within the pool, to [0, 1]: ``minmax`` (d - min)/(max - min) (= (s+1)/2 of the
    paper's s in [-1, 1]); ``rank`` (average rank - 1)/(N - 1); ``zscore`` Phi((d - mean)/std),
    the standard normal CDF. Constant deviations give 0.5 for every response."""
    combine: Literal["geometric", "arithmetic"] = "geometric"
    """Across metrics: geometric mean (the paper's "both") or arithmetic mean."""
    dedupe_pool: bool = True
    """With ``pool: pairs``, count each response once however many pairs it is in. ``false``:
    one pool entry per appearance in a pair (chosen, rejected, pair by pair), as the DDPO
    reference code does; it changes weights only with builders that reuse a response
    (``all_pairs``), never with ``gap_disjoint``, whose pairs are disjoint."""
    floor: float | None = Field(None, ge=0)
    """Lower bound on the final chosen weight (the paper's intended 0.2); null: none."""
    cap: float | None = Field(None, gt=0)
    """Upper bound on the final chosen weight; null: none."""
    renormalise: Literal["none", "dataset"] = "none"
    """``dataset``: divide every pair weight by the mean pair weight of its split (before floor and
    cap) so that weights average 1 over the dataset; ``none``: mean 1 within each pool (the paper)."""
    per_metric: bool = False
    """Also write a ``weight_<label>`` column per metric: the weight that metric alone gives (same
    pool, normalisation, floor and cap). One prepare run then serves the paper's DDPO-sem, -sty
    and -both (``weight`` combines all metrics); pick one with the objective's ``weight_column``."""

    @model_validator(mode="after")
    def _floor_below_cap(self) -> "WeightsSpec":
        r = self.resolved()
        if r["floor"] is not None and r["cap"] is not None and r["floor"] > r["cap"]:
            raise ValueError(f"floor ({r['floor']}) must not exceed cap ({r['cap']})")
        return self

    def resolved(self) -> dict[str, Any]:
        """The preset's settings with the explicitly set fields on top."""
        out = dict(WEIGHT_PRESETS[self.preset])
        for name in self.model_fields_set:
            if name != "preset":
                out[name] = getattr(self, name)
        out["preset"] = self.preset
        return out


MetricSpec = Annotated[ComponentParams, Component("metric")]


class PrepareSpec(SpecModel):
    """Build a (prompt, chosen, rejected, weight) preference dataset."""

    run: Literal["prepare"]
    seed: int = 42
    """Seed of every random choice in pairing (the split has its own seed)."""
    source: Annotated[ComponentParams, Component("source")]
    """Where the scored responses come from."""
    cleaning: CleaningSpec = Field(default_factory=CleaningSpec)
    """What is dropped before pairing."""
    split: SplitSpec = Field(default_factory=SplitSpec)
    """Train/eval split by prompt."""
    pair_builder: Annotated[ComponentParams, Component("pair_builder")] = Field(
        default_factory=lambda: {"kind": "gap_disjoint"}
    )
    """How pairs are formed (default: the paper's ``gap_disjoint`` with gap 5)."""
    metrics: list[MetricSpec] = Field(default_factory=list)
    """Deviation signals for the weights (the paper: semantic + style embedding deviation). Empty:
    every weight is 1 and no deviation columns are written."""
    weights: WeightsSpec = Field(default_factory=WeightsSpec)
    """Deviation -> weight settings."""
    reward_data: bool = False
    """Also write ``reward_train``/``reward_eval`` files: one row per response with its score and
    the paper's transformed reward-model target in [-1, 1] (docs/method.md §2)."""
    output: OutputSpec

    @model_validator(mode="after")
    def _distinct_labels(self) -> "PrepareSpec":
        seen: set[str] = set()
        for entry in self.metrics:
            label = entry.display  # type: ignore[attr-defined]
            if label in seen:
                raise ValueError(f"two metrics are labelled '{label}': give each a distinct label")
            seen.add(label)
        return self
