"""Built-in equivalence tests (NoveltyBench's "functionally the same"), see docs/metrics.md."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from divtools.hookspecs import hookimpl
from divtools.spec.base import Component, ComponentParams, ModelRef

EmbedderSpec = Annotated[ComponentParams, Component("embedder")]
EquivalenceSpec = Annotated[ComponentParams, Component("equivalence")]

#: NoveltyBench's thresholds (src/partition.py)
UNIGRAM_THRESHOLD = 0.458
CLASSIFIER_THRESHOLD = 0.102
CLASSIFIER_MODEL = "yimingzhang/deberta-v3-large-generation-similarity"


class EmbeddingCosineParams(ComponentParams):
    """Equivalent iff cos(embedding a, embedding b) ≥ threshold; any embedder (offline default)."""

    kind: Literal["embedding_cosine"] = "embedding_cosine"
    embedder: EmbedderSpec = Field(default_factory=lambda: {"kind": "minilm"})
    """Any registered embedder (default: the offline all-MiniLM-L6-v2)."""
    threshold: float = Field(0.85, ge=-1.0, le=1.0)
    """Cosine at or above which two texts count as the same. 0.85 is divtools' choice for
    MiniLM (measured: 780 pairs of different KJV verses at most 0.82, mean 0.38; five hand-written
    paraphrase pairs 0.82-0.93, four of them above 0.85); it is not calibrated against human
    judgements: set it for your embedder."""
    cache: bool = True
    """Reuse and store vectors in the embedding cache."""


class UnigramParams(ComponentParams):
    """NoveltyBench's unigram test: rouge-score ROUGE-1 F1 > 0.458."""

    kind: Literal["unigram"] = "unigram"
    threshold: float = Field(UNIGRAM_THRESHOLD, ge=0.0, le=1.0)
    """ROUGE-1 F1 above which two texts count as the same (NoveltyBench: 0.458)."""


class ClassifierParams(ComponentParams):
    """A Hugging Face sequence-pair classifier's P(equivalent) > threshold, after NoveltyBench's
    short-text rule (their classifier: yimingzhang/deberta-v3-large-generation-similarity, 0.102)."""

    kind: Literal["classifier"] = "classifier"
    model: ModelRef = CLASSIFIER_MODEL
    """Local folder or hub id of an AutoModelForSequenceClassification pair classifier."""
    tokenizer: ModelRef | None = None
    """Tokenizer folder or hub id (NoveltyBench: microsoft/deberta-v3-large); default: the model's."""
    revision: str | None = None
    """Hub revision of the model and tokenizer."""
    threshold: float = Field(CLASSIFIER_THRESHOLD, ge=0.0, le=1.0)
    """P(equivalent) above which two texts count as the same (NoveltyBench: 0.102)."""
    positive_label: int = Field(1, ge=0)
    """Index of the "equivalent" class in the logits (NoveltyBench: 1)."""
    max_tokens: int = Field(128, ge=1)
    """Tokens read of each response (NoveltyBench: 128); use the chunked equivalence for long texts."""
    short_text_rule: bool = True
    """Decide pairs whose longer text has ≤ short_words words by shared unigrams (2·shared ≥
    length), without the model, as NoveltyBench does."""
    short_words: int = Field(5, ge=0)
    """Word count up to which the short-text rule decides (NoveltyBench: 5)."""
    batch_size: int = Field(16, ge=1)
    """Pairs per forward pass."""
    device: str | None = None
    """torch device (default: cuda when available, else cpu)."""


class ChunkedParams(ComponentParams):
    """Any equivalence test on aligned word windows: equivalent iff the share of window pairs it
    calls equivalent (over the larger window count) reaches min_share. For long stories."""

    kind: Literal["chunked"] = "chunked"
    inner: EquivalenceSpec
    """The test applied to each pair of aligned windows, e.g. ``{kind: classifier}``."""
    chunk_words: int = Field(100, ge=1)
    """Words per window (100 words ≈ 128 DeBERTa tokens of English prose)."""
    min_share: float = Field(0.5, gt=0.0, le=1.0)
    """Share of aligned windows that must be equivalent."""


_IMPL = "divtools.metrics.equivalence:"


@hookimpl
def divtools_register_equivalences(register) -> None:
    """embedding_cosine, unigram, classifier, chunked."""
    register("embedding_cosine", params=EmbeddingCosineParams, impl=_IMPL + "EmbeddingCosine")
    register("unigram", params=UnigramParams, impl=_IMPL + "Unigram")
    register("classifier", params=ClassifierParams, impl=_IMPL + "Classifier")
    register("chunked", params=ChunkedParams, impl=_IMPL + "Chunked")
