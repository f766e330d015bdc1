"""stylometric and tfidf embedders."""

from __future__ import annotations

import numpy as np
import pytest

from divtools.builtins.embedders import TfidfParams
from divtools.embedders.stylometric import FUNCTION_WORDS, PUNCTUATION, SHAPE_FEATURES, StylometricEmbedder, features
from divtools.embedders.tfidf import TfidfEmbedder


def test_stylometric_vectors_are_unit_float32():
    v = StylometricEmbedder().encode(["Hello there.", "WHAT?! No!!", "a\n\nb c d e f g"])
    assert v.dtype == np.float32 and v.shape == (3, len(FUNCTION_WORDS) + len(PUNCTUATION) + len(SHAPE_FEATURES))
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-6)


def test_stylometric_feature_values_by_hand():
    text = 'The cat saw the dog. "Run!" it said, and it ran.'
    f = features(text)
    words = ["The", "cat", "saw", "the", "dog", "Run", "it", "said", "and", "it", "ran"]
    nf, npu = len(FUNCTION_WORDS), len(PUNCTUATION)
    assert f[FUNCTION_WORDS.index("the")] == pytest.approx(2 / len(words))
    assert f[FUNCTION_WORDS.index("it")] == pytest.approx(2 / len(words))
    assert f[FUNCTION_WORDS.index("and")] == pytest.approx(1 / len(words))
    assert f[nf + PUNCTUATION.index(".")] == pytest.approx(2 / len(text))
    assert f[nf + PUNCTUATION.index('"')] == pytest.approx(2 / len(text))
    shape = dict(zip(SHAPE_FEATURES, f[nf + npu :]))
    assert shape["word_length_mean"] == pytest.approx(np.mean([len(w) for w in words]) / 10)
    # sentences: "The cat saw the dog." (5), "\"Run!\"" (1), "it said, and it ran." (5)
    assert shape["sentence_length_mean"] == pytest.approx(np.mean([5, 1, 5]) / 40)
    assert shape["capitalised_share"] == pytest.approx(2 / len(words))
    assert shape["quoted_share"] == pytest.approx(len('"Run!"') / len(text))


def test_stylometric_separates_style_not_topic():
    e = StylometricEmbedder().encode(
        [
            "The ship sailed at dawn, and the crew sang softly as the harbour faded.",
            "The farmer walked at noon, and the dog barked loudly as the village woke.",
            "OMG!!! ship GONE?!? crew screaming!!! NO WAY!!!",
        ]
    ).astype(np.float64)
    cos = e @ e.T
    assert cos[0, 1] > cos[0, 2] and cos[0, 1] > cos[1, 2]


def test_stylometric_empty_text_is_zero_and_identity_is_stable():
    assert not StylometricEmbedder().encode([""]).any()
    assert StylometricEmbedder().identity() == StylometricEmbedder().identity()


def test_tfidf_equals_sklearn():
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = ["the cat sat", "the dog sat down", "a bird flew"]
    got = TfidfEmbedder(TfidfParams(ngram_max=2, sublinear_tf=True)).encode(texts)
    ref = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit_transform(texts).toarray()
    np.testing.assert_allclose(got, ref, atol=1e-7)
    assert got.dtype == np.float32 and TfidfEmbedder.batch_dependent


def test_tfidf_empty_vocabulary_gives_zero_rows():
    assert not TfidfEmbedder(TfidfParams()).encode(["a", "!"]).any()
