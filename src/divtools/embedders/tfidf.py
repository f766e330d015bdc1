"""TF-IDF vectors (scikit-learn), fitted on the texts of each ``encode`` call: no torch, no model.

The vocabulary and IDF come from the texts being encoded, so a text's vector depends on its
batch: ``batch_dependent = True`` tells embedding metrics to encode each group on its own
(IDF within the group's responses) and the cache to keep out of it.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from divtools.api import Embedder

__all__ = ["TfidfEmbedder"]


class TfidfEmbedder(Embedder):
    """scikit-learn ``TfidfVectorizer`` (smooth IDF: idf(t) = ln((1+N)/(1+df(t))) + 1; rows
    L2-normalised), dense float32. Texts with no kept token get the zero vector."""

    batch_dependent = True

    def __init__(self, params: Any) -> None:
        self.params = params

    def identity(self) -> dict[str, Any]:
        p = self.params
        return {
            "embedder": "tfidf",
            "analyzer": p.analyzer,
            "ngram_max": p.ngram_max,
            "lowercase": p.lowercase,
            "sublinear_tf": p.sublinear_tf,
        }

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        from sklearn.feature_extraction.text import TfidfVectorizer

        p = self.params
        texts = list(texts)
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        vectorizer = TfidfVectorizer(
            analyzer=p.analyzer,
            ngram_range=(1, p.ngram_max),
            lowercase=p.lowercase,
            sublinear_tf=p.sublinear_tf,
        )
        try:
            matrix = vectorizer.fit_transform(texts)
        except ValueError:  # empty vocabulary: no text has a token
            return np.zeros((len(texts), 1), dtype=np.float32)
        return np.asarray(matrix.toarray(), dtype=np.float32)
