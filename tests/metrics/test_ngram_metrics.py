"""distinct-n, n-gram diversity, compression ratio and self-repetition against the published
formulas, re-derived here from the ``diversity`` 0.3.1 source (that package cannot be
installed next to divtools: it pins transformers<5)."""

from __future__ import annotations

import gzip
import math
import os
import tempfile
from collections import Counter
from pathlib import Path
from unittest import mock

import nltk
import numpy as np
import pytest

from divtools.metrics.compression import PACKAGE_MTIME

from .conftest import build_metric


# ------------------------------------------------------------------ the package's formulas
def package_ngram_diversity(data, num_n=4):
    """diversity.ngram_diversity_score without its round(…, 3)."""
    score = 0
    words = " ".join(data).split(" ")
    for i in range(1, num_n + 1):
        grams = list(nltk.ngrams(words, i))
        score += len(set(grams)) / len(grams)
    return score


def package_compression_ratio(data):
    """diversity.compression_ratio (gzip) without its rounding: files written as it does."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp)
        with (path / "original.txt").open("w+", encoding="utf-8") as f:
            f.write(" ".join(data))
        original_size = os.path.getsize(path / "original.txt")
        with gzip.GzipFile(str(path / "compressed.gz"), "w+") as f:
            f.write(gzip.compress(" ".join(data).encode("utf-8")))
        compressed_size = os.path.getsize(path / "compressed.gz")
    return original_size / compressed_size


def package_self_repetition(dataset, n=4):
    """diversity.self_repetition_score."""
    total_sum = 0
    ngram_docs = [list(set([" ".join(g) for g in nltk.ngrams(doc.split(), n)])) for doc in dataset]
    counts = Counter(sum(ngram_docs, []))
    for doc in ngram_docs:
        sum_ni = sum(counts[g] for g in doc) - len(doc)
        total_sum += np.log(sum_ni + 1)
    return total_sum / len(dataset)


# ------------------------------------------------------------------ n-gram diversity
@pytest.mark.parametrize("num_n", [1, 2, 4])
def test_ngram_diversity_matches_package(kjv, num_n):
    data = kjv[:25] + ["double  space", "line\nbreak"]
    got = build_metric({"kind": "ngram_diversity", "num_n": num_n}).group(data).diversity
    assert got == pytest.approx(package_ngram_diversity(data, num_n), abs=1e-12)


def test_ngram_diversity_average_is_sum_over_n(kjv):
    data = kjv[:10]
    got = build_metric({"kind": "ngram_diversity", "average": True}).group(data).diversity
    assert got == pytest.approx(package_ngram_diversity(data, 4) / 4, abs=1e-12)


def test_ngram_deviation_is_share_of_own_ngrams():
    # unigrams only: text 0 = "a b" (b is shared) -> 1/2 unique; text 1 = "b c c" -> c, c unique
    result = build_metric({"kind": "ngram_diversity", "num_n": 1}).group(["a b", "b c c"])
    assert result.deviation.tolist() == [0.5, 2 / 3]
    assert result.diversity == pytest.approx(3 / 5)


# ------------------------------------------------------------------ distinct-n
def test_distinct_n_hand_values():
    texts = ["a b a b", "a b c"]
    # bigrams: (a b) (b a) (a b) | (a b) (b c): 3 distinct / 5
    result = build_metric({"kind": "distinct_n", "n": 2}).group(texts)
    assert result.diversity == pytest.approx(3 / 5)
    # text 0: (b a) only in text 0 -> 1 of 3; text 1: (b c) -> 1 of 2
    np.testing.assert_allclose(result.deviation, [1 / 3, 1 / 2])


def test_distinct_n_counts_ngrams_inside_texts_only():
    result = build_metric({"kind": "distinct_n", "n": 2}).group(["a b", "c d"])
    assert result.diversity == 1.0  # (b c) across the boundary is not an n-gram


# ------------------------------------------------------------------ compression ratio
def test_compression_ratio_is_one_gzip_of_the_joined_group(kjv):
    data = kjv[:20]
    raw = " ".join(data).encode("utf-8")
    expected = len(raw) / len(gzip.compress(raw, compresslevel=9))
    assert build_metric({"kind": "compression_ratio"}).group(data).diversity == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("data_slice", [slice(0, 1), slice(0, 8), slice(8, 40)])
def test_compression_ratio_gzip_twice_reproduces_package(kjv, data_slice):
    data = kjv[data_slice] + ["naïve — ünïcode"]
    with mock.patch("time.time", return_value=PACKAGE_MTIME):
        expected = package_compression_ratio(data)
    got = build_metric({"kind": "compression_ratio", "gzip_twice": True}).group(data).diversity
    assert got == pytest.approx(expected, abs=1e-12)


def test_compression_deviation_is_marginal_compressed_bytes(kjv):
    data = [kjv[0], kjv[0], kjv[5]]
    result = build_metric({"kind": "compression_ratio"}).group(data)

    def size(texts):
        return len(gzip.compress(" ".join(texts).encode("utf-8"), 9))

    for i, text in enumerate(data):
        rest = data[:i] + data[i + 1 :]
        assert result.deviation[i] == pytest.approx((size(data) - size(rest)) / len(text.encode()), abs=1e-12)
    assert result.deviation[2] > max(result.deviation[:2])  # the distinct verse adds the most


# ------------------------------------------------------------------ self-repetition
@pytest.mark.parametrize("n", [2, 4])
def test_self_repetition_matches_package(kjv, n):
    data = kjv[:20] + [kjv[0], kjv[1] + " " + kjv[2], "short"]
    result = build_metric({"kind": "self_repetition", "n": n}).group(data)
    assert result.diversity == pytest.approx(package_self_repetition(data, n), abs=1e-12)
    assert result.deviation.mean() == pytest.approx(-result.diversity, abs=1e-12)


def test_self_repetition_hand_value():
    # n=1: text 0 {a, b}: a in 1 other, b in 2 others -> log(1 + 3); text 1 {a, b}: same;
    # text 2 {b, c}: b in 2 others -> log(3)
    result = build_metric({"kind": "self_repetition", "n": 1}).group(["a b", "b a a", "b c"])
    np.testing.assert_allclose(-result.deviation, [math.log(4), math.log(4), math.log(3)])
