"""Vendi score (Friedman & Dieng 2023, "The Vendi Score: A Diversity Evaluation Metric for
Machine Learning", TMLR; Pasarkar & Dieng 2024 for order q).

VS_q(K) = exp(H_q(λ)), λ = eigenvalues of K/N for a similarity kernel K with K_ii = 1, and
H_q the Rényi entropy of order q: H_1 = −Σ λ log λ, H_∞ = −log max λ,
H_q = log(Σ λ^q)/(1 − q). It is the "effective number" of distinct texts, between 1 (all the
same) and N (orthogonal).
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Sequence

import numpy as np

from divtools.api import GroupResult, Metric
from divtools.metrics.tokens import ngrams

__all__ = ["Vendi", "ngram_cosine_kernel", "vendi_from_eigenvalues", "vendi_from_kernel", "vendi_from_vectors"]

#: eigenvalues of K/N at or below this count as 0 (numerical noise of eigvalsh)
EIGEN_TOL = 1e-12


def vendi_from_eigenvalues(eigenvalues: np.ndarray, q: float = 1.0) -> float:
    """exp(H_q(λ)) over the eigenvalues λ > ``EIGEN_TOL`` of K/N (they sum to 1)."""
    lam = np.asarray(eigenvalues, dtype=np.float64)
    lam = lam[lam > EIGEN_TOL]
    if lam.size == 0:
        return float("nan")
    if q == 1:
        return float(np.exp(-np.sum(lam * np.log(lam))))
    if math.isinf(q):
        return float(1.0 / lam.max())
    return float(np.exp(np.log(np.sum(lam**q)) / (1.0 - q)))


def vendi_from_kernel(kernel: np.ndarray, q: float = 1.0) -> float:
    """Vendi score of an N×N similarity matrix with unit diagonal."""
    k = np.asarray(kernel, dtype=np.float64)
    n = k.shape[0]
    if n == 0:
        return float("nan")
    return vendi_from_eigenvalues(np.linalg.eigvalsh(k / n), q)


def vendi_from_vectors(vectors: np.ndarray, q: float = 1.0) -> float:
    """Vendi score with the cosine kernel K = ÊÊᵀ of row-normalised vectors.

    When N > dim the non-zero eigenvalues of ÊÊᵀ/N equal those of ÊᵀÊ/N (dim×dim), which is
    cheaper to decompose (Vendi-Score's ``score_dual``).
    """
    e = np.asarray(vectors, dtype=np.float64)
    n = e.shape[0]
    if n == 0:
        return float("nan")
    norms = np.linalg.norm(e, axis=1, keepdims=True)
    e = np.divide(e, norms, out=np.zeros_like(e), where=norms > 0)
    small = e.T @ e if n > e.shape[1] else e @ e.T
    return vendi_from_eigenvalues(np.linalg.eigvalsh(small / n), q)


def ngram_cosine_kernel(texts: Sequence[str], orders: Sequence[int] = (1, 2, 3, 4)) -> np.ndarray:
    """Mean over n ∈ ``orders`` of the cosine similarity of n-gram count vectors.

    Vendi-Score's ``ngram_vendi_score`` kernel, with whitespace tokens instead of nltk's
    ``word_tokenize`` (which needs downloaded data) and case kept (its default). A text with no
    n-gram of some order has a zero vector there (similarity 0 for that order, even to itself).
    """
    n_texts = len(texts)
    tokens = [t.split() for t in texts]
    kernel = np.zeros((n_texts, n_texts), dtype=np.float64)
    for n in orders:
        counts = [Counter(ngrams(tok, n)) for tok in tokens]
        vocab: dict[tuple[str, ...], int] = {}
        for c in counts:
            for g in c:
                vocab.setdefault(g, len(vocab))
        x = np.zeros((n_texts, max(1, len(vocab))), dtype=np.float64)
        for i, c in enumerate(counts):
            for g, v in c.items():
                x[i, vocab[g]] = v
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        x = np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)
        kernel += x @ x.T
    return kernel / len(orders)


class Vendi(Metric):
    """Vendi score of order q.

    - diversity = exp(H_q(eigenvalues of K/N)), K = cosine kernel of the ``embedder``'s vectors,
      or (no embedder) the mean over n-gram orders of cosine kernels of n-gram counts. Higher =
      more diverse; between 1 and N, so it grows with N: compare equal N. ``q: inf`` is the
      limit 1/max eigenvalue.
    - deviation_i = (1/(N−1)) Σ_{j≠i} (1 − K_ij): the mean kernel distance to the others (with
      an embedder, exactly ``embedding_diversity``'s deviation).
    - tokens: the embedder's, or ``text.split()`` for n-grams.
    """

    higher_is_more_diverse = True

    def __init__(self, params) -> None:
        self.q = math.inf if params.q == "inf" else float(params.q)
        self.orders = tuple(params.ngram_orders)
        self.cache = params.cache
        self.embedder = None
        if params.embedder is not None:
            from divtools.components import build

            self.embedder = build("embedder", params.embedder)

    def _result(self, kernel: np.ndarray) -> GroupResult:
        n = kernel.shape[0]
        dev = np.zeros(n)
        if n >= 2:
            # a mean distance, clipped at 0 like every distance (rounding: −2e-16 for twins)
            dev = np.maximum(1.0 - (kernel.sum(axis=1) - np.diag(kernel)) / (n - 1), 0.0)
        return GroupResult(deviation=dev, diversity=vendi_from_kernel(kernel, self.q))

    def group(self, texts: Sequence[str]) -> GroupResult:
        return self.groups([texts])[0]

    def groups(self, groups: Sequence[Sequence[str]]) -> list[GroupResult]:
        if self.embedder is None:
            return [self._result(ngram_cosine_kernel(list(g), self.orders)) for g in groups]
        from divtools.metrics.embedding import embed_groups

        out = []
        for vectors in embed_groups(self.embedder, groups, cache=self.cache):
            e = np.asarray(vectors, dtype=np.float64)
            norms = np.linalg.norm(e, axis=1, keepdims=True)
            e = np.divide(e, norms, out=np.zeros_like(e), where=norms > 0)
            out.append(self._result(e @ e.T))
        return out
