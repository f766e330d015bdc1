"""Built-in metrics: deviation (per text) and diversity (per group). See docs/metrics.md."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from divtools.hookspecs import hookimpl
from divtools.spec.base import Component, ComponentParams, MetricParams

EmbedderSpec = Annotated[ComponentParams, Component("embedder")]


class DistinctNParams(MetricParams):
    """distinct-n: unique n-grams / all n-grams of the group (Li et al. 2016). Higher = more diverse."""

    kind: Literal["distinct_n"] = "distinct_n"
    n: int = Field(2, ge=1, le=8)
    """n-gram order."""
    tokenizer: Literal["whitespace", "space"] = "whitespace"
    """``whitespace``: ``text.split()``; ``space``: ``text.split(' ')``."""
    lowercase: bool = False
    """Lowercase before tokenising."""


class EmbeddingDiversityParams(MetricParams):
    """Mean pairwise cosine distance of embeddings (the paper's semantic/style diversity).
    Higher = more diverse."""

    kind: Literal["embedding_diversity"] = "embedding_diversity"
    embedder: EmbedderSpec
    """Any registered embedder, e.g. ``{kind: minilm}`` or ``{kind: stylometric}``."""
    cache: bool = True
    """Reuse and store vectors in the embedding cache (``$DIVTOOLS_CACHE``, ``~/.cache/divtools``)."""


class NgramDiversityParams(MetricParams):
    """n-gram diversity, ``diversity`` package convention: Σ_{n=1..num_n} unique/total n-grams
    of the space-joined group. Higher = more diverse."""

    kind: Literal["ngram_diversity"] = "ngram_diversity"
    num_n: int = Field(4, ge=1, le=8)
    """Largest n-gram order (the package's ``num_n``, default 4)."""
    average: bool = False
    """Divide the sum by ``num_n`` (mean over orders, range [0, 1])."""


class SelfBleuParams(MetricParams):
    """Self-BLEU: mean BLEU-n of each text against the others (nltk, smoothing method 1).
    Higher = less diverse."""

    kind: Literal["self_bleu"] = "self_bleu"
    n: int = Field(4, ge=1, le=8)
    """Largest n-gram order; weights are uniform 1/n."""
    tokenizer: Literal["whitespace", "space"] = "whitespace"
    """``whitespace``: ``text.split()``; ``space``: ``text.split(' ')``."""
    lowercase: bool = False
    """Lowercase before tokenising."""


class CompressionRatioParams(MetricParams):
    """gzip compression ratio of the space-joined group. Higher = less diverse."""

    kind: Literal["compression_ratio"] = "compression_ratio"
    gzip_twice: bool = False
    """Reproduce ``diversity`` 0.3.1 byte for byte, which gzips the gzip stream a second time."""


class HomogenizationParams(MetricParams):
    """Homogenization: mean ROUGE-L F1 over ordered pairs, as ``diversity`` 0.3.1.
    Higher = less diverse."""

    kind: Literal["homogenization"] = "homogenization"
    use_stemmer: bool = False
    """Porter-stem tokens longer than 3 characters (rouge-score's option)."""


class SelfRepetitionParams(MetricParams):
    """Self-repetition (``diversity`` package): mean log(1 + repeats of each text's n-grams in
    other texts). Higher = less diverse."""

    kind: Literal["self_repetition"] = "self_repetition"
    n: int = Field(4, ge=1, le=8)
    """n-gram order (the package's default 4)."""


class VendiParams(MetricParams):
    """Vendi score of order q: exp(Rényi entropy of the eigenvalues of K/N). Higher = more diverse."""

    kind: Literal["vendi"] = "vendi"
    q: Annotated[float, Field(ge=0, allow_inf_nan=False)] | Literal["inf"] = 1.0
    """Order of the entropy: 1 = Shannon (the original score), 2, 0.5, ... or ``inf``
    (1/max eigenvalue; written as the string ``inf`` so that specs and reports stay JSON)."""
    embedder: EmbedderSpec | None = None
    """Cosine kernel over this embedder's vectors; none: over n-gram counts."""
    ngram_orders: list[int] = Field(default_factory=lambda: [1, 2, 3, 4], min_length=1)
    """n-gram orders whose count-vector cosine kernels are averaged (no embedder)."""
    cache: bool = True
    """Reuse and store vectors in the embedding cache."""


EquivalenceSpec = Annotated[ComponentParams, Component("equivalence")]
ScorerSpec = Annotated[ComponentParams, Component("scorer")]


class DistinctKParams(MetricParams):
    """NoveltyBench's distinct_k: the number of equivalence classes among k samples (greedy
    partition; Zhang et al. 2025). Higher = more diverse."""

    kind: Literal["distinct_k"] = "distinct_k"
    equivalence: EquivalenceSpec = Field(default_factory=lambda: {"kind": "embedding_cosine"})
    """The equivalence test: ``embedding_cosine`` (default, offline, any embedder), ``unigram``
    (NoveltyBench's ROUGE-1 rule), ``classifier`` (an HF pair classifier), ``chunked``, or a plugin's."""
    k: int | None = Field(None, ge=1)
    """Count over the first k samples of each prompt (NoveltyBench: 10); unset: all N."""


class UtilityKParams(DistinctKParams):
    """NoveltyBench's utility_k: patience-discounted 1-10 quality of the samples that open a
    new equivalence class. Higher = more novel and good."""

    kind: Literal["utility_k"] = "utility_k"  # type: ignore[assignment]
    quality: ScorerSpec
    """Any divtools scorer giving each (prompt, sample) its quality (e.g. ``{kind: reward_model, ...}``)."""
    quality_thresholds: list[float] | None = Field(None, min_length=9, max_length=9)
    """Nine ascending scores mapping quality to 1..10 (``bisect_left + 1``; NoveltyBench's values for
    Skywork-Reward-Gemma-2-27B-v0.2: -7.71875, -6.28125, -6.0, -5.71875, -5.5, -5.0, -4.375,
    -3.4375, -2.046875). Unset: the deciles of the run's own scores (all systems pooled)."""
    patience: float = Field(0.8, gt=0.0, le=1.0)
    """Discount p per sample (NoveltyBench: 0.8); 1 = plain mean over the k samples."""
    patience_sweep: list[Annotated[float, Field(gt=0.0, le=1.0)]] = Field(
        default_factory=lambda: [0.5, 0.8, 0.9, 0.95, 1.0])
    """Patiences also reported (as ``extras``: ``patience=<p>``) beside the main value."""

    @field_validator("quality_thresholds")
    @classmethod
    def _ascending(cls, value: list[float] | None) -> list[float] | None:
        if value is not None and any(b < a for a, b in zip(value, value[1:])):
            raise ValueError("quality_thresholds must be in ascending order")
        return value


_IMPL = "divtools.metrics."


@hookimpl
def divtools_register_metrics(register) -> None:
    """distinct_n, embedding_diversity, ngram_diversity, self_bleu, compression_ratio,
    homogenization, self_repetition, vendi, distinct_k, utility_k."""
    register("distinct_n", params=DistinctNParams, impl=_IMPL + "distinct:DistinctN")
    register("embedding_diversity", params=EmbeddingDiversityParams, impl=_IMPL + "embedding:EmbeddingDiversity")
    register("ngram_diversity", params=NgramDiversityParams, impl=_IMPL + "ngram_diversity:NgramDiversity")
    register("self_bleu", params=SelfBleuParams, impl=_IMPL + "self_bleu:SelfBleu")
    register("compression_ratio", params=CompressionRatioParams, impl=_IMPL + "compression:CompressionRatio")
    register("homogenization", params=HomogenizationParams, impl=_IMPL + "homogenization:Homogenization")
    register("self_repetition", params=SelfRepetitionParams, impl=_IMPL + "self_repetition:SelfRepetition")
    register("vendi", params=VendiParams, impl=_IMPL + "vendi:Vendi")
    register("distinct_k", params=DistinctKParams, impl=_IMPL + "novelty:DistinctK")
    register("utility_k", params=UtilityKParams, impl=_IMPL + "novelty:UtilityK")
