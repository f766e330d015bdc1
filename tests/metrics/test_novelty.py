"""distinct_k / utility_k and the equivalence tests, against hand values and the stated formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.metrics.conftest import build_metric, kjv_texts


def test_utility_matches_the_closed_form_by_hand():
    from divtools.metrics.novelty import utility

    # classes 0,0,1,2,1 -> samples 1, 3, 4 open classes; qualities 7, 9, 3, 5, 2
    labels, u, p = [0, 0, 1, 2, 1], [7, 9, 3, 5, 2], 0.8
    closed = (1 - p) / (1 - p**5) * (7 + p**2 * 3 + p**3 * 5)
    assert utility(labels, u, p) == pytest.approx(closed, abs=1e-12)
    assert utility(labels, u, 1.0) == pytest.approx((7 + 3 + 5) / 5, abs=1e-12)
    # a NaN quality only matters when its sample opens a class
    assert utility(labels, [7, math.nan, 3, 5, 2], p) == pytest.approx(closed, abs=1e-12)
    assert math.isnan(utility(labels, [7, 9, math.nan, 5, 2], p))


def test_quality_levels_and_deciles():
    from divtools.metrics.novelty import decile_thresholds, quality_levels

    t = [1, 2, 3, 4, 5, 6, 7, 8, 9]
    # bisect_left: a score equal to a threshold takes the lower level
    assert quality_levels([0.5, 1.0, 1.5, 9.0, 9.5, math.nan], t)[:5].tolist() == [1, 1, 2, 9, 10]
    scores = list(range(1, 101))
    d = decile_thresholds(scores)
    assert d == pytest.approx([float(np.quantile(scores, q / 10)) for q in range(1, 10)])
    levels = quality_levels(scores, d)
    assert sorted(set(levels.tolist())) == list(range(1, 11))
    assert all(np.sum(levels == lv) == 10 for lv in range(1, 11))  # deciles: ten per level


def test_distinct_k_counts_classes_and_deviation_is_share_of_others():
    verses = kjv_texts()
    a, b = verses[0], verses[7]
    metric = build_metric({"kind": "distinct_k", "equivalence": {"kind": "unigram"}})
    r = metric.group([a, a, b, a])
    assert r.diversity == 2
    # class sizes 3, 3, 1, 3 of N = 4: (4 - size) / 3
    np.testing.assert_allclose(r.deviation, [1 / 3, 1 / 3, 1.0, 1 / 3])
    k2 = build_metric({"kind": "distinct_k", "equivalence": {"kind": "unigram"}, "k": 2})
    assert k2.group([a, a, b]).diversity == 1  # first two are copies
    assert math.isnan(k2.group([a]).diversity)  # fewer than k samples: undefined, not "1 class"


def test_utility_k_quantile_scale_is_fitted_once_for_the_run():
    metric = build_metric({"kind": "utility_k", "equivalence": {"kind": "unigram"}, "quality": {"kind": "length"},
                           "patience": 1.0})
    verses = kjv_texts()[:40]
    groups = [verses[i:i + 4] for i in range(0, 40, 4)]
    prompts = [f"p{i}" for i in range(len(groups))]
    metric.calibrate(groups, prompts)
    from divtools.metrics.novelty import decile_thresholds, quality_levels

    pooled = [len(t.split()) for g in groups for t in g]
    assert metric.thresholds == pytest.approx(decile_thresholds(pooled))
    # measuring one group later uses the run's scale, not that group's own
    first = metric.groups_with_prompts(groups[:1], prompts[:1])[0]
    labels = metric.equivalence.partition("", groups[0])
    from divtools.metrics.novelty import utility

    u = quality_levels([len(t.split()) for t in groups[0]], metric.thresholds)
    assert first.diversity == pytest.approx(utility(labels, u, 1.0))


def test_embedding_cosine_threshold_by_hand():
    from divtools.embedders.tfidf import TfidfEmbedder  # noqa: F401  (the embedder under test)

    texts = ["the cat sat on the mat", "the cat sat on the mat", "a dog ran in the park", "the cat sat on a mat"]
    metric = build_metric({"kind": "distinct_k", "equivalence": {"kind": "embedding_cosine", "embedder": {"kind": "tfidf"},
                                                                   "threshold": 0.5}})
    from sklearn.feature_extraction.text import TfidfVectorizer

    v = TfidfVectorizer().fit_transform(texts).toarray()
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    cos = v @ v.T
    expected = [0, 0, 1, 0 if cos[0, 3] >= 0.5 else 2]
    assert metric.equivalence.partition("", texts) == expected
    assert cos[0, 3] >= 0.5 and cos[0, 2] < 0.5  # the fixture decides both ways
    strict = build_metric({"kind": "distinct_k", "equivalence": {"kind": "embedding_cosine", "embedder": {"kind": "tfidf"},
                                                                   "threshold": 0.999}})
    assert strict.group(texts).diversity == 3  # exact copies still merge at a threshold near 1


def test_chunked_equivalence_compares_aligned_windows():
    verses = kjv_texts()
    story_a = " ".join(verses[0:6])
    story_b = " ".join(verses[0:3] + verses[30:33])  # same opening, different second half
    metric = build_metric({"kind": "distinct_k", "equivalence": {
        "kind": "chunked", "inner": {"kind": "unigram"}, "chunk_words": 30, "min_share": 0.9}})
    eq = metric.equivalence
    from divtools.metrics.equivalence import word_chunks

    windows_a, windows_b = word_chunks(story_a, 30), word_chunks(story_b, 30)
    assert len(windows_a) >= 3
    # only the first (shared) windows match: share below 0.9 -> different stories
    assert not eq.matches("", story_a, [story_b])[0]
    assert eq.matches("", story_a, [story_a])[0]
    # the story is not the same as its own opening paragraph (missing windows count as different)
    assert not eq.matches("", story_a, [windows_a[0]])[0]
    loose = build_metric({"kind": "distinct_k", "equivalence": {
        "kind": "chunked", "inner": {"kind": "unigram"}, "chunk_words": 30, "min_share": 0.1}}).equivalence
    assert loose.matches("", story_a, [story_b])[0]


def test_novelty_metric_specs_reject_bad_values():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="ascending"):
        build_metric({"kind": "utility_k", "quality": {"kind": "length"}, "quality_thresholds": [9, 8, 7, 6, 5, 4, 3, 2, 1]})
    with pytest.raises(ValidationError):
        build_metric({"kind": "utility_k", "quality": {"kind": "length"}, "patience": 0})
    with pytest.raises(ValidationError, match="unigram"):
        build_metric({"kind": "distinct_k", "equivalence": {"kind": "unigramm"}})
