"""Embedding diversity: the DDPO paper's semantic and style diversity (docs/method.md §3, §6).

Plain functions (:func:`pairwise_cosine_deviation`, :func:`mean_pairwise_cosine_distance`)
serve the training-weight code and the benchmarks; :class:`EmbeddingDiversity` is the metric.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from divtools.api import GroupResult, Metric

__all__ = [
    "EmbeddingDiversity",
    "embed_groups",
    "mean_pairwise_cosine_distance",
    "pairwise_cosine_deviation",
]


def pairwise_cosine_deviation(vectors: np.ndarray) -> np.ndarray:
    """d_i = (1/(N−1)) Σ_{j≠i} (1 − cos(e_i, e_j)) for the rows e_i of ``vectors``.

    Rows are L2-normalised here (in float64), so any non-zero vectors work; a zero row has
    cosine 0 with everything. Computed in O(N·dim) as 1 − (e_i·Σ_j e_j − e_i·e_i)/(N−1)
    instead of forming the N×N matrix, then clipped at 0 (rounding can give −2e-16 for
    identical texts). N < 2 gives zeros.
    """
    e = np.asarray(vectors, dtype=np.float64)
    n = e.shape[0]
    if n < 2:
        return np.zeros(n, dtype=np.float64)
    norms = np.linalg.norm(e, axis=1, keepdims=True)
    e = np.divide(e, norms, out=np.zeros_like(e), where=norms > 0)
    total = e.sum(axis=0)
    own = np.einsum("ij,ij->i", e, e)
    # A distance is never negative; rounding gives 1 − cos of about −2e-16 for (near-)identical
    # texts, which would read as "less than no diversity". Clipped at 0 (docs/metrics.md).
    return np.maximum(1.0 - (e @ total - own) / (n - 1), 0.0)


def mean_pairwise_cosine_distance(vectors: np.ndarray) -> float:
    """Mean of 1 − cos over the N(N−1)/2 pairs (= the mean of the deviations); NaN if N < 2."""
    if len(vectors) < 2:
        return float("nan")
    return float(pairwise_cosine_deviation(vectors).mean())


def embed_groups(embedder: Any, groups: Sequence[Sequence[str]], *, cache: bool = True) -> list[np.ndarray]:
    """Vectors for every group, encoding all distinct texts in one batched call.

    An embedder whose vectors depend on the batch (``batch_dependent = True``, e.g. TF-IDF
    fitted on its input) is called once per group instead, and never cached.
    """
    from divtools.embed_cache import cached_encode

    if getattr(embedder, "batch_dependent", False):
        return [np.asarray(embedder.encode(list(g)), dtype=np.float32) for g in groups]
    flat = [t for g in groups for t in g]
    vectors = cached_encode(embedder, flat, use_cache=cache)
    out, start = [], 0
    for g in groups:
        out.append(vectors[start : start + len(g)])
        start += len(g)
    return out


class EmbeddingDiversity(Metric):
    """Mean pairwise cosine distance of a group's embeddings (any embedder).

    - deviation_i = (1/(N−1)) Σ_{j≠i} (1 − cos(e_i, e_j)): docs/method.md §3's raw deviation.
    - diversity = mean pairwise cosine distance = mean_i deviation_i (the paper's semantic
      diversity with jina-embeddings-v3, style diversity with AnnaWegmann/Style-Embedding).
      Higher = more diverse. An unbiased mean over pairs: its expectation does not depend on N.
    - tokens: the embedder's. Vectors come from the embedding cache when ``cache`` is on.
    """

    higher_is_more_diverse = True

    def __init__(self, params) -> None:
        from divtools.components import build

        self.params = params
        self.embedder = build("embedder", params.embedder)
        self.cache = params.cache

    def group(self, texts: Sequence[str]) -> GroupResult:
        return self.groups([texts])[0]

    def groups(self, groups: Sequence[Sequence[str]]) -> list[GroupResult]:
        results = []
        for vectors in embed_groups(self.embedder, groups, cache=self.cache):
            dev = pairwise_cosine_deviation(vectors)
            div = float(dev.mean()) if len(vectors) >= 2 else float("nan")
            results.append(GroupResult(deviation=dev, diversity=div))
        return results
