"""Vendi score against numpy's eigvalsh written out from the definition, and the n-gram kernel
against scikit-learn's CountVectorizer."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer

from divtools.metrics.vendi import ngram_cosine_kernel, vendi_from_kernel, vendi_from_vectors

from .conftest import build_metric


def reference_vendi(kernel, q):
    lam = np.linalg.eigvalsh(kernel / kernel.shape[0])
    lam = lam[lam > 1e-12]
    if q == 1:
        return math.exp(-sum(x * math.log(x) for x in lam))
    if math.isinf(q):
        return 1 / lam.max()
    return math.exp(math.log(sum(x**q for x in lam)) / (1 - q))


def unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("q", [0.5, 1.0, 2.0, math.inf])
@pytest.mark.parametrize("shape", [(6, 10), (30, 5)])  # N < dim and N > dim (dual form)
def test_vectors_match_eigvalsh(q, shape):
    e = unit(np.random.default_rng(0).normal(size=shape))
    assert vendi_from_vectors(e, q) == pytest.approx(reference_vendi(e @ e.T, q), rel=1e-9)


def test_limits_identical_and_orthogonal():
    assert vendi_from_kernel(np.ones((5, 5))) == pytest.approx(1.0)
    assert vendi_from_kernel(np.eye(5)) == pytest.approx(5.0)
    for q in (0.5, 2.0, math.inf):
        assert vendi_from_kernel(np.eye(4), q) == pytest.approx(4.0)


def test_ngram_kernel_matches_count_vectorizer(kjv):
    texts = kjv[:12] + ["a"]
    kernels = []
    for n in (1, 2, 3):
        x = CountVectorizer(tokenizer=str.split, token_pattern=None, lowercase=False, ngram_range=(n, n)).fit_transform(texts)
        x = x.toarray().astype(float)
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        x = np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)
        kernels.append(x @ x.T)
    np.testing.assert_allclose(ngram_cosine_kernel(texts, (1, 2, 3)), np.mean(kernels, axis=0), atol=1e-12)


def test_ngram_metric(kjv):
    texts = kjv[:8]
    result = build_metric({"kind": "vendi", "ngram_orders": [1, 2], "q": 2.0}).group(texts)
    k = ngram_cosine_kernel(texts, (1, 2))
    assert result.diversity == pytest.approx(reference_vendi(k, 2.0), rel=1e-9)
    expected_dev = [np.mean([1 - k[i, j] for j in range(8) if j != i]) for i in range(8)]
    np.testing.assert_allclose(result.deviation, expected_dev, atol=1e-12)


def test_embedder_metric_uses_cosine_kernel(kjv):
    from divtools.embedders.stylometric import StylometricEmbedder

    texts = kjv[:9]
    e = StylometricEmbedder().encode(texts).astype(np.float64)
    result = build_metric({"kind": "vendi", "embedder": {"kind": "stylometric"}}).group(texts)
    assert result.diversity == pytest.approx(reference_vendi(unit(e) @ unit(e).T, 1.0), rel=1e-6)


def test_q_infinity_is_the_string_inf_so_specs_stay_json():
    import json

    import yaml
    from pydantic import ValidationError

    from divtools.builtins.metrics import VendiParams

    entry = yaml.safe_load("{kind: vendi, q: inf}")
    metric = build_metric(entry)
    texts = ["a b", "c d", "a b"]
    assert metric.group(texts).diversity == pytest.approx(reference_vendi(ngram_cosine_kernel(texts), math.inf))
    json.dumps(VendiParams.model_validate(entry).model_dump(), allow_nan=False)
    with pytest.raises(ValidationError):
        VendiParams.model_validate(yaml.safe_load("{kind: vendi, q: .inf}"))  # a float inf is not JSON
